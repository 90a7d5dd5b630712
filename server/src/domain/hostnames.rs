//! Hostnames of shared zones: which ones a user owns (by id, fqdn or bare label), claiming a
//! new one under the seed-000 rules, changing, deleting, and the operator-managed names the
//! operator token reaches. `/v1/hostnames`, `/update` and dyndns2 all come through here.

use std::net::IpAddr;

use rusqlite::Connection;

use crate::clock;
use crate::dns::ApexConfig;
use crate::error::ApiError;
use crate::model::hostname::fqdn;
use crate::model::name::{self, printable};
use crate::model::value::Ipv6Prefix;
use crate::model::{Changes, Hostname, User, Zone, ZoneKind};
use crate::secret;
use crate::store::queries::{hostnames, users, zones};
use crate::store::WriteTx;

/// A user's hostnames and the shared zones they may claim new ones in.
/// (A scoped token sees only its hostnames, and no zone to create in.)
pub fn list(tx: &Connection, u: &User) -> Result<(Vec<Hostname>, Vec<Zone>), ApiError> {
    let mut hosts = hostnames::hostnames_of_user(tx, u.id)?;
    hosts.retain(|h| u.reaches(&h.id));
    let zones = if u.scope.is_some() {
        Vec::new()
    } else {
        users::allowed_zones(tx, u)?
    };
    Ok((hosts, zones))
}

/// 403 for a scoped token: it may change its hostnames, not create or delete any.
fn unscoped(u: &User, what: &str) -> Result<(), ApiError> {
    match u.scope {
        None => Ok(()),
        Some(_) => Err(ApiError::Forbidden(format!(
            "a scoped token cannot {what} hostnames"
        ))),
    }
}

/// The user's hostname named by id (`host_…`), fqdn or label; 404 if the user does not own it.
pub fn find_owned(tx: &Connection, u: &User, key: &str) -> Result<Hostname, ApiError> {
    let key = key.trim().trim_end_matches('.').to_ascii_lowercase();
    let found = if key.starts_with("host_") {
        hostnames::user_hostname_by_id(tx, u.id, &key)?
    } else if key.contains('.') {
        match zones::zone_for_name(tx, &key)? {
            Some((z, label)) => hostnames::hostname_by_zone_label(tx, z.id, &label)?,
            None => None,
        }
    } else {
        // A bare label: prefer the default (first allowed) zone when it is ambiguous.
        let mut hits = hostnames::user_hostnames_by_label(tx, u.id, &key)?;
        if hits.len() > 1 {
            if let Some(d) = users::allowed_zones(tx, u)?.into_iter().next() {
                if let Some(i) = hits.iter().position(|h| h.zone_id == d.id) {
                    hits.swap(0, i);
                }
            }
        }
        hits.into_iter().next()
    };
    found
        .filter(|h| h.user_id == Some(u.id) && u.reaches(&h.id))
        .ok_or_else(ApiError::hostname_not_found)
}

/// How a create request names the new hostname: a label (with an optional zone) or an fqdn.
#[derive(Debug, Clone, Default)]
pub struct NewName {
    pub hostname: Option<String>,
    pub zone: Option<String>,
    pub fqdn: Option<String>,
}

/// What creating needs from the config.
#[derive(Debug, Clone)]
pub struct CreateRules {
    pub default_ttl: u32,
    /// Labels reserved in every shared zone (`reserved_labels`).
    pub reserved_labels: Vec<String>,
    /// Names the server itself answers for: the nameservers and the SOA contact. A user who
    /// claimed `ns-a.<zone>` would point the zone's own glue at their address.
    pub reserved_names: Vec<String>,
}

impl CreateRules {
    pub fn new(default_ttl: u32, reserved_labels: Vec<String>, apex: &ApexConfig) -> CreateRules {
        let mut reserved_names = apex.nameservers.clone();
        reserved_names.push(apex.rname.clone());
        CreateRules {
            default_ttl,
            reserved_labels,
            reserved_names,
        }
    }
}

/// Claim a new hostname for `u` with `changes` applied, asked by the client at `from`, and
/// publish it.
pub fn create(
    w: &mut WriteTx,
    u: &User,
    new: &NewName,
    changes: &Changes,
    rules: &CreateRules,
    from: IpAddr,
) -> Result<Hostname, ApiError> {
    unscoped(u, "create")?;
    let allowed = users::allowed_zones(w.tx, u)?;
    let (zone, label) = resolve_new(&allowed, new, rules)?;
    if hostnames::count_user_hostnames(w.tx, u.id)? >= u.max_hostnames {
        return Err(ApiError::Conflict(format!(
            "the account reached its limit of {} hostnames",
            u.max_hostnames
        )));
    }
    if hostnames::hostname_by_zone_label(w.tx, zone.id, &label)?.is_some()
        || hostnames::names_below(w.tx, zone.id, &label)? > 0
    {
        return Err(ApiError::Conflict(format!(
            "{label}.{} already exists",
            zone.name
        )));
    }
    let now = clock::now_rfc3339();
    let mut h = Hostname {
        id: secret::new_id("host_"),
        zone_id: zone.id,
        zone: zone.name.clone(),
        label,
        user_id: Some(u.id),
        ipv4: None,
        ipv6: None,
        txt: None,
        ttl: rules.default_ttl,
        note: None,
        created_at: now.clone(),
        updated_at: now,
        ipv6_suffix: None,
        updated_from: Some(from),
    };
    changes.apply(&mut h);
    hostnames::insert_hostname(w.tx, &h)?;
    if h.ipv4.is_some() || h.ipv6.is_some() {
        hostnames::insert_address_change(w.tx, &h, clock::unix_now())?;
    }
    w.publish(&zone, h.rrsets())?;
    Ok(h)
}

