//! Display wrappers that keep secrets out of logs: request targets with secret query values
//! and path tokens masked, and headers printed from an allow-list. Masking decides on the
//! decoded form of every name and segment (the form the router acts on, `api::parse_target`),
//! so no spelling of a parameter the server accepts (`%74oken`, `TOKEN`, `//update//x//t`,
//! `/%75pdate/x/t`) can carry a secret into the log. What the log line holds besides is
//! http.rs's business.

use std::fmt;

/// Words that make a query parameter secret when its decoded, lowercased name contains one
/// (`token`, `x_token`, `access_token`, `password`, `apikey`, `api_key`, ...). Over-masking
/// a harmless parameter costs a less useful log line; under-masking leaks a credential.
const SECRET_WORDS: &[&str] = &[
    "token",
    "pass",
    "pwd",
    "key",
    "secret",
    "auth",
    "sig",
    "credential",
    "session",
    "cookie",
];

/// A request target (`/update?domains=x&token=abc`) printed as `/update?domains=x&token=***`.
/// Path-style updates (`/update/{domain}/{token}[/{ip}]`) have their token segment masked,
/// and any later segment that is not an IP address.
pub struct Url<'a>(pub &'a str);

impl fmt::Display for Url<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (path, query) = match self.0.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (self.0, None),
        };
        // The router drops empty segments (`//update` is `/update`) and decodes each one.
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let is_update = segs
            .first()
            .is_some_and(|s| decode(s, false).eq_ignore_ascii_case("update"));
        // The dashboard's one-time invite links: `/invite/{token}`.
        let is_invite = segs
            .first()
            .is_some_and(|s| decode(s, false).eq_ignore_ascii_case("invite"));
        if segs.is_empty() {
            f.write_str("/")?;
        }
        for (i, s) in segs.iter().enumerate() {
            let secret = (is_invite && i >= 1)
                || (is_update
                    && (i == 2
                        || (i > 2 && decode(s, false).parse::<std::net::IpAddr>().is_err())));
            if secret {
                f.write_str("/***")?;
            } else {
                write!(f, "/{s}")?;
            }
        }
        if let Some(q) = query {
            f.write_str("?")?;
            // `;` is no separator to our parser, but masking at it too costs nothing and
            // covers a client that thinks it is (the W3C once recommended it).
            let mut rest = q;
            while !rest.is_empty() {
                let end = rest.find(['&', ';']).unwrap_or(rest.len());
                let pair = &rest[..end];
                match pair.split_once('=') {
                    Some((k, _)) if secret_name(k) => write!(f, "{k}=***")?,
                    _ => f.write_str(pair)?,
                }
                if end < rest.len() {
                    f.write_str(&rest[end..end + 1])?;
                    rest = &rest[end + 1..];
                } else {
                    rest = "";
                }
            }
        }
        Ok(())
    }
}

/// Is a raw (still encoded) parameter name secret? Decoded as the router decodes it, and
/// twice more in case something between client and us decodes again.
fn secret_name(raw: &str) -> bool {
    let mut name = raw.to_string();
    for _ in 0..3 {
        let lower = name.to_ascii_lowercase();
        if SECRET_WORDS.iter().any(|w| lower.contains(w)) {
            return true;
        }
        let next = decode(&name, true);
        if next == name {
            break;
        }
        name = next;
    }
    false
}

/// Percent-decoding as the router does it (`api::parse_target`), lossy on invalid UTF-8.
fn decode(s: &str, plus_is_space: bool) -> String {
    crate::urlcode::decode(s, plus_is_space)
}

/// Headers safe to log; everything else (Authorization, X-*-Token, Cookie, ...) is left out.
pub const LOGGABLE_HEADERS: &[&str] = &[
    "user-agent",
    "content-type",
    "content-length",
    "accept",
    "host",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_tokens_in_query_and_path() {
        let s = Url("/update?domains=a&token=s3cr3t&ip=1.2.3.4&Key=k&verbose=true").to_string();
        assert_eq!(
            s,
            "/update?domains=a&token=***&ip=1.2.3.4&Key=***&verbose=true"
        );
        assert!(!s.contains("s3cr3t"));
        let s = Url("/update/home/s3cr3t/1.2.3.4").to_string();
        assert_eq!(s, "/update/home/***/1.2.3.4");
        // The dashboard's invite links (#17).
        assert_eq!(Url("/invite/s3cr3t").to_string(), "/invite/***");
        assert_eq!(Url("//%69nvite//s3cr3t").to_string(), "/%69nvite/***");
        assert_eq!(Url("/v1/hostnames").to_string(), "/v1/hostnames");
        assert_eq!(Url("/").to_string(), "/");
    }

    /// Issue #14 item 4: every spelling of a token in a request target that the router reads
    /// as one (and a few it does not) is masked.
    #[test]
    fn masks_every_spelling_of_a_token_issue_14() {
        let t = "S3cr3tT0ken";
        let targets = [
            format!("/update?domains=a&token={t}"),
            format!("/update?domains=a&TOKEN={t}"),
            format!("/update?domains=a&ToKeN={t}"),
            format!("/update?domains=a&%74oken={t}"),
            format!("/update?domains=a&%54%4F%4B%45%4E={t}"),
            format!("/update?domains=a&to%6ben={t}"),
            format!("/update?domains=a&%2574oken={t}"),
            format!("/update?token={t}&domains=a"),
            format!("/update?domains=a&token={t}&token={t}"),
            format!("/update?domains=a;token={t}"),
            format!("/update?domains=a&token=%53%33{}", &t[2..]),
            format!("/update?domains=a&token={t}+"),
            format!("/update?domains=a&token+={t}"),
            format!("/update?domains=a&api_key={t}"),
            format!("/update?domains=a&x-api-key={t}"),
            format!("/update/a/{t}"),
            format!("/update/a/{t}/192.0.2.1"),
            format!("//update/a/{t}"),
            format!("//update//a//{t}"),
            format!("/%75pdate/a/{t}"),
            format!("/%55PDATE/a/{t}"),
            format!("/UPDATE/a/{t}"),
            format!("/update/a/{t}/{t}"),
            format!("/update/a/{t}?token={t}"),
        ];
        for target in &targets {
            let shown = Url(target).to_string();
            assert!(!shown.contains(t), "{target} -> {shown}");
            assert!(!shown.contains("S3"), "{target} -> {shown}");
        }
        // What is not secret stays readable.
        assert_eq!(
            Url("//update//home//tok/192.0.2.1").to_string(),
            "/update/home/***/192.0.2.1"
        );
        assert_eq!(
            Url("/update?domains=a;token=x&ip=1").to_string(),
            "/update?domains=a;token=***&ip=1"
        );
    }

    #[test]
    fn decodes_like_the_router() {
        assert_eq!(decode("%74oken", true), "token");
        assert_eq!(decode("a+b%2", true), "a b%2");
        assert_eq!(decode("a+b%", false), "a+b%");
        assert_eq!(decode("%zz", false), "%zz");
    }
}
