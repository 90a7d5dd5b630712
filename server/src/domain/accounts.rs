//! Accounts for the dashboard: passwords (Argon2id, PHC strings), one-time invite links,
//! server-side sessions and their CSRF tokens, roles, and regenerating the update token. The
//! admin commands and the dashboard both come through here; the HTTP side (cookies, forms,
//! rate limits) is `web/`'s.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rusqlite::Connection;

use crate::error::ApiError;
use crate::model::{Status, User};
use crate::secret::{self, Secret};
use crate::store::queries::accounts::{self as q, SessionRow};
use crate::store::queries::users;

/// How long an invite link works.
pub const INVITE_SECS: u64 = 24 * 3600;
/// A session unused this long is over.
pub const SESSION_IDLE_SECS: u64 = 14 * 24 * 3600;
/// And none lasts longer than this.
pub const SESSION_MAX_SECS: u64 = 30 * 24 * 3600;
/// `last_seen` is written at most this often per session (a page view is otherwise a read).
pub const TOUCH_SECS: u64 = 60;

pub const MIN_PASSWORD: usize = 10;
pub const MAX_PASSWORD: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
}

/// The password rule: length only (NIST SP 800-63B §5.1.1.2), counted in characters.
pub fn check_password(p: &str) -> Result<(), ApiError> {
    let n = p.chars().count();
    if n < MIN_PASSWORD {
        return Err(ApiError::BadRequest(format!(
            "the password must be at least {MIN_PASSWORD} characters"
        )));
    }
    if n > MAX_PASSWORD {
        return Err(ApiError::BadRequest(format!(
            "the password must be at most {MAX_PASSWORD} characters"
        )));
    }
    Ok(())
}

