//! Values: the one IPv4 parser, IPv6, a hostname's TXT value and note, and the one TTL rule.
//! DDNS fields and record content both parse addresses here; each caller words its refusal
//! for its own API (record content keeps LuaDNS-style messages, the token API names the
//! input).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::name::printable;
use super::Invalid;

/// Why a text is not an IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv4Error {
    Malformed,
    /// `010`: octal in inet_aton, decimal elsewhere, so refused (docs/protocols.md §5).
    ZeroPadded,
}

/// Strict dotted quad: four decimal octets 0..=255, no zero padding, no shorthand, no hex.
pub fn parse_ipv4(s: &str) -> Result<Ipv4Addr, Ipv4Error> {
    let mut octets = [0u8; 4];
    let mut parts = s.split('.');
    for octet in &mut octets {
        let p = parts.next().ok_or(Ipv4Error::Malformed)?;
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Ipv4Error::Malformed);
        }
        if p.len() > 1 && p.starts_with('0') {
            return Err(Ipv4Error::ZeroPadded);
        }
        *octet = p.parse::<u8>().map_err(|_| Ipv4Error::Malformed)?;
    }
    if parts.next().is_some() {
        return Err(Ipv4Error::Malformed);
    }
    Ok(Ipv4Addr::from(octets))
}

/// Any IPv6 text form (RFC 4291 §2.2); std's Display gives the RFC 5952 canonical form back.
pub fn parse_ipv6(s: &str) -> Option<Ipv6Addr> {
    s.parse::<Ipv6Addr>().ok()
}

/// An IPv4 address given to a DDNS API (surrounding blanks ignored).
pub fn ipv4(s: &str) -> Result<Ipv4Addr, Invalid> {
    parse_ipv4(s.trim())
        .map_err(|_| Invalid(format!("'{}' is not a valid IPv4 address", printable(s))))
}

/// `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2): an IPv4 address in IPv6 clothing, never an AAAA.
pub fn is_ipv4_mapped(a: Ipv6Addr) -> bool {
    a.to_ipv4_mapped().is_some()
}

/// An IPv6 address given to a DDNS API; `[...]` as in URLs is accepted; an IPv4-mapped one is
/// refused (it is an IPv4 address: send it as `ip`/`ipv4`).
pub fn ipv6(s: &str) -> Result<Ipv6Addr, Invalid> {
    let t = s.trim();
    let t = t
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(t);
    let a = parse_ipv6(t)
        .ok_or_else(|| Invalid(format!("'{}' is not a valid IPv6 address", printable(s))))?;
    if is_ipv4_mapped(a) {
        return Err(Invalid(format!(
            "'{}' is an IPv4-mapped address; send it as an IPv4 address",
            printable(s)
        )));
    }
    Ok(a)
}

/// Either family.
pub fn ip(s: &str) -> Result<IpAddr, Invalid> {
    if s.contains(':') {
        ipv6(s).map(IpAddr::V6)
    } else {
        ipv4(s).map(IpAddr::V4)
    }
}

/// A hostname's TXT value: one character-string (RFC 1035 §3.3.14), ≤ 255 bytes, printable.
pub fn txt(s: &str) -> Result<String, Invalid> {
    if s.len() > 255 {
        return Err(Invalid::new("txt is longer than 255 bytes"));
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(Invalid::new("txt may not contain control characters"));
    }
    Ok(s.to_string())
}

/// A note is free text for the owner, never served in DNS: one line of printable text (no NUL
/// or other control characters, which would end up in logs, terminals and web pages).
pub fn note(s: &str) -> Result<String, Invalid> {
    if s.len() > 500 {
        return Err(Invalid::new("note is longer than 500 bytes"));
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(Invalid::new("note may not contain control characters"));
    }
    Ok(s.to_string())
}

