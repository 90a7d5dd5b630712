//! Zones: creating one (the one implementation behind `lucentd zone add` and the LuaDNS-style
//! `POST /v1/zones`), deleting one, and the SOA text shown for a zone.

use rusqlite::Connection;

use crate::dns::ApexConfig;
use crate::model::zone::{conflict, ZoneConflict};
use crate::model::{Zone, ZoneKind};
use crate::store::queries::{records, zones};
use crate::store::WriteTx;

/// Why a zone could not be created.
#[derive(Debug)]
pub enum CreateError {
    Conflict(ZoneConflict),
    Store(rusqlite::Error),
}

impl From<rusqlite::Error> for CreateError {
    fn from(e: rusqlite::Error) -> Self {
        CreateError::Store(e)
    }
}

/// Create zone `name` (validated already by `model::name::zone_name`): refused when it equals,
/// contains or sits inside a served zone; a hosted zone gets its SOA and NS rows; the zone is
/// queued to be loaded into DNS.
pub fn create(
    w: &mut WriteTx,
    apex: &ApexConfig,
    name: &str,
    kind: ZoneKind,
    owner_id: Option<i64>,
) -> Result<Zone, CreateError> {
    if let Some(c) = conflict(name, &zones::list_zones(w.tx)?) {
        return Err(CreateError::Conflict(c));
    }
    let z = zones::insert_zone(w.tx, name, kind, owner_id)?;
    if kind == ZoneKind::Hosted {
        records::seed_hosted_records(
            w.tx,
            &z,
            &soa_content(apex, z.serial),
            apex.soa_ttl,
            &apex.nameservers,
            apex.ns_ttl,
        )?;
    }
    w.reload_zone(z.id);
    Ok(z)
}

/// Delete a zone with its records and hostnames, and stop serving it.
pub fn delete(w: &mut WriteTx, z: &Zone) -> rusqlite::Result<bool> {
    let gone = zones::delete_zone(w.tx, z.id)?;
    w.remove_zone(&z.name);
    Ok(gone)
}

/// A zone by name.
pub fn by_name(tx: &Connection, name: &str) -> rusqlite::Result<Option<Zone>> {
    zones::zone_by_name(tx, name)
}

/// The SOA text of a zone (LuaDNS content form), from the config and the live serial.
pub fn soa_content(apex: &ApexConfig, serial: u32) -> String {
    format!(
        "{}. {}. {} {} {} {} {}",
        apex.nameservers[0],
        apex.rname,
        serial,
        apex.refresh,
        apex.retry,
        apex.expire,
        apex.minimum
    )
}
