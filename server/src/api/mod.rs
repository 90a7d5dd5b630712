//! The routing table: a request's method and path segments become one `Route` (carrying its
//! path parameters), parsed once; one match dispatches it. Before dispatch the per-address
//! rate limit runs here; each API family resolves its own credentials (`auth.rs`) and renders
//! errors in its own shape: token API JSON, DuckDNS `KO`, LuaDNS JSON, dyndns2 words.
//! "Seed 000" and "seed 001" are the two API documents the server implements (the token API
//! and the LuaDNS-style API; see docs/protocols.md).
//!
//! May import: `domain`, `model`, `store` (reads), `config`, `ratelimit`, `metrics`, `error`,
//! `secret`, `clock`, `redact`. Not `http` (which calls this) or `admin`.

pub mod auth;
pub mod body;
pub mod dns_update;
pub mod dyndns2;
pub mod hostnames;
pub mod luadns;
pub mod request;
pub mod update;
pub mod web_route;

use std::net::IpAddr;
use std::sync::Arc;

use crate::clock;
use crate::config::Config;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::model::TtlRange;
use crate::ratelimit::{Decision, RateLimiter};
use crate::store::{Store, WriteTx};

pub use request::{parse_form, parse_target, target_is_utf8, unmap, ApiRequest, Reply, JSON, TEXT};

/// Shared state of the HTTP side.
pub struct Ctx {
    pub config: Config,
    pub store: Store,
    pub metrics: Metrics,
    /// Per update token / API key (keyed by its hash).
    pub token_limits: RateLimiter<[u8; 32]>,
    /// Per client address.
    pub ip_limits: RateLimiter<IpAddr>,
    /// Dashboard sign-in attempts per client address.
    pub login_ip_limits: RateLimiter<IpAddr>,
    /// Dashboard sign-in attempts per account (SHA-256 of the lowercased email).
    pub login_account_limits: RateLimiter<[u8; 32]>,
    /// The dashboard's handler (`web::handle`, set by `serve`): the routing table parses its
    /// routes, the dashboard above this module answers them.
    pub web: WebHandler,
}

/// Answers one dashboard route.
pub type WebHandler = fn(&Ctx, &ApiRequest, &web_route::WebRoute) -> Reply;

/// Without a dashboard (unit tests, fuzzing): its routes are not found.
fn no_dashboard(_: &Ctx, req: &ApiRequest, _: &web_route::WebRoute) -> Reply {
    render_error(
        Family::Token,
        &ApiError::NotFound("not_found", "no dashboard in this build".into()),
        req,
    )
}

impl Ctx {
    pub fn new(config: Config, store: Store) -> Ctx {
        Ctx {
            token_limits: RateLimiter::new(config.limits.requests_per_5min),
            ip_limits: RateLimiter::new(config.limits.ip_requests_per_5min),
            login_ip_limits: RateLimiter::new(web_route::LOGIN_PER_ADDRESS),
            login_account_limits: RateLimiter::new(web_route::LOGIN_PER_ACCOUNT),
            web: no_dashboard,
            config,
            store,
            metrics: Metrics::default(),
        }
    }

    /// The TTL bounds of `[limits]`, for the one TTL rule.
    pub fn ttl_range(&self) -> TtlRange {
        TtlRange {
            min: self.config.limits.min_ttl,
            max: self.config.limits.max_ttl,
        }
    }
}

/// Every endpoint, with the path parameters it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Healthz,
    Metrics,
    Ip,
    /// `/v1/hostnames`
    Hostnames,
    /// `/v1/hostnames/{id|label|fqdn}`
    Hostname(String),
    /// `/update` (DuckDNS or JSON)
    Update,
    /// `/update/{domain}/{token}[/{ip}]`
    UpdatePath {
        domain: String,
        token: String,
        ip: Option<String>,
    },
    /// `/nic/update`, `/v3/update`, or `/update?hostname=…`
    Dyndns2,
    LuaMe,
    LuaZones,
    LuaZone(String),
    LuaRecords(String),
    LuaRecord(String, String),
    LuaDs(String),
    /// Anything else under `/v1/users` or `/v1/zones`: a LuaDNS-shaped 404.
    LuaNotFound,
    /// The dashboard (`/`, `/login`, ...): HTML pages and forms.
    Web(web_route::WebRoute),
    NotFound,
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

