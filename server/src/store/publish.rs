//! Publishing committed changes to the DNS view, and loading whole zones from the store into
//! it. Runs after a group's COMMIT, under the store lock, so DNS sees groups in commit order.
//! A group of RRset changes only is staged first (`Stager`): its snapshots are built and
//! signed on a thread of their own while the group's COMMIT waits for the disk, and served
//! once the COMMIT has returned.

use std::sync::{mpsc, Arc};

use rusqlite::{params, Connection};

use super::queries::{hostnames, records, users, zone_keys, zones};
use super::{Inner, Store};
use crate::dns::{ApexConfig, DnsView, Staged, ZoneKeys};
use crate::model::{RType, RecordData, RrsetChange, Status, ZoneKind};

/// One zone's queued DNS change, published after commit.
pub(super) enum Publish {
    Rrsets {
        zone_id: i64,
        zone: String,
        serial: u32,
        changes: Vec<RrsetChange>,
    },
    Reload(i64),
    Remove(String),
}

impl Publish {
    /// The zone of an RRset change (None for reloads and removals).
    pub(super) fn rrsets_zone(&self) -> Option<i64> {
        match self {
            Publish::Rrsets { zone_id, .. } => Some(*zone_id),
            _ => None,
        }
    }
}

/// A group's consecutive changes to one zone merged into one (in order, with the last serial):
/// they become one new snapshot, and readers see them together, as committed.
fn merged(pending: Vec<Publish>) -> Vec<Publish> {
    let mut out: Vec<Publish> = Vec::with_capacity(pending.len());
    for p in pending {
        let same_zone = matches!(
            (out.last(), &p),
            (Some(Publish::Rrsets { zone_id: a, .. }), Publish::Rrsets { zone_id: b, .. }) if a == b
        );
        match (out.last_mut(), p) {
            (
                Some(Publish::Rrsets {
                    serial, changes, ..
                }),
                Publish::Rrsets {
                    serial: s,
                    changes: c,
                    ..
                },
            ) if same_zone => {
                *serial = s;
                changes.extend(c);
            }
            (_, p) => out.push(p),
        }
    }
    out
}

/// One zone's staged change, with what `Inner::served` records once it is served.
pub(super) struct StagedZone {
    zone_id: i64,
    zone: String,
    serial: u32,
    staged: Option<Staged>,
}

/// Stage the RRset changes of a group (merged per zone) in the view.
fn stage_all(dns: &DnsView, pending: Vec<Publish>) -> Vec<StagedZone> {
    merged(pending)
        .into_iter()
        .filter_map(|p| match p {
            Publish::Rrsets {
                zone_id,
                zone,
                serial,
                changes,
            } => Some(StagedZone {
                staged: dns.stage(&zone, serial, changes),
                zone_id,
                zone,
                serial,
            }),
            _ => None,
        })
        .collect()
}

