//! `api_keys`: LuaDNS-style API keys, stored as hashes, global or restricted to one zone.

use rusqlite::{params, Connection, OptionalExtension};

use super::users::{user_cols, user_row};
use super::{all, exec, one};
use crate::clock;
use crate::model::User;

pub fn insert_api_key(
    c: &Connection,
    user_id: i64,
    hash: &[u8],
    zone_id: Option<i64>,
    label: &str,
) -> rusqlite::Result<i64> {
    exec(
        c,
        "INSERT INTO api_keys (user_id, key_hash, zone_id, created_at, label) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![user_id, hash, zone_id, clock::now_rfc3339(), label],
    )?;
    Ok(c.last_insert_rowid())
}

/// What the operator may see of a key: never its secret (only the hash is stored anyway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    pub id: i64,
    /// The zone the key is restricted to; None for a global key.
    pub zone: Option<String>,
    pub created_at: String,
    /// The name its owner gave it ('' when none).
    pub label: String,
}

/// A user's API keys, oldest first.
pub fn api_keys_of_user(c: &Connection, user_id: i64) -> rusqlite::Result<Vec<ApiKeyInfo>> {
    all(
        c,
        "SELECT k.id, z.name, k.created_at, k.label FROM api_keys k \
         LEFT JOIN zones z ON z.id = k.zone_id \
         WHERE k.user_id = ?1 ORDER BY k.id",
        params![user_id],
        |r| {
            Ok(ApiKeyInfo {
                id: r.get(0)?,
                zone: r.get(1)?,
                created_at: r.get(2)?,
                label: r.get(3)?,
            })
        },
    )
}

/// Delete the user's key `id`; false when the user has no such key.
pub fn delete_api_key(c: &Connection, user_id: i64, id: i64) -> rusqlite::Result<bool> {
    Ok(exec(
        c,
        "DELETE FROM api_keys WHERE id = ?1 AND user_id = ?2",
        params![id, user_id],
    )? > 0)
}

/// The user owning this API key and the key's zone restriction (None = global).
pub fn api_key_lookup(
    c: &Connection,
    hash: &[u8],
) -> rusqlite::Result<Option<(User, Option<i64>)>> {
    one(
        c,
        concat!(
            "SELECT ",
            user_cols!("u."),
            ", k.zone_id FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = ?1"
        ),
        params![hash],
        |r| Ok((user_row(r)?, r.get(6)?)),
    )
    .optional()
}

#[cfg(test)]
mod tests {
    use super::super::testdb::db;
    use super::super::users::insert_user;
    use super::super::zones::insert_zone;
    use super::*;
    use crate::model::ZoneKind;

    #[test]
    fn keys_find_their_user_and_zone() {
        let c = db();
        let uid = insert_user(&c, "a@example.org", 1, &[1; 32]).unwrap();
        let z = insert_zone(&c, "example.org", ZoneKind::Hosted, Some(uid)).unwrap();
        insert_api_key(&c, uid, &[7; 32], None, "laptop").unwrap();
        insert_api_key(&c, uid, &[8; 32], Some(z.id), "").unwrap();
        let (u, only) = api_key_lookup(&c, &[7; 32]).unwrap().unwrap();
        assert_eq!((u.email.as_str(), only), ("a@example.org", None));
        assert_eq!(api_key_lookup(&c, &[8; 32]).unwrap().unwrap().1, Some(z.id));
        assert!(api_key_lookup(&c, &[9; 32]).unwrap().is_none());
        assert!(
            insert_api_key(&c, uid, &[7; 32], None, "laptop").is_err(),
            "hashes are unique"
        );
    }

    #[test]
    fn keys_are_listed_without_secrets_and_revoked_by_owner_only() {
        let c = db();
        let uid = insert_user(&c, "a@example.org", 1, &[1; 32]).unwrap();
        let other = insert_user(&c, "b@example.org", 1, &[2; 32]).unwrap();
        let z = insert_zone(&c, "example.org", ZoneKind::Hosted, Some(uid)).unwrap();
        let k1 = insert_api_key(&c, uid, &[7; 32], None, "laptop").unwrap();
        let k2 = insert_api_key(&c, uid, &[8; 32], Some(z.id), "").unwrap();
        let keys = api_keys_of_user(&c, uid).unwrap();
        assert_eq!(
            keys.iter()
                .map(|k| (k.id, k.zone.as_deref(), k.label.as_str()))
                .collect::<Vec<_>>(),
            [(k1, None, "laptop"), (k2, Some("example.org"), "")]
        );
        assert!(!keys[0].created_at.is_empty());
        assert!(!delete_api_key(&c, other, k1).unwrap(), "not b's key");
        assert!(delete_api_key(&c, uid, k1).unwrap());
        assert!(!delete_api_key(&c, uid, k1).unwrap());
        assert!(api_key_lookup(&c, &[7; 32]).unwrap().is_none());
        assert!(api_key_lookup(&c, &[8; 32]).unwrap().is_some());
    }
}
