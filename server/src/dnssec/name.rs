//! Domain names in uncompressed wire form (`\x03www\x07example\x00`), the form the zone store
//! keeps: parsing from and printing to presentation form, the RRSIG labels count, canonical
//! name order (RFC 4034 §6.1) and the helpers NSEC and NSEC3 need. Names here are plain byte
//! slices; validating what users may register is `validate.rs`'s business, not this file's.

use std::cmp::Ordering;

use super::Error;

/// Longest name on the wire, root label included (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// Longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// Parses a presentation-form name (`www.example.com` or `www.example.com.`; `\.` and `\DDD`
/// escapes, RFC 1035 §5.1) into lowercase wire form. The empty string and `.` are the root.
pub fn from_text(text: &str) -> Result<Vec<u8>, Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() + 2);
    if bytes.is_empty() || bytes == b"." {
        out.push(0);
        return Ok(out);
    }
    let mut label_start = 0usize;
    out.push(0);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'.' => {
                close_label(&mut out, label_start)?;
                label_start = out.len();
                out.push(0);
                i += 1;
                if i == bytes.len() {
                    // Trailing dot: the root label is the 0 just pushed.
                    return finish(out);
                }
                continue;
            }
            b'\\' => {
                let (value, used) = unescape(&bytes[i + 1..])?;
                out.push(value.to_ascii_lowercase());
                i += 1 + used;
            }
            _ => {
                out.push(b.to_ascii_lowercase());
                i += 1;
            }
        }
    }
    close_label(&mut out, label_start)?;
    out.push(0);
    finish(out)
}

fn unescape(rest: &[u8]) -> Result<(u8, usize), Error> {
    match rest {
        [a, b, c, ..] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            let v = u32::from(a - b'0') * 100 + u32::from(b - b'0') * 10 + u32::from(c - b'0');
            u8::try_from(v).map(|v| (v, 3)).map_err(|_| Error::BadName)
        }
        [x, ..] => Ok((*x, 1)),
        [] => Err(Error::BadName),
    }
}

fn close_label(out: &mut [u8], label_start: usize) -> Result<(), Error> {
    let len = out.len() - label_start - 1;
    if len == 0 || len > MAX_LABEL_LEN {
        return Err(Error::BadName);
    }
    // `len <= 63` was just checked, so the cast is exact.
    out[label_start] = len as u8;
    Ok(())
}

fn finish(out: Vec<u8>) -> Result<Vec<u8>, Error> {
    if out.len() > MAX_NAME_LEN {
        return Err(Error::BadName);
    }
    Ok(out)
}

/// Presentation form with the trailing dot, octets outside `[a-z0-9_*-]` (and `*` only as a
/// whole label) escaped as RFC 1035 §5.1 says. A malformed name prints what it can.
pub fn to_text(wire: &[u8]) -> String {
    let mut s = String::with_capacity(wire.len() + 1);
    for label in labels(wire) {
        for &b in label {
            if b.is_ascii_alphanumeric()
                || b == b'-'
                || b == b'_'
                || (b == b'*' && label.len() == 1)
            {
                s.push(char::from(b));
            } else if b.is_ascii_graphic() {
                s.push('\\');
                s.push(char::from(b));
            } else {
                s.push_str(&format!("\\{b:03}"));
            }
        }
        s.push('.');
    }
    if s.is_empty() {
        s.push('.');
    }
    s
}

/// Iterator over the labels of a wire name, leftmost first, the root label left out. Stops at
/// the root label or at the end of a malformed slice.
pub fn labels(wire: &[u8]) -> Labels<'_> {
    Labels { rest: wire }
}

/// See [`labels`].
pub struct Labels<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let (&len, rest) = self.rest.split_first()?;
        let len = usize::from(len);
        if len == 0 || len > MAX_LABEL_LEN || rest.len() < len {
            self.rest = &[];
            return None;
        }
        let (label, rest) = rest.split_at(len);
        self.rest = rest;
        Some(label)
    }
}

