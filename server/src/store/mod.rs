//! The store: one SQLite file (WAL, foreign keys, synchronous=FULL) behind a mutex, so worker
//! threads never meet SQLITE_BUSY among themselves; other processes (the admin commands) wait
//! on the busy timeout. Reads use a small pool of read-only connections (WAL readers see the
//! last commit and never wait for the writer).
//!
//! Writes use group commit: each write runs inside a SAVEPOINT of a shared IMMEDIATE
//! transaction (a failing write rolls back only its own savepoint). A writer that sees other
//! writers queued behind it leaves the transaction open for them and waits; the last one (or
//! the 64th) commits — one fsync for the whole group — publishes every queued DNS change in
//! order and wakes the group. Nobody answers before the COMMIT that holds their change has
//! returned, so every 2xx is durable, and the next DNS query after it sees the change.
//!
//! The hot DDNS writes (`/update`, dyndns2) take a second door to the same groups:
//! `write_async` queues the write for one writer thread (`run_writer`), which takes whatever
//! is queued, runs each in its savepoint, commits once and then answers each waiting
//! request task. The request never leaves its runtime worker for a blocking thread, and a
//! group forms from everything that arrived during the previous commit's fsync; when more
//! writes were in flight together lately, it first waits briefly for them (`Gather`).
//!
//! Changes made by another process (e.g. `lucentd zone add` while `serve` runs) are noticed by
//! `sync_external` through `PRAGMA data_version` and reloaded zone by zone.

pub mod queries;
pub mod schema;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

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
    // 1 MiB of page cache (SQLite's default is 2 MiB): the OS caches the file as well, and a
    // router or small VPS counts every MiB.
    conn.pragma_update(None, "cache_size", -1024)?;
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

/// A write (inside its savepoint) plus the DNS changes to publish once it commits.
pub struct WriteTx<'a> {
    pub tx: &'a Connection,
    pending: Vec<Publish>,
}

impl WriteTx<'_> {
    /// Bump the zone's SOA serial and queue the new state of the given RRsets.
    pub fn publish(&mut self, zone: &Zone, changes: Vec<RrsetChange>) -> rusqlite::Result<()> {
        self.publish_in(zone.id, &zone.name, changes)
    }
    /// `publish` for a hostname's RRsets, in the zone its row names (the hot update path
    /// needs no zone lookup).
    pub fn publish_host(&mut self, h: &Hostname) -> rusqlite::Result<()> {
        self.publish_in(h.zone_id, &h.zone, h.rrsets())
    }
    fn publish_in(
        &mut self,
        zone_id: i64,
        zone: &str,
        changes: Vec<RrsetChange>,
    ) -> rusqlite::Result<()> {
        let serial = queries::bump_serial(self.tx, zone_id)?;
        self.pending.push(Publish::Rrsets {
            zone_id,
            zone: zone.to_string(),
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
    /// The open group-commit transaction, if any.
    batch: Option<Batch>,
}

/// Writes sharing one transaction, waiting for its COMMIT.
struct Batch {
    done: Arc<BatchDone>,
    pending: Vec<Publish>,
    size: usize,
}

#[derive(Default)]
struct BatchDone {
    /// None while open; then the commit's outcome (SQLite extended code and message on error).
    result: Mutex<Option<Result<(), (i32, String)>>>,
    cv: Condvar,
}

impl BatchDone {
    fn finish(&self, r: Result<(), (i32, String)>) {
        *self.result.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
        self.cv.notify_all();
    }
}

/// Most writes sharing one commit (bounds the wait of the first one).
const MAX_BATCH: usize = 64;

/// Run one control statement (BEGIN, SAVEPOINT, COMMIT, ...) through the statement cache
/// (`queries::exec`): the hot paths run a few per request, and parsing each anew cost more
/// than the statement itself.
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    queries::exec(conn, sql, []).map(drop)
}

/// End savepoint `w`: keep its changes, or undo them.
fn end_savepoint(conn: &Connection, keep: bool) -> rusqlite::Result<()> {
    if !keep {
        control(conn, "ROLLBACK TO w")?;
    }
    control(conn, "RELEASE w")
}

/// SQLite's extended result code of an error (1, SQLITE_ERROR, when it has none).
fn code_of(e: &rusqlite::Error) -> i32 {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => f.extended_code,
        _ => 1,
    }
}

