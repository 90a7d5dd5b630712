//! `zones`: shared and hosted zones, their serials and query counts.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{all, exec, one};
use crate::clock;
use crate::model::{Zone, ZoneKind};

macro_rules! zone_cols {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "name, ",
            $p,
            "kind, ",
            $p,
            "owner_id, ",
            $p,
            "serial, ",
            $p,
            "queries_count, ",
            $p,
            "created_at, ",
            $p,
            "updated_at"
        )
    };
}
pub(crate) use zone_cols;

pub(crate) fn zone_row(r: &Row) -> rusqlite::Result<Zone> {
    let kind: String = r.get(2)?;
    Ok(Zone {
        id: r.get(0)?,
        name: r.get(1)?,
        // The column's CHECK allows only the two kinds.
        kind: ZoneKind::parse(&kind).unwrap_or(ZoneKind::Shared),
        owner_id: r.get(3)?,
        serial: r.get::<_, i64>(4)? as u32,
        queries_count: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

pub fn insert_zone(
    c: &Connection,
    name: &str,
    kind: ZoneKind,
    owner_id: Option<i64>,
) -> rusqlite::Result<Zone> {
    let now = clock::now_rfc3339();
    // Serials start at the creation time (as LuaDNS's do) and count up by one per change.
    let serial = clock::unix_now() as u32;
    exec(
        c,
        // The id is the highest ever given plus one: ids are never reused (schema step 3).
        "INSERT INTO zones (id, name, kind, owner_id, serial, created_at, updated_at) \
         VALUES ((SELECT last + 1 FROM id_seq WHERE name = 'zones'), ?1, ?2, ?3, ?4, ?5, ?5)",
        params![name, kind.as_str(), owner_id, serial, now],
    )?;
    Ok(Zone {
        id: c.last_insert_rowid(),
        name: name.to_string(),
        kind,
        owner_id,
        serial,
        queries_count: 0,
        created_at: now.clone(),
        updated_at: now,
    })
}

pub fn zone_by_name(c: &Connection, name: &str) -> rusqlite::Result<Option<Zone>> {
    one(
        c,
        concat!("SELECT ", zone_cols!(""), " FROM zones WHERE name = ?1"),
        params![name],
        zone_row,
    )
    .optional()
}

pub fn zone_by_id(c: &Connection, id: i64) -> rusqlite::Result<Option<Zone>> {
    one(
        c,
        concat!("SELECT ", zone_cols!(""), " FROM zones WHERE id = ?1"),
        params![id],
        zone_row,
    )
    .optional()
}

pub fn list_zones(c: &Connection) -> rusqlite::Result<Vec<Zone>> {
    all(
        c,
        concat!("SELECT ", zone_cols!(""), " FROM zones ORDER BY name"),
        [],
        zone_row,
    )
}

/// Hosted zones of a user, by id.
pub fn zones_of_user(c: &Connection, user_id: i64) -> rusqlite::Result<Vec<Zone>> {
    all(
        c,
        concat!(
            "SELECT ",
            zone_cols!(""),
            " FROM zones WHERE owner_id = ?1 AND kind = 'hosted' ORDER BY id"
        ),
        params![user_id],
        zone_row,
    )
}

pub fn delete_zone(c: &Connection, id: i64) -> rusqlite::Result<bool> {
    Ok(exec(c, "DELETE FROM zones WHERE id = ?1", params![id])? > 0)
}

/// The zone serving `fqdn` (longest suffix match) and the part of the name left of it
/// ('' for the apex).
pub fn zone_for_name(c: &Connection, fqdn: &str) -> rusqlite::Result<Option<(Zone, String)>> {
    let mut rest = fqdn;
    loop {
        if let Some(z) = zone_by_name(c, rest)? {
            let label = fqdn[..fqdn.len() - rest.len()]
                .trim_end_matches('.')
                .to_string();
            return Ok(Some((z, label)));
        }
        match rest.split_once('.') {
            Some((_, r)) => rest = r,
            None => return Ok(None),
        }
    }
}

/// Next serial (RFC 1982 arithmetic: wraps past 2^32) and `updated_at`.
pub fn bump_serial(c: &Connection, zone_id: i64) -> rusqlite::Result<u32> {
    let s: i64 = one(
        c,
        "UPDATE zones SET serial = (serial + 1) % 4294967296, updated_at = ?2 WHERE id = ?1 \
         RETURNING serial",
        params![zone_id, clock::now_rfc3339()],
        |r| r.get(0),
    )?;
    Ok(s as u32)
}

pub fn zone_serials(c: &Connection) -> rusqlite::Result<Vec<(i64, u32)>> {
    all(c, "SELECT id, serial FROM zones", [], |r| {
        Ok((r.get(0)?, r.get::<_, i64>(1)? as u32))
    })
}

/// Add `n` queries to a zone's total and to its count for `day` (Unix time / 86400).
pub fn add_queries(c: &Connection, zone: &str, n: u64, day: u64) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE zones SET queries_count = queries_count + ?2 WHERE name = ?1",
        params![zone, n as i64],
    )?;
    exec(
        c,
        "INSERT INTO zone_queries_daily (zone_id, day, count) \
         SELECT id, ?3, ?2 FROM zones WHERE name = ?1 \
         ON CONFLICT (zone_id, day) DO UPDATE SET count = count + excluded.count",
        params![zone, n as i64, day as i64],
    )?;
    Ok(())
}

/// Forget the daily counts of days before `day`.
pub fn prune_daily_queries(c: &Connection, day: u64) -> rusqlite::Result<()> {
    exec(
        c,
        "DELETE FROM zone_queries_daily WHERE day < ?1",
        params![day as i64],
    )?;
    Ok(())
}

/// Every zone's query counts per day from `since` on, by zone id.
pub fn daily_queries_all(
    c: &Connection,
    since: u64,
) -> rusqlite::Result<std::collections::HashMap<i64, Vec<(u64, u64)>>> {
    let rows = all(
        c,
        "SELECT zone_id, day, count FROM zone_queries_daily WHERE day >= ?1",
        params![since as i64],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
            ))
        },
    )?;
    let mut out: std::collections::HashMap<i64, Vec<(u64, u64)>> = Default::default();
    for (z, d, n) in rows {
        out.entry(z).or_default().push((d, n));
    }
    Ok(out)
}

