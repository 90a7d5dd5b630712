//! API keys of the LuaDNS-style API: creating one, global or restricted to one of the user's
//! hosted zones. The admin command `user apikey` and the dashboard's API keys page both come
//! through here.

use rusqlite::Connection;

use crate::error::ApiError;
use crate::model::{name, User};
use crate::secret::{self, Secret};
use crate::store::queries::{api_keys, zones};

/// The longest label a key may have, in characters.
pub const MAX_LABEL: usize = 64;

/// A key's label as stored: trimmed, at most `MAX_LABEL` characters, no control characters
/// (it is shown in the dashboard and in `user apikeys`' one-line rows). Empty is allowed.
pub fn check_label(label: &str) -> Result<String, ApiError> {
    let l = label.trim();
    if l.chars().count() > MAX_LABEL {
        return Err(ApiError::BadRequest(format!(
            "a key's label has at most {MAX_LABEL} characters"
        )));
    }
    if l.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(
            "a key's label cannot contain control characters".into(),
        ));
    }
    Ok(l.to_string())
}

/// A new API key of `u`: global, or for `zone` (one of `u`'s hosted zones), named `label`.
/// Returns its id and the key (shown once).
pub fn create(
    c: &Connection,
    u: &User,
    zone: Option<&str>,
    label: &str,
) -> Result<(i64, Secret), ApiError> {
    let label = check_label(label)?;
    let zone_id = match zone {
        None => None,
        Some(z) => {
            let name = name::domain_name(z)?;
            match zones::zone_by_name(c, &name)? {
                Some(zone) if zone.owner_id == Some(u.id) => Some(zone.id),
                Some(_) => {
                    return Err(ApiError::Forbidden(format!(
                        "zone '{name}' is not hosted by {}",
                        u.email
                    )))
                }
                None => {
                    return Err(ApiError::NotFound(
                        "zone_not_found",
                        format!("no zone '{name}'"),
                    ))
                }
            }
        }
    };
    let key = secret::new_token();
    let id = api_keys::insert_api_key(c, u.id, &secret::hash(key.expose()), zone_id, &label)?;
    Ok((id, key))
}
