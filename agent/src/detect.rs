//! Address detection: the current public IPv4 and IPv6 from the server's echo endpoint
//! (`GET /ip`, asked through a family-pinned ureq Agent in client.rs) or from local interfaces
//! (if-addrs, plus `/proc/net/if_inet6` flags on Linux to prefer stable over temporary IPv6),
//! and the LAN's global IPv6 /64 for `ipv6prefix` ([`lan_prefix`], issue #18).
//!
//! Trouble that still leaves something to send goes into `notes` instead of the log: the tick
//! logs them as warnings when it ends well, so that a failing `--once` prints one line only.
//!
//! The filters that decide which addresses may be published are pure fns with unit tests. This
//! module never talks to the update endpoint and never looks at the state file.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::client::Client;
use crate::config::{Family, Source};
use crate::error::Failure;

/// What one detection round found. `None` = family off or nothing usable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Detected {
    pub v4: Option<Ipv4Addr>,
    pub v6: Option<Ipv6Addr>,
}

/// `ipv4=ADDR ipv6=ADDR`, `-` for a family not detected (log lines and `--dry-run`).
impl std::fmt::Display for Detected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ipv4=")?;
        match self.v4 {
            Some(ip) => write!(f, "{ip}")?,
            None => f.write_str("-")?,
        }
        f.write_str(" ipv6=")?;
        match self.v6 {
            Some(ip) => write!(f, "{ip}"),
            None => f.write_str("-"),
        }
    }
}

/// Whether an IPv4 address may be published. Link-local, multicast, broadcast, unspecified and
/// reserved (240/4) never; private (RFC 1918), CGNAT/shared (100.64/10), loopback, "this
/// network" (0/8), IETF (192.0.0/24) and benchmarking (198.18/15) only with `allow_private`.
pub fn acceptable_v4(ip: Ipv4Addr, allow_private: bool) -> bool {
    let o = ip.octets();
    if ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_link_local()
        || o[0] >= 240
    {
        return false;
    }
    let non_global = ip.is_private()
        || ip.is_loopback()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64)
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        || (o[0] == 198 && (o[1] & 0xfe) == 18);
    allow_private || !non_global
}

/// Whether an IPv6 address may be published. Unspecified, multicast, link-local (fe80::/10),
/// IPv4-mapped/compatible and NAT64 (64:ff9b::/96) never; ULA (fc00::/7), site-local
/// (fec0::/10), discard (100::/64) and loopback only with `allow_private`.
pub fn acceptable_v6(ip: Ipv6Addr, allow_private: bool) -> bool {
    let s = ip.segments();
    if ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xffc0) == 0xfe80
        || ip.to_ipv4_mapped().is_some()
        || (s[0..6] == [0, 0, 0, 0, 0, 0] && !ip.is_loopback())
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0])
    {
        return false;
    }
    let non_global = ip.is_loopback()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfec0
        || (s[0] == 0x100 && s[1..4] == [0, 0, 0]);
    allow_private || !non_global
}

/// Reads an echo answer: one address as text, of the family we asked for. An IPv4-mapped IPv6
/// answer (a dual-stack server socket) counts as IPv4.
pub fn parse_echo(body: &str, want_v6: bool, allow_private: bool) -> Result<IpAddr, Failure> {
    let text = body.trim();
    let bad = || Failure::BadResponse(text.chars().take(60).collect());
    let ip: IpAddr = text.parse().map_err(|_| bad())?;
    let ip = match ip {
        IpAddr::V6(v6) if !want_v6 => v6.to_ipv4_mapped().map(IpAddr::V4).ok_or_else(bad)?,
        other => other,
    };
    let ok = match ip {
        IpAddr::V4(v4) if !want_v6 => acceptable_v4(v4, allow_private),
        IpAddr::V6(v6) if want_v6 => acceptable_v6(v6, allow_private),
        _ => return Err(bad()),
    };
    if ok {
        Ok(ip)
    } else {
        Err(Failure::NotPublic(ip))
    }
}

// Flags of /proc/net/if_inet6 (linux/if_addr.h).
const IFA_F_TEMPORARY: u32 = 0x01;
const IFA_F_DADFAILED: u32 = 0x08;
const IFA_F_DEPRECATED: u32 = 0x20;
const IFA_F_TENTATIVE: u32 = 0x40;

