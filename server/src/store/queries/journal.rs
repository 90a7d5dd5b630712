//! `journal`: each zone's published changes, for IXFR (schema step 12).

use rusqlite::{params, Connection};

use super::{all, exec};

/// Record one group's changes to a zone.
pub fn insert(
    c: &Connection,
    zone_id: i64,
    from: u32,
    to: u32,
    now: u64,
    changes: &[u8],
) -> rusqlite::Result<()> {
    exec(
        c,
        "INSERT INTO journal (zone_id, serial_from, serial_to, created_at, changes) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![zone_id, i64::from(from), i64::from(to), now as i64, changes],
    )
    .map(drop)
}

/// The entries of zone `name` from the newest one starting at serial `from` on, in order:
/// (serial_from, serial_to, changes).
pub fn since(c: &Connection, name: &str, from: u32) -> rusqlite::Result<Vec<(u32, u32, Vec<u8>)>> {
    all(
        c,
        "SELECT j.serial_from, j.serial_to, j.changes FROM journal j \
         JOIN zones z ON z.id = j.zone_id \
         WHERE z.name = ?1 AND j.seq >= \
           (SELECT MAX(seq) FROM journal WHERE zone_id = z.id AND serial_from = ?2) \
         ORDER BY j.seq",
        params![name, i64::from(from)],
        |r| {
            Ok((
                r.get::<_, i64>(0)? as u32,
                r.get::<_, i64>(1)? as u32,
                r.get(2)?,
            ))
        },
    )
}

/// Drop entries older than `before` (unix seconds), and all but the newest `keep` of each zone.
pub fn prune(c: &Connection, before: u64, keep: usize) -> rusqlite::Result<usize> {
    let mut n = exec(
        c,
        "DELETE FROM journal WHERE created_at < ?1",
        params![before as i64],
    )?;
    let over: Vec<i64> = all(
        c,
        "SELECT zone_id FROM journal GROUP BY zone_id HAVING COUNT(*) > ?1",
        params![keep as i64],
        |r| r.get(0),
    )?;
    for zone in over {
        n += exec(
            c,
            "DELETE FROM journal WHERE zone_id = ?1 AND seq < \
               (SELECT seq FROM journal WHERE zone_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
            params![zone, (keep - 1) as i64],
        )?;
    }
    Ok(n)
}
