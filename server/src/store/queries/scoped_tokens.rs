//! `scoped_tokens` and `scoped_token_hostnames`: named tokens that reach only some of a user's
//! hostnames (#17). Only the token's SHA-256 is stored; times are unix seconds.

use rusqlite::{params, Connection, OptionalExtension};

use super::{all, exec, one};

/// A scoped token as listed (never its secret).
#[derive(Debug, Clone)]
pub struct ScopedToken {
    pub id: i64,
    pub user_id: i64,
    pub label: String,
    pub created_at: u64,
    pub last_used: Option<u64>,
    /// The fqdns it reaches (of hostnames that still exist).
    pub hostnames: Vec<String>,
}

pub fn insert(
    c: &Connection,
    user_id: i64,
    hash: &[u8],
    label: &str,
    now: u64,
    hostname_ids: &[String],
) -> rusqlite::Result<i64> {
    exec(
        c,
        "INSERT INTO scoped_tokens (user_id, token_hash, label, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![user_id, hash, label, now as i64],
    )?;
    let id = c.last_insert_rowid();
    for h in hostname_ids {
        exec(
            c,
            "INSERT OR IGNORE INTO scoped_token_hostnames (token_id, hostname_id) VALUES (?1, ?2)",
            params![id, h],
        )?;
    }
    Ok(id)
}

pub fn label_taken(c: &Connection, user_id: i64, label: &str) -> rusqlite::Result<bool> {
    Ok(one(
        c,
        "SELECT COUNT(*) FROM scoped_tokens WHERE user_id = ?1 AND label = ?2",
        params![user_id, label],
        |r| r.get::<_, i64>(0),
    )? > 0)
}

/// The token's id, user and last use, by the token's hash.
pub fn by_hash(c: &Connection, hash: &[u8]) -> rusqlite::Result<Option<(i64, i64, Option<u64>)>> {
    one(
        c,
        "SELECT id, user_id, last_used FROM scoped_tokens WHERE token_hash = ?1",
        params![hash],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get::<_, Option<i64>>(2)?.map(|t| t as u64),
            ))
        },
    )
    .optional()
}

pub fn hostname_ids(c: &Connection, token_id: i64) -> rusqlite::Result<Vec<String>> {
    all(
        c,
        "SELECT hostname_id FROM scoped_token_hostnames WHERE token_id = ?1",
        params![token_id],
        |r| r.get(0),
    )
}

pub fn touch(c: &Connection, token_id: i64, now: u64) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE scoped_tokens SET last_used = ?2 WHERE id = ?1",
        params![token_id, now as i64],
    )?;
    Ok(())
}

pub fn of_user(c: &Connection, user_id: i64) -> rusqlite::Result<Vec<ScopedToken>> {
    let mut tokens = all(
        c,
        "SELECT id, user_id, label, created_at, last_used FROM scoped_tokens \
         WHERE user_id = ?1 ORDER BY label",
        params![user_id],
        |r| {
            Ok(ScopedToken {
                id: r.get(0)?,
                user_id: r.get(1)?,
                label: r.get(2)?,
                created_at: r.get::<_, i64>(3)? as u64,
                last_used: r.get::<_, Option<i64>>(4)?.map(|t| t as u64),
                hostnames: Vec::new(),
            })
        },
    )?;
    for t in &mut tokens {
        t.hostnames = all(
            c,
            "SELECT CASE h.label WHEN '' THEN z.name ELSE h.label || '.' || z.name END \
             FROM scoped_token_hostnames s JOIN hostnames h ON h.id = s.hostname_id \
             JOIN zones z ON z.id = h.zone_id WHERE s.token_id = ?1 ORDER BY 1",
            params![t.id],
            |r| r.get(0),
        )?;
    }
    Ok(tokens)
}

/// Revoke by label; false when the user has no such token.
pub fn delete_by_label(c: &Connection, user_id: i64, label: &str) -> rusqlite::Result<bool> {
    Ok(exec(
        c,
        "DELETE FROM scoped_tokens WHERE user_id = ?1 AND label = ?2",
        params![user_id, label],
    )? == 1)
}