const GET: &[&str] = &["GET", "HEAD"];
const GET_POST: &[&str] = &["GET", "POST"];
const ANY: &[&str] = &[];

impl Route {
    /// The route of a request (path segments decoded, empty ones dropped).
    pub fn parse(req: &ApiRequest) -> Route {
        let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
        let s = |x: &str| x.to_string();
        match segs[..] {
            ["healthz"] => Route::Healthz,
            ["metrics"] => Route::Metrics,
            ["ip"] => Route::Ip,
            ["v1", "hostnames"] => Route::Hostnames,
            ["v1", "hostnames", h] => Route::Hostname(s(h)),
            ["nic", "update"] | ["v3", "update"] => Route::Dyndns2,
            ["update"] if dyndns2::is_dyndns2_update(req) => Route::Dyndns2,
            ["update"] => Route::Update,
            ["update", d, t] => Route::UpdatePath {
                domain: s(d),
                token: s(t),
                ip: None,
            },
            ["update", d, t, ip] => Route::UpdatePath {
                domain: s(d),
                token: s(t),
                ip: Some(s(ip)),
            },
            ["v1", "users", "me"] => Route::LuaMe,
            ["v1", "zones"] => Route::LuaZones,
            ["v1", "zones", z] => Route::LuaZone(s(z)),
            ["v1", "zones", z, "records"] => Route::LuaRecords(s(z)),
            ["v1", "zones", z, "records", r] => Route::LuaRecord(s(z), s(r)),
            ["v1", "zones", z, "ds_records"] => Route::LuaDs(s(z)),
            ["v1", "users" | "zones", ..] => Route::LuaNotFound,
            _ => web_route::WebRoute::parse(&segs).map_or(Route::NotFound, Route::Web),
        }
    }

    /// The label in `/metrics` (`lucent_http_requests_total{route=…}`).
    pub fn label(&self) -> &'static str {
        match self {
            Route::Healthz => "healthz",
            Route::Metrics => "metrics",
            Route::Ip => "ip",
            Route::Hostnames => "hostnames",
            Route::Hostname(_) => "hostname",
            Route::Update => "update",
            Route::UpdatePath { .. } => "update_path",
            Route::Dyndns2 => "dyndns2",
            Route::LuaMe => "lua_me",
            Route::LuaZones => "lua_zones",
            Route::LuaZone(_) => "lua_zone",
            Route::LuaRecords(_) => "lua_records",
            Route::LuaRecord(..) => "lua_record",
            Route::LuaDs(_) => "lua_ds",
            Route::LuaNotFound => "lua_not_found",
            Route::Web(w) => w.label(),
            Route::NotFound => "not_found",
        }
    }

    /// The methods the route answers (empty: any method, for the not-found routes).
    pub fn methods(&self) -> &'static [&'static str] {
        match self {
            Route::Healthz | Route::Ip => GET,
            Route::Metrics | Route::LuaMe | Route::LuaDs(_) | Route::UpdatePath { .. } => &["GET"],
            Route::Hostnames | Route::LuaZones | Route::LuaRecords(_) => GET_POST,
            Route::Update | Route::Dyndns2 => GET_POST,
            Route::Hostname(_) => &["GET", "PATCH", "DELETE"],
            Route::LuaZone(_) | Route::LuaRecord(..) => &["GET", "PUT", "DELETE"],
            // The dashboard answers a wrong method with its own page.
            Route::LuaNotFound | Route::NotFound | Route::Web(_) => ANY,
        }
    }

    /// How errors on this route are rendered.
    pub fn family(&self, req: &ApiRequest) -> Family {
        match self {
            Route::Dyndns2 => Family::Dyn,
            Route::Update if !update::wants_json(req) => Family::Duck,
            Route::UpdatePath { .. } => Family::Duck,
            Route::LuaMe
            | Route::LuaZones
            | Route::LuaZone(_)
            | Route::LuaRecords(_)
            | Route::LuaRecord(..)
            | Route::LuaDs(_)
            | Route::LuaNotFound => Family::Lua,
            _ => Family::Token,
        }
    }

    /// The DDNS update routes: they run on the request task up to their one write, which
    /// joins the writer thread's next group (see `handle_async`).
    fn is_update(&self) -> bool {
        matches!(
            self,
            Route::Update | Route::UpdatePath { .. } | Route::Dyndns2
        )
    }
}

