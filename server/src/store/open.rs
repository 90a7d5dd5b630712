//! Opening the file: pragmas (WAL, synchronous=FULL, foreign keys), migrations, and the pool
//! of read-only connections (WAL readers see the last commit and never wait for the writer).

use std::path::Path;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{schema, StoreError};

/// Open (creating if needed) and migrate the database file.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    open_with(path, true)
}

/// Open an existing database file and migrate it; refuses to create one (admin commands that
/// only read or change data must not leave an empty file at a mistyped path).
pub fn open_existing(path: &Path) -> Result<Connection, StoreError> {
    open_with(path, false)
}

fn open_with(path: &Path, create: bool) -> Result<Connection, StoreError> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let mut conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a committed transaction survives power loss, not only a process crash.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // 1 MiB of page cache (SQLite's default is 2 MiB): the OS caches the file as well, and a
    // router or small VPS counts every MiB.
    conn.pragma_update(None, "cache_size", -1024)?;
    schema::migrate(&mut conn)?;
    Ok(conn)
}

/// How many read connections (each a few hundred KiB of page cache at most).
const READERS: usize = 4;

/// Read connections: WAL lets them read the last commit while the writer works, so reads
/// (every request's token lookup) neither wait for a write group nor cut it short.
pub(super) struct ReadPool {
    idle: Mutex<Vec<Connection>>,
    cv: Condvar,
}

impl ReadPool {
    pub fn open(path: &Path) -> Result<ReadPool, StoreError> {
        Self::open_small(path, READERS)
    }

    /// A pool of `n` connections.
    pub fn open_small(path: &Path, n: usize) -> Result<ReadPool, StoreError> {
        let mut idle = Vec::with_capacity(n);
        for _ in 0..n {
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
        Ok(ReadPool {
            idle: Mutex::new(idle),
            cv: Condvar::new(),
        })
    }

    /// An idle connection (waiting for one when all are busy).
    pub fn take(&self) -> Connection {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(c) = idle.pop() {
                return c;
            }
            idle = self.cv.wait(idle).unwrap_or_else(|p| p.into_inner());
        }
    }

    pub fn put(&self, c: Connection) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(c);
        self.cv.notify_one();
    }
}