/// A hostname's `ipv6Suffix`: an interface identifier written as an IPv6 address
/// (`::1:2:3:4`). Prefixes are /48 to /64 (`Ipv6Prefix`), so its first 48 bits must be zero;
/// the bits between 48 and 64 may pick a subnet under a shorter prefix.
pub fn ipv6_suffix(s: &str) -> Result<Ipv6Addr, Invalid> {
    let a = parse_ipv6(s.trim()).ok_or_else(|| {
        Invalid(format!(
            "'{}' is not an interface identifier such as ::1:2:3:4",
            printable(s)
        ))
    })?;
    if a.is_unspecified() || u128::from(a) >> 80 != 0 {
        return Err(Invalid(format!(
            "'{}' is not an interface identifier: its first 48 bits must be zero and it must not \
             be :: (e.g. ::1:2:3:4)",
            printable(s)
        )));
    }
    Ok(a)
}

/// A delegated or LAN prefix pushed with `ipv6prefix` (dynv6's parameter): /48 to /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Prefix {
    /// The prefix with its host bits cleared.
    pub net: Ipv6Addr,
    pub len: u8,
}

impl Ipv6Prefix {
    /// `2001:db8:1:2::/64`, or `auto`: the /64 of `peer` (the caller's own address).
    pub fn parse(s: &str, peer: IpAddr) -> Result<Ipv6Prefix, Invalid> {
        let s = s.trim();
        let (addr, len) = if s.eq_ignore_ascii_case("auto") {
            match peer {
                IpAddr::V6(a) if a.to_ipv4_mapped().is_none() => (a, 64),
                _ => {
                    return Err(Invalid::new(
                        "ipv6prefix=auto needs a request that came over IPv6",
                    ))
                }
            }
        } else {
            let bad = || {
                Invalid(format!(
                    "'{}' is not an IPv6 prefix such as 2001:db8:1:2::/64",
                    printable(s)
                ))
            };
            let (a, l) = s.split_once('/').ok_or_else(bad)?;
            let a = parse_ipv6(a.trim_start_matches('[').trim_end_matches(']')).ok_or_else(bad)?;
            let l: u8 = l.parse().map_err(|_| bad())?;
            (a, l)
        };
        if !(48..=64).contains(&len) {
            return Err(Invalid(format!(
                "an ipv6prefix must be /48 to /64 (got /{len})"
            )));
        }
        let first = addr.segments()[0];
        // Global unicast only (2000::/3 in practice, RFC 4291 §2.4): not link-local,
        // multicast, loopback, IPv4-mapped or unique-local space that DNS on the internet
        // cannot reach.
        if first >> 13 != 0b001 {
            return Err(Invalid(format!(
                "'{}' is not a global unicast prefix (2000::/3)",
                printable(s)
            )));
        }
        let mask = u128::MAX << (128 - u32::from(len));
        Ok(Ipv6Prefix {
            net: Ipv6Addr::from(u128::from(addr) & mask),
            len,
        })
    }

    /// The address of a device with interface identifier `suffix` under this prefix; an error
    /// when the suffix has bits inside the prefix (it does not fit a prefix this long).
    pub fn address_for(&self, suffix: Ipv6Addr) -> Result<Ipv6Addr, Invalid> {
        let mask = u128::MAX << (128 - u32::from(self.len));
        if u128::from(suffix) & mask != 0 {
            return Err(Invalid(format!(
                "the suffix {suffix} does not fit a /{} prefix: its bits reach into the prefix",
                self.len
            )));
        }
        Ok(Ipv6Addr::from(u128::from(self.net) | u128::from(suffix)))
    }
}

impl std::fmt::Display for Ipv6Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.net, self.len)
    }
}

/// The TTL bounds of this server (`[limits] min_ttl`, `max_ttl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtlRange {
    pub min: u32,
    pub max: u32,
}

/// What a client sent as a TTL.
#[derive(Debug, Clone, Copy)]
pub enum TtlInput<'a> {
    Number(Option<u64>),
    Text(&'a str),
    Other,
}

