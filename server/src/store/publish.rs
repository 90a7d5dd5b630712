//! Publishing committed changes to the DNS view, and loading whole zones from the store into
//! it. Runs after a group's COMMIT, under the store lock, so DNS sees groups in commit order.

use rusqlite::{params, Connection};

use super::queries::{hostnames, records, users, zone_keys, zones};
use super::{Inner, Store};
use crate::dns::{ApexConfig, DnsView, ZoneKeys};
use crate::model::hostname::{fqdn, host_rrsets};
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

impl Store {
    /// Publish a committed group's changes in order.
    pub(super) fn publish(&self, inner: &mut Inner, pending: Vec<Publish>) -> rusqlite::Result<()> {
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
    let mut failed: Option<rusqlite::Error> = None;
    let rows = st.query_map(params![zone_id], hostnames::host_values)?;
    let zone_name = zone.name.clone();
    let hosts = rows
        .map_while(|row| match row {
            Ok(x) => Some(x),
            Err(e) => {
                failed = Some(e);
                None
            }
        })
        .flat_map(|(label, v4, v6, txt, ttl)| {
            let name = fqdn(&label, &zone_name);
            host_rrsets(&name, &label, ttl, v4, v6, txt.as_deref())
                .into_iter()
                .filter(|rr| !rr.records.is_empty())
        });
    let keys = zone_keys_of(c, zone_id)?;
    let mut sig_st = c.prepare_cached(zone_keys::STORED_SIGS_SQL)?;
    let mut sig_failed: Option<rusqlite::Error> = None;
    let mut stored = sig_st
        .query_map(params![zone_id], zone_keys::stored_sig_row)?
        .map_while(|row| match row {
            Ok(x) => Some(x),
            Err(e) => {
                sig_failed = Some(e);
                None
            }
        });
    view.load_zone_signed(
        &zone.name,
        zone.serial,
        keys,
        &mut stored,
        shared_ns.into_iter().chain(records).chain(hosts),
    );
    drop(stored);
    if let Some(e) = sig_failed {
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