/// Parses `/proc/net/if_inet6`: `addr(32 hex) ifindex prefixlen scope flags ifname` per line.
/// Returns (address, interface, prefix length, flags); malformed lines are skipped.
pub fn parse_if_inet6(text: &str) -> Vec<(Ipv6Addr, String, u8, u32)> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 6 || f[0].len() != 32 {
                return None;
            }
            let bits = u128::from_str_radix(f[0], 16).ok()?;
            let len = u8::from_str_radix(f[2], 16).ok()?;
            let flags = u32::from_str_radix(f[4], 16).ok()?;
            Some((Ipv6Addr::from(bits), f[5].to_string(), len, flags))
        })
        .collect()
}

/// Picks the IPv6 address to publish among acceptable candidates (address, kernel flags):
/// tentative or DAD-failed never; then stable before temporary (privacy) and preferred before
/// deprecated; ties keep the interface order.
pub fn pick_v6(candidates: &[(Ipv6Addr, u32)]) -> Option<Ipv6Addr> {
    candidates
        .iter()
        .filter(|(_, fl)| fl & (IFA_F_TENTATIVE | IFA_F_DADFAILED) == 0)
        // min_by_key keeps the first of equal keys.
        .min_by_key(|(_, fl)| (fl & IFA_F_DEPRECATED != 0, fl & IFA_F_TEMPORARY != 0))
        .map(|(ip, _)| *ip)
}

/// The /64 (its network address) of the first usable entry among a LAN interface's
/// (address, prefix length, kernel flags): global unicast only (no ULA, link-local, loopback),
/// on-link prefix at most /64, and not deprecated, temporary, tentative or DAD-failed. After a
/// prefix change the old address lingers as deprecated, so skipping those picks the new one.
pub fn lan_prefix(entries: &[(Ipv6Addr, u8, u32)]) -> Option<Ipv6Addr> {
    const SKIP: u32 = IFA_F_TEMPORARY | IFA_F_DEPRECATED | IFA_F_TENTATIVE | IFA_F_DADFAILED;
    entries
        .iter()
        .find(|(ip, len, fl)| acceptable_v6(*ip, false) && *len <= 64 && fl & SKIP == 0)
        .map(|(ip, ..)| Ipv6Addr::from(u128::from(*ip) & (u128::MAX << 64)))
}

/// The LAN prefix of interface `name` ([`lan_prefix`]); `None`, with a note, if there is none.
/// Linux only: `/proc/net/if_inet6` has the prefix lengths and the flags (deprecated!) in one
/// place, where if-addrs would need a second listing and has no flags (routers run Linux).
pub fn detect_prefix(name: &str, notes: &mut Vec<String>) -> Option<Ipv6Addr> {
    let entries: Vec<(Ipv6Addr, u8, u32)> = read_if_inet6()
        .into_iter()
        .filter(|e| e.1 == name)
        .map(|(ip, _, len, fl)| (ip, len, fl))
        .collect();
    let prefix = lan_prefix(&entries);
    if prefix.is_none() {
        notes.push(format!(
            "ipv6prefix: no global IPv6 /64 on interface {name:?}"
        ));
    }
    prefix
}

/// Detects both families as configured. A family that fails is left out with a note; the call
/// fails only when every enabled family failed.
pub fn detect(
    client: &Client,
    v4: &Family,
    v6: &Family,
    notes: &mut Vec<String>,
) -> Result<Detected, Failure> {
    let mut out = Detected::default();
    let mut errors = Vec::new();
    if v4.source != Source::Off {
        match detect_family(client, v4, false, notes) {
            Ok(Some(IpAddr::V4(ip))) => out.v4 = Some(ip),
            Ok(_) => log::debug!("ipv4: no usable address ({})", v4.source),
            Err(e) => errors.push(("ipv4", &v4.source, e)),
        }
    }
    if v6.source != Source::Off {
        match detect_family(client, v6, true, notes) {
            Ok(Some(IpAddr::V6(ip))) => out.v6 = Some(ip),
            Ok(_) => log::debug!("ipv6: no usable address ({})", v6.source),
            Err(e) => errors.push(("ipv6", &v6.source, e)),
        }
    }
    if out == Detected::default() {
        // Every enabled family failed or found nothing: the caller reports the first error once.
        if let Some((_, _, e)) = errors.into_iter().next() {
            return Err(e);
        }
        return Ok(out);
    }
    for (family, source, e) in errors {
        // Many hosts have no IPv6 at all; the other family still goes out.
        notes.push(format!("{family} detection via {source} failed: {e}"));
    }
    Ok(out)
}

