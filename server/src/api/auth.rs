//! Credentials of the HTTP APIs: where a request may carry its update token (Authorization
//! Bearer or Basic password, X-Lucent-Token, X-DDNS-Token, X-API-Key, `token=`), HTTP Basic
//! (RFC 7617) for the LuaDNS-style API and dyndns2, and turning a token into a `Principal`
//! with its per-credential rate limit. Tokens are looked up by SHA-256 only; the operator
//! token is compared in constant time.

use base64::Engine;

use super::{ApiRequest, Ctx};
use crate::clock;
use crate::domain::scoped_tokens;
use crate::error::ApiError;
use crate::model::{Status, User};
use crate::ratelimit::Decision;
use crate::secret::{self, Secret};
use crate::store::queries::scoped_tokens as scoped_q;
use crate::store::queries::users;

#[derive(Debug, Clone)]
pub enum Principal {
    User(User),
    /// The operator token (`DDNS_API_TOKEN`): operator-managed names through /update only.
    Operator,
}

impl Principal {
    /// The user behind the token; the operator token reaches no user's data.
    pub fn user(&self) -> Result<&User, ApiError> {
        match self {
            Principal::User(u) => Ok(u),
            Principal::Operator => Err(ApiError::Forbidden(
                "the operator token may only update operator-managed names through /update".into(),
            )),
        }
    }
}

/// The update token from the first place that has one.
pub fn token_from(req: &ApiRequest) -> Option<Secret> {
    if let Some(a) = req.header("authorization") {
        let a = a.trim();
        if let Some((scheme, rest)) = a.split_once(' ') {
            if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
                return Some(Secret::new(rest.trim()));
            }
            if scheme.eq_ignore_ascii_case("basic") {
                if let Some((_, pass)) = basic(req) {
                    return Some(pass);
                }
            }
        }
    }
    for h in ["x-lucent-token", "x-ddns-token", "x-api-key"] {
        if let Some(v) = req.header(h) {
            return Some(Secret::new(v.trim()));
        }
    }
    req.param("token").map(|t| Secret::new(t.trim()))
}

/// HTTP Basic credentials (RFC 7617): user and password.
pub fn basic(req: &ApiRequest) -> Option<(String, Secret)> {
    let a = req.header("authorization")?.trim();
    let (scheme, b64) = a.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), Secret::new(p)))
}

/// Resolve an update token (or the operator token): 401 when missing or unknown, 403 when the
/// account is disabled or banned, 429 past the token's limit.
pub fn authenticate(ctx: &Ctx, token: Option<Secret>) -> Result<Principal, ApiError> {
    let token = token
        .filter(|t| !t.expose().is_empty())
        .ok_or_else(|| ApiError::Unauthorized("missing token".into()))?;
    let h = secret::hash(token.expose());
    if let Some(op) = &ctx.config.operator_token {
        if secret::ct_eq(&h, &secret::hash(op.expose())) {
            check_token_limit(ctx, &h)?;
            return Ok(Principal::Operator);
        }
    }
    let now = clock::unix_now();
    let (user, touch) = ctx
        .store
        .read(|tx| match users::user_by_token_hash(tx, &h)? {
            Some(u) => Ok(Some((u, None))),
            // A scoped token (#17): the user, with the hostnames it reaches as its scope.
            None => scoped_tokens::resolve(tx, &h, now),
        })?
        .ok_or_else(|| ApiError::Unauthorized("invalid token".into()))?;
    check_token_limit(ctx, &h)?;
    if let Some(id) = touch {
        ctx.store
            .write_detached(move |w| scoped_q::touch(w.tx, id, now));
    }
    match user.status {
        Status::Active => Ok(Principal::User(user)),
        s => Err(ApiError::Forbidden(format!("account is {s}"))),
    }
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
