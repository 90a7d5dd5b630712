//! Requests and replies as plain data: `ApiRequest` (built by `http.rs` from the wire, or by
//! tests directly) and `Reply` (written back by `http.rs` with Content-Length), plus decoding
//! of request targets and form bodies.

use std::net::IpAddr;

use serde::Serialize;

use crate::urlcode;

/// A request as handlers see it.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub id: String,
    pub method: String,
    /// Raw request target, for the (redacted) access log only.
    pub target: String,
    /// Percent-decoded path segments; empty segments dropped (`/v1//zones` = `/v1/zones`).
    pub segments: Vec<String>,
    /// Decoded query parameters in order.
    pub query: Vec<(String, String)>,
    /// Lowercase names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The client: the peer address, or X-Forwarded-For's last untrusted hop from a trusted proxy.
    pub peer: IpAddr,
    /// Did the client reach us over HTTPS (our TLS listener, or a trusted proxy's
    /// `X-Forwarded-Proto: https`)? The dashboard's cookies are `Secure` then.
    pub https: bool,
}

impl ApiRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A request without a socket: `target` is path?query (tests, fuzzing).
    pub fn fake(method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> ApiRequest {
        let (segments, query) = parse_target(target);
        ApiRequest {
            id: "test".into(),
            method: method.into(),
            target: target.into(),
            segments,
            query,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
            peer: IpAddr::from([127, 0, 0, 1]),
            https: false,
        }
    }

    /// Is the body JSON (by Content-Type, or by its first byte when the type is absent)?
    pub fn body_is_json(&self) -> bool {
        match self.header("content-type") {
            Some(ct) => ct.to_ascii_lowercase().contains("json"),
            None => self
                .body
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|b| *b == b'{' || *b == b'['),
        }
    }
}

/// Split a request target into decoded path segments and query pairs.
pub fn parse_target(target: &str) -> (Vec<String>, Vec<(String, String)>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let segments = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode(s, false))
        .collect();
    (segments, parse_form(query))
}

/// `application/x-www-form-urlencoded` pairs (also the query string).
pub fn parse_form(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// Does the request target decode to UTF-8 everywhere (path and query, after
/// percent-decoding)? Parameters that do not are refused, not silently replaced.
pub fn target_is_utf8(target: &str) -> bool {
    // The target itself is a &str: only escapes can make it invalid.
    !target.contains('%') || std::str::from_utf8(&urlcode::decode_bytes(target, false)).is_ok()
}

pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    urlcode::decode(s, plus_is_space)
}

/// An answer as plain data; `http.rs` adds Content-Length and writes it.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

pub const JSON: &str = "application/json; charset=utf-8";
pub const TEXT: &str = "text/plain; charset=utf-8";

impl Reply {
    pub fn json<T: Serialize + ?Sized>(status: u16, v: &T) -> Reply {
        Reply {
            status,
            content_type: JSON,
            headers: Vec::new(),
            // Serialising our own plain structs cannot fail.
            body: serde_json::to_vec(v).expect("serialisable"),
        }
    }

    pub fn text(status: u16, s: impl Into<String>) -> Reply {
        Reply {
            status,
            content_type: TEXT,
            headers: Vec::new(),
            body: s.into().into_bytes(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

/// `::ffff:a.b.c.d` is an IPv4 client on a dual-stack socket.
pub fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_decoded() {
        let (s, q) = parse_target("/v1//zones/%41b?x=a+b%2Cc&flag&t=%zz");
        assert_eq!(s, vec!["v1", "zones", "Ab"]);
        assert_eq!(
            q,
            vec![
                ("x".to_string(), "a b,c".to_string()),
                ("flag".to_string(), String::new()),
                ("t".to_string(), "%zz".to_string())
            ]
        );
        assert_eq!(percent_decode("%3a%3A%", false), "::%");
        assert!(target_is_utf8("/update?domains=h%C3%A9&x=%41"));
        assert!(!target_is_utf8("/update?domains=%FF"));
        assert!(!target_is_utf8("/v1/hostnames/%C3"));
    }
}