/// The kernel flags of `ip` on interface `name` (0 when unknown).
fn flag_of(flags: &[(Ipv6Addr, String, u8, u32)], ip: Ipv6Addr, name: &str) -> u32 {
    flags
        .iter()
        .find(|(a, n, ..)| *a == ip && n == name)
        .map_or(0, |e| e.3)
}

fn detect_family(
    client: &Client,
    fam: &Family,
    v6: bool,
    notes: &mut Vec<String>,
) -> Result<Option<IpAddr>, Failure> {
    match &fam.source {
        Source::Off => Ok(None),
        Source::Http { url } => {
            let body = client.echo(url, v6)?;
            parse_echo(&body, v6, fam.allow_private).map(Some)
        }
        Source::Interface { name } => {
            let ifaces = if_addrs::get_if_addrs()
                .map_err(|e| Failure::Unreachable(format!("cannot list interfaces: {e}")))?;
            if let Some(n) = name {
                if !ifaces.iter().any(|i| &i.name == n) {
                    notes.push(format!(
                        "interface {n:?} not found (or it has no addresses)"
                    ));
                }
            }
            let ifaces = ifaces
                .into_iter()
                .filter(|i| name.as_ref().is_none_or(|n| &i.name == n))
                .filter(|i| !i.is_loopback() && i.oper_status != if_addrs::IfOperStatus::Down);
            if v6 {
                let flags = read_if_inet6();
                let cands: Vec<(Ipv6Addr, u32)> = ifaces
                    .filter_map(|i| match i.ip() {
                        IpAddr::V6(ip) if acceptable_v6(ip, fam.allow_private) => {
                            Some((ip, flag_of(&flags, ip, &i.name)))
                        }
                        _ => None,
                    })
                    .collect();
                Ok(pick_v6(&cands).map(IpAddr::V6))
            } else {
                Ok(ifaces
                    .filter_map(|i| match i.ip() {
                        IpAddr::V4(ip) if acceptable_v4(ip, fam.allow_private) => Some(ip),
                        _ => None,
                    })
                    .next()
                    .map(IpAddr::V4))
            }
        }
    }
}

