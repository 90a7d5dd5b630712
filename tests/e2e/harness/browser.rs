//! A cookie-keeping HTTP client for the dashboard's tests, and the page helpers they share
//! (form CSRF tokens, the token shown once, setting a password, reading A records).

use super::*;
use hickory_proto::rr::RecordType;
use std::net::SocketAddr;

pub struct Browser {
    pub addr: SocketAddr,
    pub cookies: Vec<(String, String)>,
    /// Every Set-Cookie header seen, as sent.
    pub set_cookies: Vec<String>,
    /// Sent with every request (e.g. a proxy's X-Forwarded-Proto).
    pub extra: Vec<(&'static str, &'static str)>,
}

impl Browser {
    pub fn new(srv: &Server) -> Browser {
        Browser {
            addr: srv.http,
            cookies: Vec::new(),
            set_cookies: Vec::new(),
            extra: Vec::new(),
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn keep(&mut self, r: &HttpReply) {
        for (k, v) in &r.headers {
            if k != "set-cookie" {
                continue;
            }
            self.set_cookies.push(v.clone());
            let first = v.split(';').next().unwrap_or("");
            let (name, value) = first.split_once('=').expect("cookie name=value");
            self.cookies.retain(|(n, _)| n != name);
            if !v.contains("Max-Age=0") {
                self.cookies.push((name.to_string(), value.to_string()));
            }
        }
    }

    pub fn get(&mut self, path: &str) -> HttpReply {
        let c = self.cookie_header();
        let mut h = vec![("Cookie", c.as_str())];
        h.extend(self.extra.iter().copied());
        let r = http(self.addr, "GET", path, &h, None);
        self.keep(&r);
        r
    }

    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> HttpReply {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let c = self.cookie_header();
        let mut h = vec![
            ("Cookie", c.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        h.extend(self.extra.iter().copied());
        let r = http(self.addr, "POST", path, &h, Some(body.as_bytes()));
        self.keep(&r);
        r
    }

    /// GET a page and POST one of its forms with the page's CSRF token added.
    pub fn submit(&mut self, page: &str, action: &str, form: &[(&str, &str)]) -> HttpReply {
        let p = self.get(page);
        assert_eq!(p.status, 200, "GET {page}: {}", p.body);
        let token = csrf(&p.body);
        let mut f = form.to_vec();
        f.push(("csrf", &token));
        self.post(action, &f)
    }
}

/// Percent-encode a form value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The first form's CSRF token on a page.
pub fn csrf(page: &str) -> String {
    let at = page
        .find(r#"name="csrf" value=""#)
        .unwrap_or_else(|| panic!("no csrf field in {page}"));
    let rest = &page[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').expect("end of value")].to_string()
}

/// The text of the element with id="token-value".
pub fn token_value(page: &str) -> String {
    let at = page
        .find(r#"id="token-value">"#)
        .unwrap_or_else(|| panic!("no #token-value in {page}"));
    let rest = &page[at + r#"id="token-value">"#.len()..];
    rest[..rest.find('<').expect("end of element")].to_string()
}

pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                   frame-ancestors 'none'; form-action 'self'";

pub fn passwd(dir: &TestDir, email: &str, password: &str) {
    let out = std::process::Command::new(bin("lucentd"))
        .args(["user", "passwd", email, "--db"])
        .arg(dir.db())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .expect("stdin")
                .write_all(format!("{password}\n").as_bytes())?;
            c.wait_with_output()
        })
        .expect("run lucentd user passwd");
    assert!(out.status.success(), "{out:?}");
}

pub fn a_records(srv: &Server, name: &str) -> Vec<String> {
    answers(&srv.dig(name, RecordType::A))
}