/// An error carrying a group's outcome back to one of its writes.
fn sqlite_error(code: i32, msg: String) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some(msg))
}

/// Read connections: WAL lets them read the last commit while the writer works, so reads
/// (every request's token lookup) neither wait for a write group nor cut it short.
struct ReadPool {
    idle: Mutex<Vec<Connection>>,
    cv: Condvar,
}

/// How many read connections (each a few hundred KiB of page cache at most).
const READERS: usize = 4;

/// A queued write: run inside its savepoint (`None`: the group could not start, with why),
/// it says whether to keep its changes and returns what to do once the COMMIT is settled.
type Job = Box<dyn FnOnce(Result<&mut WriteTx, &rusqlite::Error>) -> (bool, Completion) + Send>;
/// Told the commit's outcome (or the write's own failure to release its savepoint).
type Completion = Box<dyn FnOnce(Result<(), (i32, String)>) + Send>;

/// The writer thread's queue.
#[derive(Default)]
struct JobQueue {
    state: Mutex<Jobs>,
    cv: Condvar,
}

#[derive(Default)]
struct Jobs {
    queue: Vec<Job>,
    /// A writer thread is taking jobs (else `write_async` runs the write itself).
    running: bool,
    stop: bool,
    gather: Gather,
}

/// How many writes the writer thread waits for before it starts a group, and how long.
///
/// With a few busy clients, groups alternate: while one group's fsync runs, only the clients
/// not in it can send, so four clients make groups of two and pay an fsync (and a COMMIT, a
/// BEGIN, a DNS publication) for every two writes. After each group the writer notes how
/// many writes were waiting on the disk at once (the group plus what queued behind it); the
/// next group waits, at most about as long as the last group took, for the queue to reach the
/// largest of the last `GATHER_WINDOW` such counts. The clients just answered come back in
/// that time, the groups merge, and each fsync serves all of them. A lone client never
/// waits (its count is 1), and once a burst is over the first wait that runs out resets the
/// count to what came.
#[derive(Default)]
struct Gather {
    /// Writes in flight together, after each of the last groups (ring).
    seen: [usize; GATHER_WINDOW],
    next: usize,
    /// How long the last group took, from BEGIN to its answers.
    last_group: Duration,
}

const GATHER_WINDOW: usize = 8;
/// The longest a group waits for more writes: a slow disk's fsync does not stretch it.
const GATHER_MAX_WAIT: Duration = Duration::from_millis(1);

impl Gather {
    /// After a group of `size` writes that took `took`, with `queued` writes waiting.
    fn observe(&mut self, size: usize, queued: usize, took: Duration) {
        self.seen[self.next] = size + queued;
        self.next = (self.next + 1) % GATHER_WINDOW;
        self.last_group = took;
    }
    /// A wait ran out with only `got` writes queued: the clients counted before are gone (or
    /// slower than a group), so stop expecting more than came.
    fn missed(&mut self, got: usize) {
        for s in &mut self.seen {
            *s = (*s).min(got);
        }
    }
    /// How many writes the next group waits for (at least 1), and for how long at most.
    fn target(&self) -> (usize, Duration) {
        let want = self
            .seen
            .iter()
            .copied()
            .max()
            .unwrap_or(0)
            .clamp(1, MAX_BATCH);
        (want, self.last_group.min(GATHER_MAX_WAIT))
    }
}

