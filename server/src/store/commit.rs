//! The one commit engine: group commit through a writer thread. Every write, whether a request
//! task awaits it (`write_async`) or a blocking caller waits for it (`write`), is a job in one
//! queue. The writer thread (`run_writer`) takes whatever is queued, runs each job inside a
//! SAVEPOINT of one IMMEDIATE transaction (a failing or panicking write rolls back only its own
//! savepoint), commits once — one fsync for the whole group — publishes the group's DNS changes
//! in order, and only then answers each job. Nobody is answered before the COMMIT holding their
//! change has returned, so every 2xx is durable and the next DNS query after it sees it. The
//! group's new snapshots are built and signed while the COMMIT runs (`publish::Stager`) and
//! served once it has returned. When
//! more writes were in flight together lately, the thread first waits briefly for them
//! (`Gather`). Without a writer thread (unit tests, one-shot tools) a write runs as a group of
//! one on the caller's thread.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::publish::{Publish, Stager};
use super::queries;
use super::Store;
use crate::model::{Hostname, RrsetChange, Zone};

/// A write (inside its savepoint) plus the DNS changes to publish once it commits.
/// Stored DNSSEC signatures written per group at most (the rest wait for later groups or the
/// chores' flush).
const SIGS_PER_GROUP: usize = 2_000;

pub struct WriteTx<'a> {
    pub tx: &'a Connection,
    pending: Vec<Publish>,
}

