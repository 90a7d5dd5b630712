//! `hostnames`: the DDNS hostnames of shared zones (and operator-managed names), with their
//! values. Addresses are stored as canonical text and read back typed.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{all, exec, one, parsed_opt};
use crate::model::Hostname;

macro_rules! host_cols {
    () => {
        "h.id, h.zone_id, z.name, h.label, h.user_id, h.ipv4, h.ipv6, h.txt, \
     h.ttl, h.note, h.created_at, h.updated_at, h.ipv6_suffix, h.updated_from"
    };
}

/// `SELECT` of whole hostnames (with their zone's name), then `$rest` (WHERE, ORDER BY).
macro_rules! host_select {
    ($rest:literal) => {
        concat!(
            "SELECT ",
            host_cols!(),
            " FROM hostnames h JOIN zones z ON z.id = h.zone_id ",
            $rest
        )
    };
}

fn host_row(r: &Row) -> rusqlite::Result<Hostname> {
    Ok(Hostname {
        id: r.get(0)?,
        zone_id: r.get(1)?,
        zone: r.get(2)?,
        label: r.get(3)?,
        user_id: r.get(4)?,
        ipv4: parsed_opt(r, 5)?,
        ipv6: parsed_opt(r, 6)?,
        txt: r.get(7)?,
        ttl: r.get(8)?,
        note: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
        ipv6_suffix: parsed_opt(r, 12)?,
        updated_from: parsed_opt(r, 13)?,
    })
}

pub fn insert_hostname(c: &Connection, h: &Hostname) -> rusqlite::Result<()> {
    exec(
        c,
        "INSERT INTO hostnames (id, zone_id, label, user_id, ipv4, ipv6, txt, ttl, note, \
         created_at, updated_at, ipv6_suffix, updated_from) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            h.id,
            h.zone_id,
            h.label,
            h.user_id,
            h.ipv4.map(|a| a.to_string()),
            h.ipv6.map(|a| a.to_string()),
            h.txt,
            h.ttl,
            h.note,
            h.created_at,
            h.updated_at,
            h.ipv6_suffix.map(|a| a.to_string()),
            h.updated_from.map(|a| a.to_string())
        ],
    )?;
    Ok(())
}

/// Write the mutable fields of `h` (addresses, txt, ttl, note, updated_at and _from).
pub fn update_hostname(c: &Connection, h: &Hostname) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE hostnames SET ipv4 = ?2, ipv6 = ?3, txt = ?4, ttl = ?5, note = ?6, \
         updated_at = ?7, ipv6_suffix = ?8, updated_from = ?9 WHERE id = ?1",
        params![
            h.id,
            h.ipv4.map(|a| a.to_string()),
            h.ipv6.map(|a| a.to_string()),
            h.txt,
            h.ttl,
            h.note,
            h.updated_at,
            h.ipv6_suffix.map(|a| a.to_string()),
            h.updated_from.map(|a| a.to_string())
        ],
    )?;
    Ok(())
}

/// A hostname's address changes within one hour (schema step 10): how many, when the last
/// was (Unix seconds) and what A and AAAA it set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressChange {
    pub at: u64,
    pub changes: u32,
    pub ipv4: Option<std::net::Ipv4Addr>,
    pub ipv6: Option<std::net::Ipv6Addr>,
}

/// Count a change of `h`'s addresses at `at` in its hour.
pub fn insert_address_change(c: &Connection, h: &Hostname, at: u64) -> rusqlite::Result<()> {
    exec(
        c,
        "INSERT INTO address_changes (hostname_id, hour, changes, at, ipv4, ipv6) \
         VALUES (?1, ?2 / 3600, 1, ?2, ?3, ?4) \
         ON CONFLICT (hostname_id, hour) DO UPDATE SET changes = changes + 1, \
         at = excluded.at, ipv4 = excluded.ipv4, ipv6 = excluded.ipv6",
        params![
            h.id,
            at as i64,
            h.ipv4.map(|a| a.to_string()),
            h.ipv6.map(|a| a.to_string())
        ],
    )?;
    Ok(())
}

fn change_row(r: &Row, i: usize) -> rusqlite::Result<AddressChange> {
    Ok(AddressChange {
        at: r.get::<_, i64>(i)? as u64,
        changes: r.get(i + 1)?,
        ipv4: parsed_opt(r, i + 2)?,
        ipv6: parsed_opt(r, i + 3)?,
    })
}

