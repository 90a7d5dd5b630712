//! Record content: the rules per type shared by the LuaDNS-style API (validation,
//! normalisation), zone files and the DNS responder (content text -> RDATA). `normalize` is
//! the single gate every stored content passes through, so `to_rdata` can assume canonical
//! input (and still reports errors instead of panicking on anything else). Names inside
//! content follow `name.rs`, addresses `value.rs`.

use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::rdata::{caa::CAA, CNAME, MX, NS, PTR, SOA, SRV, TXT};
use hickory_proto::rr::{Name, RData};

use super::name::target_name as parse_target;
use super::value::{self, Ipv4Error};
use super::{Invalid, RType};

fn err<T>(msg: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(msg.into()))
}

/// Longest TXT content we store (all character-strings together). The responder splits it into
/// 255-octet character-strings (RFC 1035 §3.3.14); answers above the UDP size go TC + TCP.
pub const MAX_TXT_LEN: usize = 4000;

/// Longest CAA value we accept; real values (`letsencrypt.org; accounturi=...`) stay far below.
const MAX_CAA_VALUE_LEN: usize = 1024;

/// Validate `content` for `rtype` and return its canonical text form (the form stored, returned
/// by the API and turned into RDATA by the responder). Domain-name targets come back as
/// lowercase fqdns with a trailing dot; TXT comes back unquoted.
pub fn normalize(rtype: RType, content: &str) -> Result<String, Invalid> {
    // TXT keeps its blanks; for every other type surrounding blanks are noise.
    let raw = content;
    let content = content.trim();
    match rtype {
        RType::Txt => normalize_txt(raw),
        RType::A => parse_ipv4(content).map(|a| a.to_string()),
        RType::Aaaa => parse_ipv6(content).map(|a| a.to_string()),
        RType::Cname | RType::Ns | RType::Ptr => {
            let name = parse_target(content, rtype.as_str())?;
            if name.is_empty() {
                return err(format!("{rtype} target must not be the root"));
            }
            Ok(format!("{name}."))
        }
        RType::Mx => {
            let (pref, target) = parse_mx(content)?;
            Ok(format!("{pref} {target}."))
        }
        RType::Srv => {
            let (prio, weight, port, target) = parse_srv(content)?;
            Ok(format!("{prio} {weight} {port} {target}."))
        }
        RType::Caa => {
            let (flags, tag, value) = parse_caa(content)?;
            Ok(format!("{flags} {tag} \"{value}\""))
        }
        RType::Soa => {
            let soa = parse_soa(content)?;
            Ok(format!(
                "{}. {}. {} {} {} {} {}",
                soa.mname, soa.rname, soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum
            ))
        }
    }
}

/// A record's IPv4 address (the one strict parser of `value.rs`, LuaDNS-style messages).
fn parse_ipv4(s: &str) -> Result<Ipv4Addr, Invalid> {
    value::parse_ipv4(s).map_err(|e| match e {
        Ipv4Error::ZeroPadded => Invalid::new("invalid IPv4 address (zero-padded octet)"),
        Ipv4Error::Malformed => Invalid::new("invalid IPv4 address"),
    })
}

fn parse_ipv6(s: &str) -> Result<Ipv6Addr, Invalid> {
    let a = value::parse_ipv6(s).ok_or_else(|| Invalid::new("invalid IPv6 address"))?;
    if value::is_ipv4_mapped(a) {
        return Err(Invalid::new(
            "invalid IPv6 address (IPv4-mapped: use an A record)",
        ));
    }
    Ok(a)
}

fn parse_u16(s: &str, what: &str) -> Result<u16, Invalid> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return err(format!("invalid {what}: expected a number 0-65535"));
    }
    s.parse()
        .map_err(|_| Invalid(format!("invalid {what}: expected a number 0-65535")))
}

fn parse_u32(s: &str, what: &str) -> Result<u32, Invalid> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return err(format!("invalid {what}: expected a number 0-4294967295"));
    }
    s.parse()
        .map_err(|_| Invalid(format!("invalid {what}: expected a number 0-4294967295")))
}

