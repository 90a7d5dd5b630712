//! The update protocols, one small module each (`lucent`, `duckdns`, `dyndns2`), all pure: they
//! build a [`Request`] from a plan and turn a [`Reply`] into an [`Outcome`]. The HTTP transport
//! lives in client.rs, which is the only place that sends anything.
//!
//! Shared here: the request/reply/outcome types, percent-encoding, Basic-auth encoding, the
//! mapping of Lucent/DuckDNS HTTP statuses, and [`redact`] for logging URLs without secrets.

pub mod duckdns;
pub mod dyndns2;
pub mod lucent;

use std::fmt;
use std::time::Duration;

use crate::config::{Config, Protocol, Secret};
use crate::error::Failure;
use crate::state::Plan;

/// One update request. `url` may carry the token (DuckDNS), so it is only shown through
/// [`redact`]; the `Authorization` value is a [`Secret`].
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    pub url: String,
    pub authorization: Option<Secret>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GET {}", redact(&self.url))?;
        if self.authorization.is_some() {
            f.write_str(" (with Authorization: ***)")?;
        }
        Ok(())
    }
}

/// What the server answered, as read by client.rs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// `Retry-After` in seconds, when present and numeric.
    pub retry_after: Option<Duration>,
    /// The body, cut at a few KiB.
    pub body: String,
}

/// How one update ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server took the update for these hostnames. `changed` is known with verbose answers.
    Acked {
        hostnames: Vec<String>,
        changed: Option<bool>,
    },
    /// Try again later (after `after` if the server said so). `acked` lists hostnames that did
    /// succeed in a per-host answer (dyndns2).
    Retry {
        failure: Failure,
        after: Option<Duration>,
        acked: Vec<String>,
    },
    /// Retrying cannot help; stop sending until the config changes.
    Stop {
        failure: Failure,
        acked: Vec<String>,
    },
}

impl Outcome {
    pub fn retry(failure: Failure) -> Self {
        Outcome::Retry {
            failure,
            after: None,
            acked: Vec::new(),
        }
    }
    pub fn stop(failure: Failure) -> Self {
        Outcome::Stop {
            failure,
            acked: Vec::new(),
        }
    }
}

/// Builds the request for `plan` in the configured protocol.
pub fn build(cfg: &Config, plan: &Plan) -> Request {
    match cfg.protocol {
        Protocol::Lucent => lucent::build(&cfg.server, &cfg.token, plan),
        Protocol::Duckdns => duckdns::build(&cfg.server, &cfg.token, plan),
        Protocol::Dyndns2 => dyndns2::build(&cfg.server, &cfg.username, &cfg.token, plan),
    }
}

/// Reads the reply to a request built for `hostnames`.
pub fn parse(protocol: Protocol, reply: &Reply, hostnames: &[String]) -> Outcome {
    match protocol {
        Protocol::Lucent => lucent::parse(reply, hostnames),
        Protocol::Duckdns => duckdns::parse(reply, hostnames),
        Protocol::Dyndns2 => dyndns2::parse(reply, hostnames),
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
    out
}

/// Encoded hostnames joined with a literal `,` (as DuckDNS and dyndns2 document it).
pub fn host_list(hostnames: &[String]) -> String {
    hostnames
        .iter()
        .map(|h| encode(h))
        .collect::<Vec<_>>()
        .join(",")
}

/// Standard base64 with padding, for HTTP Basic auth (a few lines instead of a dependency).
pub fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The URL with the values of secret-looking query parameters replaced by `***`
/// (token, password, pass, key, secret, auth), for logs and `--dry-run`.
pub fn redact(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _))
                if matches!(
                    k.to_ascii_lowercase().as_str(),
                    "token" | "password" | "pass" | "key" | "secret" | "auth"
                ) =>
            {
                format!("{k}=***")
            }
            _ => kv.to_string(),
        })
        .collect();
    format!("{base}?{}", parts.join("&"))
}

/// Maps the statuses Lucent Drift's `/update` (and DuckDNS-compatible servers) use for failure.
/// `None` for 200, whose body the caller reads.
pub fn status_outcome(reply: &Reply) -> Option<Outcome> {
    let failure = match reply.status {
        200 => return None,
        401 => return Some(Outcome::stop(Failure::Unauthorized)),
        403 => return Some(Outcome::stop(Failure::Forbidden)),
        404 => return Some(Outcome::stop(Failure::HostnameNotFound)),
        // A malformed request will be malformed again: stop until the config changes.
        400 | 422 => return Some(Outcome::stop(Failure::BadRequest)),
        429 => {
            return Some(Outcome::Retry {
                failure: Failure::RateLimited,
                after: reply.retry_after,
                acked: Vec::new(),
            })
        }
        s @ 500..=599 => Failure::ServerError(s),
        s => Failure::UnexpectedStatus(s),
    };
    Some(Outcome::Retry {
        failure,
        after: reply.retry_after,
        acked: Vec::new(),
    })
}

