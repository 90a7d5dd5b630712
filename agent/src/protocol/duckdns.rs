//! The DuckDNS protocol: `GET {server}/update?domains=h1,h2&token=T&ip=V4&ipv6=V6&verbose=true`
//! (DuckDNS itself is `https://www.duckdns.org`). The token is in the query string because that
//! is the protocol; the URL is therefore only ever logged through `redact`.
//!
//! DuckDNS answers HTTP 200 with `OK` or `KO`; `KO` means a bad token or a hostname the account
//! does not own, so it stops the agent until the config changes. Lucent Drift's compatible
//! endpoint adds 401/403/404/429 statuses, mapped like the lucent protocol.

use super::{duck_url, parse_duck, Outcome, Reply, Request};
use crate::config::Secret;
use crate::state::Plan;

pub fn build(server: &str, token: &Secret, plan: &Plan) -> Request {
    Request {
        url: duck_url(server, plan, Some(token.expose())),
        authorization: None,
    }
}

/// DuckDNS's 200 `KO` means a bad token or a foreign hostname: stop until the config changes.
pub fn parse(reply: &Reply, hostnames: &[String]) -> Outcome {
    parse_duck(reply, hostnames, Outcome::stop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Failure;
    use crate::protocol::{
        redact,
        tests::{plan, reply},
    };

    #[test]
    fn request_carries_the_token_in_the_query() {
        let r = build(
            "https://www.duckdns.org",
            &Secret::new("a b&c"),
            &plan(&["myhost"], Some("203.0.113.7"), Some("2001:db8::1")),
        );
        assert_eq!(
            r.url,
            "https://www.duckdns.org/update?domains=myhost&token=a%20b%26c\
             &ip=203.0.113.7&ipv6=2001:db8::1&verbose=true"
        );
        assert!(r.authorization.is_none());
        assert!(!redact(&r.url).contains("a%20b"));
    }

    #[test]
    fn request_carries_the_ipv6prefix() {
        let mut p = plan(&["myhost"], None, Some("2001:db8::1"));
        p.prefix = Some("2001:db8:1:2::".parse().unwrap());
        let r = build("http://s", &Secret::new("t"), &p);
        assert_eq!(
            r.url,
            "http://s/update?domains=myhost&token=t&ipv6=2001:db8::1\
             &ipv6prefix=2001:db8:1:2::/64&verbose=true"
        );
    }

    #[test]
    fn replies() {
        let h = vec!["a".to_string(), "b".to_string()];
        assert_eq!(
            parse(&reply(200, "OK\n1.2.3.4\n\nNOCHANGE"), &h),
            Outcome::Acked {
                hostnames: h.clone(),
                changed: Some(false)
            }
        );
        assert_eq!(
            parse(&reply(200, "KO"), &h),
            Outcome::stop(Failure::Rejected)
        );
        assert_eq!(
            parse(&reply(401, "KO"), &h),
            Outcome::stop(Failure::Unauthorized)
        );
        assert!(matches!(
            parse(&reply(503, ""), &h),
            Outcome::Retry {
                failure: Failure::ServerError(503),
                ..
            }
        ));
    }
}
