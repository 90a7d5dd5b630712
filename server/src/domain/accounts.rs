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

/// Two-factor sign-in (TOTP, RFC 6238: SHA-1, 6 digits, 30 s steps, one step of skew either
/// way); every code works once.
pub mod tfa {
    use rusqlite::Connection;
    use totp_rs::{Algorithm, Secret as TotpSecret, TOTP};

    use crate::error::ApiError;
    use crate::secret;
    use crate::store::queries::accounts as q;

    pub const RECOVERY_CODES: usize = 10;

    fn totp(base32: &str) -> Option<TOTP> {
        let bytes = TotpSecret::Encoded(base32.to_string()).to_bytes().ok()?;
        TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes).ok()
    }

    /// The time step `code` is valid for at `now` (this one or a neighbour), if any.
    pub fn matching_step(base32: &str, code: &str, now: u64) -> Option<u64> {
        let t = totp(base32)?;
        let code = code.trim().replace(' ', "");
        let step = now / 30;
        [step.saturating_sub(1), step, step + 1]
            .into_iter()
            .find(|s| secret::ct_eq(t.generate(s * 30).as_bytes(), code.as_bytes()))
    }

    /// The `otpauth://` URI authenticator apps read (Key Uri Format).
    pub fn uri(base32: &str, email: &str) -> String {
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        format!(
            "otpauth://totp/Lucent%20Drift:{}?secret={base32}&issuer=Lucent%20Drift&algorithm=SHA1&digits=6&period=30",
            enc(email)
        )
    }

    pub fn enabled(c: &Connection, user_id: i64) -> Result<bool, ApiError> {
        Ok(q::totp(c, user_id)?.0.is_some())
    }

    /// Start setting up: a new secret, pending until a code from it is confirmed.
    pub fn begin(c: &Connection, user_id: i64) -> Result<String, ApiError> {
        let base32 = TotpSecret::Raw(secret::random_bytes::<20>().to_vec())
            .to_encoded()
            .to_string();
        q::set_totp_pending(c, user_id, Some(&base32))?;
        Ok(base32)
    }

    /// The pending secret, while setting up.
    pub fn pending(c: &Connection, user_id: i64) -> Result<Option<String>, ApiError> {
        Ok(q::totp(c, user_id)?.1)
    }

    /// Confirm setup with a code from the pending secret: two-factor sign-in is on; returns
    /// the recovery codes (shown once).
    pub fn confirm(
        c: &Connection,
        user_id: i64,
        code: &str,
        now: u64,
    ) -> Result<Vec<String>, ApiError> {
        let Some(p) = q::totp(c, user_id)?.1 else {
            return Err(ApiError::BadRequest("start the setup first".into()));
        };
        let Some(step) = matching_step(&p, code, now) else {
            return Err(ApiError::BadRequest(
                "that code does not match: check the time on your device and try the next one"
                    .into(),
            ));
        };
        q::set_totp_secret(c, user_id, Some(&p))?;
        q::set_totp_last_step(c, user_id, step)?;
        let codes: Vec<String> = (0..RECOVERY_CODES)
            .map(|_| secret::hex(&secret::random_bytes::<5>()))
            .collect();
        let hashes: Vec<[u8; 32]> = codes.iter().map(|c| secret::hash(c)).collect();
        q::replace_recovery_codes(c, user_id, &hashes)?;
        Ok(codes)
    }

    pub fn disable(c: &Connection, user_id: i64) -> Result<(), ApiError> {
        q::set_totp_secret(c, user_id, None)?;
        q::replace_recovery_codes(c, user_id, &[])?;
        Ok(())
    }

    /// The second factor at sign-in: a TOTP code not used before, or an unused recovery code
    /// (spent now). Writes, so it runs inside the sign-in's store write.
    pub fn verify(c: &Connection, user_id: i64, code: &str, now: u64) -> Result<bool, ApiError> {
        let (Some(s), _, last) = q::totp(c, user_id)? else {
            return Ok(true);
        };
        let code = code.trim();
        if code.is_empty() {
            return Ok(false);
        }
        if let Some(step) = matching_step(&s, code, now) {
            if step > last {
                q::set_totp_last_step(c, user_id, step)?;
                return Ok(true);
            }
            return Ok(false);
        }
        Ok(q::use_recovery_code(
            c,
            user_id,
            &secret::hash(&code.to_ascii_lowercase()),
        )?)
    }
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
    fn totp_codes_follow_rfc_6238_and_work_once() {
        // RFC 6238 appendix B, SHA-1: secret "12345678901234567890", T = 59 s -> 94287082
        // (8 digits); our 6 digits are its last six.
        let b32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        assert_eq!(tfa::matching_step(b32, "287082", 59), Some(1));
        assert_eq!(
            tfa::matching_step(b32, "287 082", 59 + 30),
            Some(1),
            "a step of skew"
        );
        assert_eq!(tfa::matching_step(b32, "287082", 59 + 90), None);
        let c = db();
        let id = users::insert_user(&c, "t@example.org", 10, &[2; 32]).unwrap();
        assert!(!tfa::enabled(&c, id).unwrap());
        let s = tfa::begin(&c, id).unwrap();
        assert!(!tfa::enabled(&c, id).unwrap(), "pending until confirmed");
        let t = totp_rs::TOTP::new(
            totp_rs::Algorithm::SHA1,
            6,
            1,
            30,
            totp_rs::Secret::Encoded(s.clone()).to_bytes().unwrap(),
        )
        .unwrap();
        assert!(tfa::confirm(&c, id, "000000x", 3000).is_err());
        let codes = tfa::confirm(&c, id, &t.generate(3000), 3000).unwrap();
        assert_eq!(codes.len(), tfa::RECOVERY_CODES);
        assert!(tfa::enabled(&c, id).unwrap());
        // The confirming code's step is spent; the next step's code works once.
        assert!(!tfa::verify(&c, id, &t.generate(3000), 3000).unwrap());
        assert!(tfa::verify(&c, id, &t.generate(3030), 3030).unwrap());
        assert!(!tfa::verify(&c, id, &t.generate(3030), 3030).unwrap());
        assert!(!tfa::verify(&c, id, "", 3030).unwrap());
        assert!(tfa::verify(&c, id, &codes[0], 9999).unwrap());
        assert!(
            !tfa::verify(&c, id, &codes[0], 9999).unwrap(),
            "recovery codes work once"
        );
        tfa::disable(&c, id).unwrap();
        assert!(tfa::verify(&c, id, "", 9999).unwrap(), "off: nothing asked");
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
