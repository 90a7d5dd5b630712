//! `records`: the records of hosted zones (SOA and NS rows included, as LuaDNS lists them).

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{all, exec, one, parsed};
use crate::clock;
use crate::model::record::alias_free_target;
use crate::model::{RType, Record, RecordData, RrsetChange, Zone};

macro_rules! rec_cols {
    () => {
        "id, zone_id, name, type, content, ttl, external_id, created_at, updated_at"
    };
}

fn rec_row(r: &Row) -> rusqlite::Result<Record> {
    Ok(Record {
        id: r.get(0)?,
        zone_id: r.get(1)?,
        name: r.get(2)?,
        rtype: parsed(r, 3)?,
        content: r.get(4)?,
        ttl: r.get(5)?,
        external_id: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
    })
}

pub fn records_of_zone(c: &Connection, zone_id: i64) -> rusqlite::Result<Vec<Record>> {
    all(
        c,
        concat!(
            "SELECT ",
            rec_cols!(),
            " FROM records WHERE zone_id = ?1 ORDER BY id"
        ),
        params![zone_id],
        rec_row,
    )
}

pub fn records_count(c: &Connection, zone_id: i64) -> rusqlite::Result<u32> {
    one(
        c,
        "SELECT COUNT(*) FROM records WHERE zone_id = ?1",
        params![zone_id],
        |r| r.get(0),
    )
}

pub fn record_by_id(c: &Connection, zone_id: i64, id: i64) -> rusqlite::Result<Option<Record>> {
    one(
        c,
        concat!(
            "SELECT ",
            rec_cols!(),
            " FROM records WHERE zone_id = ?1 AND id = ?2"
        ),
        params![zone_id, id],
        rec_row,
    )
    .optional()
}

/// Records at one name (any type).
pub fn records_at(c: &Connection, zone_id: i64, name: &str) -> rusqlite::Result<Vec<Record>> {
    all(
        c,
        concat!(
            "SELECT ",
            rec_cols!(),
            " FROM records WHERE zone_id = ?1 AND name = ?2 ORDER BY id"
        ),
        params![zone_id, name],
        rec_row,
    )
}

/// The first MX, NS or SRV record of a zone whose target is `name` (an index lookup).
pub fn record_targeting(
    c: &Connection,
    zone_id: i64,
    name: &str,
) -> rusqlite::Result<Option<Record>> {
    one(
        c,
        concat!(
            "SELECT ",
            rec_cols!(),
            " FROM records WHERE zone_id = ?1 AND target = ?2 ORDER BY id LIMIT 1"
        ),
        params![zone_id, name],
        rec_row,
    )
    .optional()
}

/// Set the TTL of every record of one RRset (RFC 2181 §5.2: one TTL per RRset).
pub fn set_rrset_ttl(
    c: &Connection,
    zone_id: i64,
    name: &str,
    rtype: RType,
    ttl: u32,
) -> rusqlite::Result<usize> {
    exec(
        c,
        "UPDATE records SET ttl = ?4 WHERE zone_id = ?1 AND name = ?2 AND type = ?3 AND ttl != ?4",
        params![zone_id, name, rtype.as_str(), ttl],
    )
}

pub fn insert_record(c: &Connection, r: &Record) -> rusqlite::Result<i64> {
    exec(
        c,
        // The id is the highest ever given plus one: ids are never reused (schema step 3).
        "INSERT INTO records (id, zone_id, name, type, content, ttl, external_id, created_at, \
         updated_at, target) VALUES ((SELECT last + 1 FROM id_seq WHERE name = 'records'), \
         ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            r.zone_id,
            r.name,
            r.rtype.as_str(),
            r.content,
            r.ttl,
            r.external_id,
            r.created_at,
            r.updated_at,
            alias_free_target(r.rtype, &r.content)
        ],
    )?;
    Ok(c.last_insert_rowid())
}

pub fn update_record(c: &Connection, r: &Record) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE records SET name = ?2, type = ?3, content = ?4, ttl = ?5, external_id = ?6, \
         updated_at = ?7, target = ?8 WHERE id = ?1",
        params![
            r.id,
            r.name,
            r.rtype.as_str(),
            r.content,
            r.ttl,
            r.external_id,
            r.updated_at,
            alias_free_target(r.rtype, &r.content)
        ],
    )?;
    Ok(())
}

pub fn delete_record(c: &Connection, id: i64) -> rusqlite::Result<()> {
    exec(c, "DELETE FROM records WHERE id = ?1", params![id])?;
    Ok(())
}

/// Delete every record of a zone except the SOA; returns the (name, type) sets removed.
pub fn delete_zone_records_but_soa(
    c: &Connection,
    zone_id: i64,
) -> rusqlite::Result<Vec<(String, RType)>> {
    all(
        c,
        "DELETE FROM records WHERE zone_id = ?1 AND type != 'SOA' RETURNING name, type",
        params![zone_id],
        |r| Ok((r.get(0)?, parsed(r, 1)?)),
    )
}

/// The current state of one RRset of a hosted zone, as the DNS view takes it.
pub fn rrset(
    c: &Connection,
    zone_id: i64,
    name: &str,
    rtype: RType,
) -> rusqlite::Result<RrsetChange> {
    let records = all(
        c,
        "SELECT ttl, content FROM records WHERE zone_id = ?1 AND name = ?2 AND type = ?3 \
         ORDER BY id",
        params![zone_id, name, rtype.as_str()],
        |r| {
            Ok(RecordData {
                ttl: r.get(0)?,
                content: r.get(1)?,
            })
        },
    )?;
    Ok(RrsetChange {
        name: name.to_string(),
        rtype,
        records,
    })
}