/// Which zone and label a create request names; every rule of seed 000 checked.
fn resolve_new(
    allowed: &[Zone],
    new: &NewName,
    rules: &CreateRules,
) -> Result<(Zone, String), ApiError> {
    if let (Some(f), Some(h)) = (&new.fqdn, &new.hostname) {
        // Both given: they must name the same hostname (a label, or the full name).
        let f = name::domain_name(f)?;
        let h = name::domain_name(h)?;
        let same = f == h
            || new
                .zone
                .as_ref()
                .is_some_and(|z| name::domain_name(z).is_ok_and(|z| f == fqdn(&h, &z)))
            || f.split_once('.').is_some_and(|(l, _)| l == h);
        if !same {
            return Err(ApiError::BadRequest(format!(
                "'hostname' ({}) and 'fqdn' ({}) name different hostnames",
                printable(&h),
                printable(&f)
            )));
        }
    }
    let (zone_name, label) = match (&new.fqdn, &new.hostname) {
        (Some(f), _) => split_fqdn(allowed, &name::domain_name(f)?)?,
        (None, Some(h)) if h.contains('.') && new.zone.is_none() => {
            split_fqdn(allowed, &name::domain_name(h)?)?
        }
        (None, Some(h)) => {
            let z = match &new.zone {
                Some(z) => name::domain_name(z)?,
                None => allowed.first().map(|z| z.name.clone()).ok_or_else(|| {
                    ApiError::Forbidden("the account may not use any zone".into())
                })?,
            };
            (z, h.to_ascii_lowercase())
        }
        (None, None) => {
            return Err(ApiError::BadRequest(
                "give 'hostname' (with optional 'zoneDomain') or 'fqdn'".into(),
            ))
        }
    };
    let zone = allowed
        .iter()
        .find(|z| z.name == zone_name)
        .cloned()
        .ok_or_else(|| {
            ApiError::Forbidden(format!(
                "zone '{}' is not among the account's allowed zones",
                printable(&zone_name)
            ))
        })?;
    if label.is_empty() {
        return Err(ApiError::BadRequest(
            "the zone apex cannot be claimed; give a label under the zone".into(),
        ));
    }
    if label.contains('.') {
        return Err(ApiError::BadRequest(
            "a hostname is one label directly under the zone".into(),
        ));
    }
    let label = name::host_label(&label)?;
    if rules.reserved_labels.contains(&label)
        || rules.reserved_names.contains(&fqdn(&label, &zone.name))
    {
        return Err(ApiError::BadRequest(format!(
            "'{label}' is a reserved name"
        )));
    }
    Ok((zone, label))
}

/// Split an fqdn into (zone, label) against the allowed zones (longest match).
fn split_fqdn(allowed: &[Zone], fqdn: &str) -> Result<(String, String), ApiError> {
    let best = allowed
        .iter()
        .filter(|z| name::is_at_or_below(fqdn, &z.name))
        .max_by_key(|z| z.name.len());
    match best {
        Some(z) => {
            let label = fqdn[..fqdn.len() - z.name.len()].trim_end_matches('.');
            Ok((z.name.clone(), label.to_string()))
        }
        None => Err(ApiError::Forbidden(format!(
            "'{}' is not under any of the account's allowed zones",
            printable(fqdn)
        ))),
    }
}

/// Apply `changes`, asked by the client at `from`, to `h` and, when anything changed (or `h`
/// is new), write and publish it; a change of its addresses also goes into its history (the
/// dashboard's picture). Returns whether it did. Every update path (`/update`, dyndns2,
/// `/v1/hostnames`, the dashboard) writes through here.
pub fn save(
    w: &mut WriteTx,
    h: &mut Hostname,
    changes: &Changes,
    from: IpAddr,
) -> Result<bool, ApiError> {
    let is_new = h.is_new();
    let before = (h.ipv4, h.ipv6);
    if !changes.apply(h) && !is_new {
        return Ok(false);
    }
    let now = clock::now_rfc3339();
    h.updated_at = now.clone();
    h.updated_from = Some(from);
    if is_new {
        h.created_at = now;
        hostnames::insert_hostname(w.tx, h)?;
    } else {
        hostnames::update_hostname(w.tx, h)?;
    }
    let moved = if is_new {
        h.ipv4.is_some() || h.ipv6.is_some()
    } else {
        before != (h.ipv4, h.ipv6)
    };
    if moved {
        hostnames::insert_address_change(w.tx, h, clock::unix_now())?;
    }
    w.publish_host(h)?;
    Ok(true)
}

