//! Scoped tokens (#17): a named token reaching only chosen hostnames of its user, e.g. one per
//! router. Created, listed and revoked by the admin commands and the dashboard alike; resolved
//! to a `User` whose `scope` the hostname rules (`domain::hostnames`) enforce.

use rusqlite::Connection;

use super::hostnames::find_owned;
use crate::error::ApiError;
use crate::model::User;
use crate::secret::{self, Secret};
use crate::store::queries::scoped_tokens::{self as q, ScopedToken};
use crate::store::queries::users;

/// `last_used` is written at most this often per token.
pub const TOUCH_SECS: u64 = 60;

/// A label: 1-64 printable characters, no commas (they separate lists in the commands).
pub fn check_label(label: &str) -> Result<String, ApiError> {
    let l = label.trim();
    if l.is_empty() || l.chars().count() > 64 || l.chars().any(|c| c.is_control() || c == ',') {
        return Err(ApiError::BadRequest(
            "a token label is 1 to 64 characters, without commas".into(),
        ));
    }
    Ok(l.to_string())
}

/// A new scoped token of `u` reaching `hostnames` (ids, fqdns or labels of the user's own
/// hostnames); the user's main token is unchanged. Returns the secret, shown once.
pub fn create(
    c: &Connection,
    u: &User,
    label: &str,
    hostnames: &[String],
    now: u64,
) -> Result<Secret, ApiError> {
    let label = check_label(label)?;
    if hostnames.is_empty() {
        return Err(ApiError::BadRequest(
            "a scoped token needs at least one hostname".into(),
        ));
    }
    // The owner's full view, whatever credential asked.
    let owner = User {
        scope: None,
        ..u.clone()
    };
    let mut ids = Vec::new();
    for h in hostnames {
        ids.push(find_owned(c, &owner, h)?.id);
    }
    if q::label_taken(c, u.id, &label)? {
        return Err(ApiError::Conflict(format!(
            "there is already a token labelled '{label}'"
        )));
    }
    let token = secret::new_token();
    q::insert(c, u.id, &secret::hash(token.expose()), &label, now, &ids)?;
    Ok(token)
}

pub fn list(c: &Connection, user_id: i64) -> Result<Vec<ScopedToken>, ApiError> {
    Ok(q::of_user(c, user_id)?)
}

/// Revoke the token labelled `label`: 404 if there is none.
pub fn revoke(c: &Connection, user_id: i64, label: &str) -> Result<(), ApiError> {
    if q::delete_by_label(c, user_id, label.trim())? {
        Ok(())
    } else {
        Err(ApiError::NotFound(
            "token_not_found",
            format!("no token labelled '{}'", label.trim()),
        ))
    }
}

/// The user a scoped token stands for, with its scope; and whether its `last_used` is due
/// for a write (the token's id then).
pub fn resolve(
    c: &Connection,
    hash: &[u8],
    now: u64,
) -> Result<Option<(User, Option<i64>)>, ApiError> {
    let Some((id, user_id, last)) = q::by_hash(c, hash)? else {
        return Ok(None);
    };
    let Some(u) = users::user_by_id(c, user_id)? else {
        return Ok(None);
    };
    let scope = q::hostname_ids(c, id)?;
    let due = last.is_none_or(|t| now >= t + TOUCH_SECS).then_some(id);
    Ok(Some((
        User {
            scope: Some(scope),
            ..u
        },
        due,
    )))
}
