//! Chores outside the request path: picking up changes other processes (the admin commands)
//! made to the file, flushing DNS query counts into `zones.queries_count` (and the per-day
//! counts of `zone_queries_daily`), and online backups.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use super::publish::load_zone_into;
use super::queries::{zone_keys, zones};
use super::{Store, StoreError};
use crate::dns::SigChange;
use zone_keys::undecided_zones as zones_undecided;

/// The write connection's page cache while it loads zones (`PRAGMA cache_size`: negative is
/// KiB): a load reads each page once.
const LOAD_CACHE_SIZE: i64 = -128;

/// How much of the file a load reads through a memory map (`PRAGMA mmap_size`, bytes; SQLite
/// caps it at its compile-time maximum, 2 GiB on Linux): pages are read in place instead of
/// one `pread` copy each. Set back to 0 once the load is done, which unmaps the file, so the
/// pages read do not stay in the process's resident set.
const LOAD_MMAP_SIZE: i64 = 1 << 31;

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
        // Zones older than DNSSEC support (or made by a process without the config, such as
        // `--demo` before the store opens) are signed or not as `[dnssec] enabled` says.
        let undecided = zones_undecided(&inner.conn)?;
        if !undecided.is_empty() {
            let tx = inner
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for id in undecided {
                zone_keys::start_signing(&tx, id, &self.apex.dnssec)?;
            }
            tx.commit()?;
        }
        let dv: i64 = inner
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?;
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
        let stale: Vec<i64> = now
            .into_iter()
            .filter(|(id, serial)| inner.served.get(id).map(|x| x.1) != Some(*serial))
            .map(|(id, _)| id)
            .collect();
        if stale.is_empty() {
            return Ok(());
        }
        // A load reads whole tables (hostnames, records, stored signatures) once: through a
        // small page cache, so the write connection does not keep a full cache of pages it
        // will not read again (at 10,000 signed names about 1 MiB of the process's memory,
        // bench/RESULTS.md "DNSSEC"). Its own size is set again afterwards.
        let cache: i64 = inner
            .conn
            .query_row("PRAGMA cache_size", [], |r| r.get(0))?;
        inner
            .conn
            .pragma_update(None, "cache_size", LOAD_CACHE_SIZE)?;
        inner
            .conn
            .pragma_update(None, "mmap_size", LOAD_MMAP_SIZE)?;
        let mut loaded = Ok(());
        for id in stale {
            match load_zone_into(&inner.conn, id, &self.apex, &self.dns) {
                Ok(Some(z)) => {
                    log::debug!("loaded zone {} (serial {})", z.0, z.1);
                    inner.served.insert(id, z);
                }
                Ok(None) => {}
                Err(e) => {
                    loaded = Err(e);
                    break;
                }
            }
        }
        inner.conn.pragma_update(None, "mmap_size", 0)?;
        inner.conn.pragma_update(None, "cache_size", cache)?;
        Ok(loaded?)
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

impl Store {
    /// Keep the signatures DNS made since the last call (`rrsigs`), in transactions of at most
    /// 20,000 rows so the first start of a large zone does not hold the write lock for long.
    /// Run from the background chores; what is lost to a crash is signed again at the next
    /// start.
    pub fn flush_signatures(&self) -> Result<usize, StoreError> {
        let changes = self.dns.take_signature_changes();
        for ch in &changes {
            if let SigChange::Dump { zone } = ch {
                self.dump_signatures(zone)?;
            }
        }
        for chunk in changes.chunks(20_000) {
            let mut g = self.lock();
            let tx = g
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            write_signatures(&tx, chunk)?;
            tx.commit()?;
        }
        Ok(changes.len())
    }
}

impl Store {
    /// Keep every signature zone `zone` serves, 20,000 rows per transaction, each row written
    /// straight from the served snapshot.
    fn dump_signatures(&self, zone: &str) -> Result<(), StoreError> {
        let put = |batch: &mut dyn Iterator<Item = (&[u8], u16, i64, &[u8])>| {
            let mut g = self.lock();
            let tx = g
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // The zone is gone: nothing taken, which ends the walk.
            let Some(id) = zones::zone_by_name(&tx, zone)?.map(|z| z.id) else {
                return Ok(());
            };
            for (key, rtype, digest, sigs) in batch {
                zone_keys::put_sig_parts(&tx, id, key, rtype, digest, sigs)?;
            }
            tx.commit()?;
            Ok::<(), StoreError>(())
        };
        if let Some(kept) = self.dns.each_zone_signature(zone, 20_000, put) {
            log::debug!("dnssec: kept {} signatures of zone {zone}", kept?);
        }
        Ok(())
    }
}

/// Write signature changes inside the caller's transaction. Each write group does this for
/// what the groups before it signed (`commit.rs`), so signatures ride on the next COMMIT
/// instead of costing one of their own; the chores flush whatever is left when writes stop.
pub(super) fn write_signatures(c: &Connection, changes: &[SigChange]) -> rusqlite::Result<()> {
    let mut ids: HashMap<&str, Option<i64>> = HashMap::new();
    for ch in changes {
        let zone = match ch {
            SigChange::Put { zone, .. } | SigChange::Delete { zone, .. } => &**zone,
            SigChange::Dump { .. } => continue,
        };
        if !ids.contains_key(zone) {
            let id = zones::zone_by_name(c, zone)?.map(|z| z.id);
            ids.insert(zone, id);
        }
        let Some(Some(id)) = ids.get(zone).copied() else {
            continue;
        };
        match ch {
            SigChange::Put { sig, .. } => zone_keys::put_sig(c, id, sig)?,
            SigChange::Delete { key, rtype, .. } => zone_keys::delete_sig(c, id, key, *rtype)?,
            SigChange::Dump { .. } => {}
        }
    }
    Ok(())
}

impl Store {}

/// Online, consistent copy of the database into `dest` (SQLite backup API).
pub fn backup_to(conn: &Connection, dest: &Path) -> Result<(), StoreError> {
    let mut out = Connection::open(dest)?;
    let backup = rusqlite::backup::Backup::new(conn, &mut out)?;
    backup.run_to_completion(256, Duration::from_millis(5), None)?;
    Ok(())
}
