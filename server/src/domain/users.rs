//! Users as the operator manages them: adding one (`lucentd user add`, the admin page's
//! invite form) and changing status, hostname limit, API access and role (`lucentd user set`,
//! the admin page's user forms). Each rule is written once here for both; parsing flags or
//! form fields into these types stays with the caller.

use rusqlite::Connection;

use super::accounts::Role;
use crate::error::ApiError;
use crate::model::{name, Status, ZoneKind};
use crate::secret::{self, Secret};
use crate::store::queries::{accounts, hostnames, users, zones};
use crate::store::WriteTx;

/// The default hostname limit of a new user (SPEC: `user add`).
pub const DEFAULT_MAX_HOSTNAMES: u32 = 10;

/// An email address as stored: trimmed, one `@` with text on both sides, no spaces, control
/// characters or `:` (it is the Basic-auth user name of the LuaDNS-style API).
pub fn check_email(email: &str) -> Result<String, ApiError> {
    let e = email.trim();
    let ok = e.len() <= 254
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty() && !d.contains('@'))
        && !e
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ':');
    if ok {
        Ok(e.to_string())
    } else {
        Err(ApiError::BadRequest(format!(
            "'{}' is not an email address",
            name::printable(e)
        )))
    }
}

/// Add a user with an update token; `zones` (shared zones by name) restricts where they may
/// claim hostnames, None allows every shared zone. Returns the new id and the token.
pub fn add(
    c: &Connection,
    email: &str,
    max_hostnames: Option<u32>,
    zone_names: Option<&[String]>,
) -> Result<(i64, Secret), ApiError> {
    let email = check_email(email)?;
    if users::user_by_email(c, &email)?.is_some() {
        return Err(ApiError::Conflict(format!("user '{email}' already exists")));
    }
    let mut ids = Vec::new();
    for z in zone_names.unwrap_or_default() {
        let name = name::domain_name(z)?;
        match zones::zone_by_name(c, &name)? {
            Some(zone) if zone.kind == ZoneKind::Shared => ids.push(zone.id),
            Some(_) => {
                return Err(ApiError::BadRequest(format!(
                    "'{name}' is a hosted zone, not a shared one"
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
    let token = secret::new_token();
    let id = users::insert_user(
        c,
        &email,
        max_hostnames.unwrap_or(DEFAULT_MAX_HOSTNAMES),
        &secret::hash(token.expose()),
    )?;
    if zone_names.is_some() {
        users::restrict_user_zones(c, id, &ids)?;
    }
    Ok((id, token))
}

/// What the operator changes on a user; None leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    pub status: Option<Status>,
    pub max_hostnames: Option<u32>,
    pub api_enabled: Option<bool>,
    pub role: Option<Role>,
}

impl UserChange {
    pub fn is_empty(&self) -> bool {
        *self == UserChange::default()
    }
}

/// Apply `ch` to user `id`. Banning takes the user's names out of DNS and reactivating brings
/// them back: the `users_banned` trigger (schema step 5) bumps the zones' serials, which other
/// processes' servers notice, and the zones are reloaded here for this process's DNS view.
pub fn change(w: &mut WriteTx, id: i64, ch: &UserChange) -> Result<(), ApiError> {
    let u = users::user_by_id(w.tx, id)?
        .ok_or_else(|| ApiError::NotFound("not_found", "no such user".into()))?;
    if let Some(s) = ch.status {
        let flips = (u.status == Status::Banned) != (s == Status::Banned);
        users::set_user_status(w.tx, id, s)?;
        if flips {
            let mut affected: Vec<i64> = zones::zones_of_user(w.tx, id)?
                .into_iter()
                .map(|z| z.id)
                .collect();
            affected.extend(
                hostnames::hostnames_of_user(w.tx, id)?
                    .iter()
                    .map(|h| h.zone_id),
            );
            affected.sort_unstable();
            affected.dedup();
            for z in affected {
                w.reload_zone(z);
            }
        }
    }
    if let Some(n) = ch.max_hostnames {
        users::set_user_max_hostnames(w.tx, id, n)?;
    }
    if let Some(on) = ch.api_enabled {
        users::set_user_api_enabled(w.tx, id, on)?;
    }
    if let Some(r) = ch.role {
        accounts::set_role(w.tx, id, r.as_str())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::queries::testdb::db;

    #[test]
    fn emails_are_checked_and_users_added_once() {
        assert!(check_email(" a@example.org ").is_ok_and(|e| e == "a@example.org"));
        for bad in ["", "a", "@x", "a@", "a@b@c", "a b@c", "a:b@c"] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
        let c = db();
        let (id, token) = add(&c, "a@example.org", None, None).unwrap();
        let u = users::user_by_id(&c, id).unwrap().unwrap();
        assert_eq!(u.max_hostnames, DEFAULT_MAX_HOSTNAMES);
        assert!(!token.expose().is_empty());
        assert!(matches!(
            add(&c, "A@example.org", None, None),
            Err(ApiError::Conflict(_))
        ));
        assert!(add(&c, "b@example.org", Some(3), Some(&["nope.test".into()])).is_err());
        assert!(users::user_by_email(&c, "b@example.org").unwrap().is_none());
    }

    #[test]
    fn changes_apply_only_what_they_name() {
        let c = db();
        let (id, _) = add(&c, "a@example.org", Some(4), None).unwrap();
        let mut w = WriteTx::detached(&c);
        let ch = UserChange {
            status: Some(Status::Banned),
            role: Some(Role::Admin),
            ..Default::default()
        };
        assert!(!ch.is_empty() && UserChange::default().is_empty());
        change(&mut w, id, &ch).unwrap();
        let u = users::user_by_id(&c, id).unwrap().unwrap();
        assert_eq!((u.status, u.max_hostnames), (Status::Banned, 4));
        assert_eq!(super::super::accounts::role(&c, id).unwrap(), Role::Admin);
        assert!(matches!(
            change(&mut w, id + 1, &ch),
            Err(ApiError::NotFound(..))
        ));
    }
}
