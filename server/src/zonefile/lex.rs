//! Lexing one line of a zone file (RFC 1035 §5.1): tokens, quoted strings, `\DDD` escapes,
//! parentheses across lines, comments; and TTL values with units (`1h30m`).

use super::Token;

/// Split one line into tokens (RFC 1035 §5.1): blanks separate, `;` starts a comment, `(`
/// and `)` group lines (tracked in `depth`), `"..."` is one token, `\` escapes the next
/// character (kept in the token for `decode`).
pub(super) fn tokenize(line: &str, out: &mut Vec<Token>, depth: &mut usize) -> Result<(), String> {
    let mut chars = line.chars().peekable();
    let mut cur: Option<String> = None;
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if let Some(t) = cur.take() {
                    out.push(Token {
                        raw: t,
                        quoted: false,
                    });
                }
            }
            ';' => break,
            '(' | ')' => {
                if let Some(t) = cur.take() {
                    out.push(Token {
                        raw: t,
                        quoted: false,
                    });
                }
                if c == '(' {
                    *depth += 1;
                } else if *depth == 0 {
                    return Err("')' without '('".into());
                } else {
                    *depth -= 1;
                }
            }
            '"' if cur.is_none() => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err("quoted string not closed on this line".into()),
                        Some('"') => break,
                        Some('\\') => {
                            s.push('\\');
                            match chars.next() {
                                Some(e) => s.push(e),
                                None => return Err("quoted string not closed on this line".into()),
                            }
                        }
                        Some(c) => s.push(c),
                    }
                }
                out.push(Token {
                    raw: s,
                    quoted: true,
                });
            }
            '\\' => {
                let t = cur.get_or_insert_with(String::new);
                t.push('\\');
                match chars.next() {
                    Some(e) => t.push(e),
                    None => return Err("'\\' at the end of the line".into()),
                }
            }
            c => cur.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(t) = cur.take() {
        out.push(Token {
            raw: t,
            quoted: false,
        });
    }
    Ok(())
}

/// The octets a token stands for (RFC 1035 §5.1): `\DDD` is the octet DDD (decimal), `\X`
/// is X.
pub(super) fn decode(raw: &str) -> Result<Vec<u8>, String> {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        match b.get(i + 1..i + 4) {
            Some(d) if d.iter().all(u8::is_ascii_digit) => {
                let v = d
                    .iter()
                    .fold(0u32, |acc, &x| acc * 10 + u32::from(x - b'0'));
                let v = u8::try_from(v).map_err(|_| format!("escape \\{} is above 255", v))?;
                out.push(v);
                i += 4;
            }
            _ => match b.get(i + 1) {
                Some(d) if d.is_ascii_digit() => {
                    return Err("\\ followed by a digit needs three digits (\\DDD)".into())
                }
                Some(&x) => {
                    out.push(x);
                    i += 2;
                }
                None => return Err("'\\' at the end of a string".into()),
            },
        }
    }
    Ok(out)
}

/// A TTL: seconds, or numbers with units w, d, h, m, s (BIND's syntax, case-insensitive), at
/// most 2^31 - 1 (RFC 2181 §8).
pub fn parse_ttl(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u32>().ok().filter(|&t| t <= i32::MAX as u32);
    }
    let mut total: u64 = 0;
    let mut num: Option<u64> = None;
    for c in s.chars() {
        if let Some(d) = c.to_digit(10) {
            num = Some(
                num.unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(u64::from(d))?,
            );
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            'w' => 604_800,
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        total = total.checked_add(num.take()?.checked_mul(unit)?)?;
    }
    if num.is_some() {
        // A bare number after a unit (`1h30`) is ambiguous: refuse it.
        return None;
    }
    u32::try_from(total).ok().filter(|&t| t <= i32::MAX as u32)
}