/// A hostname's address changes per hour since `since` (Unix seconds), oldest first.
pub fn address_changes(
    c: &Connection,
    hostname_id: &str,
    since: u64,
) -> rusqlite::Result<Vec<AddressChange>> {
    all(
        c,
        "SELECT at, changes, ipv4, ipv6 FROM address_changes \
         WHERE hostname_id = ?1 AND hour >= ?2 / 3600 ORDER BY hour",
        params![hostname_id, since as i64],
        |r| change_row(r, 0),
    )
}

/// `address_changes` of every hostname of a user, by hostname id (the hostnames page draws
/// them all from one query).
pub fn address_changes_of_user(
    c: &Connection,
    user_id: i64,
    since: u64,
) -> rusqlite::Result<std::collections::HashMap<String, Vec<AddressChange>>> {
    let rows = all(
        c,
        "SELECT a.hostname_id, a.at, a.changes, a.ipv4, a.ipv6 FROM hostnames h \
         JOIN address_changes a ON a.hostname_id = h.id \
         WHERE h.user_id = ?1 AND a.hour >= ?2 / 3600 ORDER BY a.hostname_id, a.hour",
        params![user_id, since as i64],
        |r| Ok((r.get::<_, String>(0)?, change_row(r, 1)?)),
    )?;
    let mut out: std::collections::HashMap<String, Vec<AddressChange>> = Default::default();
    for (id, ch) in rows {
        out.entry(id).or_default().push(ch);
    }
    Ok(out)
}

pub fn delete_hostname(c: &Connection, id: &str) -> rusqlite::Result<()> {
    exec(c, "DELETE FROM hostnames WHERE id = ?1", params![id])?;
    Ok(())
}

pub fn hostname_by_zone_label(
    c: &Connection,
    zone_id: i64,
    label: &str,
) -> rusqlite::Result<Option<Hostname>> {
    one(
        c,
        host_select!("WHERE h.zone_id = ?1 AND h.label = ?2"),
        params![zone_id, label],
        host_row,
    )
    .optional()
}

/// A user's hostnames, oldest first.
pub fn hostnames_of_user(c: &Connection, user_id: i64) -> rusqlite::Result<Vec<Hostname>> {
    all(
        c,
        host_select!("WHERE h.user_id = ?1 ORDER BY h.created_at, h.id"),
        params![user_id],
        host_row,
    )
}

/// Every hostname, by zone and label (`lucentd hostname list`).
pub fn all_hostnames(c: &Connection) -> rusqlite::Result<Vec<Hostname>> {
    all(c, host_select!("ORDER BY z.name, h.label"), [], host_row)
}

/// A user's hostname by id.
pub fn user_hostname_by_id(
    c: &Connection,
    user_id: i64,
    id: &str,
) -> rusqlite::Result<Option<Hostname>> {
    one(
        c,
        host_select!("WHERE h.id = ?1 AND h.user_id = ?2"),
        params![id, user_id],
        host_row,
    )
    .optional()
}

/// A user's hostnames with this label (one per zone at most), by zone id.
pub fn user_hostnames_by_label(
    c: &Connection,
    user_id: i64,
    label: &str,
) -> rusqlite::Result<Vec<Hostname>> {
    let mut hosts = all(
        c,
        host_select!("WHERE h.user_id = ?1 AND h.label = ?2"),
        params![user_id, label],
        host_row,
    )?;
    // Sorted here, not by ORDER BY: the (user_id, label) index does not cover zone_id, and
    // SQLite would open a temporary b-tree on every update to sort one or two rows.
    hosts.sort_by_key(|h| h.zone_id);
    Ok(hosts)
}

/// How many names exist below `label` in a zone (`x.label`, `_acme-challenge.label`, …). Only
/// operator-managed names can have dots in their label, so the scan is over those (by the
/// `hostnames_user` index), never over a large zone's hostnames.
pub fn names_below(c: &Connection, zone_id: i64, label: &str) -> rusqlite::Result<u32> {
    one(
        c,
        "SELECT COUNT(*) FROM hostnames WHERE user_id IS NULL AND zone_id = ?1 \
         AND label LIKE '%.' || ?2 ESCAPE '\\'",
        params![
            zone_id,
            label
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        ],
        |r| r.get(0),
    )
}

