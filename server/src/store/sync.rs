//! Chores outside the request path: picking up changes other processes (the admin commands)
//! made to the file, flushing DNS query counts into `zones.queries_count` (and the per-day
//! counts of `zone_queries_daily`), and online backups.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use super::publish::load_zone_into;
use super::queries::zones;
use super::{Store, StoreError};

impl Store {
    /// Reload zones changed by other processes since the last call (and all zones on the
    /// first call). Cheap when nothing changed: one pragma read.
    pub fn sync_external(&self) -> Result<(), StoreError> {
        let mut g = self.lock();
        let inner = &mut *g;
        let dv: i64 = inner
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?;
        if dv == inner.data_version && inner.loaded {
            return Ok(());
        }
        inner.data_version = dv;
        inner.loaded = true;
        let now: HashMap<i64, u32> = zones::zone_serials(&inner.conn)?.into_iter().collect();
        let gone: Vec<i64> = inner
            .served
            .keys()
            .filter(|id| !now.contains_key(id))
            .copied()
            .collect();
        for id in gone {
            if let Some((name, _)) = inner.served.remove(&id) {
                log::info!("zone {name} was removed; no longer served");
                self.dns.remove_zone(&name);
            }
        }
        for (id, serial) in now {
            if inner.served.get(&id).map(|x| x.1) != Some(serial) {
                if let Some(loaded) = load_zone_into(&inner.conn, id, &self.apex, &self.dns)? {
                    log::debug!("loaded zone {} (serial {})", loaded.0, loaded.1);
                    inner.served.insert(id, loaded);
                }
            }
        }
        Ok(())
    }

    /// Add the DNS query counts since the last flush to `zones.queries_count`.
    pub fn flush_query_counts(&self) -> Result<(), StoreError> {
        let counts = self.dns.query_counts();
        let mut g = self.lock();
        let inner = &mut *g;
        let deltas: Vec<(String, u64)> = counts
            .into_iter()
            .filter_map(|(zone, n)| {
                let before = inner.flushed.insert(zone.clone(), n).unwrap_or(0);
                (n > before).then(|| (zone, n - before))
            })
            .collect();
        if deltas.is_empty() {
            return Ok(());
        }
        let day = crate::clock::unix_now() / 86_400;
        let tx = inner.conn.transaction()?;
        for (zone, n) in deltas {
            zones::add_queries(&tx, &zone, n, day)?;
        }
        // The dashboard draws 30 days; keep 60.
        zones::prune_daily_queries(&tx, day.saturating_sub(60))?;
        tx.commit()?;
        Ok(())
    }
}

/// Online, consistent copy of the database into `dest` (SQLite backup API).
pub fn backup_to(conn: &Connection, dest: &Path) -> Result<(), StoreError> {
    let mut out = Connection::open(dest)?;
    let backup = rusqlite::backup::Backup::new(conn, &mut out)?;
    backup.run_to_completion(256, Duration::from_millis(5), None)?;
    Ok(())
}
