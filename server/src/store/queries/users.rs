//! `users` and `user_zones`: accounts, their update-token hashes and the shared zones they may
//! claim hostnames in.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{all, exec, one};
use crate::clock;
use crate::model::{Status, User, Zone};

macro_rules! user_cols {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "email, ",
            $p,
            "status, ",
            $p,
            "max_hostnames, ",
            $p,
            "api_enabled, ",
            $p,
            "zones_restricted"
        )
    };
}
pub(crate) use user_cols;

pub(crate) fn user_row(r: &Row) -> rusqlite::Result<User> {
    let status: String = r.get(2)?;
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        // The column's CHECK allows only the three; anything else is treated as frozen.
        status: Status::parse(&status).unwrap_or(Status::Disabled),
        max_hostnames: r.get(3)?,
        api_enabled: r.get(4)?,
        zones_restricted: r.get(5)?,
        scope: None,
    })
}

pub fn insert_user(
    c: &Connection,
    email: &str,
    max_hostnames: u32,
    token_hash: &[u8],
) -> rusqlite::Result<i64> {
    exec(
        c,
        "INSERT INTO users (email, max_hostnames, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![email, max_hostnames, token_hash, clock::now_rfc3339()],
    )?;
    Ok(c.last_insert_rowid())
}

pub fn restrict_user_zones(c: &Connection, user_id: i64, zone_ids: &[i64]) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE users SET zones_restricted = 1 WHERE id = ?1",
        params![user_id],
    )?;
    exec(
        c,
        "DELETE FROM user_zones WHERE user_id = ?1",
        params![user_id],
    )?;
    for z in zone_ids {
        exec(
            c,
            "INSERT INTO user_zones (user_id, zone_id) VALUES (?1, ?2)",
            params![user_id, z],
        )?;
    }
    Ok(())
}

pub fn user_by_email(c: &Connection, email: &str) -> rusqlite::Result<Option<User>> {
    one(
        c,
        concat!("SELECT ", user_cols!(""), " FROM users WHERE email = ?1"),
        params![email],
        user_row,
    )
    .optional()
}

pub fn user_by_id(c: &Connection, id: i64) -> rusqlite::Result<Option<User>> {
    one(
        c,
        concat!("SELECT ", user_cols!(""), " FROM users WHERE id = ?1"),
        params![id],
        user_row,
    )
    .optional()
}

/// The lookup is by SHA-256 of the token over a unique index: timing reveals nothing about
/// the token itself.
pub fn user_by_token_hash(c: &Connection, hash: &[u8]) -> rusqlite::Result<Option<User>> {
    one(
        c,
        concat!(
            "SELECT ",
            user_cols!(""),
            " FROM users WHERE token_hash = ?1"
        ),
        params![hash],
        user_row,
    )
    .optional()
}

pub fn set_user_token(c: &Connection, user_id: i64, hash: &[u8]) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE users SET token_hash = ?2 WHERE id = ?1",
        params![user_id, hash],
    )?;
    Ok(())
}

pub fn set_user_status(c: &Connection, user_id: i64, s: Status) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE users SET status = ?2 WHERE id = ?1",
        params![user_id, s.as_str()],
    )?;
    Ok(())
}

pub fn set_user_max_hostnames(c: &Connection, user_id: i64, n: u32) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE users SET max_hostnames = ?2 WHERE id = ?1",
        params![user_id, n],
    )?;
    Ok(())
}

pub fn set_user_api_enabled(c: &Connection, user_id: i64, on: bool) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE users SET api_enabled = ?2 WHERE id = ?1",
        params![user_id, on],
    )?;
    Ok(())
}

/// Delete a user; their hostnames, hosted zones (with records), API keys and zone grants go
/// with the row (ON DELETE CASCADE). False when there was no such user.
pub fn delete_user(c: &Connection, user_id: i64) -> rusqlite::Result<bool> {
    Ok(exec(c, "DELETE FROM users WHERE id = ?1", params![user_id])? > 0)
}

/// Every user with their hostname count, by email.
pub fn list_users(c: &Connection) -> rusqlite::Result<Vec<(User, u32)>> {
    all(
        c,
        concat!(
            "SELECT ",
            user_cols!(""),
            ", (SELECT COUNT(*) FROM hostnames h WHERE h.user_id = users.id) \
             FROM users ORDER BY email"
        ),
        [],
        |r| Ok((user_row(r)?, r.get(6)?)),
    )
}

