//! dyndns2 (`/nic/update`, `/v3/update`, and `/update?hostname=…`) for the DDNS clients built
//! into routers, ddclient and inadyn (docs/protocols.md §2). Basic auth with any username and the
//! update token as password; one answer line per hostname in request order; account-level
//! failures answered once. Missing or wrong credentials get 401 + `WWW-Authenticate` +
//! `badauth` (clients that only send credentials after a challenge need it); every other
//! answer is HTTP 200 with its code word, as Dyn and No-IP do.

use std::net::IpAddr;
use std::sync::atomic::Ordering;

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{auth, unmap, ApiRequest, Ctx, Plan, Render, Reply};
use crate::domain::hostnames as ops;
use crate::domain::records::{self as record_ops, Limits};
use crate::error::ApiError;
use crate::model::value::Ipv6Prefix;
use crate::model::{name, value, Changes};

/// The return codes, byte for byte.
pub const GOOD: &str = "good";
pub const NOCHG: &str = "nochg";
pub const BADAUTH: &str = "badauth";
pub const NOTFQDN: &str = "notfqdn";
pub const NOHOST: &str = "nohost";
pub const NUMHOST: &str = "numhost";
pub const ABUSE: &str = "abuse";
pub const DNSERR: &str = "dnserr";
pub const SERVER_ERROR: &str = "911";
/// Not a Dyn code: a `myip` that is not an IP literal (nothing is changed).
pub const BADIP: &str = "badip";

/// Dyn allows 20 hostnames per request.
const MAX_HOSTS: usize = 20;

/// How an `ApiError` reads in this protocol.
pub fn render_error(e: &ApiError) -> Reply {
    let (status, word) = match e {
        ApiError::Unauthorized(_) => (401, BADAUTH),
        ApiError::Forbidden(_) => (403, BADAUTH),
        ApiError::NotFound(..) => (200, NOHOST),
        ApiError::BadRequest(_) => (400, BADIP),
        ApiError::RateLimited(_) => (200, ABUSE),
        // The store failing is a DNS back-end error; anything else a server problem.
        ApiError::Store(_) => (200, DNSERR),
        ApiError::Internal(_) => (200, SERVER_ERROR),
        _ => (400, BADIP),
    };
    let mut r = Reply::text(status, word);
    match e {
        ApiError::Unauthorized(_) => {
            r = r.with_header("www-authenticate", "Basic realm=\"lucentd dyndns2\"")
        }
        ApiError::RateLimited(s) => r = r.with_header("retry-after", s.to_string()),
        _ => {}
    }
    r
}

/// Is this `/update` request a dyndns2 one (it names `hostname`, not `domains`)?
pub fn is_dyndns2_update(req: &ApiRequest) -> bool {
    req.param("hostname").is_some() && req.param("domains").is_none()
}

/// Addresses from `myip` (comma list of either family), `myipv4`/`myipv6`, `ip`/`ipv6`;
/// none at all means the source address. A family not given is left untouched.
fn addresses(req: &ApiRequest) -> Result<(Option<Ipv4Addr>, Option<Ipv6Addr>), ApiError> {
    let mut v4 = None;
    let mut v6 = None;
    let mut any = false;
    for key in ["myip", "myipv4", "myipv6", "ip", "ipv6"] {
        for part in req.param(key).unwrap_or("").split(',') {
            let p = part.trim();
            if p.is_empty() {
                continue;
            }
            any = true;
            match value::ip(p)? {
                IpAddr::V4(a) => v4 = Some(a),
                IpAddr::V6(a) => v6 = Some(a),
            }
        }
    }
    if !any {
        match unmap(req.peer) {
            IpAddr::V4(a) => v4 = Some(a),
            IpAddr::V6(a) => v6 = Some(a),
        }
    }
    Ok((v4, v6))
}

/// What became of one hostname of the request.
enum Outcome {
    NotFqdn,
    NoHost,
    Good(String),
    NoChange,
}