/// Delete the user's hostname `key` and take its RRsets out of DNS.
pub fn delete(w: &mut WriteTx, u: &User, key: &str) -> Result<Hostname, ApiError> {
    let h = find_owned(w.tx, u, key)?;
    unscoped(u, "delete")?;
    hostnames::delete_hostname(w.tx, &h.id)?;
    w.unpublish_host(&h)?;
    Ok(h)
}

/// An operator-managed name: an fqdn in a shared zone that no user owns and that is not below
/// a user's hostname (`x.home.<zone>` would shadow the wildcard TXT of `home` and outlive it);
/// not stored yet when it is new (`Hostname::is_new`).
pub fn operator_name(tx: &Connection, d: &str, ttl: u32) -> Result<Hostname, ApiError> {
    let fqdn = name::domain_name(d)?;
    let (zone, label) = zones::zone_for_name(tx, &fqdn)?
        .filter(|(z, _)| z.kind == ZoneKind::Shared)
        .ok_or_else(ApiError::hostname_not_found)?;
    if let Some((_, top)) = label.rsplit_once('.') {
        if hostnames::hostname_by_zone_label(tx, zone.id, top)?.is_some_and(|h| h.user_id.is_some())
        {
            return Err(ApiError::hostname_not_found());
        }
    }
    match hostnames::hostname_by_zone_label(tx, zone.id, &label)? {
        Some(h) if h.user_id.is_none() => Ok(h),
        Some(_) => Err(ApiError::hostname_not_found()),
        None => Ok(Hostname {
            id: secret::new_id("host_"),
            zone_id: zone.id,
            zone: zone.name,
            label,
            user_id: None,
            ipv4: None,
            ipv6: None,
            txt: None,
            ttl,
            note: Some("operator-managed".into()),
            created_at: String::new(),
            updated_at: String::new(),
            ipv6_suffix: None,
            updated_from: None,
        }),
    }
}

/// An operator-managed name with no value left is deleted (the name is free again); returns
/// whether it was.
pub fn free_if_empty(w: &mut WriteTx, h: &Hostname) -> Result<bool, ApiError> {
    if h.user_id.is_some() || h.ipv4.is_some() || h.ipv6.is_some() || h.txt.is_some() {
        return Ok(false);
    }
    hostnames::delete_hostname(w.tx, &h.id)?;
    w.unpublish_host(h)?;
    Ok(true)
}

/// A name the update token may change that is not a hostname: a name in a hosted zone the user
/// owns (`domain::records::set_host_values`). Returns the zone and the owner name.
pub fn own_zone_name(tx: &Connection, u: &User, key: &str) -> Result<(Zone, String), ApiError> {
    if u.scope.is_some() {
        return Err(ApiError::hostname_not_found());
    }
    let key = key.trim().trim_end_matches('.').to_ascii_lowercase();
    if !key.contains('.') || key.starts_with("host_") {
        return Err(ApiError::hostname_not_found());
    }
    let fqdn = name::domain_name(&key).map_err(|_| ApiError::hostname_not_found())?;
    match zones::zone_for_name(tx, &fqdn)? {
        Some((z, _)) if z.kind == ZoneKind::Hosted && z.owner_id == Some(u.id) => Ok((z, fqdn)),
        _ => Err(ApiError::hostname_not_found()),
    }
}

/// One hostname a prefix push re-addressed (or found current).
#[derive(Debug, Clone)]
pub struct PrefixResult {
    pub host: Hostname,
    pub changed: bool,
}

/// An IPv6 prefix push: every hostname of `u` with an `ipv6Suffix` (but those in `skip`, which
/// the same request set explicitly) gets AAAA = prefix + suffix, in this one write. All or
/// nothing: a suffix that does not fit the prefix fails the whole push, naming the hostname.
pub fn apply_prefix(
    w: &mut WriteTx,
    u: &User,
    prefix: &Ipv6Prefix,
    skip: &[String],
    from: IpAddr,
) -> Result<Vec<PrefixResult>, ApiError> {
    let mut out = Vec::new();
    let mut targets = Vec::new();
    for h in hostnames::hostnames_of_user(w.tx, u.id)? {
        let Some(suffix) = h.ipv6_suffix else {
            continue;
        };
        if skip.contains(&h.id) || !u.reaches(&h.id) {
            continue;
        }
        let aaaa = prefix
            .address_for(suffix)
            .map_err(|e| ApiError::BadRequest(format!("{}: {e}", h.fqdn())))?;
        targets.push((h, aaaa));
    }
    for (mut h, aaaa) in targets {
        let changes = Changes {
            ipv6: Some(Some(aaaa)),
            ..Default::default()
        };
        let changed = save(w, &mut h, &changes, from)?;
        out.push(PrefixResult { host: h, changed });
    }
    Ok(out)
}