pub fn render_error(family: Family, e: &ApiError, req: &ApiRequest) -> Reply {
    if let Some(detail) = e.detail() {
        log::error!("request {}: {detail}", req.id);
    }
    let mut r = match family {
        Family::Token => Reply::json(
            e.status(),
            &serde_json::json!({"error": e.code(), "message": e.message()}),
        ),
        Family::Duck => Reply::text(e.status(), update::KO),
        Family::Lua => luadns::render_error(e, req),
        Family::Dyn => dyndns2::render_error(e),
    };
    match e {
        ApiError::RateLimited(s) if family != Family::Lua && family != Family::Dyn => {
            r = r.with_header("retry-after", s.to_string())
        }
        ApiError::MethodNotAllowed(allow) if !allow.is_empty() => {
            r = r.with_header("allow", allow.join(", "))
        }
        _ => {}
    }
    r
}

/// Renders a write route's reply from what its committed write produced.
pub type Render = Box<dyn FnOnce(&Ctx) -> Reply + Send>;

/// A write route's one store write, producing its reply's renderer.
pub type WriteFn = Box<dyn FnOnce(&mut WriteTx) -> Result<Render, ApiError> + Send>;

/// A write route after parsing, authentication and validation: its reply already, or the one
/// store write whose result renders it.
pub enum Plan {
    Reply(Reply),
    Write(WriteFn),
}

impl Plan {
    /// From a request task: the write joins the writer thread's next group.
    pub async fn run(self, ctx: &Ctx) -> Result<Reply, ApiError> {
        match self {
            Plan::Reply(r) => Ok(r),
            Plan::Write(w) => Ok(ctx.store.write_async(w).await?(ctx)),
        }
    }

    /// From a blocking caller (tests, fuzzing): the same write, waited for.
    pub fn run_blocking(self, ctx: &Ctx) -> Result<Reply, ApiError> {
        match self {
            Plan::Reply(r) => Ok(r),
            Plan::Write(w) => Ok(ctx.store.write(w)?(ctx)),
        }
    }
}

/// An update route up to its write: method checked, parsed, authenticated, validated.
fn plan_update(ctx: &Ctx, req: &ApiRequest, route: &Route) -> Result<Plan, ApiError> {
    if !route.methods().contains(&req.method.as_str()) {
        return Err(ApiError::MethodNotAllowed(route.methods()));
    }
    match route {
        Route::Update => update::plan(ctx, req),
        Route::UpdatePath { domain, token, ip } => {
            update::plan_path(ctx, req, domain, token, ip.as_deref())
        }
        _ => dyndns2::plan(ctx, req),
    }
}

/// 400 for a request target whose parameters are not UTF-8 once percent-decoded.
fn checked_target(req: &ApiRequest) -> Result<(), ApiError> {
    if target_is_utf8(&req.target) {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "the request target is not valid UTF-8 once percent-decoded".into(),
        ))
    }
}

