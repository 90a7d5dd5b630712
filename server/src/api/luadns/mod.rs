//! The LuaDNS-style REST API of seed 001 under `/v1`: users, zones, records, DS records.
//! HTTP Basic auth with email : API key (global or restricted to one zone), `api_enabled`,
//! `Accept: application/json`, every success 200 (creates and deletes too), compact JSON with
//! LuaDNS's key order (acme.sh and OpenWrt parse it with regexes), errors
//! `{"status","request_id","message"}`, and `x-ratelimit-*` headers on every answer.

pub mod records;
pub mod zones;

use serde::Serialize;
use serde_json::Value;

use super::{auth, ApiRequest, Ctx, Reply, Route};
use crate::clock;
use crate::error::{reason, ApiError};
use crate::model::{Status, User, Zone, ZoneKind};
use crate::ratelimit::Decision;
use crate::secret;
use crate::store::queries::{api_keys, zones as zone_rows};

/// Who is calling: the key's owner and the key's zone restriction.
#[derive(Debug, Clone)]
pub struct LuaAuth {
    pub user: User,
    pub zone_only: Option<i64>,
}

impl LuaAuth {
    /// The zone `id` if this caller may touch it: 404 when it is not the user's hosted zone,
    /// 403 when the key is restricted to another zone.
    pub fn zone(&self, tx: &rusqlite::Connection, id: &str) -> Result<Zone, ApiError> {
        let not_found = || ApiError::NotFound("not_found", "Zone not found".into());
        let id: i64 = id.parse().map_err(|_| not_found())?;
        let z = zone_rows::zone_by_id(tx, id)?
            .filter(|z| z.kind == ZoneKind::Hosted && z.owner_id == Some(self.user.id))
            .ok_or_else(not_found)?;
        if let Some(only) = self.zone_only {
            if only != z.id {
                return Err(ApiError::Forbidden(
                    "this API key is restricted to another zone".into(),
                ));
            }
        }
        Ok(z)
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    status: &'static str,
    request_id: &'a str,
    message: String,
}

pub fn render_error(e: &ApiError, req: &ApiRequest) -> Reply {
    if e.detail().is_none() {
        log::debug!("request {}: {} {}", req.id, e.status(), e.message());
    }
    let mut r = Reply::json(
        e.status(),
        &ErrorBody {
            status: reason(e.status()),
            request_id: &req.id,
            message: e.message(),
        },
    );
    match e {
        ApiError::Unauthorized(_) => {
            r = r.with_header("www-authenticate", "Basic realm=\"Authorization Required\"")
        }
        ApiError::RateLimited(s) => r = r.with_header("retry-after", s.to_string()),
        _ => {}
    }
    r
}

/// Authenticate, rate-limit and run a LuaDNS handler; decorate its answer.
/// `ip` is the request's per-address limit, whose figures the rate-limit headers show when
/// no key was recognised (a 401): every LuaDNS answer carries them.
pub fn dispatch(
    ctx: &Ctx,
    req: &ApiRequest,
    ip: Option<Decision>,
    f: impl FnOnce(&LuaAuth) -> Result<Reply, ApiError>,
) -> Reply {
    let mut limit: Option<Decision> = None;
    let result = authenticate(ctx, req, &mut limit).and_then(|a| f(&a));
    let reply = result.unwrap_or_else(|e| render_error(&e, req));
    with_limit_headers(reply, limit.or(ip))
}

/// The `x-ratelimit-*` headers of a decision (seed 001).
pub fn with_limit_headers(reply: Reply, d: Option<Decision>) -> Reply {
    match d {
        Some(d) => reply
            .with_header("x-ratelimit-limit", d.limit.to_string())
            .with_header("x-ratelimit-remaining", d.remaining.to_string())
            .with_header("x-ratelimit-reset", d.reset.to_string()),
        None => reply,
    }
}

fn authenticate(
    ctx: &Ctx,
    req: &ApiRequest,
    limit: &mut Option<Decision>,
) -> Result<LuaAuth, ApiError> {
    let (email, key) =
        auth::basic(req).ok_or_else(|| ApiError::Unauthorized("Invalid API Key".into()))?;
    let h = secret::hash(key.expose());
    let (user, zone_only) = ctx
        .store
        .read(|tx| api_keys::api_key_lookup(tx, &h))?
        .filter(|(u, _)| u.email.eq_ignore_ascii_case(email.trim()))
        .ok_or_else(|| ApiError::Unauthorized("Invalid API Key".into()))?;
    let d = ctx.token_limits.check(&h, clock::unix_now());
    *limit = Some(d);
    if !d.allowed {
        return Err(ApiError::RateLimited(d.retry_after));
    }
    if let Some(accept) = req.header("accept") {
        let a = accept.to_ascii_lowercase();
        if !(a.contains("application/json") || a.contains("*/*") || a.contains("application/*")) {
            return Err(ApiError::Forbidden("Invalid 'Accept' header".into()));
        }
    }
    if user.status != Status::Active {
        return Err(ApiError::Forbidden(format!("account is {}", user.status)));
    }
    if !user.api_enabled {
        return Err(ApiError::Forbidden(
            "API access is disabled for this account".into(),
        ));
    }
    Ok(LuaAuth { user, zone_only })
}

/// `GET /v1/users/me`.
pub fn users_me(ctx: &Ctx, a: &LuaAuth) -> Result<Reply, ApiError> {
    #[derive(Serialize)]
    struct Me<'a> {
        email: &'a str,
        name: &'a str,
        repo_uri: &'a str,
        api_enabled: bool,
        tfa: bool,
        deploy_key: &'a str,
        ttl: u32,
        package: &'a str,
        name_servers: Vec<String>,
    }
    let name = a.user.email.split('@').next().unwrap_or("");
    Ok(Reply::json(
        200,
        &Me {
            email: &a.user.email,
            name,
            repo_uri: "",
            api_enabled: a.user.api_enabled,
            tfa: ctx
                .store
                .read(|tx| crate::domain::accounts::tfa::enabled(tx, a.user.id))?,
            deploy_key: "",
            ttl: ctx.config.limits.record_default_ttl,
            package: "Self-hosted",
            name_servers: ctx
                .config
                .apex
                .nameservers
                .iter()
                .map(|n| format!("{n}."))
                .collect(),
        },
    ))
}

