//! The store: one SQLite file (WAL, foreign keys, synchronous=FULL) behind a mutex, so worker
//! threads never meet SQLITE_BUSY among themselves; other processes (the admin commands) wait
//! on the busy timeout. A write runs in one IMMEDIATE transaction; after it commits, the DNS
//! changes it queued are published to the in-memory view before the lock is released, so the
//! next DNS query after a 2xx answer sees the change, in commit order.
//!
//! Changes made by another process (e.g. `lucentd zone add` while `serve` runs) are noticed by
//! `sync_external` through `PRAGMA data_version` and reloaded zone by zone.

pub mod queries;
pub mod schema;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::dns::{ApexConfig, DnsView, RrsetChange};

pub use queries::*;

#[derive(Debug)]
pub enum StoreError {
    Sql(rusqlite::Error),
    Schema(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Sql(e) => write!(f, "database: {e}"),
            StoreError::Schema(e) => f.write_str(e),
        }
    }
}
impl std::error::Error for StoreError {}
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sql(e)
    }
}

/// Open (creating if needed) and migrate the database file.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a committed transaction survives power loss, not only a process crash.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    schema::migrate(&mut conn)?.map_err(StoreError::Schema)?;
    Ok(conn)
}

/// One zone's queued DNS change, published after commit.
enum Publish {
    Rrsets {
        zone_id: i64,
        zone: String,
        serial: u32,
        changes: Vec<RrsetChange>,
    },
    Reload(i64),
    Remove(String),
}

/// A write transaction plus the DNS changes to publish once it commits.
pub struct WriteTx<'a> {
    pub tx: Transaction<'a>,
    pending: Vec<Publish>,
}

impl WriteTx<'_> {
    /// Bump the zone's SOA serial and queue the new state of the given RRsets.
    pub fn publish(&mut self, zone: &Zone, changes: Vec<RrsetChange>) -> rusqlite::Result<()> {
        let serial = queries::bump_serial(&self.tx, zone.id)?;
        self.pending.push(Publish::Rrsets {
            zone_id: zone.id,
            zone: zone.name.clone(),
            serial,
            changes,
        });
        Ok(())
    }
    /// Queue a full (re)load of a zone from the store, e.g. after creating it.
    pub fn reload_zone(&mut self, zone_id: i64) {
        self.pending.push(Publish::Reload(zone_id));
    }
    pub fn remove_zone(&mut self, name: &str) {
        self.pending.push(Publish::Remove(name.to_string()));
    }
}

struct Inner {
    conn: Connection,
    /// `PRAGMA data_version` last seen.
    data_version: i64,
    /// Every zone the view serves: id -> (name, serial as published).
    served: HashMap<i64, (String, u32)>,
    /// Per-zone query counts already added to `zones.queries_count`.
    flushed: HashMap<String, u64>,
    loaded: bool,
}

pub struct Store {
    inner: Mutex<Inner>,
    pub dns: Arc<DnsView>,
    apex: ApexConfig,
    /// Store latency: total microseconds and count, for /metrics.
    pub latency: crate::metrics::Histogram,
}

impl Store {
    /// Open the file, load every zone into `dns`.
    pub fn new(path: &Path, dns: Arc<DnsView>, apex: ApexConfig) -> Result<Store, StoreError> {
        let conn = open(path)?;
        let store = Store {
            inner: Mutex::new(Inner {
                conn,
                data_version: 0,
                served: HashMap::new(),
                flushed: HashMap::new(),
                loaded: false,
            }),
            dns,
            apex,
            latency: crate::metrics::Histogram::default(),
        };
        store.sync_external()?;
        Ok(store)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves SQLite consistent (the transaction rolls back
        // on drop), so a poisoned mutex is safe to keep using.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run read-only work in a (deferred) transaction: a consistent snapshot.
    pub fn read<T, E: From<rusqlite::Error>>(
        &self,
        f: impl FnOnce(&Transaction) -> Result<T, E>,
    ) -> Result<T, E> {
        let start = Instant::now();
        let mut g = self.lock();
        let tx = g.conn.transaction()?;
        let out = f(&tx);
        drop(tx);
        drop(g);
        self.latency.observe(start.elapsed());
        out
    }

    /// Run `f` in an IMMEDIATE transaction; commit only if it returns Ok, then publish its DNS
    /// changes. The commit (fsync included) completes before this returns.
    pub fn write<T, E: From<rusqlite::Error>>(
        &self,
        f: impl FnOnce(&mut WriteTx) -> Result<T, E>,
    ) -> Result<T, E> {
        let start = Instant::now();
        let mut g = self.lock();
        let inner = &mut *g;
        let (out, pending) = {
            let tx = inner
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut w = WriteTx {
                tx,
                pending: Vec::new(),
            };
            let out = f(&mut w)?;
            w.tx.commit()?;
            (out, w.pending)
        };
        for p in pending {
            match p {
                Publish::Rrsets {
                    zone_id,
                    zone,
                    serial,
                    changes,
                } => {
                    inner.served.insert(zone_id, (zone.clone(), serial));
                    self.dns.apply(&zone, serial, changes);
                }
                Publish::Reload(id) => {
                    if let Some(content) = queries::zone_content(&inner.conn, id, &self.apex)? {
                        inner
                            .served
                            .insert(id, (content.name.clone(), content.serial));
                        self.dns.load_zone(content);
                    }
                }
                Publish::Remove(name) => {
                    inner.served.retain(|_, (n, _)| *n != name);
                    self.dns.remove_zone(&name);
                }
            }
        }
        drop(g);
        self.latency.observe(start.elapsed());
        Ok(out)
    }

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
        let now: HashMap<i64, u32> = queries::zone_serials(&inner.conn)?.into_iter().collect();
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
                if let Some(content) = queries::zone_content(&inner.conn, id, &self.apex)? {
                    log::debug!("loading zone {} (serial {})", content.name, content.serial);
                    inner
                        .served
                        .insert(id, (content.name.clone(), content.serial));
                    self.dns.load_zone(content);
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
        let tx = inner.conn.transaction()?;
        for (zone, n) in deltas {
            queries::add_queries(&tx, &zone, n)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Online, consistent copy of the database into `dest` (SQLite backup API).
    pub fn backup_to(conn: &Connection, dest: &Path) -> Result<(), StoreError> {
        let mut out = Connection::open(dest)?;
        let backup = rusqlite::backup::Backup::new(conn, &mut out)?;
        backup.run_to_completion(256, Duration::from_millis(5), None)?;
        Ok(())
    }
}
