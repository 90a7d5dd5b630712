//! The dyndns2 protocol: `GET {server}/nic/update?hostname=h1,h2&myip=V4[,V6]` with HTTP Basic
//! auth (user name from the config, the token as password). The answer is one line per hostname
//! in request order (`good <ip>`, `nochg <ip>`, `nohost`, …); account-wide failures such as
//! `badauth` or `911` may come once for all.
//!
//! Pure request building and reply parsing; which codes stop and which retry is decided here.

use std::time::Duration;

use super::{base64, encode, host_list, prefix_param, Outcome, Reply, Request};
use crate::config::Secret;
use crate::error::Failure;
use crate::state::Plan;

/// No-IP asks clients not to retry a `911` sooner than 30 minutes.
const RETRY_AFTER_911: Duration = Duration::from_secs(30 * 60);

pub fn build(server: &str, username: &str, token: &Secret, plan: &Plan) -> Request {
    let mut ips = Vec::new();
    if let Some(ip) = plan.addrs.v4 {
        ips.push(ip.to_string());
    }
    if let Some(ip) = plan.addrs.v6 {
        ips.push(ip.to_string());
    }
    let mut url = format!(
        "{server}/nic/update?hostname={}&myip={}",
        host_list(&plan.hostnames),
        // Addresses are digits, hex, '.' and ':' only; `,` separates families as ddclient 4 does.
        ips.iter()
            .map(|s| encode(s).replace("%3A", ":"))
            .collect::<Vec<_>>()
            .join(",")
    );
    prefix_param(&mut url, plan);
    let creds = format!("{username}:{}", token.expose());
    Request {
        url,
        authorization: Some(Secret::new(format!("Basic {}", base64(creds.as_bytes())))),
    }
}

/// What one result line means.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    Ok { changed: bool },
    Stop(Failure),
    Retry(Failure, Option<Duration>),
}

fn classify(line: &str) -> Line {
    let code = line
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match code.as_str() {
        "good" => Line::Ok { changed: true },
        "nochg" => Line::Ok { changed: false },
        "badauth" => Line::Stop(Failure::Unauthorized),
        "nohost" | "!yours" => Line::Stop(Failure::HostnameNotFound),
        "notfqdn" => Line::Stop(Failure::NotFqdn),
        "numhost" => Line::Stop(Failure::TooManyHosts),
        "abuse" => Line::Stop(Failure::Abuse),
        "badagent" => Line::Stop(Failure::BadAgent),
        "!donator" | "!active" | "badsys" => Line::Stop(Failure::NotAllowed(code)),
        "dnserr" => Line::Retry(Failure::DnsError, None),
        "911" => Line::Retry(Failure::ServerError(911), Some(RETRY_AFTER_911)),
        _ => Line::Retry(Failure::BadResponse(line.chars().take(60).collect()), None),
    }
}