/// A zone's query counts per day from `since` on (days without queries are absent).
pub fn daily_queries(
    c: &Connection,
    zone_id: i64,
    since: u64,
) -> rusqlite::Result<Vec<(u64, u64)>> {
    all(
        c,
        "SELECT day, count FROM zone_queries_daily WHERE zone_id = ?1 AND day >= ?2 ORDER BY day",
        params![zone_id, since as i64],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testdb::db;
    use super::*;

    #[test]
    fn zones_by_name_suffix_and_serials() {
        let c = db();
        let z = insert_zone(&c, "dyn.example.net", ZoneKind::Shared, None).unwrap();
        assert!(insert_zone(&c, "dyn.example.net", ZoneKind::Shared, None).is_err());
        assert_eq!(
            zone_by_id(&c, z.id).unwrap().unwrap().name,
            "dyn.example.net"
        );
        let (found, label) = zone_for_name(&c, "a.b.dyn.example.net").unwrap().unwrap();
        assert_eq!((found.id, label.as_str()), (z.id, "a.b"));
        let (_, apex) = zone_for_name(&c, "dyn.example.net").unwrap().unwrap();
        assert_eq!(apex, "");
        assert!(zone_for_name(&c, "example.net").unwrap().is_none());
        let s = bump_serial(&c, z.id).unwrap();
        assert_eq!(s, z.serial.wrapping_add(1));
        c.execute("UPDATE zones SET serial = 4294967295", [])
            .unwrap();
        assert_eq!(bump_serial(&c, z.id).unwrap(), 0, "RFC 1982 wrap");
        add_queries(&c, "dyn.example.net", 5, 20_000).unwrap();
        add_queries(&c, "dyn.example.net", 2, 20_000).unwrap();
        add_queries(&c, "dyn.example.net", 4, 20_001).unwrap();
        add_queries(&c, "nowhere.test", 4, 20_001).unwrap();
        assert_eq!(
            zone_by_name(&c, "dyn.example.net")
                .unwrap()
                .unwrap()
                .queries_count,
            11
        );
        assert_eq!(
            daily_queries(&c, z.id, 0).unwrap(),
            [(20_000, 7), (20_001, 4)],
            "per day, summed within a day"
        );
        assert_eq!(daily_queries(&c, z.id, 20_001).unwrap(), [(20_001, 4)]);
        assert_eq!(daily_queries_all(&c, 20_001).unwrap()[&z.id], [(20_001, 4)]);
        prune_daily_queries(&c, 20_001).unwrap();
        assert_eq!(daily_queries(&c, z.id, 0).unwrap(), [(20_001, 4)]);
        assert_eq!(zone_serials(&c).unwrap(), [(z.id, 0)]);
        assert!(delete_zone(&c, z.id).unwrap());
        assert!(!delete_zone(&c, z.id).unwrap());
        assert!(list_zones(&c).unwrap().is_empty());
        // The id of the deleted zone (the highest) is not given again.
        let again = insert_zone(&c, "dyn.example.net", ZoneKind::Shared, None).unwrap();
        assert_eq!(again.id, z.id + 1);
    }
}