impl TtlRange {
    /// The one TTL rule: a whole number of seconds within the configured range. `field` is how
    /// the API names the field in its messages (`'ttl'` in the token API, `ttl` in LuaDNS's).
    pub fn check(&self, v: TtlInput, field: &str) -> Result<u32, Invalid> {
        let n = match v {
            TtlInput::Number(n) => n,
            TtlInput::Text(s) => s.trim().parse::<u64>().ok(),
            TtlInput::Other => None,
        }
        .ok_or_else(|| Invalid(format!("{field} must be a whole number of seconds")))?;
        if n < u64::from(self.min) || n > u64::from(self.max) {
            return Err(Invalid(format!(
                "{field} must be between {} and {} seconds",
                self.min, self.max
            )));
        }
        Ok(n as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(ipv6("[::1]").unwrap().to_string(), "::1");
        assert!(ipv6("1.2.3.4").is_err());
        assert!(ipv6("2001:db8::g").is_err());
        assert!(ipv6("::ffff:192.0.2.1")
            .unwrap_err()
            .0
            .contains("IPv4-mapped"));
        assert!(note("a\u{0}b").is_err());
        assert!(matches!(ip("::1"), Ok(IpAddr::V6(_))));
        assert!(matches!(ip("10.0.0.1"), Ok(IpAddr::V4(_))));
        assert_eq!(parse_ipv4("010.1.1.1"), Err(Ipv4Error::ZeroPadded));
        assert_eq!(parse_ipv4("1.2.3.4.5"), Err(Ipv4Error::Malformed));
    }

    #[test]
    fn txt_values() {
        assert!(txt(&"x".repeat(255)).is_ok());
        assert!(txt(&"x".repeat(256)).is_err());
        assert!(txt("a\nb").is_err());
    }

    #[test]
    fn prefixes_and_suffixes() {
        let peer: IpAddr = "2001:db8:5:6::99".parse().unwrap();
        let p = Ipv6Prefix::parse("2001:db8:1:2::/64", peer).unwrap();
        assert_eq!(p.to_string(), "2001:db8:1:2::/64");
        let s = ipv6_suffix("::1:2:3:4").unwrap();
        assert_eq!(
            p.address_for(s).unwrap().to_string(),
            "2001:db8:1:2:1:2:3:4"
        );
        assert_eq!(
            Ipv6Prefix::parse("auto", peer).unwrap().to_string(),
            "2001:db8:5:6::/64"
        );
        // Host bits of the prefix are cleared; a /56 leaves the subnet to the suffix.
        let p56 = Ipv6Prefix::parse("2001:db8:1:2ff::/56", peer).unwrap();
        assert_eq!(p56.to_string(), "2001:db8:1:200::/56");
        let sub = ipv6_suffix("::5:0:0:0:7").unwrap();
        assert_eq!(
            p56.address_for(sub).unwrap().to_string(),
            "2001:db8:1:205::7"
        );
        assert!(p.address_for(sub).is_err(), "subnet bits inside a /64");
        for bad in [
            "2001:db8::/40",
            "2001:db8::/65",
            "2001:db8::",
            "fe80::/64",
            "fd00:1::/64",
            "ff02::/64",
            "192.0.2.0/24",
            "x/64",
        ] {
            assert!(Ipv6Prefix::parse(bad, peer).is_err(), "{bad}");
        }
        assert!(Ipv6Prefix::parse("auto", "192.0.2.1".parse().unwrap()).is_err());
        for bad in ["::", "2001:db8::1", "1:2:3::", "x"] {
            assert!(ipv6_suffix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_ttl_rule() {
        let r = TtlRange { min: 30, max: 600 };
        assert_eq!(r.check(TtlInput::Number(Some(60)), "ttl").unwrap(), 60);
        assert_eq!(r.check(TtlInput::Text(" 120 "), "ttl").unwrap(), 120);
        let e = r.check(TtlInput::Number(Some(10)), "'ttl'").unwrap_err();
        assert_eq!(e.0, "'ttl' must be between 30 and 600 seconds");
        let e = r.check(TtlInput::Other, "ttl").unwrap_err();
        assert_eq!(e.0, "ttl must be a whole number of seconds");
        assert!(r.check(TtlInput::Number(None), "ttl").is_err());
    }
}