pub fn parse(reply: &Reply, hostnames: &[String]) -> Outcome {
    match reply.status {
        401 => return Outcome::stop(Failure::Unauthorized),
        403 => return Outcome::stop(Failure::Forbidden),
        429 => {
            return Outcome::Retry {
                failure: Failure::RateLimited,
                after: reply.retry_after,
                acked: Vec::new(),
            }
        }
        s @ 500..=599 => {
            return Outcome::Retry {
                failure: Failure::ServerError(s),
                after: reply.retry_after,
                acked: Vec::new(),
            }
        }
        // Some servers (deSEC) send 4xx with a dyndns2 code in the body: read the body.
        _ => {}
    }
    let lines: Vec<&str> = reply
        .body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return Outcome::retry(match reply.status {
            200 => Failure::BadResponse(String::new()),
            s => Failure::UnexpectedStatus(s),
        });
    }
    let mut acked = Vec::new();
    let mut changed = false;
    // The failure to report: (stop?, failure, retry after). A Stop outranks a Retry, since
    // retrying cannot fix it; otherwise the first failure wins.
    let mut worst: Option<(bool, Failure, Option<Duration>)> = None;
    for (i, host) in hostnames.iter().enumerate() {
        // A single line answers for every hostname (account-wide codes, ddclient 4 behaviour).
        let line = if lines.len() == 1 {
            lines[0]
        } else {
            lines.get(i).copied().unwrap_or("")
        };
        let (stop, failure, after) = match classify(line) {
            Line::Ok { changed: c } => {
                acked.push(host.clone());
                changed |= c;
                continue;
            }
            Line::Stop(f) => (true, f, None),
            Line::Retry(f, after) => (false, f, after),
        };
        if worst
            .as_ref()
            .is_none_or(|(was_stop, ..)| stop && !was_stop)
        {
            worst = Some((stop, failure, after));
        }
    }
    match worst {
        None if reply.status == 200 => Outcome::Acked {
            hostnames: acked,
            changed: Some(changed),
        },
        None => Outcome::retry(Failure::UnexpectedStatus(reply.status)),
        Some((true, failure, _)) => Outcome::Stop { failure, acked },
        Some((false, failure, after)) => Outcome::Retry {
            failure,
            after: after.or(reply.retry_after),
            acked,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::tests::{plan, reply};

    fn hosts(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn request_uses_basic_auth_and_one_myip_list() {
        let r = build(
            "http://127.0.0.1:8080",
            "lucent-agent",
            &Secret::new("s3cr3t"),
            &plan(
                &["a.demo.test", "b.demo.test"],
                Some("203.0.113.7"),
                Some("2001:db8::1"),
            ),
        );
        assert_eq!(
            r.url,
            "http://127.0.0.1:8080/nic/update?hostname=a.demo.test,b.demo.test\
             &myip=203.0.113.7,2001:db8::1"
        );
        assert!(!r.url.contains("s3cr3t"));
        assert_eq!(
            r.authorization.unwrap().expose(),
            format!("Basic {}", base64(b"lucent-agent:s3cr3t"))
        );
        let r = build(
            "http://s",
            "u",
            &Secret::new("t"),
            &plan(&["a"], None, Some("2001:db8::1")),
        );
        assert_eq!(r.url, "http://s/nic/update?hostname=a&myip=2001:db8::1");
    }

    /// Issue #18: the LAN prefix rides along on /nic/update.
    #[test]
    fn request_carries_the_ipv6prefix() {
        let mut p = plan(&["a"], Some("203.0.113.7"), Some("2001:db8::1"));
        p.prefix = Some("2001:db8:1:2::".parse().unwrap());
        let r = build("http://s", "u", &Secret::new("t"), &p);
        assert_eq!(
            r.url,
            "http://s/nic/update?hostname=a&myip=203.0.113.7,2001:db8::1\
             &ipv6prefix=2001:db8:1:2::/64"
        );
    }

    #[test]
    fn per_host_lines() {
        let h = hosts(&["a", "b"]);
        assert_eq!(
            parse(&reply(200, "good 1.2.3.4\nnochg 1.2.3.4\n"), &h),
            Outcome::Acked {
                hostnames: h.clone(),
                changed: Some(true)
            }
        );
        assert_eq!(
            parse(&reply(200, "nochg 1.2.3.4"), &h),
            Outcome::Acked {
                hostnames: h.clone(),
                changed: Some(false)
            }
        );
        assert_eq!(
            parse(&reply(200, "good 1.2.3.4\nnohost"), &h),
            Outcome::Stop {
                failure: Failure::HostnameNotFound,
                acked: hosts(&["a"])
            }
        );
        assert_eq!(
            parse(&reply(200, "dnserr\nnohost"), &h),
            Outcome::Stop {
                failure: Failure::HostnameNotFound,
                acked: vec![]
            }
        );
        // One line answers for all; otherwise a missing line is a failure, not a success.
        assert!(matches!(
            parse(&reply(200, "good 1.2.3.4\n\n"), &hosts(&["a", "b", "c"])),
            Outcome::Acked { .. }
        ));
        assert!(matches!(
            parse(
                &reply(200, "good 1.2.3.4\ngood 1.2.3.4"),
                &hosts(&["a", "b", "c"])
            ),
            Outcome::Retry {
                failure: Failure::BadResponse(_),
                ..
            }
        ));
    }

    #[test]
    fn codes() {
        let h = hosts(&["a"]);
        assert_eq!(
            parse(&reply(401, "badauth"), &h),
            Outcome::stop(Failure::Unauthorized)
        );
        assert_eq!(
            parse(&reply(200, "badauth"), &h),
            Outcome::stop(Failure::Unauthorized)
        );
        assert_eq!(
            parse(&reply(200, "notfqdn"), &h),
            Outcome::stop(Failure::NotFqdn)
        );
        assert_eq!(
            parse(&reply(200, "numhost"), &h),
            Outcome::stop(Failure::TooManyHosts)
        );
        assert_eq!(
            parse(&reply(200, "abuse"), &h),
            Outcome::stop(Failure::Abuse)
        );
        assert_eq!(
            parse(&reply(200, "!donator"), &h),
            Outcome::stop(Failure::NotAllowed("!donator".into()))
        );
        assert_eq!(
            parse(&reply(404, "nohost"), &h),
            Outcome::stop(Failure::HostnameNotFound)
        );
        assert_eq!(
            parse(&reply(200, "dnserr"), &h),
            Outcome::retry(Failure::DnsError)
        );
        assert_eq!(
            parse(&reply(200, "911"), &h),
            Outcome::Retry {
                failure: Failure::ServerError(911),
                after: Some(RETRY_AFTER_911),
                acked: vec![]
            }
        );
        assert!(matches!(
            parse(&reply(429, ""), &h),
            Outcome::Retry {
                failure: Failure::RateLimited,
                ..
            }
        ));
        assert!(matches!(
            parse(&reply(200, ""), &h),
            Outcome::Retry {
                failure: Failure::BadResponse(_),
                ..
            }
        ));
        assert!(matches!(
            parse(&reply(200, "GOOD 1.2.3.4"), &h),
            Outcome::Acked { .. }
        ));
    }
}