/// An Argon2id PHC string (the crate's defaults: m = 19 MiB, t = 2, p = 1, OWASP's minimum).
pub fn hash_password(p: &str) -> Result<String, ApiError> {
    let salt = SaltString::encode_b64(&secret::random_bytes::<16>())
        .map_err(|e| ApiError::Internal(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(p.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(format!("argon2: {e}")))
}

/// Does `p` match the stored PHC string? A malformed one matches nothing.
pub fn verify_password(p: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| Argon2::default().verify_password(p.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// A PHC string of a random password, verified against when the account is unknown or has
/// no password, so that sign-in takes as long either way.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(secret::new_token().expose()).unwrap_or_default())
}

/// Set `u`'s password (checked, hashed). Existing sessions stay (the caller ends others).
pub fn set_password(c: &Connection, user_id: i64, password: &str) -> Result<(), ApiError> {
    check_password(password)?;
    let phc = hash_password(password)?;
    q::set_password_hash(c, user_id, &phc)?;
    Ok(())
}

/// Sign in: the active account with this email and password, or `None` (the same answer for
/// an unknown email, no password yet and a wrong password).
pub fn sign_in(c: &Connection, email: &str, password: &str) -> Result<Option<User>, ApiError> {
    let user = users::user_by_email(c, email.trim())?;
    let phc = match &user {
        Some(u) => q::password_hash(c, u.id)?,
        None => None,
    };
    let ok = match &phc {
        Some(h) => verify_password(password, h),
        None => {
            verify_password(password, decoy_hash());
            false
        }
    };
    Ok(user.filter(|u| ok && u.status == Status::Active))
}

pub fn role(c: &Connection, user_id: i64) -> Result<Role, ApiError> {
    Ok(q::role(c, user_id)?
        .and_then(|r| Role::parse(&r))
        .unwrap_or(Role::User))
}

/// A new one-time invite link's token for `user_id`, valid `INVITE_SECS` from `now`.
pub fn invite(c: &Connection, user_id: i64, now: u64) -> rusqlite::Result<Secret> {
    let token = secret::new_token();
    q::insert_invite(c, &secret::hash(token.expose()), user_id, now + INVITE_SECS)?;
    Ok(token)
}

/// The user an invite token is for, while it is usable.
pub fn invite_user(c: &Connection, token: &str, now: u64) -> Result<Option<User>, ApiError> {
    match q::invite_user(c, &secret::hash(token), now)? {
        Some(id) => Ok(users::user_by_id(c, id)?),
        None => Ok(None),
    }
}

/// Use an invite: set the password and spend the link (in the caller's one write). 404 when
/// the link is used, expired or unknown.
pub fn accept_invite(
    c: &Connection,
    token: &str,
    password: &str,
    now: u64,
) -> Result<User, ApiError> {
    check_password(password)?;
    let gone = || ApiError::NotFound("invite", "this invite link is used or expired".into());
    let user = invite_user(c, token, now)?.ok_or_else(gone)?;
    if !q::use_invite(c, &secret::hash(token), now)? {
        return Err(gone());
    }
    set_password(c, user.id, password)?;
    Ok(user)
}

/// A new update token for the user; the old one stops working at once.
pub fn regenerate_token(c: &Connection, user_id: i64) -> Result<Secret, ApiError> {
    let token = secret::new_token();
    users::set_user_token(c, user_id, &secret::hash(token.expose()))?;
    Ok(token)
}

/// A new session for `u`: returns the cookie's value (the id itself; only its hash is stored).
pub fn start_session(
    c: &Connection,
    user_id: i64,
    now: u64,
    address: &str,
    user_agent: &str,
) -> Result<Secret, ApiError> {
    let id = secret::new_token();
    let ua: String = user_agent.chars().take(200).collect();
    q::insert_session(
        c,
        &SessionRow {
            id_hash: secret::hash(id.expose()).to_vec(),
            user_id,
            created_at: now,
            last_seen: now,
            address: address.to_string(),
            user_agent: ua,
        },
    )?;
    Ok(id)
}

/// A live session: its row and its active user. `None` for an unknown, expired or
/// disabled one.
pub fn session(c: &Connection, id: &str, now: u64) -> Result<Option<(SessionRow, User)>, ApiError> {
    let Some(s) = q::session(c, &secret::hash(id))? else {
        return Ok(None);
    };
    if !session_live(&s, now) {
        return Ok(None);
    }
    Ok(users::user_by_id(c, s.user_id)?
        .filter(|u| u.status == Status::Active)
        .map(|u| (s, u)))
}

/// The idle and absolute limits.
pub fn session_live(s: &SessionRow, now: u64) -> bool {
    now < s.last_seen + SESSION_IDLE_SECS && now < s.created_at + SESSION_MAX_SECS
}

/// The session's CSRF token: derived from its secret id, so it needs no storage and changes
/// with every session; a page of another origin cannot compute it.
pub fn csrf_token(session_id: &str) -> String {
    secret::hex(&secret::hash(&format!("lucent-csrf:{session_id}"))[..16])
}

/// Is `given` the session's CSRF token (constant-time)?
pub fn csrf_ok(session_id: &str, given: Option<&str>) -> bool {
    given.is_some_and(|g| secret::ct_eq(csrf_token(session_id).as_bytes(), g.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::queries::testdb::db;

    #[test]
    fn passwords_are_argon2id_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterx", &h));
        assert!(!verify_password("x", "not a phc string"));
        assert_ne!(h, hash_password("correct horse battery").unwrap(), "salted");
        assert!(check_password("short").is_err());
        assert!(check_password("ten chars!").is_ok());
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let (a, b) = (secret::new_token(), secret::new_token());
        let t = csrf_token(a.expose());
        assert!(csrf_ok(a.expose(), Some(&t)));
        assert!(!csrf_ok(b.expose(), Some(&t)));
        assert!(!csrf_ok(a.expose(), None));
        assert!(!csrf_ok(a.expose(), Some("")));
    }

    #[test]
    fn invites_are_single_use_and_expire_and_sessions_end() {
        let c = db();
        let id = users::insert_user(&c, "a@example.org", 10, &[1; 32]).unwrap();
        let t = invite(&c, id, 1000).unwrap();
        assert!(invite_user(&c, t.expose(), 1000 + INVITE_SECS)
            .unwrap()
            .is_none());
        assert!(accept_invite(&c, t.expose(), "short", 1001).is_err());
        let u = accept_invite(&c, t.expose(), "a long password", 1001).unwrap();
        assert_eq!(u.id, id);
        assert!(accept_invite(&c, t.expose(), "a long password", 1002).is_err());
        assert!(sign_in(&c, "A@example.org", "a long password")
            .unwrap()
            .is_some());
        assert!(sign_in(&c, "a@example.org", "a wrong password")
            .unwrap()
            .is_none());
        assert!(sign_in(&c, "b@example.org", "a long password")
            .unwrap()
            .is_none());

        let s = start_session(&c, id, 5000, "192.0.2.1", "test").unwrap();
        assert!(session(&c, s.expose(), 5001).unwrap().is_some());
        assert!(session(&c, s.expose(), 5000 + SESSION_IDLE_SECS)
            .unwrap()
            .is_none());
        assert!(session(&c, "other", 5001).unwrap().is_none());
        q::delete_sessions_of_user(&c, id).unwrap();
        assert!(session(&c, s.expose(), 5001).unwrap().is_none());
        assert_eq!(role(&c, id).unwrap(), Role::User);
        q::set_role(&c, id, "admin").unwrap();
        assert_eq!(role(&c, id).unwrap(), Role::Admin);
    }
}
