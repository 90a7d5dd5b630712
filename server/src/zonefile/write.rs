//! Writing a zone file: `$ORIGIN`, the SOA first, names relative to the origin (in contents
//! too), TXT as quoted 255-octet strings. The TXT stored-form rule is `model::content`'s.

use std::io::Write;

use crate::model::content::txt_value;

/// A string as one quoted zone file string: `"` and `\` escaped, octets outside printable
/// ASCII as `\DDD` (RFC 1035 §5.1).
pub(super) fn quote(s: &str) -> String {
    quote_bytes(s.as_bytes())
}

pub(super) fn quote_bytes(b: &[u8]) -> String {
    let mut q = String::with_capacity(b.len() + 2);
    q.push('"');
    for &x in b {
        match x {
            b'"' | b'\\' => {
                q.push('\\');
                q.push(x as char);
            }
            0x20..=0x7E => q.push(x as char),
            _ => q.push_str(&format!("\\{x:03}")),
        }
    }
    q.push('"');
    q
}

/// A record to write: owner (fqdn, no trailing dot), TTL, type mnemonic and content in the
/// stored content form (TXT as the API stores it; DNSSEC types as presentation text).
#[derive(Debug, Clone, Copy)]
pub struct OutRecord<'a> {
    pub owner: &'a str,
    pub ttl: u32,
    pub rtype: &'a str,
    pub content: &'a str,
}

/// Write records as an RFC 1035 zone file for `origin`: a `$ORIGIN` line, the SOA first, then
/// the records grouped by owner (apex first, then names in canonical order, RFC 4034 §6.1),
/// owners relative to the origin and written once per group, every record with its TTL and
/// class, TXT values as quoted strings of at most 255 octets each. Names in the zone are
/// relative in contents too, so the same file under another `$ORIGIN` line is the same zone
/// under another name (an export imported into a second zone).
pub fn write_zone<'a, W: Write>(
    out: &mut W,
    origin: &str,
    records: impl IntoIterator<Item = OutRecord<'a>>,
) -> std::io::Result<()> {
    let origin = origin.trim_end_matches('.').to_ascii_lowercase();
    let mut recs: Vec<(Vec<String>, bool, OutRecord<'a>)> = records
        .into_iter()
        .map(|r| {
            let owner = r.owner.trim_end_matches('.').to_ascii_lowercase();
            // Canonical order key: labels from the right (RFC 4034 §6.1).
            let key: Vec<String> = owner.rsplit('.').map(str::to_string).collect();
            let not_soa = !r.rtype.eq_ignore_ascii_case("SOA");
            (key, not_soa, r)
        })
        .collect();
    // SOA first; a stable sort keeps the caller's order within an RRset.
    recs.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    writeln!(out, "$ORIGIN {origin}.")?;
    let mut prev: Option<String> = None;
    for (_, _, r) in &recs {
        let owner = r.owner.trim_end_matches('.').to_ascii_lowercase();
        let shown = if prev.as_deref() == Some(owner.as_str()) {
            String::new()
        } else {
            relative(&format!("{owner}."), &origin)
        };
        let rtype = r.rtype.to_ascii_uppercase();
        let content = relative_content(&rtype, r.content, &origin);
        writeln!(out, "{shown}\t{}\tIN\t{rtype}\t{content}", r.ttl)?;
        prev = Some(owner);
    }
    Ok(())
}

/// An absolute name (with trailing dot) relative to `origin` when it is the origin (`@`) or
/// under it; other names stay absolute.
fn relative(name: &str, origin: &str) -> String {
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare == origin {
        "@".to_string()
    } else if let Some(rel) = bare.strip_suffix(origin).and_then(|r| r.strip_suffix('.')) {
        rel.to_string()
    } else if !name.ends_with('.') {
        // Not in content form: write it as given.
        name.to_string()
    } else {
        format!("{bare}.")
    }
}

/// Content as zone file text: TXT as quoted strings, the names of CNAME, NS, PTR, MX, SRV and
/// SOA relative to the origin where they are in the zone (so the file's records follow its
/// `$ORIGIN` line), everything else as stored.
fn relative_content(rtype: &str, content: &str, origin: &str) -> String {
    let fields: Vec<&str> = content.split_ascii_whitespace().collect();
    let rel = |i: usize| relative(fields[i], origin);
    match (rtype, fields.len()) {
        ("TXT", _) => txt_strings(&txt_value(content)),
        ("CNAME" | "NS" | "PTR", 1) => rel(0),
        ("MX", 2) => format!("{} {}", fields[0], rel(1)),
        ("SRV", 4) => format!("{} {} {} {}", fields[0], fields[1], fields[2], rel(3)),
        ("SOA", 7) => format!("{} {} {}", rel(0), rel(1), fields[2..].join(" ")),
        _ => content.to_string(),
    }
}

/// A TXT value as quoted character-strings of at most 255 octets (RFC 1035 §3.3.14).
fn txt_strings(value: &str) -> String {
    let b = value.as_bytes();
    if b.is_empty() {
        return "\"\"".into();
    }
    b.chunks(255).map(quote_bytes).collect::<Vec<_>>().join(" ")
}