/// The per-address limit, counted for every route but the health and metrics ones: the
/// decision, and the refusal when past it (LuaDNS-shaped with its rate-limit headers on
/// LuaDNS routes).
fn ip_limit(
    ctx: &Ctx,
    req: &ApiRequest,
    route: &Route,
    family: Family,
) -> (Option<Decision>, Option<Reply>) {
    if matches!(route, Route::Healthz | Route::Metrics) {
        return (None, None);
    }
    let d = ctx.ip_limits.check(&req.peer, clock::unix_now());
    if d.allowed || ctx.config.limits.ip_requests_per_5min == 0 {
        return (Some(d), None);
    }
    let mut r = render_error(family, &ApiError::RateLimited(d.retry_after), req);
    if family == Family::Lua {
        r = luadns::with_limit_headers(r, Some(d));
    }
    (Some(d), Some(r))
}

/// Routes a browser page may call with a token (seed 000 is for browsers too): no cookies are
/// involved, so any origin may (CORS).
fn cors(route: &Route) -> bool {
    matches!(
        route,
        Route::Hostnames
            | Route::Hostname(_)
            | Route::Update
            | Route::UpdatePath { .. }
            | Route::Ip
            | Route::Healthz
    )
}

/// The answer to a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`): 200 with an
/// empty body rather than 204, so it carries Content-Length like every answer (a 204 may not).
fn preflight(route: &Route) -> Reply {
    let mut methods: Vec<&str> = route.methods().to_vec();
    methods.push("OPTIONS");
    Reply {
        status: 200,
        content_type: TEXT,
        headers: Vec::new(),
        body: Vec::new(),
    }
    .with_header("access-control-allow-origin", "*")
    .with_header("access-control-allow-methods", methods.join(", "))
    .with_header(
        "access-control-allow-headers",
        "Authorization, Content-Type, X-Lucent-Token, X-DDNS-Token, X-API-Key",
    )
    .with_header("access-control-max-age", "86400")
}

/// Add the CORS header to an answer of a CORS route.
fn with_cors(route: &Route, r: Reply) -> Reply {
    if cors(route) {
        r.with_header("access-control-allow-origin", "*")
            .with_header("access-control-expose-headers", "Retry-After")
    } else {
        r
    }
}

/// `/metrics` lists every zone: only for `[http] metrics_allow` addresses, or with the
/// bearer token of `metrics_token_file`.
fn metrics_allowed(ctx: &Ctx, req: &ApiRequest) -> Result<(), ApiError> {
    let http = &ctx.config.http;
    if http
        .metrics_allow
        .iter()
        .any(|c| c.contains(unmap(req.peer)))
    {
        return Ok(());
    }
    if let (Some(want), Some(got)) = (&http.metrics_token, auth::token_from(req)) {
        let h = |s: &str| crate::secret::hash(s);
        if crate::secret::ct_eq(&h(want.expose()), &h(got.expose())) {
            return Ok(());
        }
    }
    Err(ApiError::Forbidden(
        "metrics are served to the addresses in [http] metrics_allow or with the metrics token"
            .into(),
    ))
}

/// Answer one request from a request task; returns the route label (for metrics) and the
/// reply. The DDNS update routes run here up to their write, which joins the store's writer
/// thread's next group: no blocking-pool thread, no hand-off per request. Every other route
/// runs `handle` on the blocking pool. A panic anywhere propagates to the caller's task (an
/// HTTP 500 there).
pub async fn handle_async(ctx: Arc<Ctx>, req: ApiRequest) -> (&'static str, Reply) {
    let route = Route::parse(&req);
    let label = route.label();
    if !route.is_update() {
        return match tokio::task::spawn_blocking(move || handle(&ctx, &req)).await {
            Ok(r) => r,
            Err(e) => match e.try_into_panic() {
                Ok(p) => std::panic::resume_unwind(p),
                // Cancelled: the runtime is shutting down.
                Err(_) => (label, Reply::text(503, "shutting down")),
            },
        };
    }
    let family = route.family(&req);
    if req.method == "OPTIONS" && cors(&route) {
        return (label, preflight(&route));
    }
    if let (_, Some(r)) = ip_limit(&ctx, &req, &route, family) {
        return (label, with_cors(&route, r));
    }
    let reply = match checked_target(&req).and_then(|()| plan_update(&ctx, &req, &route)) {
        Ok(p) => p.run(&ctx).await,
        Err(e) => Err(e),
    };
    let reply = reply.unwrap_or_else(|e| render_error(family, &e, &req));
    (label, with_cors(&route, reply))
}

