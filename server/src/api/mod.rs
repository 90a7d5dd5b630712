//! The routing table: one match on (method, path segments) picks the handler. Before dispatch,
//! the per-address rate limit runs here and each API family resolves its credentials
//! (update token, operator token, API key) and the per-credential limit; handlers receive a
//! `Principal` and never re-inspect the path to pick a sub-action. Errors are rendered in the
//! family's own shape: token API JSON, DuckDNS `KO`, LuaDNS JSON, dyndns2 words.

pub mod dyndns2;
pub mod hostnames;
pub mod luadns;
pub mod update;

use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

use crate::auth::{self, Principal};
use crate::clock;
use crate::config::Config;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::ratelimit::{Decision, RateLimiter};
use crate::store::{Store, WriteTx};

/// Shared state of the HTTP side.
pub struct Ctx {
    pub config: Config,
    pub store: Store,
    pub metrics: Metrics,
    /// Per update token / API key (keyed by its hash).
    pub token_limits: RateLimiter<[u8; 32]>,
    /// Per client address.
    pub ip_limits: RateLimiter<IpAddr>,
}

impl Ctx {
    pub fn new(config: Config, store: Store) -> Ctx {
        Ctx {
            token_limits: RateLimiter::new(config.limits.requests_per_5min),
            ip_limits: RateLimiter::new(config.limits.ip_requests_per_5min),
            config,
            store,
            metrics: Metrics::default(),
        }
    }
}

/// A request as handlers see it: built by `http.rs` from the wire, or by tests directly.
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

    /// A test request: `target` is path?query.
    #[cfg(test)]
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
            peer: "127.0.0.1".parse().expect("literal"),
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

fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let h = |c: u8| (c as char).to_digit(16);
                match (h(b[i + 1]), h(b[i + 2])) {
                    (Some(x), Some(y)) => {
                        out.push((x * 16 + y) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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

/// How a family renders errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Seed 000 JSON `{"error","message"}`.
    Token,
    /// DuckDNS plain text: `KO`.
    Duck,
    /// Seed 001 JSON `{"status","request_id","message"}`.
    Lua,
    /// dyndns2 code words (`badauth`, `nohost`, ...).
    Dyn,
}

pub fn render_error(family: Family, e: &ApiError, req: &ApiRequest) -> Reply {
    if let ApiError::Internal(detail) = e {
        log::error!("request {}: {detail}", req.id);
    }
    let mut r = match family {
        Family::Token => Reply::json(
            e.status(),
            &serde_json::json!({"error": e.code(), "message": e.message()}),
        ),
        Family::Duck => Reply::text(e.status(), update::KO),
        Family::Lua => return luadns::render_error(e, req),
        Family::Dyn => return dyndns2::render_error(e),
    };
    if let ApiError::RateLimited(s) = e {
        r = r.with_header("retry-after", s.to_string());
    }
    r
}

/// Renders a write route's reply from what its committed write produced.
pub type Render = Box<dyn FnOnce(&Ctx) -> Reply + Send>;

/// A write route's one store write, producing its reply's renderer.
pub type WriteFn = Box<dyn FnOnce(&mut WriteTx) -> Result<Render, ApiError> + Send>;

/// A write route after parsing, authentication and validation: its reply already, or the one
/// store write whose result renders it. The same plan runs in place (`run`, blocking) or
/// through the store's writer thread (`run_async`, from a request task).
pub enum Plan {
    Reply(Reply),
    Write(WriteFn),
}

impl Plan {
    pub fn run(self, ctx: &Ctx) -> Result<Reply, ApiError> {
        match self {
            Plan::Reply(r) => Ok(r),
            Plan::Write(w) => Ok(ctx.store.write(w)?(ctx)),
        }
    }

    pub async fn run_async(self, ctx: &Ctx) -> Result<Reply, ApiError> {
        match self {
            Plan::Reply(r) => Ok(r),
            Plan::Write(w) => Ok(ctx.store.write_async(w).await?(ctx)),
        }
    }
}

/// The per-address limit, checked before any route but the health and metrics ones.
fn ip_limited(ctx: &Ctx, req: &ApiRequest, route: &str, family: Family) -> Option<Reply> {
    if route == "healthz" || route == "metrics" {
        return None;
    }
    let d = ctx.ip_limits.check(&req.peer, clock::unix_now());
    (!d.allowed).then(|| render_error(family, &ApiError::RateLimited(d.retry_after), req))
}

/// Answer one request from a request task. The DDNS update routes (`/update`, its path form,
/// dyndns2) run here up to their write, which joins the store's writer thread's next group:
/// no blocking-pool thread, no hand-off per request. Every other route runs `handle` on the
/// blocking pool. A panic anywhere propagates to the caller's task (an HTTP 500 there).
pub async fn handle_async(ctx: Arc<Ctx>, req: ApiRequest) -> (&'static str, Reply) {
    let (route, family) = {
        let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
        classify(&segs, &req)
    };
    let plan: fn(&Ctx, &ApiRequest) -> Result<Plan, ApiError> = match (route, req.method.as_str()) {
        ("update", "GET" | "POST") => update::plan,
        ("update_path", "GET") => update::plan_path,
        ("dyndns2", "GET" | "POST") => dyndns2::plan,
        _ => {
            return match tokio::task::spawn_blocking(move || handle(&ctx, &req)).await {
                Ok(r) => r,
                Err(e) => match e.try_into_panic() {
                    Ok(p) => std::panic::resume_unwind(p),
                    // Cancelled: the runtime is shutting down.
                    Err(_) => (route, Reply::text(503, "shutting down")),
                },
            };
        }
    };
    if let Some(r) = ip_limited(&ctx, &req, route, family) {
        return (route, r);
    }
    let reply = match plan(&ctx, &req) {
        Ok(p) => p.run_async(&ctx).await,
        Err(e) => Err(e),
    };
    (
        route,
        reply.unwrap_or_else(|e| render_error(family, &e, &req)),
    )
}

/// Answer one request. Returns the route label (for metrics) and the reply.
pub fn handle(ctx: &Ctx, req: &ApiRequest) -> (&'static str, Reply) {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let m = req.method.as_str();
    let (route, family) = classify(&segs, req);

    if let Some(r) = ip_limited(ctx, req, route, family) {
        return (route, r);
    }

    if family == Family::Lua {
        let reply = luadns::dispatch(ctx, req, |a| lua_route(ctx, req, a, route, &segs));
        return (route, reply);
    }

    let result: Result<Reply, ApiError> = match (route, m) {
        ("healthz", "GET" | "HEAD") => Ok(Reply::text(200, "ok")),
        ("metrics", "GET") => Ok(metrics(ctx)),
        ("ip", "GET" | "HEAD") => Ok(Reply::text(200, unmap(req.peer).to_string())),
        ("hostnames", "GET") => with_token(ctx, req, |p| hostnames::list(ctx, p)),
        ("hostnames", "POST") => with_token(ctx, req, |p| hostnames::create(ctx, req, p)),
        ("hostname", "GET") => with_token(ctx, req, |p| hostnames::get(ctx, p, segs[2])),
        ("hostname", "PATCH") => with_token(ctx, req, |p| hostnames::patch(ctx, req, p, segs[2])),
        ("hostname", "DELETE") => with_token(ctx, req, |p| hostnames::delete(ctx, p, segs[2])),
        ("update", "GET" | "POST") => update::handle(ctx, req),
        ("update_path", "GET") => update::handle_path(ctx, req),
        ("dyndns2", "GET" | "POST") => dyndns2::handle(ctx, req),
        ("not_found", _) => Err(ApiError::NotFound(
            "not_found",
            format!(
                "no such endpoint: {} {}",
                req.method,
                crate::redact::Url(&req.target)
            ),
        )),
        _ => Err(ApiError::MethodNotAllowed),
    };
    let reply = result.unwrap_or_else(|e| render_error(family, &e, req));
    (route, reply)
}

fn classify(segs: &[&str], req: &ApiRequest) -> (&'static str, Family) {
    match segs {
        ["healthz"] => ("healthz", Family::Token),
        ["metrics"] => ("metrics", Family::Token),
        ["ip"] => ("ip", Family::Token),
        ["v1", "hostnames"] => ("hostnames", Family::Token),
        ["v1", "hostnames", _] => ("hostname", Family::Token),
        ["nic", "update"] | ["v3", "update"] => ("dyndns2", Family::Dyn),
        ["update"] if dyndns2::is_dyndns2_update(req) => ("dyndns2", Family::Dyn),
        ["update"] => (
            "update",
            if update::wants_json(req) {
                Family::Token
            } else {
                Family::Duck
            },
        ),
        ["update", _, _] | ["update", _, _, _] => ("update_path", Family::Duck),
        ["v1", "users", "me"] => ("lua_me", Family::Lua),
        ["v1", "zones"] => ("lua_zones", Family::Lua),
        ["v1", "zones", _] => ("lua_zone", Family::Lua),
        ["v1", "zones", _, "records"] => ("lua_records", Family::Lua),
        ["v1", "zones", _, "records", _] => ("lua_record", Family::Lua),
        ["v1", "zones", _, "ds_records"] => ("lua_ds", Family::Lua),
        ["v1", "users" | "zones", ..] => ("lua_not_found", Family::Lua),
        _ => ("not_found", Family::Token),
    }
}

/// The LuaDNS-style routes (seed 001), after `luadns::dispatch` authenticated the key.
fn lua_route(
    ctx: &Ctx,
    req: &ApiRequest,
    a: &luadns::LuaAuth,
    route: &str,
    segs: &[&str],
) -> Result<Reply, ApiError> {
    use luadns::{records, zones};
    match (route, req.method.as_str()) {
        ("lua_me", "GET") => luadns::users_me(ctx, a),
        ("lua_zones", "GET") => zones::list(ctx, req, a),
        ("lua_zones", "POST") => zones::create(ctx, req, a),
        ("lua_zone", "GET") => zones::get(ctx, a, segs[2]),
        ("lua_zone", "PUT") => zones::update(ctx, req, a, segs[2]),
        ("lua_zone", "DELETE") => zones::delete(ctx, a, segs[2]),
        ("lua_records", "GET") => records::list(ctx, req, a, segs[2]),
        ("lua_records", "POST") => records::create(ctx, req, a, segs[2]),
        ("lua_record", "GET") => records::get(ctx, a, segs[2], segs[4]),
        ("lua_record", "PUT") => records::update(ctx, req, a, segs[2], segs[4]),
        ("lua_record", "DELETE") => records::delete(ctx, a, segs[2], segs[4]),
        ("lua_ds", "GET") => zones::ds_records(ctx, a, segs[2]),
        ("lua_not_found", _) => Err(ApiError::NotFound("not_found", "Not Found".into())),
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// Authenticate the update token, count it against its limit, then run `f`.
fn with_token(
    ctx: &Ctx,
    req: &ApiRequest,
    f: impl FnOnce(&Principal) -> Result<Reply, ApiError>,
) -> Result<Reply, ApiError> {
    let p = auth::authenticate(ctx, req, auth::token_from(req))?;
    f(&p)
}

/// Per-credential limit; `key` is the credential's hash.
pub fn check_token_limit(ctx: &Ctx, key: &[u8; 32]) -> Result<Decision, ApiError> {
    let d = ctx.token_limits.check(key, clock::unix_now());
    if d.allowed {
        Ok(d)
    } else {
        Err(ApiError::RateLimited(d.retry_after))
    }
}

fn metrics(ctx: &Ctx) -> Reply {
    let mut out = String::new();
    ctx.metrics.render(&ctx.store, &mut out);
    ctx.store.dns.render_metrics(&mut out);
    Reply {
        status: 200,
        content_type: "text/plain; version=0.0.4; charset=utf-8",
        headers: Vec::new(),
        body: out.into_bytes(),
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
    }
}