/// Is this a well-formed wire name: labels of 1..=63 octets ending in the root label, at most
/// 255 octets, nothing after the root?
pub fn is_valid(wire: &[u8]) -> bool {
    if wire.len() > MAX_NAME_LEN {
        return false;
    }
    let mut i = 0;
    while let Some(&len) = wire.get(i) {
        if len == 0 {
            return i + 1 == wire.len();
        }
        if usize::from(len) > MAX_LABEL_LEN {
            return false;
        }
        i += 1 + usize::from(len);
    }
    false
}

/// The RRSIG Labels field (RFC 4034 §3.1.3): the owner's labels without the root and without
/// a leading `*` label (RFC 4035 §5.3.2, so a wildcard RRSIG validates every expansion).
pub fn rrsig_labels(owner: &[u8]) -> u8 {
    let mut n = 0u8;
    for (i, label) in labels(owner).enumerate() {
        if !(i == 0 && label == b"*") {
            n = n.saturating_add(1);
        }
    }
    n
}

/// The name with its leftmost label removed (`None` for the root).
pub fn parent(wire: &[u8]) -> Option<&[u8]> {
    let len = usize::from(*wire.first()?);
    if len == 0 {
        return None;
    }
    wire.get(1 + len..)
}

/// Is `name` equal to `zone` or below it? Both lowercase wire names.
pub fn is_at_or_below(name: &[u8], zone: &[u8]) -> bool {
    let mut n = name;
    loop {
        if n == zone {
            return true;
        }
        match parent(n) {
            Some(p) => n = p,
            None => return false,
        }
    }
}

/// The closest encloser of `qname` (RFC 5155 §1.3, RFC 4592 §3.3.1): the longest ancestor of
/// `qname` at or below `apex` for which `exists` holds (empty non-terminals exist). `qname` itself
/// when it exists; `None` when `qname` is not at or below `apex`. `exists` is the zone's lookup.
pub fn closest_encloser<'a>(
    qname: &'a [u8],
    apex: &[u8],
    exists: impl Fn(&[u8]) -> bool,
) -> Option<&'a [u8]> {
    if !is_at_or_below(qname, apex) {
        return None;
    }
    let mut n = qname;
    loop {
        if n == apex || exists(n) {
            return Some(n);
        }
        n = parent(n)?;
    }
}

/// The next closer name (RFC 5155 §1.3): `qname` cut to one label more than its ancestor `ce`.
/// `None` unless `qname` is strictly below `ce`.
pub fn next_closer<'a>(qname: &'a [u8], ce: &[u8]) -> Option<&'a [u8]> {
    let mut n = qname;
    loop {
        let p = parent(n)?;
        if p == ce {
            return Some(n);
        }
        n = p;
    }
}

/// Label start offsets of a wire name, leftmost first (at most 127 labels fit in 255 octets).
fn label_offsets(wire: &[u8], offsets: &mut [u8; 128]) -> usize {
    let mut n = 0;
    let mut i = 0usize;
    while let Some(&len) = wire.get(i) {
        if len == 0 || n == offsets.len() {
            break;
        }
        // `i < 255` for a valid name; a malformed longer one is cut off here, never indexed.
        let Ok(off) = u8::try_from(i) else { break };
        offsets[n] = off;
        n += 1;
        i += 1 + usize::from(len);
    }
    n
}

/// Canonical DNS name order (RFC 4034 §6.1): compare label by label from the rightmost,
/// each label as a case-folded octet string, a shorter label (and a name with fewer labels)
/// first when it is a prefix of the other.
pub fn canonical_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let mut oa = [0u8; 128];
    let mut ob = [0u8; 128];
    let na = label_offsets(a, &mut oa);
    let nb = label_offsets(b, &mut ob);
    for k in 1..=na.min(nb) {
        let la = label_at(a, oa[na - k]);
        let lb = label_at(b, ob[nb - k]);
        let ord = la
            .iter()
            .map(u8::to_ascii_lowercase)
            .cmp(lb.iter().map(u8::to_ascii_lowercase));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    na.cmp(&nb)
}