pub fn count_user_hostnames(c: &Connection, user_id: i64) -> rusqlite::Result<u32> {
    one(
        c,
        "SELECT COUNT(*) FROM hostnames WHERE user_id = ?1",
        params![user_id],
        |r| r.get(0),
    )
}

pub fn hostname_count(c: &Connection) -> rusqlite::Result<u64> {
    one(c, "SELECT COUNT(*) FROM hostnames", [], |r| r.get(0))
}

/// What DNS serves of one hostname: label, addresses, TXT value and TTL.
pub type HostValues = (
    String,
    Option<std::net::Ipv4Addr>,
    Option<std::net::Ipv6Addr>,
    Option<String>,
    u32,
);

/// Every hostname of a zone that DNS serves (not those of banned accounts), for loading the
/// zone: only the served columns, without the zone join. The caller streams the rows
/// (`query_map` with `host_values`), so a large zone is never held as rows. The banned set is
/// evaluated once per query, so with none it costs nothing per row.
pub const ZONE_HOSTS_SQL: &str = "SELECT label, ipv4, ipv6, txt, ttl FROM hostnames \
     WHERE zone_id = ?1 AND (user_id IS NULL OR user_id NOT IN \
     (SELECT id FROM users WHERE status = 'banned'))";

/// One row of `ZONE_HOSTS_SQL`. An address that does not parse (a row written by hand or by
/// an old tool) is left out with a warning: one bad row must not keep the zone from loading.
pub fn host_values(r: &Row) -> rusqlite::Result<HostValues> {
    let h = ZoneHostRows::read(r)?;
    Ok((
        h.label.to_string(),
        h.ipv4,
        h.ipv6,
        h.txt.map(str::to_string),
        h.ttl,
    ))
}

/// The rows of `ZONE_HOSTS_SQL` lent to a zone load one at a time (`dns::HostSource`), read
/// in place: label and TXT borrowed from the row. A row that cannot be read ends the stream
/// (`failed` tells why).
pub struct ZoneHostRows<'s> {
    rows: rusqlite::Rows<'s>,
    failed: Option<rusqlite::Error>,
}

impl<'s> ZoneHostRows<'s> {
    pub fn new(rows: rusqlite::Rows<'s>) -> Self {
        ZoneHostRows { rows, failed: None }
    }

    pub fn failed(self) -> Option<rusqlite::Error> {
        self.failed
    }

    /// One row, read in place (`host_values` owns what this borrows).
    fn read<'a>(r: &'a Row<'_>) -> rusqlite::Result<crate::dns::HostRow<'a>> {
        let text = |i: usize| -> rusqlite::Result<Option<&'a str>> {
            let v = r.get_ref(i)?;
            v.as_str_or_null()
                .map_err(|_| rusqlite::Error::InvalidColumnType(i, String::new(), v.data_type()))
        };
        let label = text(0)?.unwrap_or_default();
        let v4 = text(1)?.and_then(|s| {
            s.parse()
                .map_err(|_| {
                    log::warn!("hostname {label}: stored IPv4 {s:?} does not parse; not served")
                })
                .ok()
        });
        let v6 = text(2)?.and_then(|s| {
            s.parse()
                .map_err(|_| {
                    log::warn!("hostname {label}: stored IPv6 {s:?} does not parse; not served")
                })
                .ok()
        });
        Ok(crate::dns::HostRow {
            label,
            ttl: r.get(4)?,
            ipv4: v4,
            ipv6: v6,
            txt: text(3)?,
        })
    }
}