/// The thread that stages write groups (builds and signs their snapshots) while the writer
/// thread runs their COMMIT. Signing is most of a signed zone's publishing work, one ECDSA
/// signature per changed RRset (dns/signing.rs), and the COMMIT is mostly a wait for fsync:
/// done one after the other they add up, staged here they overlap. Groups are staged in the
/// order they are sent, each from the snapshot the previous one left, and nothing staged is
/// served before the writer installs it (after its COMMIT returned): answers still wait for a
/// change to be both durable and visible, and the journal (`journal::record`, before COMMIT)
/// still reads the view at the previous group's serial.
pub(super) struct Stager {
    tx: Option<mpsc::Sender<StageJob>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A group's changes to stage, and where its staged zones go.
type StageJob = (Vec<Publish>, mpsc::SyncSender<Vec<StagedZone>>);

/// A group being staged.
pub(super) struct Staging {
    rx: mpsc::Receiver<Vec<StagedZone>>,
    /// Its zones, to reload from the store should staging fail.
    zones: Vec<i64>,
}

impl Stager {
    pub fn start(dns: Arc<DnsView>) -> std::io::Result<Stager> {
        let (tx, rx) = mpsc::channel::<StageJob>();
        let thread = std::thread::Builder::new()
            .name("lucentd-stage".into())
            .spawn(move || {
                for (pending, reply) in rx {
                    // Woken by the writer, this thread usually runs at once on the writer's
                    // core and would sign before the writer reaches its fsync: measured, the
                    // staging then overlapped nothing. Yielding first lets the writer run on
                    // into COMMIT; this thread gets the core back when the writer waits for
                    // the disk (on another idle core the yield returns at once).
                    std::thread::yield_now();
                    // The writer may have given up on the group (its COMMIT failed).
                    let _ = reply.send(stage_all(&dns, pending));
                }
            })?;
        Ok(Stager {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Whether staging `pending` pays: it is all RRset changes (reloads and removals read the
    /// store or change the zone map, so they publish after COMMIT), and some go to a signed
    /// zone. An unsigned zone's snapshot takes microseconds to build, less than handing it to
    /// this thread and back (measured: four more context switches per group).
    pub fn worth(dns: &DnsView, pending: &[Publish]) -> bool {
        !pending.is_empty()
            && pending.iter().all(|p| p.rrsets_zone().is_some())
            && pending.iter().any(|p| match p {
                Publish::Rrsets { zone, .. } => dns.is_signed(zone),
                _ => false,
            })
    }

    /// Start staging a group's changes, which must all be `Publish::Rrsets`. Gives them back
    /// when the thread is gone (it panicked): the group then publishes after COMMIT.
    pub fn stage(&self, pending: Vec<Publish>) -> Result<Staging, Vec<Publish>> {
        let Some(tx) = &self.tx else {
            return Err(pending);
        };
        let mut zones: Vec<i64> = pending.iter().filter_map(Publish::rrsets_zone).collect();
        zones.dedup();
        let (reply, rx) = mpsc::sync_channel(1);
        match tx.send((pending, reply)) {
            Ok(()) => Ok(Staging { rx, zones }),
            Err(mpsc::SendError((pending, _))) => Err(pending),
        }
    }
}

impl Drop for Stager {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Store {
    /// Serve a committed group staged by the `Stager`, in order.
    pub(super) fn install(&self, inner: &mut Inner, staging: Staging) -> rusqlite::Result<()> {
        let Ok(staged) = staging.rx.recv() else {
            // Staging panicked: what DNS serves comes from the committed store instead.
            log::error!("dns: staging a write group failed; reloading its zones");
            let reload = staging.zones.into_iter().map(Publish::Reload).collect();
            return self.publish(inner, reload);
        };
        for s in staged {
            inner.served.insert(s.zone_id, (s.zone, s.serial));
            if let Some(staged) = s.staged {
                self.dns.install(staged);
            }
        }
        Ok(())
    }

    /// Publish a committed group's changes in order.
    pub(super) fn publish(&self, inner: &mut Inner, pending: Vec<Publish>) -> rusqlite::Result<()> {
        for p in merged(pending) {
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
                    if let Some(loaded) = load_zone_into(&inner.conn, id, &self.apex, &self.dns)? {
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
}

/// Load one zone into `view` as the server would serve it, signed when it is (for `zone
/// export`, which writes the DNSSEC records too). Nothing is written to the file.
pub fn load_zone_for_export(
    c: &Connection,
    zone_id: i64,
    apex: &ApexConfig,
    view: &DnsView,
) -> rusqlite::Result<()> {
    load_zone_into(c, zone_id, apex, view).map(drop)
}

/// Load one zone from the store into the DNS view, streaming: apex NS (from the config for
/// shared zones, from the zone's NS records for hosted ones), the records grouped by (name,
/// type), then every hostname's RRsets. Returns the zone's name and serial, or None when
/// there is no such zone.
pub(super) fn load_zone_into(
    c: &Connection,
    zone_id: i64,
    apex: &ApexConfig,
    view: &DnsView,
) -> rusqlite::Result<Option<(String, u32)>> {
    let Some(zone) = zones::zone_by_id(c, zone_id)? else {
        return Ok(None);
    };
    // A banned owner's hosted zone is kept in the store and served again on reactivation.
    if let Some(owner) = zone.owner_id {
        if users::user_by_id(c, owner)?.is_some_and(|u| u.status == Status::Banned) {
            view.remove_zone(&zone.name);
            return Ok(Some((zone.name, zone.serial)));
        }
    }
    let mut shared_ns = Vec::new();
    if zone.kind == ZoneKind::Shared {
        shared_ns.push(RrsetChange {
            name: zone.name.clone(),
            rtype: RType::Ns,
            records: apex
                .nameservers
                .iter()
                .map(|n| RecordData {
                    ttl: apex.ns_ttl,
                    content: format!("{n}."),
                })
                .collect(),
        });
    }
    // Hosted-zone records: few compared with hostnames, so collected first.
    let records = records::rrsets_of_zone(c, &zone)?;
    let mut st = c.prepare_cached(hostnames::ZONE_HOSTS_SQL)?;
    // Hostnames go to the load as their stored values (`HostRow`, borrowed from each row),
    // encoded there as `host_rrsets` describes them, without text records in between.
    let mut hosts = hostnames::ZoneHostRows::new(st.query(params![zone_id])?);
    let keys = zone_keys_of(c, zone_id)?;
    let mut sig_st = c.prepare_cached(zone_keys::STORED_SIGS_SQL)?;
    let mut stored = zone_keys::StoredSigRows::new(sig_st.query(params![zone_id])?);
    view.load_zone_signed(
        &zone.name,
        zone.serial,
        keys,
        &mut stored,
        shared_ns.into_iter().chain(records),
        &mut hosts,
    );
    let failed = hosts.failed();
    if let Some(e) = stored.failed() {
        log::warn!(
            "zone {}: stored signatures not read ({e}); signed again",
            zone.name
        );
    }
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(Some((zone.name, zone.serial)))
}

/// The keys a signed zone is served with (None when it is not signed).
fn zone_keys_of(c: &Connection, zone_id: i64) -> rusqlite::Result<Option<ZoneKeys>> {
    let state = zone_keys::dnssec_state(c, zone_id)?;
    if !state.signed() {
        return Ok(None);
    }
    let keys = zone_keys::keys_of_zone(c, zone_id)?
        .into_iter()
        .filter_map(|k| Some((k.signing_key()?, k.state)))
        .collect();
    Ok(Some(ZoneKeys {
        keys,
        delete_cds: state == zone_keys::DnssecState::Disabling,
    }))
}