impl<'a> WriteTx<'a> {
    /// A write inside a transaction of another process (the admin commands): what it queues
    /// for DNS is dropped, since the running server picks the change up from the file
    /// (`Store::sync_external`).
    pub fn detached(tx: &'a Connection) -> WriteTx<'a> {
        WriteTx {
            tx,
            pending: Vec::new(),
        }
    }

    /// Bump the zone's SOA serial and queue the new state of the given RRsets.
    pub fn publish(&mut self, zone: &Zone, changes: Vec<RrsetChange>) -> rusqlite::Result<()> {
        self.publish_in(zone.id, &zone.name, changes)
    }

    /// `publish` for a hostname's RRsets, in the zone its row names (the hot update path
    /// needs no zone lookup).
    pub fn publish_host(&mut self, h: &Hostname) -> rusqlite::Result<()> {
        self.publish_in(h.zone_id, &h.zone, h.rrsets())
    }

    /// Take a deleted hostname's RRsets out of DNS.
    pub fn unpublish_host(&mut self, h: &Hostname) -> rusqlite::Result<()> {
        self.publish_in(h.zone_id, &h.zone, h.rrsets_removed())
    }

    fn publish_in(
        &mut self,
        zone_id: i64,
        zone: &str,
        changes: Vec<RrsetChange>,
    ) -> rusqlite::Result<()> {
        let serial = queries::zones::bump_serial(self.tx, zone_id)?;
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

/// Run one control statement (BEGIN, SAVEPOINT, COMMIT, ...) through the statement cache:
/// the hot paths run a few per request, and parsing each anew cost more than the statement.
pub(super) fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
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

/// A group's COMMIT outcome (SQLite extended code and message on error), shared by its jobs.
type Outcome = Result<(), (i32, String)>;

/// A queued write: run inside its savepoint (`Err`: the group could not start, with why), it
/// says whether to keep its changes and returns what to do once the COMMIT is settled.
type Job = Box<dyn FnOnce(Result<&mut WriteTx, &rusqlite::Error>) -> (bool, Completion) + Send>;
/// Told the commit's outcome (or the write's own failure to release its savepoint).
type Completion = Box<dyn FnOnce(Outcome) + Send>;

/// Most writes sharing one commit (bounds the wait of the first one).
const MAX_BATCH: usize = 64;

/// The writer thread's queue.
#[derive(Default)]
pub(super) struct JobQueue {
    state: Mutex<Jobs>,
    cv: Condvar,
}

#[derive(Default)]
struct Jobs {
    queue: Vec<Job>,
    /// Bulk writes (a zone's whole record set): one per group of their own, taken between the
    /// groups of ordinary writes, so one user's large writes delay another's update by at most
    /// one bulk write, never by a queue of them.
    bulk: std::collections::VecDeque<Job>,
    /// A writer thread is taking jobs (else a write runs itself).
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

/// Wrap a write and the way its result reaches the caller into a job.
fn job<T, E, F>(f: F, answer: impl FnOnce(Result<T, E>) + Send + 'static) -> Job
where
    F: FnOnce(&mut WriteTx) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<rusqlite::Error> + Send + 'static,
{
    Box::new(move |w| {
        let out = match w {
            Ok(w) => f(w),
            Err(e) => Err(sqlite_error(code_of(e), e.to_string()).into()),
        };
        let keep = out.is_ok();
        let done: Completion = Box::new(move |commit| {
            answer(match (out, commit) {
                (Err(e), _) => Err(e),
                (Ok(v), Ok(())) => Ok(v),
                (Ok(_), Err((code, msg))) => Err(sqlite_error(code, msg).into()),
            })
        });
        (keep, done)
    })
}

/// The answer of a job dropped unanswered: it panicked (its savepoint was rolled back).
fn aborted<E: From<rusqlite::Error>>() -> E {
    sqlite_error(1, "write aborted by a panic".into()).into()
}

impl Store {
    /// Run `f` as one atomic, durable write and wait for it: it commits only if `f` returns
    /// Ok (else its savepoint is rolled back), and this returns only after the COMMIT holding
    /// it has completed and its DNS changes are published. For blocking callers; request
    /// tasks use `write_async`.
    pub fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut WriteTx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<rusqlite::Error> + Send + 'static,
    {
        self.write_waiting(f, false)
    }

    /// `write` for a bulk change (many records at once): it runs in a group of its own, and
    /// ordinary writes queued meanwhile go first (see `Jobs::bulk`).
    pub fn write_bulk<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut WriteTx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<rusqlite::Error> + Send + 'static,
    {
        self.write_waiting(f, true)
    }

    fn write_waiting<T, E, F>(&self, f: F, bulk: bool) -> Result<T, E>
    where
        F: FnOnce(&mut WriteTx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<rusqlite::Error> + Send + 'static,
    {
        let start = Instant::now();
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<T, E>>(1);
        self.submit_to(
            job(f, move |r| {
                let _ = tx.send(r);
            }),
            bulk,
        );
        let r = rx.recv().unwrap_or_else(|_| Err(aborted()));
        self.latency.observe(start.elapsed());
        r
    }

    /// `write` for request tasks: the same write, awaited without blocking a runtime thread.
    /// A panic inside `f` rolls back its savepoint and fails this write only.
    pub async fn write_async<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut WriteTx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<rusqlite::Error> + Send + 'static,
    {
        let start = Instant::now();
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<T, E>>();
        self.submit_to(
            job(f, move |r| {
                let _ = tx.send(r);
            }),
            false,
        );
        let r = rx.await.unwrap_or_else(|_| Err(aborted()));
        self.latency.observe(start.elapsed());
        r
    }

    /// Queue a write nobody waits for (bookkeeping such as a token's last use): it joins the
    /// writer thread's next group; a failure is logged.
    pub fn write_detached<F>(&self, f: F)
    where
        F: FnOnce(&mut WriteTx) -> Result<(), rusqlite::Error> + Send + 'static,
    {
        self.submit_to(
            job(f, |r: Result<(), rusqlite::Error>| {
                if let Err(e) = r {
                    log::warn!("background write failed: {e}");
                }
            }),
            false,
        );
    }

    /// Queue a job for the writer thread (its ordinary or its bulk lane), or run it here as a
    /// group of one without one.
    fn submit_to(&self, job: Job, bulk: bool) {
        let mut job = Some(job);
        {
            let mut jobs = self.jobs.state.lock().unwrap_or_else(|p| p.into_inner());
            if jobs.running {
                match bulk {
                    false => jobs.queue.extend(job.take()),
                    true => jobs.bulk.extend(job.take()),
                }
            }
        }
        match job {
            Some(job) => {
                self.run_group(vec![job], None);
            }
            None => self.jobs.cv.notify_one(),
        }
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
        let stager = match Stager::start(self.dns.clone()) {
            Ok(s) => Some(s),
            Err(e) => {
                log::warn!("no staging thread ({e}): DNS changes are signed after each COMMIT");
                None
            }
        };
        let stager = stager.as_ref();
        let mut bulk_next = false;
        loop {
            let batch: Vec<Job> = {
                let mut jobs = self.jobs.state.lock().unwrap_or_else(|p| p.into_inner());
                while jobs.queue.is_empty() && jobs.bulk.is_empty() && !jobs.stop {
                    jobs = self.jobs.cv.wait(jobs).unwrap_or_else(|p| p.into_inner());
                }
                if jobs.queue.is_empty() && jobs.bulk.is_empty() {
                    jobs.running = false;
                    return;
                }
                // Ordinary writes and bulk ones take turns; a bulk write runs alone.
                if (bulk_next || jobs.queue.is_empty()) && !jobs.bulk.is_empty() {
                    bulk_next = false;
                    let one = jobs.bulk.pop_front().into_iter().collect();
                    drop(jobs);
                    self.run_group(one, stager);
                    continue;
                }
                bulk_next = true;
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
            let queued = self.run_group(batch, stager);
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

    /// Run `batch` as one transaction: a savepoint per job, one COMMIT, then publish and
    /// answer. With a `stager`, a group of RRset changes is staged while its COMMIT runs.
    /// Returns how many writes were queued when the group had committed.
    fn run_group(&self, batch: Vec<Job>, stager: Option<&Stager>) -> usize {
        let mut g = self.lock();
        let inner = &mut *g;
        if let Err(e) = control(&inner.conn, "BEGIN IMMEDIATE") {
            drop(g);
            for job in batch {
                let (_, d) = job(Err(&e));
                d(Ok(()));
            }
            return 0;
        }
        // Signatures the previous groups made go into this transaction (a few per write).
        let sigs = self.dns.take_some_signature_changes(SIGS_PER_GROUP);
        if !sigs.is_empty() {
            if let Err(e) = super::sync::write_signatures(&inner.conn, &sigs) {
                log::warn!(
                    "keeping DNSSEC signatures: {e} (they are made again at the next start)"
                );
            }
        }
        let mut done: Vec<(Completion, Option<(i32, String)>)> = Vec::with_capacity(batch.len());
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
                    // The job (and its answer channel) is gone: its caller sees an error.
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
        // The journal entry for each zone's changes goes into the same transaction (IXFR).
        if self.dns.journaling() && !pending.is_empty() {
            if let Err(e) =
                super::journal::record(&inner.conn, inner.data_version, &self.dns, &pending)
            {
                log::warn!("journaling changes: {e} (secondaries get a full transfer)");
            }
        }
        // Build and sign the new snapshots while COMMIT waits for the disk. Staged after the
        // journal entry above, which reads what DNS serves now; served only after COMMIT.
        let staging = match stager {
            Some(st) if Stager::worth(&self.dns, &pending) => {
                match st.stage(std::mem::take(&mut pending)) {
                    Ok(staging) => Some(staging),
                    Err(back) => {
                        pending = back;
                        None
                    }
                }
            }
            _ => None,
        };
        let commit: Outcome = match control(&inner.conn, "COMMIT") {
            Ok(()) => {
                self.count_commit(size);
                let published = match staging {
                    Some(staging) => self.install(inner, staging),
                    None => self.publish(inner, pending),
                };
                if let Err(e) = published {
                    log::error!("publishing committed changes to DNS: {e}");
                }
                Ok(())
            }
            Err(e) => {
                // What was staged is dropped unserved (the staging thread's reply goes nowhere);
                // the next group is staged after it, from the same snapshot.
                drop(staging);
                log::error!("commit of {size} writes failed: {e}");
                let _ = inner.conn.execute_batch("ROLLBACK");
                Err((code_of(&e), e.to_string()))
            }
        };
        drop(g);
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

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

    fn store_at(dir: &std::path::Path) -> Arc<Store> {
        let apex = crate::dns::tests::apex_config();
        let view = Arc::new(crate::dns::DnsView::new(apex.clone()));
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
    /// commit; blocking and async writes share the groups; the thread stops after draining.
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
        let insert = |i: i64| {
            move |w: &mut WriteTx| {
                // 107 and 113 write 7 and 13 again: unique violations.
                let x = if i == 107 || i == 113 { i - 100 } else { i };
                if i == 150 {
                    panic!("a write that panics");
                }
                w.tx.execute("INSERT INTO t (x) VALUES (?1)", [x])?;
                Ok::<_, rusqlite::Error>(x)
            }
        };
        let results: Vec<Result<i64, rusqlite::Error>> = rt.block_on(async {
            let tasks: Vec<_> = (0..200i64)
                .map(|i| {
                    let s = store.clone();
                    if i % 2 == 0 {
                        tokio::spawn(async move { s.write_async(insert(i)).await })
                    } else {
                        tokio::task::spawn_blocking(move || s.write(insert(i)))
                    }
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
        // A bulk write goes through the same thread, in a group of its own.
        let s = store.clone();
        let bulk = std::thread::spawn(move || {
            s.write_bulk(|w| {
                for x in 1000..1100 {
                    w.tx.execute("INSERT INTO t (x) VALUES (?1)", [x])?;
                }
                Ok::<_, rusqlite::Error>(())
            })
        });
        let light = rt.block_on(store.write_async(insert(2000)));
        assert_eq!(light.unwrap(), 2000);
        bulk.join().unwrap().unwrap();
        assert_eq!(rows(&store).len(), 197 + 100 + 1);
        store.stop_writer();
        writer.join().unwrap();
        // Without the thread, a write runs in place.
        let r = rt.block_on(store.write_async(|w| {
            w.tx.execute("INSERT INTO t (x) VALUES (500)", [])?;
            Ok::<_, rusqlite::Error>(())
        }));
        assert!(r.is_ok());
        assert!(rows(&store).contains(&500));
        assert!(store
            .write_bulk(|w| w.tx.execute("INSERT INTO t (x) VALUES (501)", []))
            .is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// With zone transfers configured, each group's journal entry is made before its COMMIT
    /// from what DNS serves (`journal::record`), which must then stand at the previous group's
    /// serial. Groups are staged (built and signed) while their COMMIT runs and served after
    /// it: the entries still chain serial to serial, and each write is served, signed, by the
    /// time it is answered.
    #[test]
    fn staged_groups_journal_in_order_and_are_served_signed_when_answered() {
        use crate::dns::tsig::TsigKey;
        use crate::dns::xfr::XfrConfig;
        use crate::model::{RType, RecordData, RrsetChange, ZoneKind};
        use hickory_proto::rr::{Name, RData, RecordType};

        let dir = std::env::temp_dir().join(format!("lucent-stage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let apex = crate::dns::tests::apex_config();
        let key = TsigKey::from_base64(
            "xfr",
            "hmac-sha256",
            "KHWCBWOQ9WFgvjHBT0r5O7r+ExUSDWXHRAeb1SH2ehA=",
        )
        .unwrap();
        let view = Arc::new(crate::dns::DnsView::new(apex.clone()).with_xfr(XfrConfig {
            keys: vec![Arc::new(key)],
            secondaries: Vec::new(),
        }));
        assert!(view.journaling());
        let store = Arc::new(Store::new(&dir.join("t.db"), view.clone(), apex.clone()).unwrap());
        let a = apex.clone();
        store
            .write(move |w| crate::domain::zones::create(w, &a, "sig.test", ZoneKind::Shared, None))
            .unwrap();
        let zone = store
            .read(|tx| queries::zones::zone_by_name(tx, "sig.test"))
            .unwrap()
            .unwrap();
        let writer = {
            let s = store.clone();
            std::thread::spawn(move || s.run_writer())
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let served: Vec<bool> = rt.block_on(async {
            let tasks: Vec<_> = (0..120u32)
                .map(|i| {
                    let (s, v, zone) = (store.clone(), view.clone(), zone.clone());
                    tokio::spawn(async move {
                        let name = format!("h{i}.sig.test");
                        let ip = format!("10.0.{}.{}", i / 256, i % 256);
                        let change = RrsetChange {
                            name: name.clone(),
                            rtype: RType::A,
                            records: vec![RecordData {
                                ttl: 60,
                                content: ip.clone(),
                            }],
                        };
                        s.write_async(move |w| w.publish(&zone, vec![change]))
                            .await
                            .unwrap();
                        // Answered: the change is served, with its RRSIG (DO=1).
                        let q = Name::from_ascii(format!("{name}.")).unwrap();
                        let a = v.resolve_with(&q, RecordType::A, true);
                        let has_a = a
                            .answers
                            .iter()
                            .any(|r| matches!(&r.data, RData::A(x) if x.0.to_string() == ip));
                        let has_sig = a.answers.iter().any(|r| u16::from(r.record_type()) == 46);
                        has_a && has_sig
                    })
                })
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        });
        store.stop_writer();
        writer.join().unwrap();
        assert!(served.iter().all(|x| *x), "{served:?}");
        // The journal: one entry per group, each from the serial the one before ended at,
        // the last at the zone's serial as stored and as served.
        let (rows, serial): (Vec<(i64, i64)>, i64) = store
            .read(|tx| {
                let mut st = tx.prepare(
                    "SELECT serial_from, serial_to FROM journal WHERE zone_id = ?1 ORDER BY seq",
                )?;
                let rows = st
                    .query_map([zone.id], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                let serial =
                    tx.query_row("SELECT serial FROM zones WHERE id = ?1", [zone.id], |r| {
                        r.get(0)
                    })?;
                Ok::<_, rusqlite::Error>((rows, serial))
            })
            .unwrap();
        assert!(!rows.is_empty());
        for w in rows.windows(2) {
            assert_eq!(w[0].1, w[1].0, "{rows:?}");
        }
        let total: i64 = rows.iter().map(|(f, t)| t - f).sum();
        assert_eq!(total, 120, "every write journaled once: {rows:?}");
        assert_eq!(rows.last().unwrap().1, serial);
        let soa = view.resolve_with(
            &Name::from_ascii("sig.test.").unwrap(),
            RecordType::SOA,
            false,
        );
        assert!(matches!(&soa.answers[0].data, RData::SOA(s) if i64::from(s.serial) == serial));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
