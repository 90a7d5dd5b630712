//! `update_keys`: per-user TSIG keys for DNS UPDATE (schema step 13).

use rusqlite::{params, Connection};

use super::{all, exec, one};

/// A key as stored.
#[derive(Debug, Clone)]
pub struct UpdateKeyRow {
    pub id: i64,
    pub user_id: i64,
    /// Lowercase, no trailing dot.
    pub name: String,
    pub algorithm: String,
    pub secret: Vec<u8>,
    pub zone_id: Option<i64>,
    /// Fqdns the key is limited to (empty with `zone_id` set).
    pub names: Vec<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

const COLUMNS: &str =
    "id, user_id, name, algorithm, secret, zone_id, names, created_at, last_used_at";

fn row(r: &rusqlite::Row) -> rusqlite::Result<UpdateKeyRow> {
    let names: Option<String> = r.get(6)?;
    Ok(UpdateKeyRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        name: r.get(2)?,
        algorithm: r.get(3)?,
        secret: r.get(4)?,
        zone_id: r.get(5)?,
        names: names
            .map(|n| n.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
        created_at: r.get(7)?,
        last_used_at: r.get(8)?,
    })
}

pub fn by_name(c: &Connection, name: &str) -> rusqlite::Result<Option<UpdateKeyRow>> {
    use rusqlite::OptionalExtension;
    one(
        c,
        &format!("SELECT {COLUMNS} FROM update_keys WHERE name = ?1"),
        params![name],
        row,
    )
    .optional()
}

pub fn of_user(c: &Connection, user_id: i64) -> rusqlite::Result<Vec<UpdateKeyRow>> {
    all(
        c,
        &format!("SELECT {COLUMNS} FROM update_keys WHERE user_id = ?1 ORDER BY name"),
        params![user_id],
        row,
    )
}

#[allow(clippy::too_many_arguments)]
pub fn insert(
    c: &Connection,
    user_id: i64,
    name: &str,
    algorithm: &str,
    secret: &[u8],
    zone_id: Option<i64>,
    names: &[String],
    now: &str,
) -> rusqlite::Result<i64> {
    let names = (!names.is_empty()).then(|| names.join(","));
    exec(
        c,
        "INSERT INTO update_keys (user_id, name, algorithm, secret, zone_id, names, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![user_id, name, algorithm, secret, zone_id, names, now],
    )?;
    Ok(c.last_insert_rowid())
}

/// Delete the user's key `name`; whether there was one.
pub fn delete(c: &Connection, user_id: i64, name: &str) -> rusqlite::Result<bool> {
    Ok(exec(
        c,
        "DELETE FROM update_keys WHERE user_id = ?1 AND name = ?2",
        params![user_id, name],
    )? > 0)
}

pub fn touch(c: &Connection, id: i64, now: &str) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE update_keys SET last_used_at = ?2 WHERE id = ?1",
        params![id, now],
    )
    .map(drop)
}
