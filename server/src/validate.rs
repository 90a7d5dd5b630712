//! Input rules shared by every API: DNS labels and names, IP literals, TXT values, TTLs.
//! Each function returns the canonical form or a message safe to show to the client; callers
//! turn the message into their protocol's error shape.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A DDNS hostname label (RFC 952/1123 LDH): 1..=63 of `a-z 0-9 -`, no leading or trailing
/// hyphen, `--` in positions 3–4 only for `xn--` A-labels (RFC 5891 §4.2.3.1). Lowercased.
pub fn host_label(label: &str) -> Result<String, String> {
    let l = label.to_ascii_lowercase();
    if l.is_empty() {
        return Err("hostname label is empty".into());
    }
    if l.len() > 63 {
        return Err("hostname label is longer than 63 characters".into());
    }
    if !l
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!(
            "hostname label '{}' may only contain letters, digits and hyphens",
            printable(&l)
        ));
    }
    if l.starts_with('-') || l.ends_with('-') {
        return Err("hostname label may not start or end with a hyphen".into());
    }
    if l.len() >= 4 && &l[2..4] == "--" && !l.starts_with("xn--") {
        return Err("hostname label has '--' in positions 3-4 (reserved for IDNA)".into());
    }
    Ok(l)
}

/// Any DNS owner label (RFC 2181 §11 allows more, we allow LDH plus `_` for service labels).
pub fn dns_label(label: &str) -> Result<String, String> {
    let l = label.to_ascii_lowercase();
    if l.is_empty() || l.len() > 63 {
        return Err("each label must be 1 to 63 characters".into());
    }
    if !l
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err(format!("label '{}' has invalid characters", printable(&l)));
    }
    Ok(l)
}

/// A domain name (zone or fqdn): labels per `dns_label`, ≤ 253 characters without the final
/// dot. The trailing dot is optional on input and absent on output; lowercased.
pub fn domain_name(name: &str) -> Result<String, String> {
    let n = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if n.is_empty() {
        return Err("name is empty".into());
    }
    if n.len() > 253 {
        return Err("name is longer than 253 characters".into());
    }
    for l in n.split('.') {
        dns_label(l)?;
    }
    Ok(n)
}

/// A zone name: a domain name of at least two labels whose labels are LDH hostnames.
pub fn zone_name(name: &str) -> Result<String, String> {
    let n = domain_name(name)?;
    if !n.contains('.') {
        return Err(format!("zone '{n}' must have at least two labels"));
    }
    for l in n.split('.') {
        host_label(l).map_err(|e| format!("zone name: {e}"))?;
    }
    Ok(n)
}

/// IPv4 in strict dotted-quad form: no zero padding, no octal, no shorthand (std's parser is
/// already strict about those).
pub fn ipv4(s: &str) -> Result<Ipv4Addr, String> {
    s.trim()
        .parse::<Ipv4Addr>()
        .map_err(|_| format!("'{}' is not a valid IPv4 address", printable(s)))
}

/// Any IPv6 text form (RFC 4291 §2.2); std's Display gives the RFC 5952 canonical form.
pub fn ipv6(s: &str) -> Result<Ipv6Addr, String> {
    let t = s.trim();
    let t = t
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(t);
    t.parse::<Ipv6Addr>()
        .map_err(|_| format!("'{}' is not a valid IPv6 address", printable(s)))
}

/// Either family.
pub fn ip(s: &str) -> Result<IpAddr, String> {
    if s.contains(':') {
        ipv6(s).map(IpAddr::V6)
    } else {
        ipv4(s).map(IpAddr::V4)
    }
}

/// A hostname's TXT value: one character-string (RFC 1035 §3.3.14), ≤ 255 bytes, printable.
pub fn txt(s: &str) -> Result<String, String> {
    if s.len() > 255 {
        return Err("txt is longer than 255 bytes".into());
    }
    if s.chars().any(|c| c.is_control()) {
        return Err("txt may not contain control characters".into());
    }
    Ok(s.to_string())
}

/// A note is free text for the owner, never served in DNS.
pub fn note(s: &str) -> Result<String, String> {
    if s.len() > 500 {
        return Err("note is longer than 500 bytes".into());
    }
    Ok(s.to_string())
}

/// Shorten and sanitise client input before echoing it in an error message.
pub fn printable(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().count() > 64 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_labels() {
        assert_eq!(host_label("Client-Demo").unwrap(), "client-demo");
        assert_eq!(host_label("1host").unwrap(), "1host");
        assert_eq!(host_label("xn--bcher-kva").unwrap(), "xn--bcher-kva");
        for bad in [
            "",
            "-a",
            "a-",
            "a_b",
            "a.b",
            "ab--cd",
            "héllo",
            &"a".repeat(64),
        ] {
            assert!(host_label(bad).is_err(), "{bad} should be refused");
        }
        assert!(host_label(&"a".repeat(63)).is_ok());
    }

    #[test]
    fn domain_names() {
        assert_eq!(domain_name("WWW.Example.org.").unwrap(), "www.example.org");
        assert_eq!(
            domain_name("_acme-challenge.example.org").unwrap(),
            "_acme-challenge.example.org"
        );
        assert!(domain_name("a..b").is_err());
        assert!(domain_name(".").is_err());
        let long = vec!["a".repeat(63); 4].join(".");
        assert_eq!(long.len(), 255);
        assert!(domain_name(&long).is_err());
        let ok = format!("{0}.{0}.{0}.{1}", "a".repeat(63), "b".repeat(61));
        assert_eq!(ok.len(), 253);
        assert!(domain_name(&ok).is_ok());
        assert!(zone_name("org").is_err());
        assert!(zone_name("_x.org").is_err());
        assert_eq!(zone_name("Demo.Test").unwrap(), "demo.test");
    }

    #[test]
    fn addresses() {
        assert_eq!(ipv4("203.0.113.10").unwrap().to_string(), "203.0.113.10");
        for bad in [
            "203.0.113.010",
            "1.2.3",
            "1.2.3.256",
            "::1",
            "0x1.2.3.4",
            "",
        ] {
            assert!(ipv4(bad).is_err(), "{bad}");
        }
        assert_eq!(
            ipv6("2001:DB8:0:0::44").unwrap().to_string(),
            "2001:db8::44"
        );
        assert!(ipv6("1.2.3.4").is_err());
        assert!(ipv6("2001:db8::g").is_err());
        assert!(matches!(ip("::1"), Ok(IpAddr::V6(_))));
        assert!(matches!(ip("10.0.0.1"), Ok(IpAddr::V4(_))));
    }

    #[test]
    fn txt_values() {
        assert!(txt(&"x".repeat(255)).is_ok());
        assert!(txt(&"x".repeat(256)).is_err());
        assert!(txt("a\nb").is_err());
        assert_eq!(printable("a\u{7}b"), "a?b");
    }
}
