//! Lucent Drift's own `/update`: `GET {server}/update?domains=h1,h2&ip=V4&ipv6=V6&verbose=true`
//! with the token in `Authorization: Bearer` (never in the URL, so it stays out of proxy and
//! access logs). Answers are DuckDNS-style text: `OK` (verbose: `OK`, ipv4, ipv6,
//! `UPDATED|NOCHANGE`) or `KO` with 401/403/404/429 for failures.
//!
//! Pure request building and reply parsing; client.rs sends.

use super::{duck_url, parse_duck, Outcome, Reply, Request};
use crate::config::Secret;
use crate::state::Plan;

pub fn build(server: &str, token: &Secret, plan: &Plan) -> Request {
    Request {
        url: duck_url(server, plan, None),
        authorization: Some(Secret::new(format!("Bearer {}", token.expose()))),
    }
}

/// Our server signals failures by status; a bare 200 `KO` is unexpected, so retry.
pub fn parse(reply: &Reply, hostnames: &[String]) -> Outcome {
    parse_duck(reply, hostnames, Outcome::retry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Failure;
    use crate::protocol::tests::{plan, reply};

    #[test]
    fn token_goes_in_the_header_not_the_url() {
        let r = build(
            "http://127.0.0.1:8080",
            &Secret::new("s3cr3t"),
            &plan(
                &["a.demo.test", "b.demo.test"],
                Some("203.0.113.7"),
                Some("2001:db8::1"),
            ),
        );
        assert_eq!(
            r.url,
            "http://127.0.0.1:8080/update?domains=a.demo.test,b.demo.test\
             &ip=203.0.113.7&ipv6=2001:db8::1&verbose=true"
        );
        assert!(!r.url.contains("s3cr3t"));
        assert_eq!(r.authorization.unwrap().expose(), "Bearer s3cr3t");
    }

    /// Issue #18: the LAN prefix goes in the same request as the router's own addresses.
    #[test]
    fn prefix_goes_with_the_addresses() {
        let mut p = plan(&["a"], Some("203.0.113.7"), Some("2001:db8::1"));
        p.prefix = Some("2001:db8:1:2::".parse().unwrap());
        let r = build("http://s", &Secret::new("t"), &p);
        assert_eq!(
            r.url,
            "http://s/update?domains=a&ip=203.0.113.7&ipv6=2001:db8::1\
             &ipv6prefix=2001:db8:1:2::/64&verbose=true"
        );
    }

    #[test]
    fn only_detected_families_are_sent() {
        let r = build(
            "http://s",
            &Secret::new("t"),
            &plan(&["a"], None, Some("2001:db8::1")),
        );
        assert_eq!(
            r.url,
            "http://s/update?domains=a&ipv6=2001:db8::1&verbose=true"
        );
        let r = build(
            "http://s",
            &Secret::new("t"),
            &plan(&["a"], Some("198.51.100.1"), None),
        );
        assert_eq!(
            r.url,
            "http://s/update?domains=a&ip=198.51.100.1&verbose=true"
        );
    }

    #[test]
    fn replies() {
        let h = vec!["a".to_string()];
        assert_eq!(
            parse(&reply(200, "OK\n203.0.113.7\n\nUPDATED"), &h),
            Outcome::Acked {
                hostnames: h.clone(),
                changed: Some(true)
            }
        );
        assert_eq!(
            parse(&reply(200, "OK"), &h),
            Outcome::Acked {
                hostnames: h.clone(),
                changed: None
            }
        );
        assert_eq!(
            parse(&reply(401, "KO"), &h),
            Outcome::stop(Failure::Unauthorized)
        );
        assert_eq!(
            parse(&reply(403, "KO"), &h),
            Outcome::stop(Failure::Forbidden)
        );
        assert_eq!(
            parse(&reply(404, "KO"), &h),
            Outcome::stop(Failure::HostnameNotFound)
        );
        assert!(matches!(
            parse(&reply(429, "KO"), &h),
            Outcome::Retry {
                failure: Failure::RateLimited,
                ..
            }
        ));
        assert_eq!(
            parse(&reply(200, "KO"), &h),
            Outcome::retry(Failure::Rejected)
        );
        assert!(matches!(
            parse(&reply(200, "<html>"), &h),
            Outcome::Retry {
                failure: Failure::BadResponse(_),
                ..
            }
        ));
    }
}