/// The kernel's IPv6 address flags, where the OS exposes them (Linux); empty elsewhere.
fn read_if_inet6() -> Vec<(Ipv6Addr, String, u8, u32)> {
    std::fs::read_to_string("/proc/net/if_inet6")
        .map(|t| parse_if_inet6(&t))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }
    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn v4_filter() {
        for ok in ["203.0.113.10", "8.8.8.8", "100.128.0.1", "172.32.0.1"] {
            assert!(acceptable_v4(v4(ok), false), "{ok}");
        }
        for private in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "0.1.2.3",
            "192.0.0.8",
            "198.18.0.1",
        ] {
            assert!(!acceptable_v4(v4(private), false), "{private}");
            assert!(acceptable_v4(v4(private), true), "{private}");
        }
        for never in [
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "169.254.1.1",
            "240.0.0.1",
        ] {
            assert!(!acceptable_v4(v4(never), true), "{never}");
        }
    }

    #[test]
    fn v6_filter() {
        for ok in ["2001:db8::1", "2a00:1450::1", "2606:4700::1111"] {
            assert!(acceptable_v6(v6(ok), false), "{ok}");
        }
        for private in ["fd00::1", "fc12::1", "fec0::1", "::1", "100::1"] {
            assert!(!acceptable_v6(v6(private), false), "{private}");
            assert!(acceptable_v6(v6(private), true), "{private}");
        }
        for never in [
            "::",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "64:ff9b::1.2.3.4",
        ] {
            assert!(!acceptable_v6(v6(never), true), "{never}");
        }
    }

    #[test]
    fn echo_parsing() {
        assert_eq!(
            parse_echo("203.0.113.7\n", false, false),
            Ok(IpAddr::V4(v4("203.0.113.7")))
        );
        assert_eq!(
            parse_echo("::ffff:203.0.113.7", false, false),
            Ok(IpAddr::V4(v4("203.0.113.7")))
        );
        assert_eq!(
            parse_echo(" 2001:db8::5 ", true, false),
            Ok(IpAddr::V6(v6("2001:db8::5")))
        );
        // Family must match.
        assert!(matches!(
            parse_echo("2001:db8::5", false, false),
            Err(Failure::BadResponse(_))
        ));
        assert!(matches!(
            parse_echo("203.0.113.7", true, false),
            Err(Failure::BadResponse(_))
        ));
        assert!(matches!(
            parse_echo("<html>hello</html>", false, false),
            Err(Failure::BadResponse(_))
        ));
        assert_eq!(
            parse_echo("127.0.0.1", false, false),
            Err(Failure::NotPublic(IpAddr::V4(v4("127.0.0.1"))))
        );
        assert!(parse_echo("127.0.0.1", false, true).is_ok());
        assert!(parse_echo("::1", true, true).is_ok());
    }

    const IF_INET6: &str = "\
00000000000000000000000000000001 01 80 10 80       lo
20010db8000000000000000000000abc 02 40 00 01     eth0
20010db80000000002163efffe000001 02 40 00 00     eth0
fe800000000000000216 02 40 20 80 eth0
";

    #[test]
    fn if_inet6_parsing() {
        let v = parse_if_inet6(IF_INET6);
        assert_eq!(v.len(), 3);
        assert_eq!(v[0], (Ipv6Addr::LOCALHOST, "lo".to_string(), 128, 0x80));
        assert_eq!(v[1].0, v6("2001:db8::abc"));
        assert_eq!((v[1].2, v[1].3), (64, IFA_F_TEMPORARY));
        assert_eq!(v[2].0, v6("2001:db8::216:3eff:fe00:1"));
    }

    /// Issue #18: the LAN /64 from (address, prefix length, flags) entries.
    #[test]
    fn lan_prefix_takes_the_global_64() {
        let e = |ip: &str, len: u8, fl: u32| (v6(ip), len, fl);
        let want = Some(v6("2001:db8:1:2::"));
        // ULA, link-local and loopback are skipped; the address part is cut off.
        let lan = [
            e("fe80::1", 64, 0x80),
            e("fd00:1::1", 64, 0x80),
            e("::1", 128, 0x80),
            e("2001:db8:1:2::1", 64, 0x80),
        ];
        assert_eq!(lan_prefix(&lan), want);
        // The old prefix, deprecated after a change, loses to the new one; temporary,
        // tentative and DAD-failed addresses are skipped too.
        let changed = [
            e("2001:db8:1:1::1", 64, IFA_F_DEPRECATED),
            e("2001:db8:1:5::abc", 64, IFA_F_TEMPORARY),
            e("2001:db8:1:6::1", 64, IFA_F_TENTATIVE),
            e("2001:db8:1:7::1", 64, IFA_F_DADFAILED),
            e("2001:db8:1:2:216:3eff:fe00:1", 64, 0),
        ];
        assert_eq!(lan_prefix(&changed), want);
        // A /128 (DHCPv6 address) says nothing about the on-link prefix; a /56 gives its /64.
        assert_eq!(lan_prefix(&[e("2001:db8:9::1", 128, 0)]), None);
        assert_eq!(lan_prefix(&[e("2001:db8:1:2:ff::1", 56, 0)]), want);
        assert_eq!(
            lan_prefix(&[e("fd00::1", 64, 0), e("fe80::2", 64, 0)]),
            None
        );
        assert_eq!(lan_prefix(&[]), None);
    }

    #[test]
    fn prefers_stable_over_temporary_and_deprecated() {
        let temp = (v6("2001:db8::abc"), IFA_F_TEMPORARY);
        let stable = (v6("2001:db8::1"), 0x80);
        let deprecated = (v6("2001:db8::2"), IFA_F_DEPRECATED);
        let tentative = (v6("2001:db8::3"), IFA_F_TENTATIVE);
        assert_eq!(pick_v6(&[temp, stable]), Some(stable.0));
        assert_eq!(pick_v6(&[deprecated, temp]), Some(temp.0));
        assert_eq!(pick_v6(&[tentative]), None);
        assert_eq!(pick_v6(&[]), None);
        // Unknown flags (non-Linux): first wins.
        let a = (v6("2001:db8::a"), 0);
        let b = (v6("2001:db8::b"), 0);
        assert_eq!(pick_v6(&[a, b]), Some(a.0));
    }
}