/// Reads a DuckDNS-style 200 body: `OK` (optionally verbose: `OK`, ipv4, ipv6,
/// `UPDATED|NOCHANGE`) or `KO`. `Ok(changed)` on success, `Err(first line)` otherwise.
/// The DuckDNS-style update URL both `lucent` and `duckdns` send; `token` is the query-string
/// token (DuckDNS) or `None` when it travels in a header (lucent).
pub fn duck_url(server: &str, plan: &crate::state::Plan, token: Option<&str>) -> String {
    let mut url = format!("{server}/update?domains={}", host_list(&plan.hostnames));
    if let Some(t) = token {
        url.push_str(&format!("&token={}", encode(t)));
    }
    if let Some(ip) = plan.addrs.v4 {
        url.push_str(&format!("&ip={ip}"));
    }
    if let Some(ip) = plan.addrs.v6 {
        url.push_str(&format!("&ipv6={ip}"));
    }
    prefix_param(&mut url, plan);
    url.push_str("&verbose=true");
    url
}

/// `&ipv6prefix=2001:db8:1:2::/64` when the plan carries a prefix (dynv6's parameter; every
/// hostname of the token with an `ipv6Suffix` gets prefix + suffix). `:` and `/` are legal in a
/// query, and FRITZ!Box sends them as is.
pub fn prefix_param(url: &mut String, plan: &Plan) {
    if let Some(p) = plan.prefix {
        url.push_str("&ipv6prefix=");
        url.push_str(&p.to_string());
        url.push_str("/64");
    }
}

/// A DuckDNS-style answer: failure statuses first, then `OK`/verbose lines; a 200 `KO` is
/// turned into an outcome by `on_ko` (the protocols disagree on whether it is final).
pub fn parse_duck(
    reply: &Reply,
    hostnames: &[String],
    on_ko: fn(crate::error::Failure) -> Outcome,
) -> Outcome {
    if let Some(failed) = status_outcome(reply) {
        return failed;
    }
    match parse_ok_ko(&reply.body) {
        Ok(changed) => Outcome::Acked {
            hostnames: hostnames.to_vec(),
            changed,
        },
        Err(first) if first == "KO" => on_ko(crate::error::Failure::Rejected),
        Err(first) => Outcome::retry(crate::error::Failure::BadResponse(first)),
    }
}

pub fn parse_ok_ko(body: &str) -> Result<Option<bool>, String> {
    let mut lines = body.lines().map(str::trim);
    match lines.next() {
        Some("OK") => Ok(match lines.nth(2) {
            Some("UPDATED") => Some(true),
            Some("NOCHANGE") => Some(false),
            _ => None,
        }),
        first => Err(first.unwrap_or("").chars().take(60).collect()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::detect::Detected;

    pub fn plan(hosts: &[&str], v4: Option<&str>, v6: Option<&str>) -> Plan {
        Plan {
            hostnames: hosts.iter().map(|s| s.to_string()).collect(),
            addrs: Detected {
                v4: v4.map(|s| s.parse().unwrap()),
                v6: v6.map(|s| s.parse().unwrap()),
            },
            prefix: None,
            forced: false,
        }
    }

    pub fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            retry_after: None,
            body: body.to_string(),
        }
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
        assert_eq!(
            base64(b"Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }

    #[test]
    fn encoding() {
        assert_eq!(encode("a.b-c_d~"), "a.b-c_d~");
        assert_eq!(encode("a b&c=d/+"), "a%20b%26c%3Dd%2F%2B");
        assert_eq!(
            host_list(&["a.x".into(), "b.x".into()]),
            "a.x,b.x".to_string()
        );
    }

    #[test]
    fn redaction_hides_secret_values() {
        let url = "https://x/update?domains=a&token=s3cr3t&ip=1.2.3.4&Password=p";
        let r = redact(url);
        assert!(!r.contains("s3cr3t") && !r.contains("=p"), "{r}");
        assert_eq!(
            r,
            "https://x/update?domains=a&token=***&ip=1.2.3.4&Password=***"
        );
        let req = Request {
            url: url.into(),
            authorization: Some(Secret::new("Bearer s3cr3t")),
        };
        assert!(!format!("{req:?}").contains("s3cr3t"));
    }

    #[test]
    fn ok_ko_bodies() {
        assert_eq!(parse_ok_ko("OK"), Ok(None));
        assert_eq!(parse_ok_ko("OK\n"), Ok(None));
        assert_eq!(
            parse_ok_ko("OK\n203.0.113.7\n2001:db8::1\nUPDATED"),
            Ok(Some(true))
        );
        assert_eq!(
            parse_ok_ko("OK\r\n1.2.3.4\r\n\r\nNOCHANGE\r\n"),
            Ok(Some(false))
        );
        assert_eq!(parse_ok_ko("KO"), Err("KO".into()));
        assert_eq!(parse_ok_ko(""), Err("".into()));
    }

    #[test]
    fn statuses() {
        assert_eq!(status_outcome(&reply(200, "OK")), None);
        assert_eq!(
            status_outcome(&reply(401, "KO")),
            Some(Outcome::stop(Failure::Unauthorized))
        );
        assert_eq!(
            status_outcome(&reply(404, "KO")),
            Some(Outcome::stop(Failure::HostnameNotFound))
        );
        let mut r = reply(429, "KO");
        r.retry_after = Some(Duration::from_secs(42));
        assert_eq!(
            status_outcome(&r),
            Some(Outcome::Retry {
                failure: Failure::RateLimited,
                after: Some(Duration::from_secs(42)),
                acked: vec![]
            })
        );
        assert!(matches!(
            status_outcome(&reply(502, "")),
            Some(Outcome::Retry {
                failure: Failure::ServerError(502),
                ..
            })
        ));
    }
}
