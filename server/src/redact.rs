//! Display wrappers that keep secrets out of logs: request targets with secret query values
//! masked, and headers printed from an allow-list.

use std::fmt;

/// Query parameter names whose values are secrets.
const SECRET_PARAMS: &[&str] = &[
    "token", "password", "pass", "pwd", "key", "secret", "auth", "api_key", "apikey",
];

/// A request target (`/update?domains=x&token=abc`) printed as `/update?domains=x&token=***`.
/// Path-style updates (`/update/{domain}/{token}`) have their token segment masked too.
pub struct Url<'a>(pub &'a str);

impl fmt::Display for Url<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (path, query) = match self.0.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (self.0, None),
        };
        let segs: Vec<&str> = path.split('/').collect();
        // ["", "update", domain, token, ...]
        if segs.len() >= 4 && segs[1] == "update" {
            write!(f, "/update/{}/***", segs[2])?;
            for s in &segs[4..] {
                write!(f, "/{s}")?;
            }
        } else {
            f.write_str(path)?;
        }
        if let Some(q) = query {
            f.write_str("?")?;
            for (i, pair) in q.split('&').enumerate() {
                if i > 0 {
                    f.write_str("&")?;
                }
                match pair.split_once('=') {
                    Some((k, _)) if SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str()) => {
                        write!(f, "{k}=***")?
                    }
                    _ => f.write_str(pair)?,
                }
            }
        }
        Ok(())
    }
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
        assert_eq!(Url("/v1/hostnames").to_string(), "/v1/hostnames");
    }
}