/// `pref target`; a null MX (`0 .`, RFC 7505 §3) has target "".
fn parse_mx(s: &str) -> Result<(u16, String), Invalid> {
    let fields: Vec<&str> = s.split_ascii_whitespace().collect();
    let [pref, target] = fields[..] else {
        return err("invalid MX content: expected 'preference target.'");
    };
    let pref = parse_u16(pref, "MX preference")?;
    let target = parse_target(target, "MX")?;
    if target.is_empty() && pref != 0 {
        return err("null MX ('.') must have preference 0 (RFC 7505)");
    }
    Ok((pref, target))
}

/// `priority weight port target`; target "" is `.` ("no service", RFC 2782).
fn parse_srv(s: &str) -> Result<(u16, u16, u16, String), Invalid> {
    let fields: Vec<&str> = s.split_ascii_whitespace().collect();
    let [prio, weight, port, target] = fields[..] else {
        return err("invalid SRV content: expected 'priority weight port target.'");
    };
    Ok((
        parse_u16(prio, "SRV priority")?,
        parse_u16(weight, "SRV weight")?,
        parse_u16(port, "SRV port")?,
        parse_target(target, "SRV")?,
    ))
}

/// Parse one or more zone-file style quoted strings (`"a" "b"`), concatenated; `\"` and `\\`
/// are unescaped. `None` if `s` is not entirely made of quoted strings.
fn unquote_all(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => return any.then_some(out),
            Some('"') => {}
            Some(_) => return None,
        }
        any = true;
        loop {
            match chars.next()? {
                '"' => break,
                '\\' => match chars.next()? {
                    c @ ('"' | '\\') => out.push(c),
                    c => {
                        out.push('\\');
                        out.push(c);
                    }
                },
                c => out.push(c),
            }
        }
    }
}

/// TXT: stored unquoted. Input wrapped in double quotes (one or several zone-file strings) is
/// unwrapped; anything else is kept as given. A value that itself looks wrapped in quotes is
/// stored quoted and escaped, so that the stored form reads back as the same value (normalising
/// it again changes nothing, and GET-then-PUT keeps the record as it is).
fn normalize_txt(content: &str) -> Result<String, Invalid> {
    let value = txt_value(content);
    if value.len() > MAX_TXT_LEN {
        return err(format!("TXT content is longer than {MAX_TXT_LEN} bytes"));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return err("TXT content contains control characters");
    }
    Ok(txt_content(value))
}

/// The stored content for a TXT value (the inverse of `txt_value`): the value itself, or,
/// when it would read as quoted text, the value quoted and escaped.
pub fn txt_content(value: String) -> String {
    if !looks_quoted(&value) {
        return value;
    }
    let mut q = String::with_capacity(value.len() + 2);
    q.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// Would `txt_value` unwrap this text?
fn looks_quoted(s: &str) -> bool {
    let t = s.trim();
    t.starts_with('"') && unquote_all(t).is_some()
}

/// The TXT value a content text stands for: quoted content unwrapped, anything else as is.
pub fn txt_value(content: &str) -> String {
    if looks_quoted(content) {
        unquote_all(content.trim()).unwrap_or_else(|| content.to_string())
    } else {
        content.to_string()
    }
}

/// `flags tag value` (RFC 8659 §4.1); the value may be quoted. Tag is lowercased (matching is
/// case-insensitive) and must be 1..=15 ASCII letters or digits.
fn parse_caa(s: &str) -> Result<(u8, String, String), Invalid> {
    let bad = || Invalid("invalid CAA content: expected 'flags tag \"value\"'".into());
    let (flags, rest) = s.split_once(char::is_whitespace).ok_or_else(bad)?;
    let (tag, value) = rest
        .trim_start()
        .split_once(char::is_whitespace)
        .ok_or_else(bad)?;
    if flags.is_empty() || !flags.bytes().all(|b| b.is_ascii_digit()) {
        return err("invalid CAA flags: expected a number 0-255");
    }
    let flags: u8 = flags
        .parse()
        .map_err(|_| Invalid("invalid CAA flags: expected a number 0-255".into()))?;
    if tag.is_empty() || tag.len() > 15 || !tag.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return err("invalid CAA tag: expected 1-15 letters or digits");
    }
    let value = value.trim();
    let value = if value.starts_with('"') {
        match unquote_all(value) {
            Some(v) => v,
            None => return err("invalid CAA value: unbalanced quotes"),
        }
    } else {
        value.to_string()
    };
    if value.contains(['"', '\\']) {
        return err("invalid CAA value: quotes and backslashes are not allowed");
    }
    if value.chars().any(char::is_control) {
        return err("invalid CAA value: control characters are not allowed");
    }
    if value.len() > MAX_CAA_VALUE_LEN {
        return err(format!(
            "CAA value is longer than {MAX_CAA_VALUE_LEN} bytes"
        ));
    }
    Ok((flags, tag.to_ascii_lowercase(), value))
}