/// Up to the write: authenticated, hostnames and addresses parsed.
pub fn plan(ctx: &Ctx, req: &ApiRequest) -> Result<Plan, ApiError> {
    let p = auth::authenticate(ctx, auth::token_from(req))?;
    let user = p
        .user()
        .map_err(|_| ApiError::Unauthorized("operator token".into()))?
        .clone();
    let hosts: Vec<String> = req
        .param("hostname")
        .unwrap_or("")
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    if hosts.is_empty() {
        return Ok(Plan::Reply(Reply::text(200, NOTFQDN)));
    }
    if hosts.len() > MAX_HOSTS {
        return Ok(Plan::Reply(Reply::text(200, NUMHOST)));
    }
    let (v4, v6) = addresses(req)?;
    let shown = match (&v4, &v6) {
        (Some(a), Some(b)) => format!("{a},{b}"),
        (Some(a), None) => a.to_string(),
        (None, Some(b)) => b.to_string(),
        (None, None) => String::new(),
    };
    let changes = Changes {
        ipv4: v4.map(Some),
        ipv6: v6.map(Some),
        ..Default::default()
    };
    // `ipv6prefix` (dynv6's parameter; a FRITZ!Box sends its `<ip6lanprefix>`): every hostname
    // of the token with an ipv6Suffix gets prefix + suffix in this same write.
    let prefix = req
        .param("ipv6prefix")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|p| Ipv6Prefix::parse(p, unmap(req.peer)))
        .transpose()?;
    let default_ttl = ctx.config.limits.default_ttl;
    let limits = Limits {
        max_records: ctx.config.limits.max_records_per_zone,
    };
    let from = unmap(req.peer);
    Ok(Plan::Write(Box::new(move |w| {
        let mut outcomes = Vec::with_capacity(hosts.len());
        let mut given: Vec<String> = Vec::new();
        for h in &hosts {
            if !h.contains('.') || name::domain_name(h).is_err() {
                outcomes.push(Outcome::NotFqdn);
                continue;
            }
            let mut host = match ops::find_owned(w.tx, &user, h) {
                Ok(x) => x,
                Err(ApiError::NotFound(..)) => {
                    // A name in one of the user's own hosted zones, else not theirs.
                    let Ok((z, name)) = ops::own_zone_name(w.tx, &user, h) else {
                        outcomes.push(Outcome::NoHost);
                        continue;
                    };
                    let (host, changed) =
                        record_ops::set_host_values(w, &z, &name, &changes, default_ttl, limits)?;
                    outcomes.push(if changed {
                        Outcome::Good(host.fqdn())
                    } else {
                        Outcome::NoChange
                    });
                    continue;
                }
                Err(e) => return Err(e),
            };
            given.push(host.id.clone());
            if ops::save(w, &mut host, &changes, from)? {
                outcomes.push(Outcome::Good(host.fqdn()));
            } else {
                outcomes.push(Outcome::NoChange);
            }
        }
        if let Some(prefix) = &prefix {
            // Hostnames of this request that were given an IPv6 address keep it.
            let skip = if changes.ipv6.is_some() {
                given
            } else {
                Vec::new()
            };
            for r in ops::apply_prefix(w, &user, prefix, &skip, from)? {
                if r.changed {
                    log::info!(
                        "update {} (dyndns2 prefix {prefix}): {}",
                        r.host.fqdn(),
                        r.host.ipv6.map_or("-".into(), |a| a.to_string())
                    );
                }
            }
        }
        let render: Render = Box::new(move |ctx| {
            let lines: Vec<String> = outcomes
                .iter()
                .map(|o| match o {
                    Outcome::NotFqdn => NOTFQDN.to_string(),
                    Outcome::NoHost => NOHOST.to_string(),
                    Outcome::Good(fqdn) => {
                        ctx.metrics.updates.fetch_add(1, Ordering::Relaxed);
                        log::info!("update {fqdn} (dyndns2): {shown}");
                        format!("{GOOD} {shown}")
                    }
                    Outcome::NoChange => {
                        ctx.metrics.updates_nochg.fetch_add(1, Ordering::Relaxed);
                        format!("{NOCHG} {shown}")
                    }
                })
                .collect();
            Reply::text(200, lines.join("\n"))
        });
        Ok(render)
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_words_and_statuses() {
        let r = render_error(&ApiError::Unauthorized("x".into()));
        assert_eq!((r.status, r.body.as_slice()), (401, b"badauth".as_slice()));
        assert!(r.headers.iter().any(|(k, _)| *k == "www-authenticate"));
        let r = render_error(&ApiError::RateLimited(30));
        assert_eq!((r.status, r.body.as_slice()), (200, b"abuse".as_slice()));
        assert!(r.headers.contains(&("retry-after", "30".to_string())));
        let r = render_error(&ApiError::hostname_not_found());
        assert_eq!(r.body, b"nohost");
        let r = render_error(&ApiError::Internal("panic".into()));
        assert_eq!(r.body, b"911");
        let disk = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(10), None);
        let r = render_error(&ApiError::from(disk));
        assert_eq!(r.body, b"dnserr");
    }

    fn req(target: &str) -> ApiRequest {
        ApiRequest::fake("GET", target, &[], "")
    }

    #[test]
    fn myip_forms() {
        let text = |(a, b): (Option<Ipv4Addr>, Option<Ipv6Addr>)| {
            (a.map(|a| a.to_string()), b.map(|b| b.to_string()))
        };
        let (a, b) =
            text(addresses(&req("/nic/update?hostname=h.x&myip=192.0.2.1,2001:db8::1")).unwrap());
        assert_eq!(a.as_deref(), Some("192.0.2.1"));
        assert_eq!(b.as_deref(), Some("2001:db8::1"));
        let (a, b) = text(addresses(&req("/nic/update?hostname=h.x&myipv6=2001:DB8::2")).unwrap());
        assert_eq!((a, b.as_deref()), (None, Some("2001:db8::2")));
        let (a, b) = text(addresses(&req("/nic/update?hostname=h.x")).unwrap());
        assert_eq!(
            (a.as_deref(), b),
            (Some("127.0.0.1"), None),
            "source address"
        );
        assert!(addresses(&req("/nic/update?hostname=h.x&myip=1.2.3.999")).is_err());
        assert!(is_dyndns2_update(&req("/update?hostname=a.b&myip=1.2.3.4")));
        assert!(!is_dyndns2_update(&req("/update?domains=a&token=t")));
    }
}