pub struct Store {
    inner: Mutex<Inner>,
    jobs: JobQueue,
    readers: ReadPool,
    /// Writers waiting for the lock: a writer that sees one leaves its batch open for it.
    writers_waiting: AtomicUsize,
    pub dns: Arc<DnsView>,
    apex: ApexConfig,
    /// Store latency: total microseconds and count, for /metrics.
    pub latency: crate::metrics::Histogram,
    /// Group commits that succeeded (one fsync each) and the writes they carried, for
    /// /metrics: their ratio is how well group commit works on this disk and load.
    pub commits: AtomicU64,
    pub committed_writes: AtomicU64,
}

impl Store {
    /// Open the file, load every zone into `dns`.
    pub fn new(path: &Path, dns: Arc<DnsView>, apex: ApexConfig) -> Result<Store, StoreError> {
        let conn = open(path)?;
        let mut idle = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            r.busy_timeout(Duration::from_secs(10))?;
            // Readers look up a token or a few rows each: a small page cache is plenty, and
            // the OS page cache holds the file anyway.
            r.pragma_update(None, "cache_size", -256)?;
            idle.push(r);
        }
        let store = Store {
            readers: ReadPool {
                idle: Mutex::new(idle),
                cv: Condvar::new(),
            },
            inner: Mutex::new(Inner {
                conn,
                data_version: 0,
                served: HashMap::new(),
                flushed: HashMap::new(),
                loaded: false,
                batch: None,
            }),
            jobs: JobQueue::default(),
            writers_waiting: AtomicUsize::new(0),
            dns,
            apex,
            latency: crate::metrics::Histogram::default(),
            commits: AtomicU64::new(0),
            committed_writes: AtomicU64::new(0),
        };
        store.sync_external()?;
        Ok(store)
    }

    /// The lock, with no write transaction open: a pending group is committed first (so a
    /// reader never sees uncommitted data and chores run outside any transaction).
    fn lock(&self) -> MutexGuard<'_, Inner> {
        let mut g = self.lock_raw();
        if g.batch.is_some() {
            self.commit_batch(&mut g);
        }
        g
    }

    fn lock_raw(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => {
                // A panic inside a write: roll its whole group back and fail the group, so
                // nothing half-done is ever committed.
                let mut g = p.into_inner();
                if !g.conn.is_autocommit() {
                    let _ = g.conn.execute_batch("ROLLBACK");
                }
                if let Some(b) = g.batch.take() {
                    b.done
                        .finish(Err((1, "write group aborted by a panic".into())));
                }
                self.inner.clear_poison();
                g
            }
        }
    }

    /// COMMIT the open group, publish its DNS changes in order, wake its members.
    fn commit_batch(&self, inner: &mut Inner) {
        let Some(batch) = inner.batch.take() else {
            return;
        };
        let result = match control(&inner.conn, "COMMIT") {
            Ok(()) => {
                self.commits.fetch_add(1, Ordering::Relaxed);
                self.committed_writes
                    .fetch_add(batch.size as u64, Ordering::Relaxed);
                if let Err(e) = self.publish(inner, batch.pending) {
                    log::error!("publishing committed changes to DNS: {e}");
                }
                Ok(())
            }
            Err(e) => {
                log::error!("commit of {} writes failed: {e}", batch.size);
                let _ = inner.conn.execute_batch("ROLLBACK");
                Err((code_of(&e), e.to_string()))
            }
        };
        batch.done.finish(result);
    }

    fn publish(&self, inner: &mut Inner, pending: Vec<Publish>) -> rusqlite::Result<()> {
        let mut pending = pending.into_iter().peekable();
        while let Some(p) = pending.next() {
            match p {
                Publish::Rrsets {
                    zone_id,
                    zone,
                    mut serial,
                    mut changes,
                } => {
                    // A group's consecutive changes to one zone become one new snapshot (in
                    // order, with the last serial): readers see them together, as committed.
                    while let Some(Publish::Rrsets {
                        serial: s,
                        changes: c,
                        ..
                    }) = pending.next_if(
                        |n| matches!(n, Publish::Rrsets { zone_id: z, .. } if *z == zone_id),
                    ) {
                        serial = s;
                        changes.extend(c);
                    }
                    inner.served.insert(zone_id, (zone.clone(), serial));
                    self.dns.apply(&zone, serial, changes);
                }
                Publish::Reload(id) => {
                    if let Some(loaded) =
                        queries::load_zone_into(&inner.conn, id, &self.apex, &self.dns)?
                    {
                        inner.served.insert(id, loaded);
                    }
                }
                Publish::Remove(name) => {
                    inner.served.retain(|_, (n, _)| *n != name);
                    self.dns.remove_zone(&name);
                }
            }
        }
        Ok(())
    }

    /// Run read-only work in a transaction on a read connection: a consistent snapshot of the
    /// last commit (never of a write group still in flight).
    pub fn read<T, E: From<rusqlite::Error>>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        let start = Instant::now();
        let conn = {
            let mut idle = self.readers.idle.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(c) = idle.pop() {
                    break c;
                }
                idle = self
                    .readers
                    .cv
                    .wait(idle)
                    .unwrap_or_else(|p| p.into_inner());
            }
        };
        let out = match control(&conn, "BEGIN") {
            Ok(()) => f(&conn),
            Err(e) => Err(e.into()),
        };
        // Read-only: nothing to commit. A failed ROLLBACK must not leave the connection
        // inside a transaction (its next BEGIN would fail).
        if !conn.is_autocommit() && control(&conn, "ROLLBACK").is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        self.readers
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
        self.readers.cv.notify_one();
        self.latency.observe(start.elapsed());
        out
    }

    /// Run `f` as one atomic write: it commits only if `f` returns Ok (else its savepoint is
    /// rolled back), and this returns only after the COMMIT holding it has completed and its
    /// DNS changes are published.
    pub fn write<T, E: From<rusqlite::Error>>(
        &self,
        f: impl FnOnce(&mut WriteTx) -> Result<T, E>,
    ) -> Result<T, E> {
        let start = Instant::now();
        self.writers_waiting.fetch_add(1, Ordering::SeqCst);
        let mut g = self.lock_raw();
        self.writers_waiting.fetch_sub(1, Ordering::SeqCst);
        let inner = &mut *g;
        if inner.batch.is_none() {
            control(&inner.conn, "BEGIN IMMEDIATE")?;
            inner.batch = Some(Batch {
                done: Arc::new(BatchDone::default()),
                pending: Vec::new(),
                size: 0,
            });
        }
        if let Err(e) = control(&inner.conn, "SAVEPOINT w") {
            // The group cannot go on; commit what it holds and fail this write.
            self.commit_batch(inner);
            return Err(e.into());
        }
        let mut w = WriteTx {
            tx: &inner.conn,
            pending: Vec::new(),
        };
        let out = f(&mut w);
        let pending = w.pending;
        let step = end_savepoint(&inner.conn, out.is_ok());
        let Some(batch) = inner.batch.as_mut() else {
            unreachable!("a batch is open while its member holds the lock");
        };
        batch.size += 1;
        if out.is_ok() && step.is_ok() {
            batch.pending.extend(pending);
        }
        let done = batch.done.clone();
        let full = batch.size >= MAX_BATCH;
        if let Err(e) = step {
            self.commit_batch(inner);
            return Err(e.into());
        }
        if full || self.writers_waiting.load(Ordering::SeqCst) == 0 {
            self.commit_batch(inner);
            drop(g);
        } else {
            drop(g);
            // Nothing of ours to wait for on failure; the writer behind us carries the
            // group on.
            let out = out?;
            self.wait_for(&done);
            return self.finish_write(start, Ok(out), &done);
        }
        self.finish_write(start, out, &done)
    }

    /// `write` for request tasks: the same atomic, durable write, run by the writer thread
    /// (`run_writer`) in a group with whatever else is queued. Resolves after the COMMIT
    /// holding it and the publication of its DNS changes. Without a writer thread (tests,
    /// one-shot tools) it runs `write` in place. A panic inside `f` rolls back its savepoint
    /// and fails this write only.
    pub async fn write_async<T, E>(
        &self,
        f: impl FnOnce(&mut WriteTx) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<rusqlite::Error> + Send + 'static,
    {
        let start = Instant::now();
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |w| {
            let out = match w {
                Ok(w) => f(w),
                Err(e) => Err(sqlite_error(code_of(e), e.to_string()).into()),
            };
            let keep = out.is_ok();
            let done: Completion = Box::new(move |commit| {
                let r = match (out, commit) {
                    (Err(e), _) => Err(e),
                    (Ok(v), Ok(())) => Ok(v),
                    (Ok(_), Err((code, msg))) => Err(sqlite_error(code, msg).into()),
                };
                let _ = tx.send(r);
            });
            (keep, done)
        });
        let mut job = Some(job);
        {
            let mut jobs = self.jobs.state.lock().unwrap_or_else(|p| p.into_inner());
            if jobs.running {
                jobs.queue.extend(job.take());
            }
        }
        match job {
            // No writer thread: run the group here.
            Some(job) => {
                self.run_group(vec![job]);
            }
            None => self.jobs.cv.notify_one(),
        }
        let r = match rx.await {
            Ok(r) => r,
            // The job was dropped unanswered: it panicked (its savepoint was rolled back).
            Err(_) => Err(sqlite_error(1, "write aborted by a panic".into()).into()),
        };
        self.latency.observe(start.elapsed());
        r
    }

    /// The writer thread's loop: until `stop_writer`, take up to `MAX_BATCH` queued writes,
    /// run them as one group (one COMMIT, one fsync), publish, answer them. Jobs still
    /// queued at the stop are run before it returns.
    pub fn run_writer(&self) {
        {
            let mut jobs = self.jobs.state.lock().unwrap_or_else(|p| p.into_inner());
            jobs.running = true;
            jobs.stop = false;
        }
        loop {
            let batch: Vec<Job> = {
                let mut jobs = self.jobs.state.lock().unwrap_or_else(|p| p.into_inner());
                while jobs.queue.is_empty() && !jobs.stop {
                    jobs = self.jobs.cv.wait(jobs).unwrap_or_else(|p| p.into_inner());
                }
                if jobs.queue.is_empty() {
                    jobs.running = false;
                    return;
                }
                let (want, wait) = jobs.gather.target();
                let deadline = Instant::now() + wait;
                while jobs.queue.len() < want && !jobs.stop {
                    let now = Instant::now();
                    if now >= deadline {
                        let got = jobs.queue.len();
                        jobs.gather.missed(got);
                        break;
                    }
                    jobs = self
                        .jobs
                        .cv
                        .wait_timeout(jobs, deadline - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
                let n = jobs.queue.len().min(MAX_BATCH);
                jobs.queue.drain(..n).collect()
            };
            let size = batch.len();
            let start = Instant::now();
            let queued = self.run_group(batch);
            let took = start.elapsed();
            self.jobs
                .state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .gather
                .observe(size, queued, took);
        }
    }

    /// Ask the writer thread to finish what is queued and return.
    pub fn stop_writer(&self) {
        self.jobs
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .stop = true;
        self.jobs.cv.notify_all();
    }

    /// Returns how many writes were queued when the group had committed.
    fn run_group(&self, batch: Vec<Job>) -> usize {
        let mut g = self.lock();
        let inner = &mut *g;
        let mut done: Vec<(Completion, Option<(i32, String)>)> = Vec::with_capacity(batch.len());
        if let Err(e) = control(&inner.conn, "BEGIN IMMEDIATE") {
            drop(g);
            for job in batch {
                let (_, d) = job(Err(&e));
                d(Ok(()));
            }
            return 0;
        }
        let mut pending = Vec::new();
        let size = batch.len();
        for job in batch {
            if let Err(e) = control(&inner.conn, "SAVEPOINT w") {
                let (_, d) = job(Err(&e));
                done.push((d, None));
                continue;
            }
            let mut w = WriteTx {
                tx: &inner.conn,
                pending: Vec::new(),
            };
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(Ok(&mut w))));
            let publish = w.pending;
            let (keep, d) = match ran {
                Ok((keep, d)) => (keep, Some(d)),
                Err(_) => {
                    // The job (and its answer channel) is gone: its request sees an error.
                    log::error!("a write panicked; its changes were rolled back");
                    (false, None)
                }
            };
            let ended = end_savepoint(&inner.conn, keep);
            match ended {
                Ok(()) if keep => pending.extend(publish),
                Ok(()) => {}
                Err(_) => {
                    let _ = end_savepoint(&inner.conn, false);
                }
            }
            if let Some(d) = d {
                // A write that failed by itself answers with its own error whatever this says.
                done.push((d, ended.err().map(|e| (code_of(&e), e.to_string()))));
            }
        }
        let group = Arc::new(BatchDone::default());
        inner.batch = Some(Batch {
            done: group.clone(),
            pending,
            size,
        });
        self.commit_batch(inner);
        drop(g);
        let commit = group
            .result
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_else(|| Err((1, "write group never committed".into())));
        // Writes that queued while this group ran (sampled before its answers go out, so a
        // client answered now and quick to send again is not counted twice).
        let queued = self
            .jobs
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .queue
            .len();
        for (d, own) in done {
            d(match own {
                Some(e) => Err(e),
                None => commit.clone(),
            });
        }
        queued
    }

    /// The answer of a write once its group is settled: its own error, or the commit's.
    fn finish_write<T, E: From<rusqlite::Error>>(
        &self,
        start: Instant,
        out: Result<T, E>,
        done: &BatchDone,
    ) -> Result<T, E> {
        self.latency.observe(start.elapsed());
        let out = out?;
        let r = done
            .result
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match r {
            Some(Ok(())) => Ok(out),
            Some(Err((code, msg))) => Err(sqlite_error(code, msg).into()),
            None => Err(sqlite_error(1, "write group never committed".into()).into()),
        }
    }

    /// Wait for a group's COMMIT. A writer behind us normally commits it; if the group is
    /// still open after a while (that writer failed early), commit it ourselves.
    fn wait_for(&self, done: &Arc<BatchDone>) {
        let mut r = done.result.lock().unwrap_or_else(|p| p.into_inner());
        while r.is_none() {
            let (g, t) = done
                .cv
                .wait_timeout(r, Duration::from_millis(20))
                .unwrap_or_else(|p| p.into_inner());
            r = g;
            if r.is_none() && t.timed_out() {
                drop(r);
                let mut inner = self.lock_raw();
                if inner
                    .batch
                    .as_ref()
                    .is_some_and(|b| Arc::ptr_eq(&b.done, done))
                {
                    self.commit_batch(&mut inner);
                }
                drop(inner);
                r = done.result.lock().unwrap_or_else(|p| p.into_inner());
            }
        }
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
                if let Some(loaded) =
                    queries::load_zone_into(&inner.conn, id, &self.apex, &self.dns)?
                {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_waits_for_the_writers_seen_together_and_forgets_them_on_a_miss() {
        let ms = Duration::from_millis;
        let mut g = Gather::default();
        // Nothing seen yet: a group starts with whatever is queued.
        assert_eq!(g.target(), (1, Duration::ZERO));
        // A lone client: groups of one, nothing queued behind them.
        g.observe(1, 0, Duration::from_micros(150));
        assert_eq!(g.target(), (1, Duration::from_micros(150)));
        // Four clients in two alternating groups of two: wait for all four.
        g.observe(2, 2, Duration::from_micros(300));
        g.observe(2, 2, Duration::from_micros(250));
        assert_eq!(g.target(), (4, Duration::from_micros(250)));
        // The largest count of the last GATHER_WINDOW groups holds...
        for _ in 0..GATHER_WINDOW - 1 {
            g.observe(1, 0, Duration::from_micros(200));
        }
        assert_eq!(g.target().0, 4);
        // ...and falls back once it leaves the window.
        g.observe(1, 0, Duration::from_micros(200));
        assert_eq!(g.target().0, 1);
        // A slow disk does not stretch the wait past GATHER_MAX_WAIT; at most MAX_BATCH.
        g.observe(MAX_BATCH, 500, ms(40));
        assert_eq!(g.target(), (MAX_BATCH, GATHER_MAX_WAIT));
        // A wait that ran out with three queued: expect three from now on.
        g.missed(3);
        assert_eq!(g.target().0, 3);
        g.missed(0);
        assert_eq!(g.target().0, 1);
    }

    fn store_at(dir: &Path) -> Arc<Store> {
        let apex = crate::dns::tests::apex_config();
        let view = Arc::new(DnsView::new(apex.clone()));
        let store = Store::new(&dir.join("t.db"), view, apex).unwrap();
        store
            .write(|w| w.tx.execute_batch("CREATE TABLE t (x INTEGER UNIQUE)"))
            .unwrap();
        Arc::new(store)
    }

    fn rows(store: &Store) -> Vec<i64> {
        store
            .read(|tx| {
                let mut st = tx.prepare("SELECT x FROM t ORDER BY x")?;
                let r = st.query_map([], |r| r.get(0))?.collect();
                r
            })
            .unwrap()
    }

    /// Through the writer thread: every write is answered after its group committed; a
    /// failing write (constraint) and a panicking one fail alone, the rest of their groups
    /// commit; the thread stops after draining.
    #[test]
    fn writer_thread_groups_isolate_failures() {
        let dir = std::env::temp_dir().join(format!("lucent-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = store_at(&dir);
        let writer = {
            let s = store.clone();
            std::thread::spawn(move || s.run_writer())
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let results: Vec<Result<i64, rusqlite::Error>> = rt.block_on(async {
            let tasks: Vec<_> = (0..200i64)
                .map(|i| {
                    let s = store.clone();
                    tokio::spawn(async move {
                        s.write_async(move |w| {
                            // 107 and 113 write 7 and 13 again: unique violations.
                            let x = if i == 107 || i == 113 { i - 100 } else { i };
                            if i == 150 {
                                panic!("a write that panics");
                            }
                            w.tx.execute("INSERT INTO t (x) VALUES (?1)", [x])?;
                            Ok::<_, rusqlite::Error>(x)
                        })
                        .await
                    })
                })
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        });
        // 7/107 and 13/113 race for one key each: exactly one of each pair fails.
        let failed: Vec<usize> = (0..200).filter(|&i| results[i].is_err()).collect();
        assert_eq!(failed.len(), 3, "{failed:?}");
        assert!(failed.contains(&150));
        assert!(failed.contains(&7) != failed.contains(&107), "{failed:?}");
        assert!(failed.contains(&13) != failed.contains(&113), "{failed:?}");
        // What the successful writes returned is exactly what is stored.
        let mut want: Vec<i64> = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .copied()
            .collect();
        want.sort();
        assert_eq!(want.len(), 197);
        assert_eq!(rows(&store), want);
        store.stop_writer();
        writer.join().unwrap();
        // Without the thread, write_async runs the write in place.
        let r = rt.block_on(store.write_async(|w| {
            w.tx.execute("INSERT INTO t (x) VALUES (500)", [])?;
            Ok::<_, rusqlite::Error>(())
        }));
        assert!(r.is_ok());
        assert!(rows(&store).contains(&500));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