/// Parsed SOA content; names lowercase without trailing dot.
struct SoaFields {
    mname: String,
    rname: String,
    serial: u32,
    refresh: u32,
    retry: u32,
    expire: u32,
    minimum: u32,
}

fn parse_soa(s: &str) -> Result<SoaFields, Invalid> {
    let fields: Vec<&str> = s.split_ascii_whitespace().collect();
    let [mname, rname, serial, refresh, retry, expire, minimum] = fields[..] else {
        return err(
            "invalid SOA content: expected 'mname. rname. serial refresh retry expire minimum'",
        );
    };
    let mname = parse_target(mname, "SOA mname")?;
    let rname = parse_target(rname, "SOA rname")?;
    if mname.is_empty() || rname.is_empty() {
        return err("invalid SOA content: mname and rname must not be the root");
    }
    Ok(SoaFields {
        mname,
        rname,
        serial: parse_u32(serial, "SOA serial")?,
        refresh: parse_u32(refresh, "SOA refresh")?,
        retry: parse_u32(retry, "SOA retry")?,
        expire: parse_u32(expire, "SOA expire")?,
        minimum: parse_u32(minimum, "SOA minimum")?,
    })
}

/// A lowercase name without trailing dot ("" = root) as an fqdn `Name`.
fn to_name(lower: &str) -> Result<Name, Invalid> {
    if lower.is_empty() {
        return Ok(Name::root());
    }
    Name::from_ascii(format!("{lower}."))
        .map_err(|e| Invalid(format!("invalid name '{lower}': {e}")))
}

/// `normalize` for a record of zone `origin`, with relative names handled one way for owners
/// and targets (`relative_in`): a single label without a final dot is relative to the zone
/// (`www` in zone `example.org` is `www.example.org.`, as in a zone file, RFC 1035 §5.1); a
/// name of several labels is a full name with or without its final dot (API clients send
/// `host.example.net` meaning exactly that).
pub fn normalize_in(rtype: RType, content: &str, origin: &str) -> Result<String, Invalid> {
    let canonical = normalize(rtype, content)?;
    let raw_target = match rtype {
        RType::Cname | RType::Ns | RType::Ptr => content.trim(),
        RType::Mx | RType::Srv => content.split_whitespace().last().unwrap_or(""),
        _ => return Ok(canonical),
    };
    if !is_relative(raw_target) {
        return Ok(canonical);
    }
    let (head, target) = match canonical.rsplit_once(' ') {
        Some((h, t)) => (Some(h), t),
        None => (None, canonical.as_str()),
    };
    let bare = target.trim_end_matches('.');
    let absolute = format!("{bare}.{origin}.");
    // The longer name must still be a valid name (253 characters at most).
    super::name::target_name(&absolute, rtype.as_str())?;
    Ok(match head {
        Some(h) => format!("{h} {absolute}"),
        None => absolute,
    })
}

/// Is a name as written relative to the zone: one label, no final dot (not the root `.`)?
pub fn is_relative(name: &str) -> bool {
    !name.is_empty() && name != "." && !name.contains('.')
}

/// Split TXT content into character-strings of at most 255 octets (RFC 1035 §3.3.14). The split
/// is on bytes: a character-string is octets, and consumers concatenate them (RFC 7208 §3.3).
pub fn txt_chunks(content: &str) -> Vec<&[u8]> {
    let bytes = content.as_bytes();
    if bytes.is_empty() {
        // One empty character-string: TXT RDATA is never zero-length.
        return vec![bytes];
    }
    bytes.chunks(255).collect()
}