// ---- list options: query, sort_by, sort_order, limit, page ------------------------------

pub struct ListOpts {
    pub query: Option<String>,
    pub sort_by: Option<String>,
    pub desc: bool,
    /// 0 = everything.
    pub limit: usize,
    pub page: usize,
}

impl ListOpts {
    pub fn parse(req: &ApiRequest, sortable: &[&str]) -> Result<ListOpts, ApiError> {
        let bad = |m: String| Err(ApiError::BadRequest(m));
        let query = req
            .param("query")
            .map(|q| q.trim().to_ascii_lowercase())
            .filter(|q| !q.is_empty());
        let sort_by = match req
            .param("sort_by")
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(s) if sortable.contains(&s) => Some(s.to_string()),
            Some(s) => {
                return bad(format!(
                    "sort_by must be one of: {} (got '{}')",
                    sortable.join(", "),
                    crate::model::name::printable(s)
                ))
            }
            None => None,
        };
        let desc = match req
            .param("sort_order")
            .map(|s| s.trim().to_ascii_lowercase())
        {
            None => false,
            Some(s) if s.is_empty() || s == "asc" => false,
            Some(s) if s == "desc" => true,
            Some(_) => return bad("sort_order must be asc or desc".into()),
        };
        let num = |k: &str, default: usize| -> Result<usize, ApiError> {
            match req.param(k).map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(default),
                Some(v) => v
                    .parse::<usize>()
                    .map_err(|_| ApiError::BadRequest(format!("{k} must be a whole number"))),
            }
        };
        let limit = num("limit", 0)?;
        if limit > 500 {
            return bad("limit must be between 1 and 500".into());
        }
        let page = num("page", 1)?;
        if page == 0 {
            return bad("page must be 1 or more".into());
        }
        Ok(ListOpts {
            query,
            sort_by,
            desc,
            limit,
            page,
        })
    }

    /// Sort (stable, by `key`), reverse for desc, cut the page, and answer with the
    /// pagination headers (`x-pages-count` too, which luadns-go reads).
    pub fn page<T: Serialize>(
        &self,
        mut items: Vec<T>,
        key: impl Fn(&T, &str) -> SortKey,
    ) -> Reply {
        if let Some(col) = &self.sort_by {
            items.sort_by_key(|a| key(a, col));
        }
        if self.desc {
            items.reverse();
        }
        let total = items.len();
        let (pages, slice): (usize, Vec<T>) = if self.limit == 0 {
            (1, items)
        } else {
            let pages = total.div_ceil(self.limit).max(1);
            let start = (self.page - 1).saturating_mul(self.limit);
            (
                pages,
                items.into_iter().skip(start).take(self.limit).collect(),
            )
        };
        Reply::json(200, &slice)
            .with_header("x-page", self.page.to_string())
            .with_header("x-limit", self.limit.to_string())
            .with_header("x-total-pages", pages.to_string())
            .with_header("x-pages-count", pages.to_string())
            .with_header("x-total-count", total.to_string())
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub enum SortKey {
    Int(i64),
    Text(String),
}

/// A JSON object body (lexicon sends `{}` even on GET/DELETE; lego may end with a newline).
pub fn body_object(req: &ApiRequest) -> Result<serde_json::Map<String, Value>, ApiError> {
    super::body::object(req)
}

/// The LuaDNS-style routes (seed 001), after `dispatch` authenticated the key; the method is
/// one the route answers (checked in `api::handle`).
pub fn route(ctx: &Ctx, req: &ApiRequest, a: &LuaAuth, route: &Route) -> Result<Reply, ApiError> {
    let m = req.method.as_str();
    match (route, m) {
        (Route::LuaMe, _) => users_me(ctx, a),
        (Route::LuaZones, "GET") => zones::list(ctx, req, a),
        (Route::LuaZones, _) => zones::create(ctx, req, a),
        (Route::LuaZone(z), "GET") => zones::get(ctx, a, z),
        (Route::LuaZone(z), "PUT") => zones::update(ctx, req, a, z),
        (Route::LuaZone(z), _) => zones::delete(ctx, a, z),
        (Route::LuaRecords(z), "GET") => records::list(ctx, req, a, z),
        (Route::LuaRecords(z), _) => records::create(ctx, req, a, z),
        (Route::LuaRecord(z, r), "GET") => records::get(ctx, a, z, r),
        (Route::LuaRecord(z, r), "PUT") => records::update(ctx, req, a, z, r),
        (Route::LuaRecord(z, r), _) => records::delete(ctx, a, z, r),
        (Route::LuaDs(z), _) => zones::ds_records(ctx, a, z),
        _ => Err(ApiError::NotFound("not_found", "Not Found".into())),
    }
}