impl crate::dns::HostSource for ZoneHostRows<'_> {
    fn next_host(&mut self) -> Option<crate::dns::HostRow<'_>> {
        if self.failed.is_some() {
            return None;
        }
        let row = match self.rows.next() {
            Ok(Some(row)) => row,
            Ok(None) => return None,
            Err(e) => {
                self.failed = Some(e);
                return None;
            }
        };
        match Self::read(row) {
            Ok(h) => Some(h),
            Err(e) => {
                self.failed = Some(e);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testdb::db;
    use super::super::users::insert_user;
    use super::super::zones::insert_zone;
    use super::*;
    use crate::model::ZoneKind;
    use std::net::Ipv4Addr;

    #[test]
    fn hostnames_round_trip_typed_and_are_found_by_every_key() {
        let c = db();
        let uid = insert_user(&c, "a@example.org", 3, &[1; 32]).unwrap();
        let z1 = insert_zone(&c, "one.test", ZoneKind::Shared, None).unwrap();
        let z2 = insert_zone(&c, "two.test", ZoneKind::Shared, None).unwrap();
        let mut h = Hostname {
            id: "host_a".into(),
            zone_id: z2.id,
            zone: z2.name.clone(),
            label: "home".into(),
            user_id: Some(uid),
            ipv4: Some(Ipv4Addr::new(192, 0, 2, 1)),
            ipv6: Some("2001:db8::1".parse().unwrap()),
            txt: Some("t".into()),
            ttl: 60,
            note: None,
            created_at: "2026-01-01T00:00:00.000000Z".into(),
            updated_at: "2026-01-01T00:00:00.000000Z".into(),
            ipv6_suffix: Some("::1:2:3:4".parse().unwrap()),
            updated_from: Some("198.51.100.7".parse().unwrap()),
        };
        insert_hostname(&c, &h).unwrap();
        let mut h2 = h.clone();
        h2.id = "host_b".into();
        h2.zone_id = z1.id;
        h2.zone = z1.name.clone();
        insert_hostname(&c, &h2).unwrap();
        assert!(insert_hostname(&c, &h2).is_err(), "one label per zone");
        assert_eq!(
            hostname_by_zone_label(&c, z2.id, "home").unwrap(),
            Some(h.clone())
        );
        assert_eq!(
            user_hostname_by_id(&c, uid, "host_a").unwrap(),
            Some(h.clone())
        );
        assert!(user_hostname_by_id(&c, uid + 1, "host_a")
            .unwrap()
            .is_none());
        let by_label = user_hostnames_by_label(&c, uid, "home").unwrap();
        assert_eq!(
            by_label.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(),
            ["host_b", "host_a"],
            "sorted by zone id"
        );
        // Address changes: counted per hour, oldest hour first; a new hour's row drops the
        // hostname's rows older than 30 days.
        insert_address_change(&c, &h, 3_600).unwrap();
        for i in 0..105u64 {
            insert_address_change(&c, &h, 3_600_000 + i).unwrap();
        }
        insert_address_change(&c, &h, 3_603_600).unwrap();
        let seen = address_changes(&c, "host_a", 0).unwrap();
        assert_eq!(
            seen.iter().map(|x| (x.at, x.changes)).collect::<Vec<_>>(),
            [(3_600_104, 105), (3_603_600, 1)],
            "the row of hour 1 is gone: older than 30 days"
        );
        assert_eq!(seen[0].ipv4, h.ipv4);
        assert_eq!(address_changes(&c, "host_a", 3_603_600).unwrap().len(), 1);
        assert_eq!(address_changes_of_user(&c, uid, 0).unwrap()["host_a"], seen);
        h.ipv4 = None;
        h.note = Some("n".into());
        update_hostname(&c, &h).unwrap();
        assert_eq!(
            hostname_by_zone_label(&c, z2.id, "home").unwrap(),
            Some(h.clone())
        );
        assert_eq!(count_user_hostnames(&c, uid).unwrap(), 2);
        let mut op = h.clone();
        op.id = "host_op".into();
        op.label = "_acme-challenge.home".into();
        op.user_id = None;
        insert_hostname(&c, &op).unwrap();
        assert_eq!(names_below(&c, z2.id, "home").unwrap(), 1);
        assert_eq!(names_below(&c, z2.id, "hom").unwrap(), 0);
        assert_eq!(
            names_below(&c, z2.id, "h_me").unwrap(),
            0,
            "_ is not a wildcard"
        );
        delete_hostname(&c, "host_op").unwrap();
        let mut st = c.prepare(ZONE_HOSTS_SQL).unwrap();
        let served: Vec<HostValues> = st
            .query_map(params![z2.id], host_values)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(served, [("home".into(), None, h.ipv6, h.txt.clone(), 60)]);
        delete_hostname(&c, "host_a").unwrap();
        assert_eq!(hostname_count(&c).unwrap(), 1);
        assert_eq!(hostnames_of_user(&c, uid).unwrap().len(), 1);
        // A stored address that does not parse is an error, not a panic.
        c.execute("UPDATE hostnames SET ipv4 = 'bogus'", [])
            .unwrap();
        assert!(hostnames_of_user(&c, uid).is_err());
    }
}
