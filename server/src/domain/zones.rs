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
    /// A user asked for a public suffix (`co.uk`, `in-addr.arpa`): serving it would let them
    /// answer for everyone's names below it.
    PublicSuffix,
    /// A user asked for a zone at, above or below one of the operator's nameserver names.
    NameServer(String),
    /// The user has `max` hosted zones already.
    Limit(u32),
    Store(rusqlite::Error),
}

impl std::fmt::Display for CreateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CreateError::Conflict(c) => write!(f, "{c}"),
            CreateError::PublicSuffix => f.write_str("it is a public suffix"),
            CreateError::NameServer(ns) => {
                write!(f, "it overlaps the server's name server name {ns}")
            }
            CreateError::Limit(n) => write!(f, "the account reached its limit of {n} zones"),
            CreateError::Store(e) => write!(f, "database: {e}"),
        }
    }
}

/// The rules for a zone a user creates (the operator's own `zone add` is trusted).
#[derive(Debug, Clone, Copy)]
pub struct UserZoneRules {
    /// Hosted zones per user; 0 = unlimited.
    pub max_zones: u32,
}

/// Is `name` a public suffix (an explicit rule of the Public Suffix List, ICANN or private)?
pub fn is_public_suffix(name: &str) -> bool {
    psl::suffix(name.as_bytes())
        .is_some_and(|s| s.typ().is_some() && s.as_bytes() == name.as_bytes())
}

/// Check a zone `name` a user asks for against the rules users are held to.
pub fn check_user_zone(
    tx: &Connection,
    apex: &ApexConfig,
    name: &str,
    owner_id: i64,
    rules: UserZoneRules,
) -> Result<(), CreateError> {
    if is_public_suffix(name) {
        return Err(CreateError::PublicSuffix);
    }
    if let Some(ns) = apex.nameservers.iter().find(|ns| {
        crate::model::name::is_at_or_below(ns, name) || crate::model::name::is_at_or_below(name, ns)
    }) {
        return Err(CreateError::NameServer(ns.clone()));
    }
    if rules.max_zones != 0 && zones::zones_of_user(tx, owner_id)?.len() >= rules.max_zones as usize
    {
        return Err(CreateError::Limit(rules.max_zones));
    }
    Ok(())
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
    crate::store::queries::zone_keys::start_signing(w.tx, z.id, &apex.dnssec)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_suffixes_from_the_list() {
        for s in ["co.uk", "in-addr.arpa", "ip6.arpa", "github.io", "com.au"] {
            assert!(is_public_suffix(s), "{s}");
        }
        for s in [
            "example.co.uk",
            "example.org",
            "dyn.example.net",
            "example.test",
        ] {
            assert!(!is_public_suffix(s), "{s}");
        }
    }
}