/// Every record of a zone but the SOA, grouped into RRsets by (name, type), for loading the
/// zone into DNS. A row of a type this build does not serve is skipped with a warning.
pub fn rrsets_of_zone(c: &Connection, zone: &Zone) -> rusqlite::Result<Vec<RrsetChange>> {
    let mut out: Vec<RrsetChange> = Vec::new();
    let mut st = c.prepare_cached(
        "SELECT name, type, content, ttl FROM records WHERE zone_id = ?1 AND type != 'SOA' \
         ORDER BY name, type, id",
    )?;
    let mut rows = st.query(params![zone.id])?;
    while let Some(r) = rows.next()? {
        let name: String = r.get(0)?;
        let ty: String = r.get(1)?;
        let Ok(rtype) = ty.parse::<RType>() else {
            log::warn!("zone {}: skipping record of unknown type {ty}", zone.name);
            continue;
        };
        let rec = RecordData {
            ttl: r.get(3)?,
            content: r.get(2)?,
        };
        match out.last_mut() {
            Some(last) if last.name == name && last.rtype == rtype => last.records.push(rec),
            _ => out.push(RrsetChange {
                name,
                rtype,
                records: vec![rec],
            }),
        }
    }
    Ok(out)
}

/// A new hosted zone's SOA and NS rows (LuaDNS lists them as records with ids). The SOA row's
/// content is re-rendered from the config and serial whenever it is shown.
pub fn seed_hosted_records(
    c: &Connection,
    zone: &Zone,
    soa: &str,
    soa_ttl: u32,
    nameservers: &[String],
    ns_ttl: u32,
) -> rusqlite::Result<()> {
    let now = clock::now_rfc3339();
    let row = |rtype, content: String, ttl| Record {
        id: 0,
        zone_id: zone.id,
        name: zone.name.clone(),
        rtype,
        content,
        ttl,
        external_id: None,
        created_at: now.clone(),
        updated_at: now.clone(),
    };
    insert_record(c, &row(RType::Soa, soa.to_string(), soa_ttl))?;
    for ns in nameservers {
        insert_record(c, &row(RType::Ns, format!("{ns}."), ns_ttl))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testdb::db;
    use super::super::zones::insert_zone;
    use super::*;
    use crate::model::ZoneKind;

    fn rec(zone_id: i64, name: &str, rtype: RType, content: &str) -> Record {
        Record {
            id: 0,
            zone_id,
            name: name.into(),
            rtype,
            content: content.into(),
            ttl: 300,
            external_id: None,
            created_at: "t".into(),
            updated_at: "t".into(),
        }
    }

    #[test]
    fn records_rrsets_and_seeding() {
        let c = db();
        let z = insert_zone(&c, "example.org", ZoneKind::Hosted, None).unwrap();
        seed_hosted_records(
            &c,
            &z,
            "ns1.test. h.test. 1 2 3 4 5",
            3600,
            &["ns1.test".into()],
            86400,
        )
        .unwrap();
        let a1 = insert_record(&c, &rec(z.id, "www.example.org", RType::A, "192.0.2.1")).unwrap();
        insert_record(&c, &rec(z.id, "www.example.org", RType::A, "192.0.2.2")).unwrap();
        insert_record(&c, &rec(z.id, "www.example.org", RType::Txt, "x")).unwrap();
        assert_eq!(records_count(&c, z.id).unwrap(), 5);
        assert_eq!(records_at(&c, z.id, "www.example.org").unwrap().len(), 3);
        let set = rrset(&c, z.id, "www.example.org", RType::A).unwrap();
        assert_eq!(set.records.len(), 2);
        let sets = rrsets_of_zone(&c, &z).unwrap();
        let shape: Vec<(&str, RType, usize)> = sets
            .iter()
            .map(|s| (s.name.as_str(), s.rtype, s.records.len()))
            .collect();
        assert_eq!(
            shape,
            [
                ("example.org", RType::Ns, 1),
                ("www.example.org", RType::A, 2),
                ("www.example.org", RType::Txt, 1)
            ],
            "grouped, SOA left out"
        );
        let mx = insert_record(
            &c,
            &rec(z.id, "example.org", RType::Mx, "10 www.example.org."),
        )
        .unwrap();
        assert_eq!(
            record_targeting(&c, z.id, "www.example.org")
                .unwrap()
                .unwrap()
                .id,
            mx
        );
        assert!(record_targeting(&c, z.id, "example.org").unwrap().is_none());
        assert_eq!(
            set_rrset_ttl(&c, z.id, "www.example.org", RType::A, 60).unwrap(),
            2
        );
        delete_record(&c, mx).unwrap();
        let mut r = record_by_id(&c, z.id, a1).unwrap().unwrap();
        assert_eq!(r.rtype, RType::A);
        r.content = "192.0.2.9".into();
        update_record(&c, &r).unwrap();
        assert_eq!(
            record_by_id(&c, z.id, a1).unwrap().unwrap().content,
            "192.0.2.9"
        );
        delete_record(&c, a1).unwrap();
        assert!(record_by_id(&c, z.id, a1).unwrap().is_none());
        let next = insert_record(&c, &rec(z.id, "x.example.org", RType::A, "192.0.2.3")).unwrap();
        assert_eq!(next, mx + 1, "ids are never reused");
        let removed = delete_zone_records_but_soa(&c, z.id).unwrap();
        assert_eq!(removed.len(), 4);
        let left = records_of_zone(&c, z.id).unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].rtype, RType::Soa);
    }
}
