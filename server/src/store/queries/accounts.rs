//! The dashboard's account columns of `users` (password hash, role), `sessions` and `invites`.
//! Only hashes of session ids and invite tokens are stored; times are unix seconds.

use rusqlite::{params, Connection, OptionalExtension};

use super::{all, exec, one};

/// A signed-in session as listed on the account page (never its id).
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id_hash: Vec<u8>,
    pub user_id: i64,
    pub created_at: u64,
    pub last_seen: u64,
    pub address: String,
    pub user_agent: String,
}

pub fn password_hash(c: &Connection, user_id: i64) -> rusqlite::Result<Option<String>> {
    one(
        c,
        "SELECT password_hash FROM users WHERE id = ?1",
        params![user_id],
        |r| r.get(0),
    )
    .optional()
    .map(Option::flatten)
}

pub fn set_password_hash(c: &Connection, user_id: i64, phc: &str) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        params![user_id, phc],
    )?;
    Ok(())
}

pub fn role(c: &Connection, user_id: i64) -> rusqlite::Result<Option<String>> {
    one(
        c,
        "SELECT role FROM users WHERE id = ?1",
        params![user_id],
        |r| r.get(0),
    )
    .optional()
}

pub fn set_role(c: &Connection, user_id: i64, role: &str) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE users SET role = ?2 WHERE id = ?1",
        params![user_id, role],
    )?;
    Ok(())
}

pub fn insert_session(c: &Connection, s: &SessionRow) -> rusqlite::Result<()> {
    exec(
        c,
        "INSERT INTO sessions (id_hash, user_id, created_at, last_seen, address, user_agent) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            s.id_hash,
            s.user_id,
            s.created_at as i64,
            s.last_seen as i64,
            s.address,
            s.user_agent
        ],
    )?;
    Ok(())
}

fn session_row(r: &rusqlite::Row) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id_hash: r.get(0)?,
        user_id: r.get(1)?,
        created_at: r.get::<_, i64>(2)? as u64,
        last_seen: r.get::<_, i64>(3)? as u64,
        address: r.get(4)?,
        user_agent: r.get(5)?,
    })
}

pub fn session(c: &Connection, id_hash: &[u8]) -> rusqlite::Result<Option<SessionRow>> {
    one(
        c,
        "SELECT id_hash, user_id, created_at, last_seen, address, user_agent \
         FROM sessions WHERE id_hash = ?1",
        params![id_hash],
        session_row,
    )
    .optional()
}

pub fn sessions_of_user(c: &Connection, user_id: i64) -> rusqlite::Result<Vec<SessionRow>> {
    all(
        c,
        "SELECT id_hash, user_id, created_at, last_seen, address, user_agent \
         FROM sessions WHERE user_id = ?1 ORDER BY last_seen DESC",
        params![user_id],
        session_row,
    )
}

pub fn touch_session(c: &Connection, id_hash: &[u8], now: u64) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE sessions SET last_seen = ?2 WHERE id_hash = ?1",
        params![id_hash, now as i64],
    )?;
    Ok(())
}

pub fn delete_session(c: &Connection, id_hash: &[u8]) -> rusqlite::Result<()> {
    exec(
        c,
        "DELETE FROM sessions WHERE id_hash = ?1",
        params![id_hash],
    )?;
    Ok(())
}

pub fn delete_sessions_of_user(c: &Connection, user_id: i64) -> rusqlite::Result<usize> {
    exec(
        c,
        "DELETE FROM sessions WHERE user_id = ?1",
        params![user_id],
    )
}

pub fn insert_invite(
    c: &Connection,
    token_hash: &[u8],
    user_id: i64,
    expires_at: u64,
) -> rusqlite::Result<()> {
    exec(
        c,
        "INSERT INTO invites (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
        params![token_hash, user_id, expires_at as i64],
    )?;
    Ok(())
}

/// An unused, unexpired invite's user.
pub fn invite_user(c: &Connection, token_hash: &[u8], now: u64) -> rusqlite::Result<Option<i64>> {
    one(
        c,
        "SELECT user_id FROM invites WHERE token_hash = ?1 AND used = 0 AND expires_at > ?2",
        params![token_hash, now as i64],
        |r| r.get(0),
    )
    .optional()
}

/// Mark an invite used; false when it was not usable (used, expired or unknown).
pub fn use_invite(c: &Connection, token_hash: &[u8], now: u64) -> rusqlite::Result<bool> {
    Ok(exec(
        c,
        "UPDATE invites SET used = 1 WHERE token_hash = ?1 AND used = 0 AND expires_at > ?2",
        params![token_hash, now as i64],
    )? == 1)
}

/// (confirmed secret, pending secret, last step used) of a user's TOTP.
pub fn totp(
    c: &Connection,
    user_id: i64,
) -> rusqlite::Result<(Option<String>, Option<String>, u64)> {
    one(
        c,
        "SELECT totp_secret, totp_pending, totp_last_step FROM users WHERE id = ?1",
        params![user_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64)),
    )
}

pub fn set_totp_pending(
    c: &Connection,
    user_id: i64,
    secret: Option<&str>,
) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE users SET totp_pending = ?2 WHERE id = ?1",
        params![user_id, secret],
    )?;
    Ok(())
}

pub fn set_totp_secret(c: &Connection, user_id: i64, secret: Option<&str>) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE users SET totp_secret = ?2, totp_pending = NULL, totp_last_step = 0 WHERE id = ?1",
        params![user_id, secret],
    )?;
    Ok(())
}

pub fn set_totp_last_step(c: &Connection, user_id: i64, step: u64) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE users SET totp_last_step = ?2 WHERE id = ?1",
        params![user_id, step as i64],
    )?;
    Ok(())
}

pub fn replace_recovery_codes(
    c: &Connection,
    user_id: i64,
    hashes: &[[u8; 32]],
) -> rusqlite::Result<()> {
    exec(
        c,
        "DELETE FROM recovery_codes WHERE user_id = ?1",
        params![user_id],
    )?;
    for h in hashes {
        exec(
            c,
            "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)",
            params![user_id, &h[..]],
        )?;
    }
    Ok(())
}

/// Spend a recovery code; false when it is unknown or used.
pub fn use_recovery_code(c: &Connection, user_id: i64, hash: &[u8]) -> rusqlite::Result<bool> {
    Ok(exec(
        c,
        "UPDATE recovery_codes SET used = 1 WHERE user_id = ?1 AND code_hash = ?2 AND used = 0",
        params![user_id, hash],
    )? == 1)
}

pub fn recovery_codes_left(c: &Connection, user_id: i64) -> rusqlite::Result<u32> {
    one(
        c,
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1 AND used = 0",
        params![user_id],
        |r| r.get(0),
    )
}
