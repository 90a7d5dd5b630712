//! The change journal (schema step 12): written by the commit engine in each group's own
//! transaction when zone transfers are configured, read back for IXFR through a reader of its
//! own (`JournalReader`, handed to the DNS side), pruned by the chores.

use std::path::Path;

use rusqlite::Connection;

use super::publish::Publish;
use super::queries::journal;
use super::{open::ReadPool, Store, StoreError};
use crate::dns::xfr::JournalSource;
use crate::dns::DnsView;
use crate::model::RrsetChange;

/// Entries older than this are dropped (a secondary that far behind gets a full transfer).
pub const MAX_AGE_SECS: u64 = 7 * 86_400;
/// At most this many entries are kept per zone.
pub const MAX_ENTRIES: usize = 50_000;

/// Journal the group about to commit: per zone, its changes in one entry from the serial DNS
/// serves now to the group's last one. Nothing when another process committed since the view
/// last loaded its changes (`synced`: the `PRAGMA data_version` then), as an entry from the
/// view's serial would leave that change out; nothing for a zone reloaded in the group. IXFR
/// across such a point becomes a full transfer.
pub(super) fn record(
    c: &Connection,
    synced: i64,
    dns: &DnsView,
    pending: &[Publish],
) -> rusqlite::Result<()> {
    let dv: i64 = c.query_row("PRAGMA data_version", [], |r| r.get(0))?;
    if dv != synced {
        return Ok(());
    }
    let mut order: Vec<i64> = Vec::new();
    let mut zones: std::collections::HashMap<i64, (String, u32, u32, Vec<&RrsetChange>, bool)> =
        std::collections::HashMap::new();
    for p in pending {
        match p {
            Publish::Rrsets {
                zone_id,
                zone,
                serial,
                changes,
            } => {
                let e = zones.entry(*zone_id).or_insert_with(|| {
                    order.push(*zone_id);
                    (zone.clone(), *serial, *serial, Vec::new(), true)
                });
                e.2 = *serial;
                e.3.extend(changes.iter());
            }
            Publish::Reload(id) => {
                if let Some(e) = zones.get_mut(id) {
                    e.4 = false;
                } else {
                    order.push(*id);
                    zones.insert(*id, (String::new(), 0, 0, Vec::new(), false));
                }
            }
            Publish::Remove(_) => {}
        }
    }
    let now = crate::clock::unix_now();
    for id in order {
        let Some((name, _first, last, changes, ok)) = zones.remove(&id) else {
            continue;
        };
        if !ok || changes.is_empty() {
            continue;
        }
        if let Some((before, blob)) = dns.journal_entry(&name, &changes) {
            journal::insert(c, id, before, last, now, &blob)?;
        }
    }
    Ok(())
}

/// Reads the journal for IXFR on connections of its own.
pub struct JournalReader {
    pool: ReadPool,
}

impl JournalReader {
    pub fn open(path: &Path) -> Result<JournalReader, StoreError> {
        Ok(JournalReader {
            pool: ReadPool::open_small(path, 1)?,
        })
    }
}

impl JournalSource for JournalReader {
    fn changes(&self, zone: &str, from: u32, to: u32) -> Option<Vec<Vec<u8>>> {
        let conn = self.pool.take();
        let rows = journal::since(&conn, zone, from);
        self.pool.put(conn);
        let rows = match rows {
            Ok(r) => r,
            Err(e) => {
                log::warn!("xfr: reading the journal of {zone}: {e}");
                return None;
            }
        };
        let mut at = from;
        let mut out = Vec::new();
        for (f, t, changes) in rows {
            if at == to {
                break;
            }
            if f != at {
                return None;
            }
            out.push(changes);
            at = t;
        }
        (at == to && !out.is_empty()).then_some(out)
    }
}

impl Store {
    /// Drop journal entries past their age or count.
    pub fn prune_journal(&self) -> Result<usize, StoreError> {
        let g = self.lock();
        let before = crate::clock::unix_now().saturating_sub(MAX_AGE_SECS);
        Ok(journal::prune(&g.conn, before, MAX_ENTRIES)?)
    }
}
