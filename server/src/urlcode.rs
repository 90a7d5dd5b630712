//! Percent-decoding (RFC 3986 §2.1) of request targets and form bodies: the one decoder the
//! router (`api::request`) and the log redaction (`redact`) share, so that what is masked in
//! the log is exactly what the router read. A leaf: it imports nothing of the crate.

/// The octets `s` stands for: `%XX` decoded, `+` as a space when `plus_is_space` (forms and
/// query strings); a `%` not followed by two hex digits is kept as it is.
pub fn decode_bytes(s: &str, plus_is_space: bool) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(x), Some(y)) => {
                    out.push((x * 16 + y) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// `decode_bytes` as text, invalid UTF-8 replaced (callers that must refuse it check with
/// `decode_bytes` first).
pub fn decode(s: &str, plus_is_space: bool) -> String {
    String::from_utf8_lossy(&decode_bytes(s, plus_is_space)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_plus_and_keeps_stray_percents() {
        assert_eq!(decode("%3a%3A%", false), "::%");
        assert_eq!(decode("a+b%2Cc", true), "a b,c");
        assert_eq!(decode("a+b", false), "a+b");
        assert_eq!(decode("%zz%4", false), "%zz%4");
        assert_eq!(decode_bytes("%FF", false), [0xff]);
    }
}