/// Turn normalised content (as `normalize` returns it) into hickory RDATA for the responder.
/// Re-validates, so stale or hand-edited content yields an error rather than a panic.
pub fn to_rdata(rtype: RType, content: &str) -> Result<RData, Invalid> {
    let content = normalize(rtype, content)?;
    Ok(match rtype {
        RType::A => RData::A(parse_ipv4(&content)?.into()),
        RType::Aaaa => RData::AAAA(parse_ipv6(&content)?.into()),
        RType::Cname => RData::CNAME(CNAME(to_name(parse_target(&content, "CNAME")?.as_str())?)),
        RType::Ns => RData::NS(NS(to_name(parse_target(&content, "NS")?.as_str())?)),
        RType::Ptr => RData::PTR(PTR(to_name(parse_target(&content, "PTR")?.as_str())?)),
        RType::Mx => {
            let (pref, target) = parse_mx(&content)?;
            RData::MX(MX::new(pref, to_name(&target)?))
        }
        RType::Srv => {
            let (prio, weight, port, target) = parse_srv(&content)?;
            RData::SRV(SRV::new(prio, weight, port, to_name(&target)?))
        }
        RType::Txt => RData::TXT(TXT::from_bytes(txt_chunks(&txt_value(&content)))),
        RType::Caa => {
            let (flags, tag, value) = parse_caa(&content)?;
            let mut caa = CAA::new_issue(false, None, Vec::new());
            caa.issuer_critical = flags & 0x80 != 0;
            caa.reserved_flags = flags & 0x7f;
            caa.tag = tag;
            caa.value = value.into_bytes();
            RData::CAA(caa)
        }
        RType::Soa => {
            let f = parse_soa(&content)?;
            // SOA timers are 32-bit fields on the wire; hickory types three of them as i32, so
            // values above i32::MAX keep their bit pattern.
            RData::SOA(SOA::new(
                to_name(&f.mname)?,
                to_name(&f.rname)?,
                f.serial,
                f.refresh as i32,
                f.retry as i32,
                f.expire as i32,
                f.minimum,
            ))
        }
    })
}

#[cfg(test)]
mod txt_roundtrip_tests {
    use super::*;

