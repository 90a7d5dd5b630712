//! `ApiError`: every failure a request can end in, each knowing its HTTP status and the text
//! that is safe to show. The domain layer returns it too (its variants are what a rule can
//! say: invalid, not found, taken, not allowed); how it is rendered (token-API JSON, DuckDNS
//! `KO`, LuaDNS JSON, dyndns2 words) is decided by the API family in `api/`.

use std::fmt;

use crate::model::Invalid;
use crate::store::StoreError;

#[derive(Debug)]
pub enum ApiError {
    /// 400 `invalid_request`: malformed or invalid input; nothing was changed.
    BadRequest(String),
    /// 401 `unauthorized`: credentials missing or wrong.
    Unauthorized(String),
    /// 403 `forbidden`: authenticated, but not allowed (disabled account, wrong zone, ...).
    Forbidden(String),
    /// 404 with a code: `hostname_not_found`, `not_found`, ...
    NotFound(&'static str, String),
    /// 405: the path exists, the method does not; the methods it has (for `Allow`).
    MethodNotAllowed(&'static [&'static str]),
    /// 409 `hostname_not_available`.
    Conflict(String),
    /// 413: body above the configured cap.
    PayloadTooLarge(usize),
    /// 429 `rate_limited`: retry after this many seconds.
    RateLimited(u64),
    /// 500: the store failed (dyndns2 reports it as `dnserr`); details are logged, never sent.
    Store(StoreError),
    /// 500: a broken invariant; details are logged with the request id, never sent.
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(..) => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::Conflict(_) => 409,
            ApiError::PayloadTooLarge(_) => 413,
            ApiError::RateLimited(_) => 429,
            ApiError::Store(_) | ApiError::Internal(_) => 500,
        }
    }

    /// The seed-000 error code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "invalid_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(code, _) => code,
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::Conflict(_) => "hostname_not_available",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::Store(_) | ApiError::Internal(_) => "internal_error",
        }
    }

    /// Text safe for the client.
    pub fn message(&self) -> String {
        match self {
            ApiError::BadRequest(m)
            | ApiError::Unauthorized(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(_, m)
            | ApiError::Conflict(m) => m.clone(),
            ApiError::MethodNotAllowed(_) => "method not allowed on this path".into(),
            ApiError::PayloadTooLarge(n) => format!("request body is larger than {n} bytes"),
            ApiError::RateLimited(s) => format!("too many requests; retry in {s} seconds"),
            ApiError::Store(_) | ApiError::Internal(_) => "internal server error".into(),
        }
    }

    /// What to log for a 500 (never sent to the client).
    pub fn detail(&self) -> Option<String> {
        match self {
            ApiError::Store(e) => Some(e.to_string()),
            ApiError::Internal(d) => Some(d.clone()),
            _ => None,
        }
    }

    pub fn hostname_not_found() -> ApiError {
        ApiError::NotFound(
            "hostname_not_found",
            "the token does not own that hostname".into(),
        )
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        409 => "Conflict",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        _ => "Internal Server Error",
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.detail() {
            Some(d) => write!(f, "internal error: {d}"),
            None => write!(f, "{} {}", self.status(), self.message()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Store(e)
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::Store(StoreError::Sql(e))
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::BadRequest(e.0)
    }
}