/// Answer one request on a blocking thread (every route but the DDNS updates). Returns the
/// route label (for metrics) and the reply.
pub fn handle(ctx: &Ctx, req: &ApiRequest) -> (&'static str, Reply) {
    let route = Route::parse(req);
    let (label, reply) = route_reply(ctx, req, &route);
    (label, with_cors(&route, reply))
}

fn route_reply(ctx: &Ctx, req: &ApiRequest, route: &Route) -> (&'static str, Reply) {
    let family = route.family(req);
    if req.method == "OPTIONS" && cors(route) {
        return (route.label(), preflight(route));
    }
    let (ip, refused) = ip_limit(ctx, req, route, family);
    if let Some(r) = refused {
        return (route.label(), r);
    }
    if let Err(e) = checked_target(req) {
        let r = render_error(family, &e, req);
        let r = match family {
            Family::Lua => luadns::with_limit_headers(r, ip),
            _ => r,
        };
        return (route.label(), r);
    }
    let allowed = route.methods();
    if !allowed.is_empty() && !allowed.contains(&req.method.as_str()) {
        let e = ApiError::MethodNotAllowed(allowed);
        let reply = match family {
            Family::Lua => luadns::dispatch(ctx, req, ip, |_| Err(e)),
            _ => render_error(family, &e, req),
        };
        return (route.label(), reply);
    }
    let m = req.method.as_str();
    let reply = match route {
        Route::Healthz => Ok(Reply::text(200, "ok")),
        Route::Metrics => metrics_allowed(ctx, req).map(|()| metrics(ctx)),
        Route::Ip => Ok(Reply::text(200, unmap(req.peer).to_string())),
        Route::Hostnames | Route::Hostname(_) => auth::authenticate(ctx, auth::token_from(req))
            .and_then(|p| {
                let u = p.user()?;
                match (route, m) {
                    (Route::Hostname(k), "GET") => hostnames::get(ctx, u, k),
                    (Route::Hostname(k), "PATCH") => hostnames::patch(ctx, req, u, k),
                    (Route::Hostname(k), _) => hostnames::delete(ctx, u, k),
                    (_, "GET") => hostnames::list(ctx, u),
                    _ => hostnames::create(ctx, req, u),
                }
            }),
        // Served by handle_async; a blocking caller (tests, fuzzing) runs the same plan.
        Route::Update | Route::UpdatePath { .. } | Route::Dyndns2 => {
            plan_update(ctx, req, route).and_then(|p| p.run_blocking(ctx))
        }
        Route::Web(w) => return (route.label(), (ctx.web)(ctx, req, w)),
        Route::NotFound => Err(ApiError::NotFound(
            "not_found",
            format!(
                "no such endpoint: {} {}",
                req.method,
                crate::redact::Url(&req.target)
            ),
        )),
        lua => {
            let r = luadns::dispatch(ctx, req, ip, |a| luadns::route(ctx, req, a, lua));
            return (route.label(), r);
        }
    };
    let reply = reply.unwrap_or_else(|e| render_error(family, &e, req));
    (route.label(), reply)
}

fn metrics(ctx: &Ctx) -> Reply {
    let mut out = String::new();
    ctx.metrics.render(&mut out);
    ctx.store.render_metrics(&mut out);
    ctx.store.dns.render_metrics(&mut out);
    Reply {
        status: 200,
        content_type: "text/plain; version=0.0.4; charset=utf-8",
        headers: Vec::new(),
        body: out.into_bytes(),
    }
}

#[cfg(test)]
mod tests;