    #[test]
    fn quoted_looking_values_are_a_fixed_point() {
        for input in [
            r#""\"a\"""#,
            r#""\"\"""#,
            "plain",
            r#""quoted""#,
            r#"" lead""#,
            r#"a "b" c"#,
        ] {
            let once = normalize(RType::Txt, input).unwrap();
            assert_eq!(normalize(RType::Txt, &once).unwrap(), once, "{input}");
        }
        assert_eq!(normalize(RType::Txt, r#""\"a\"""#).unwrap(), r#""\"a\"""#);
        assert_eq!(txt_value(r#""\"a\"""#), r#""a""#);
        assert_eq!(normalize(RType::Txt, r#""quoted""#).unwrap(), "quoted");
        assert_eq!(txt_content(r#""abc""#.to_string()), r#""\"abc\"""#);
        assert_eq!(txt_value(&txt_content(r#""abc""#.to_string())), r#""abc""#);
        assert_eq!(txt_value(&txt_content("plain".to_string())), "plain");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(t: RType, s: &str) -> String {
        normalize(t, s).unwrap_or_else(|e| panic!("{t} {s:?}: {e}"))
    }

    fn bad(t: RType, s: &str) -> String {
        match normalize(t, s) {
            Ok(v) => panic!("{t} {s:?} accepted as {v:?}"),
            Err(e) => e.0,
        }
    }

    #[test]
    fn a_records() {
        assert_eq!(ok(RType::A, "192.0.2.1"), "192.0.2.1");
        assert_eq!(ok(RType::A, " 10.0.0.255 "), "10.0.0.255");
        assert_eq!(ok(RType::A, "0.0.0.0"), "0.0.0.0");
        assert_eq!(
            bad(RType::A, "192.000.002.001"),
            "invalid IPv4 address (zero-padded octet)"
        );
        assert_eq!(
            bad(RType::A, "010.1.1.1"),
            "invalid IPv4 address (zero-padded octet)"
        );
        for s in [
            "",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1.2.3.-4",
            "a.b.c.d",
            "1..2.3",
            "::1",
            "0x1.2.3.4",
            "1.2.3.4/24",
        ] {
            assert_eq!(bad(RType::A, s), "invalid IPv4 address", "{s:?}");
        }
    }

    #[test]
    fn aaaa_records_rfc5952() {
        assert_eq!(ok(RType::Aaaa, "2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
        assert_eq!(
            ok(RType::Aaaa, "2001:0db8:0000:0000:0001:0000:0000:0001"),
            "2001:db8::1:0:0:1"
        );
        assert_eq!(ok(RType::Aaaa, "::"), "::");
        // An IPv4-mapped address is an IPv4 address: it belongs in an A record (RFC 4291 §2.5.5.2).
        assert!(bad(RType::Aaaa, "::ffff:192.0.2.1").contains("IPv4-mapped"));
        for s in [
            "",
            "192.0.2.1",
            "2001:db8::1::2",
            "fe80::1%eth0",
            "gggg::1",
            "2001:db8:0:0:0:0:0:0:1",
        ] {
            assert_eq!(bad(RType::Aaaa, s), "invalid IPv6 address", "{s:?}");
        }
    }

    #[test]
    fn name_targets() {
        for t in [RType::Cname, RType::Ns, RType::Ptr] {
            assert_eq!(ok(t, "Target.Example.NET"), "target.example.net.");
            assert_eq!(ok(t, "target.example.net."), "target.example.net.");
            assert_eq!(ok(t, "_svc.example.net"), "_svc.example.net.");
            assert!(bad(t, ".").contains("root"));
            assert!(bad(t, "").contains("missing"));
            assert!(bad(t, "a..b").contains("empty label"));
            assert!(bad(t, "*.example.net").contains("wildcard"));
            assert!(bad(t, "a b.example").contains("invalid"));
            assert!(bad(t, &format!("{}.net", "a".repeat(64))).contains("63"));
        }
    }

    #[test]
    fn mx_records() {
        assert_eq!(ok(RType::Mx, "10 Mail.Example.com"), "10 mail.example.com.");
        assert_eq!(ok(RType::Mx, "  5   mx.example.com. "), "5 mx.example.com.");
        assert_eq!(ok(RType::Mx, "0 ."), "0 .");
        assert!(bad(RType::Mx, "10 .").contains("RFC 7505"));
        assert!(bad(RType::Mx, "mail.example.com").contains("expected"));
        assert!(bad(RType::Mx, "65536 mx.example.com").contains("MX preference"));
        assert!(bad(RType::Mx, "-1 mx.example.com").contains("MX preference"));
        assert!(bad(RType::Mx, "10 mx.example.com extra").contains("expected"));
    }

    #[test]
    fn srv_records() {
        assert_eq!(
            ok(RType::Srv, "10 5 5060 SIP.example.com"),
            "10 5 5060 sip.example.com."
        );
        assert_eq!(ok(RType::Srv, "0 0 0 ."), "0 0 0 .");
        assert!(bad(RType::Srv, "10 5 sip.example.com.").contains("expected"));
        assert!(bad(RType::Srv, "10 5 70000 sip.example.com.").contains("SRV port"));
        assert!(bad(RType::Srv, "x 5 80 sip.example.com.").contains("SRV priority"));
    }

    #[test]
    fn txt_records() {
        assert_eq!(ok(RType::Txt, "v=spf1 -all"), "v=spf1 -all");
        assert_eq!(ok(RType::Txt, "\"v=spf1 -all\""), "v=spf1 -all");
        assert_eq!(ok(RType::Txt, "\"part1\" \"part2\""), "part1part2");
        assert_eq!(ok(RType::Txt, r#""say \"hi\"""#), r#"say "hi""#);
        // Not purely quoted strings: kept as given.
        assert_eq!(ok(RType::Txt, "\"a\" b"), "\"a\" b");
        assert_eq!(ok(RType::Txt, "\"unterminated"), "\"unterminated");
        assert_eq!(ok(RType::Txt, ""), "");
        assert_eq!(ok(RType::Txt, "ünïcode"), "ünïcode");
        let long = "x".repeat(MAX_TXT_LEN);
        assert_eq!(ok(RType::Txt, &long), long);
        assert!(bad(RType::Txt, &"x".repeat(MAX_TXT_LEN + 1)).contains("longer"));
        assert!(bad(RType::Txt, "a\nb").contains("control"));
        assert!(bad(RType::Txt, "a\0b").contains("control"));
    }

    #[test]
    fn relative_targets_are_relative_to_the_zone() {
        let n = |t, s| normalize_in(t, s, "example.org").unwrap();
        assert_eq!(n(RType::Cname, "www"), "www.example.org.");
        assert_eq!(n(RType::Cname, "www.example.org"), "www.example.org.");
        assert_eq!(n(RType::Cname, "www.example.net."), "www.example.net.");
        assert_eq!(n(RType::Cname, "host.example.net"), "host.example.net.");
        assert_eq!(n(RType::Mx, "10 mail"), "10 mail.example.org.");
        assert_eq!(n(RType::Mx, "0 ."), "0 .");
        assert_eq!(n(RType::Srv, "1 2 3 sip"), "1 2 3 sip.example.org.");
        assert_eq!(n(RType::A, "192.0.2.1"), "192.0.2.1");
        assert_eq!(n(RType::Txt, "www"), "www");
    }

    #[test]
    fn txt_is_split_into_255_octet_strings() {
        let s = "y".repeat(600);
        let chunks = txt_chunks(&s);
        assert_eq!(
            chunks.iter().map(|c| c.len()).collect::<Vec<_>>(),
            [255, 255, 90]
        );
        assert_eq!(txt_chunks(""), [b"" as &[u8]]);
        let RData::TXT(txt) = to_rdata(RType::Txt, &s).unwrap() else {
            panic!()
        };
        assert_eq!(txt.txt_data.len(), 3);
    }

    #[test]
    fn caa_records() {
        assert_eq!(
            ok(RType::Caa, "0 issue \"letsencrypt.org\""),
            "0 issue \"letsencrypt.org\""
        );
        assert_eq!(
            ok(RType::Caa, "0 issue letsencrypt.org"),
            "0 issue \"letsencrypt.org\""
        );
        assert_eq!(ok(RType::Caa, "128 ISSUEWILD \";\""), "128 issuewild \";\"");
        assert_eq!(
            ok(RType::Caa, "0 iodef \"mailto:sec@example.org\""),
            "0 iodef \"mailto:sec@example.org\""
        );
        assert_eq!(
            ok(RType::Caa, "0 issue \"ca.example; account=1 2\""),
            "0 issue \"ca.example; account=1 2\""
        );
        assert!(bad(RType::Caa, "256 issue \"x\"").contains("flags"));
        assert!(bad(RType::Caa, "0 is-sue \"x\"").contains("tag"));
        assert!(bad(RType::Caa, "0 issue").contains("expected"));
        assert!(bad(RType::Caa, "0 issue \"x").contains("quotes"));
        assert!(bad(RType::Caa, "0 issue \"a\\\"b\"").contains("quotes"));
        let RData::CAA(caa) = to_rdata(RType::Caa, "128 issue \"ca.example\"").unwrap() else {
            panic!()
        };
        assert!(caa.issuer_critical);
        assert_eq!(caa.tag, "issue");
        assert_eq!(caa.value, b"ca.example");
    }

    #[test]
    fn soa_parse_only() {
        assert_eq!(
            ok(
                RType::Soa,
                "A.ns.luadns.net. hostmaster.luadns.com. 1421501178 1200 120 604800 3600"
            ),
            "a.ns.luadns.net. hostmaster.luadns.com. 1421501178 1200 120 604800 3600"
        );
        assert!(bad(RType::Soa, "a.ns. b. 1 2 3 4").contains("expected"));
        assert!(bad(RType::Soa, "a.ns. b. 1 2 3 4 x").contains("SOA minimum"));
        assert!(bad(RType::Soa, ". b. 1 2 3 4 5").contains("root"));
        let RData::SOA(soa) = to_rdata(RType::Soa, "a.ns. b.example. 7 1 2 3 4").unwrap() else {
            panic!()
        };
        assert_eq!(soa.serial, 7);
        assert_eq!(soa.minimum, 4);
    }

    #[test]
    fn rdata_from_normalized_content() {
        assert_eq!(
            to_rdata(RType::A, "192.0.2.7").unwrap(),
            RData::A(Ipv4Addr::new(192, 0, 2, 7).into())
        );
        let RData::MX(mx) = to_rdata(RType::Mx, "0 .").unwrap() else {
            panic!()
        };
        assert!(mx.exchange.is_root());
        let RData::SRV(srv) = to_rdata(RType::Srv, "1 2 3 t.example.").unwrap() else {
            panic!()
        };
        assert_eq!(srv.target, Name::from_ascii("t.example.").unwrap());
        assert_eq!((srv.priority, srv.weight, srv.port), (1, 2, 3));
        assert!(to_rdata(RType::A, "nope").is_err());
    }
}
