//! The store: one SQLite file (WAL, foreign keys, synchronous=FULL). One write connection
//! behind a mutex, used only by the commit engine (`commit.rs`: group commit through a writer
//! thread) and the chores (`sync.rs`), so writers never meet SQLITE_BUSY among themselves;
//! other processes (the admin commands) wait on the busy timeout. Reads use a small pool of
//! read-only connections (`open.rs`). After each commit the changed RRsets go to the DNS view
//! (`publish.rs`); the statements themselves are in `queries/`, one file per table.
//!
//! May import: `model`, `dns` (to publish), `dnssec` (keys), `metrics` (its histogram), `clock`.
//! Nothing above.

mod commit;
mod journal;
mod open;
mod publish;
pub mod queries;
pub mod schema;
mod sync;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use rusqlite::Connection;

use crate::dns::{ApexConfig, DnsView};
use crate::metrics::Histogram;

pub use commit::WriteTx;
pub use journal::JournalReader;
pub use open::{open, open_existing};
pub use publish::load_zone_for_export;
pub use sync::backup_to;

#[derive(Debug)]
pub enum StoreError {
    Sql(rusqlite::Error),
    /// The file was written by a newer lucentd (schema `found`; this one knows `known`).
    Schema {
        found: i64,
        known: i64,
    },
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Sql(e) => write!(f, "database: {e}"),
            StoreError::Schema { found, known } => write!(
                f,
                "database schema version {found} is newer than this lucentd understands \
                 ({known}); upgrade lucentd"
            ),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sql(e)
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
    jobs: commit::JobQueue,
    readers: open::ReadPool,
    pub dns: Arc<DnsView>,
    apex: ApexConfig,
    /// Store latency (reads and writes, from call to answer), for /metrics.
    pub latency: Histogram,
    /// Group commits that succeeded (one fsync each) and the writes they carried, for
    /// /metrics: their ratio is how well group commit works on this disk and load.
    commits: AtomicU64,
    committed_writes: AtomicU64,
}

impl Store {
    /// Open the file, load every zone into `dns`.
    pub fn new(path: &Path, dns: Arc<DnsView>, apex: ApexConfig) -> Result<Store, StoreError> {
        let mut conn = open(path)?;
        apex_changed(&mut conn, &apex)?;
        let store = Store {
            readers: open::ReadPool::open(path)?,
            inner: Mutex::new(Inner {
                conn,
                data_version: 0,
                served: HashMap::new(),
                flushed: HashMap::new(),
                loaded: false,
            }),
            jobs: commit::JobQueue::default(),
            dns,
            apex,
            latency: Histogram::default(),
            commits: AtomicU64::new(0),
            committed_writes: AtomicU64::new(0),
        };
        store.sync_external()?;
        Ok(store)
    }

    /// The write connection. A panic while it was held can only come from our own code
    /// outside a job (jobs are caught): roll back whatever it left open.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => {
                let g = p.into_inner();
                if !g.conn.is_autocommit() {
                    let _ = g.conn.execute_batch("ROLLBACK");
                }
                self.inner.clear_poison();
                g
            }
        }
    }

    fn count_commit(&self, writes: usize) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.committed_writes
            .fetch_add(writes as u64, Ordering::Relaxed);
    }

    /// Run read-only work in a transaction on a read connection: a consistent snapshot of the
    /// last commit (never of a write group still in flight).
    pub fn read<T, E: From<rusqlite::Error>>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        let start = Instant::now();
        let conn = self.readers.take();
        let out = match commit::control(&conn, "BEGIN") {
            Ok(()) => f(&conn),
            Err(e) => Err(e.into()),
        };
        // Read-only: nothing to commit. A failed ROLLBACK must not leave the connection
        // inside a transaction (its next BEGIN would fail).
        if !conn.is_autocommit() && commit::control(&conn, "ROLLBACK").is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        self.readers.put(conn);
        self.latency.observe(start.elapsed());
        out
    }

    /// Append the store's Prometheus lines (latency histogram, commits and writes).
    pub fn render_metrics(&self, out: &mut String) {
        self.latency.render("lucent_store_seconds", out);
        let _ = writeln!(out, "# TYPE lucent_store_commits_total counter");
        let _ = writeln!(
            out,
            "lucent_store_commits_total {}",
            self.commits.load(Ordering::Relaxed)
        );
        let _ = writeln!(out, "# TYPE lucent_store_writes_total counter");
        let _ = writeln!(
            out,
            "lucent_store_writes_total {}",
            self.committed_writes.load(Ordering::Relaxed)
        );
    }
}

/// The apex settings as served (SOA fields, NS names), one line.
fn apex_fingerprint(a: &ApexConfig) -> String {
    format!(
        "ns={} rname={} refresh={} retry={} expire={} minimum={} soa_ttl={} ns_ttl={}",
        a.nameservers.join(","),
        a.rname,
        a.refresh,
        a.retry,
        a.expire,
        a.minimum,
        a.soa_ttl,
        a.ns_ttl
    )
}

/// When the apex settings differ from those the file was last served with, bump every zone's
/// serial (the SOA and a shared zone's NS changed without any write), so secondaries
/// transfer them; remember the new settings.
fn apex_changed(c: &mut Connection, apex: &ApexConfig) -> Result<(), StoreError> {
    use rusqlite::OptionalExtension;
    let now = apex_fingerprint(apex);
    let before: Option<String> = c
        .query_row("SELECT value FROM settings WHERE key = 'apex'", [], |r| {
            r.get(0)
        })
        .optional()?;
    if before.as_deref() == Some(now.as_str()) {
        return Ok(());
    }
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if before.is_some() {
        let n = tx.execute("UPDATE zones SET serial = (serial + 1) % 4294967296", [])?;
        log::info!("the SOA or NS settings changed: the serial of {n} zones moved on");
    }
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ('apex', ?1) \
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [&now],
    )?;
    tx.commit()?;
    Ok(())
}