fn label_at(wire: &[u8], offset: u8) -> &[u8] {
    let o = usize::from(offset);
    let len = usize::from(wire[o]);
    wire.get(o + 1..o + 1 + len).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_errors() {
        let w = from_text("WWW.Example.com.").unwrap();
        assert_eq!(w, b"\x03www\x07example\x03com\x00");
        assert_eq!(from_text("www.example.com").unwrap(), w);
        assert_eq!(to_text(&w), "www.example.com.");
        assert_eq!(from_text(".").unwrap(), b"\x00");
        assert_eq!(to_text(b"\x00"), ".");
        assert_eq!(from_text("a\\.b.c").unwrap(), b"\x03a.b\x01c\x00");
        assert_eq!(to_text(b"\x03a.b\x01c\x00"), "a\\.b.c.");
        assert_eq!(from_text("\\000.x").unwrap(), b"\x01\x00\x01x\x00");
        assert_eq!(to_text(b"\x01\x00\x01x\x00"), "\\000.x.");
        assert_eq!(to_text(b"\x01*\x01x\x00"), "*.x.");
        assert!(from_text("a..b").is_err());
        assert!(from_text(&"a".repeat(64)).is_err());
        let long = ["abcdefghi"; 26].join(".");
        assert!(from_text(&long).is_err());
        assert!(is_valid(&w));
        assert!(!is_valid(b"\x03www"));
        assert!(!is_valid(b"\x01a\x00\x00"));
    }

    #[test]
    fn labels_field_skips_root_and_wildcard() {
        assert_eq!(rrsig_labels(&from_text("www.example.net").unwrap()), 3);
        assert_eq!(rrsig_labels(&from_text("*.example.net").unwrap()), 2);
        assert_eq!(rrsig_labels(&from_text("a.*.example.net").unwrap()), 4);
        assert_eq!(rrsig_labels(b"\x00"), 0);
    }

    #[test]
    fn canonical_order_of_rfc4034_section_6_1() {
        // The example list of RFC 4034 §6.1, in its order.
        let names = [
            "example",
            "a.example",
            "yljkjljk.a.example",
            "Z.a.example",
            "zABC.a.EXAMPLE",
            "z.example",
            "\\001.z.example",
            "*.z.example",
            "\\200.z.example",
        ];
        let wire: Vec<Vec<u8>> = names.iter().map(|n| from_text(n).unwrap()).collect();
        for i in 0..wire.len() {
            for j in 0..wire.len() {
                assert_eq!(
                    canonical_cmp(&wire[i], &wire[j]),
                    i.cmp(&j),
                    "{} vs {}",
                    names[i],
                    names[j]
                );
            }
        }
        // Case does not matter.
        assert_eq!(canonical_cmp(b"\x01A\x00", b"\x01a\x00"), Ordering::Equal);
    }

    #[test]
    fn closest_encloser_and_next_closer() {
        let apex = from_text("example").unwrap();
        let zone = [from_text("a.b.example").unwrap(), apex.clone()];
        // `b.example` exists as an empty non-terminal.
        let exists = |n: &[u8]| zone.iter().any(|z| is_at_or_below(z, n));
        let q = from_text("x.y.a.b.example").unwrap();
        let ce = closest_encloser(&q, &apex, exists).unwrap();
        assert_eq!(ce, from_text("a.b.example").unwrap());
        assert_eq!(
            next_closer(&q, ce).unwrap(),
            from_text("y.a.b.example").unwrap()
        );
        let q = from_text("c.example").unwrap();
        assert_eq!(closest_encloser(&q, &apex, exists).unwrap(), apex);
        assert_eq!(next_closer(&q, &apex).unwrap(), q);
        let q = from_text("b.example").unwrap();
        assert_eq!(closest_encloser(&q, &apex, exists).unwrap(), q);
        assert_eq!(next_closer(&q, &q), None);
        assert_eq!(
            closest_encloser(&from_text("x.net").unwrap(), &apex, exists),
            None
        );
    }

    #[test]
    fn parents() {
        let w = from_text("a.b.c").unwrap();
        assert_eq!(parent(&w).unwrap(), b"\x01b\x01c\x00");
        assert_eq!(parent(b"\x00"), None);
        assert!(is_at_or_below(&w, b"\x01c\x00"));
        assert!(is_at_or_below(&w, b"\x00"));
        assert!(!is_at_or_below(b"\x01c\x00", &w));
    }
}