/// Shared zones a user may claim hostnames in, by id.
pub fn allowed_zones(c: &Connection, user: &User) -> rusqlite::Result<Vec<Zone>> {
    use super::zones::{zone_cols, zone_row};
    if user.zones_restricted {
        all(
            c,
            concat!(
                "SELECT ",
                zone_cols!("z."),
                " FROM zones z JOIN user_zones uz ON uz.zone_id = z.id \
                 WHERE uz.user_id = ?1 AND z.kind = 'shared' ORDER BY z.id"
            ),
            params![user.id],
            zone_row,
        )
    } else {
        all(
            c,
            concat!(
                "SELECT ",
                zone_cols!(""),
                " FROM zones WHERE kind = 'shared' ORDER BY id"
            ),
            [],
            zone_row,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::testdb::db;
    use super::super::zones::insert_zone;
    use super::*;
    use crate::model::ZoneKind;

    #[test]
    fn users_by_email_id_and_token_hash() {
        let c = db();
        let id = insert_user(&c, "a@example.org", 3, &[1; 32]).unwrap();
        let u = user_by_email(&c, "A@Example.org").unwrap().unwrap();
        assert_eq!((u.id, u.max_hostnames, u.status), (id, 3, Status::Active));
        assert!(u.api_enabled && !u.zones_restricted);
        assert_eq!(user_by_token_hash(&c, &[1; 32]).unwrap().unwrap().id, id);
        assert!(user_by_token_hash(&c, &[2; 32]).unwrap().is_none());
        set_user_token(&c, id, &[2; 32]).unwrap();
        assert!(user_by_token_hash(&c, &[1; 32]).unwrap().is_none());
        set_user_status(&c, id, Status::Banned).unwrap();
        set_user_max_hostnames(&c, id, 7).unwrap();
        set_user_api_enabled(&c, id, false).unwrap();
        let u = user_by_id(&c, id).unwrap().unwrap();
        assert_eq!(
            (u.status, u.max_hostnames, u.api_enabled),
            (Status::Banned, 7, false)
        );
        assert!(
            insert_user(&c, "a@example.org", 1, &[3; 32]).is_err(),
            "emails are unique"
        );
        assert_eq!(list_users(&c).unwrap()[0].1, 0);
        assert!(delete_user(&c, id).unwrap());
        assert!(!delete_user(&c, id).unwrap());
        assert!(user_by_email(&c, "a@example.org").unwrap().is_none());
    }

    /// `lucentd user rm` relies on this: the user's rows go with the user, and each deleted
    /// hostname bumps its zone's serial (what tells a running server to reload the zone).
    #[test]
    fn deleting_a_user_takes_everything_of_theirs_and_bumps_serials() {
        let c = db();
        let id = insert_user(&c, "a@example.org", 3, &[1; 32]).unwrap();
        let keep = insert_user(&c, "b@example.org", 3, &[2; 32]).unwrap();
        let shared = insert_zone(&c, "dyn.test", ZoneKind::Shared, None).unwrap();
        let hosted = insert_zone(&c, "hosted.test", ZoneKind::Hosted, Some(id)).unwrap();
        for (hid, label, uid) in [("host_a", "a", id), ("host_b", "b", keep)] {
            c.execute(
                "INSERT INTO hostnames (id, zone_id, label, user_id, ttl, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, 60, 'now', 'now')",
                params![hid, shared.id, label, uid],
            )
            .unwrap();
        }
        super::super::api_keys::insert_api_key(&c, id, &[9; 32], Some(hosted.id), "").unwrap();
        restrict_user_zones(&c, id, &[shared.id]).unwrap();
        assert!(delete_user(&c, id).unwrap());
        let count = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("SELECT COUNT(*) FROM hostnames"), 1, "b's stays");
        assert_eq!(count("SELECT COUNT(*) FROM api_keys"), 0);
        assert_eq!(count("SELECT COUNT(*) FROM user_zones"), 0);
        assert_eq!(count("SELECT COUNT(*) FROM zones WHERE kind = 'hosted'"), 0);
        let serial: i64 = c
            .query_row(
                "SELECT serial FROM zones WHERE id = ?1",
                params![shared.id],
                |r| r.get(0),
            )
            .unwrap();
        assert_ne!(
            serial as u32, shared.serial,
            "the shared zone's serial moved"
        );
    }

    #[test]
    fn allowed_zones_follow_the_restriction() {
        let c = db();
        let id = insert_user(&c, "a@example.org", 3, &[1; 32]).unwrap();
        let z1 = insert_zone(&c, "one.test", ZoneKind::Shared, None).unwrap();
        let z2 = insert_zone(&c, "two.test", ZoneKind::Shared, None).unwrap();
        insert_zone(&c, "hosted.test", ZoneKind::Hosted, Some(id)).unwrap();
        let u = user_by_id(&c, id).unwrap().unwrap();
        let names = |u: &User| -> Vec<String> {
            allowed_zones(&c, u)
                .unwrap()
                .into_iter()
                .map(|z| z.name)
                .collect()
        };
        assert_eq!(names(&u), ["one.test", "two.test"]);
        restrict_user_zones(&c, id, &[z2.id]).unwrap();
        let u = user_by_id(&c, id).unwrap().unwrap();
        assert_eq!(names(&u), ["two.test"]);
        let _ = z1;
    }
}
