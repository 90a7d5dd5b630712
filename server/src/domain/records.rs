//! Records of hosted zones: the rules that involve more than one record (a CNAME owns its
//! name alone and never sits at the apex, MX/NS/SRV targets are not aliases, no duplicate
//! records, the SOA is the server's, the apex keeps an NS), and creating, changing, deleting
//! and replacing records with the touched RRsets published in the same write.

use std::collections::HashSet;

use rusqlite::Connection;

use crate::clock;
use crate::error::ApiError;
use crate::model::content;
use crate::model::name::{self, is_at_or_below};
use crate::model::record::alias_free_target;
use crate::model::{Changes, Hostname, RType, Record, RrsetChange, Zone};
use crate::store::queries::records;
use crate::store::WriteTx;

/// A record as a client asks for it, each field validated already (`name` inside the zone,
/// `content` normalised for `rtype`).
#[derive(Debug, Clone)]
pub struct RecordInput {
    pub name: String,
    pub rtype: RType,
    pub content: String,
    pub ttl: u32,
    pub external_id: Option<String>,
}

/// An owner name inside zone `z`: `@` is the apex; a single label without a final dot is
/// relative to the zone; any other name is a full name and must be inside the zone (the one
/// rule record content targets follow too: `content::normalize_in`).
pub fn owner_in_zone(z: &Zone, name: &str) -> Result<String, ApiError> {
    let n = name.trim();
    if n == "@" {
        return Ok(z.name.clone());
    }
    if content::is_relative(n) {
        return Ok(name::owner_name(&format!("{n}.{}", z.name))?);
    }
    let n = name::owner_name(n)?;
    if is_at_or_below(&n, &z.name) {
        return Ok(n);
    }
    Err(ApiError::BadRequest(format!(
        "name '{n}.' is not inside the zone '{}'",
        z.name
    )))
}

/// What the record rules need from the config.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Records one zone may hold (and one request may carry); 0 = unlimited.
    pub max_records: u32,
}

fn over(limit: u32, n: usize) -> bool {
    limit != 0 && n > limit as usize
}

/// Longest CNAME chain inside a zone followed when looking for a loop.
const MAX_CHAIN: usize = 16;

/// A CNAME at `owner` pointing at `target` must not lead back to `owner` through the zone's
/// other CNAMEs (a loop answers nothing and costs resolvers work; RFC 1034 §3.6.2).
fn check_cname_loop(tx: &Connection, z: &Zone, owner: &str, target: &str) -> Result<(), ApiError> {
    let mut at = target.trim_end_matches('.').to_string();
    for _ in 0..MAX_CHAIN {
        if at == owner {
            return Err(ApiError::BadRequest(format!(
                "the CNAME {owner}. would form a loop (it leads back to itself)"
            )));
        }
        if !is_at_or_below(&at, &z.name) {
            return Ok(());
        }
        let next = records::records_at(tx, z.id, &at)?
            .into_iter()
            .find(|r| r.rtype == RType::Cname);
        match next {
            Some(c) => at = c.content.trim_end_matches('.').to_string(),
            None => return Ok(()),
        }
    }
    Err(ApiError::BadRequest(format!(
        "the CNAME chain from {owner}. is longer than {MAX_CHAIN} names"
    )))
}

/// The rules that involve other records at the same name (RFC 1034 §3.6.2, RFC 2181 §10.1,
/// RFC 2181 §5: no duplicate records in an RRset); `except` is the record being replaced.
fn check_name_rules(
    tx: &Connection,
    z: &Zone,
    r: &RecordInput,
    except: Option<i64>,
) -> Result<(), ApiError> {
    if r.rtype == RType::Soa {
        return Err(ApiError::BadRequest(
            "SOA records are managed by the server".into(),
        ));
    }
    if r.rtype == RType::Cname && r.name == z.name {
        return Err(ApiError::BadRequest(
            "a CNAME cannot be at the zone apex".into(),
        ));
    }
    let here: Vec<Record> = records::records_at(tx, z.id, &r.name)?
        .into_iter()
        .filter(|x| Some(x.id) != except)
        .collect();
    if r.rtype == RType::Cname && !here.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "a CNAME cannot share its name with other records ({}. has {})",
            r.name, here[0].rtype
        )));
    }
    if let Some(c) = here.iter().find(|x| x.rtype == RType::Cname) {
        return Err(ApiError::BadRequest(format!(
            "{}. is a CNAME (record {}); no other record may share its name",
            r.name, c.id
        )));
    }
    // RFC 2181 §10.3: MX, NS and SRV targets must not be aliases (checked inside the zone).
    if let Some(target) = alias_free_target(r.rtype, &r.content) {
        let is_alias = records::records_at(tx, z.id, target)?
            .iter()
            .any(|x| x.rtype == RType::Cname);
        if is_alias {
            return Err(ApiError::BadRequest(format!(
                "the {} target {target}. is a CNAME; it must name the host itself (RFC 2181 §10.3)",
                r.rtype
            )));
        }
    }
    if r.rtype == RType::Cname {
        check_cname_loop(tx, z, &r.name, &r.content)?;
        // One index lookup (records.target), not a scan of the zone: a PUT of many records
        // stays n log n.
        let pointing =
            records::record_targeting(tx, z.id, &r.name)?.filter(|x| Some(x.id) != except);
        if let Some(p) = pointing {
            return Err(ApiError::BadRequest(format!(
                "{}. is the target of {} record {}; it cannot become a CNAME (RFC 2181 §10.3)",
                r.name, p.rtype, p.id
            )));
        }
    }
    if let Some(d) = here
        .iter()
        .find(|x| x.rtype == r.rtype && x.content == r.content)
    {
        return Err(ApiError::BadRequest(format!(
            "an identical record exists (id {})",
            d.id
        )));
    }
    Ok(())
}

/// Publish the current state of the given RRsets (each once; the SOA is synthesised).
fn publish_sets(w: &mut WriteTx, z: &Zone, sets: &[(String, RType)]) -> Result<(), ApiError> {
    let mut seen: HashSet<(&str, RType)> = HashSet::with_capacity(sets.len());
    let mut changes: Vec<RrsetChange> = Vec::new();
    for (name, t) in sets {
        if *t == RType::Soa || !seen.insert((name.as_str(), *t)) {
            continue;
        }
        changes.push(records::rrset(w.tx, z.id, name, *t)?);
    }
    w.publish(z, changes)?;
    Ok(())
}

/// After `old` was changed or removed: the apex must keep at least one NS record.
fn check_apex_ns(tx: &Connection, z: &Zone, old: &Record) -> Result<(), ApiError> {
    if old.rtype != RType::Ns || old.name != z.name {
        return Ok(());
    }
    let left = records::records_at(tx, z.id, &z.name)?
        .iter()
        .filter(|r| r.rtype == RType::Ns)
        .count();
    if left == 0 {
        return Err(ApiError::BadRequest(
            "the zone apex needs at least one NS record".into(),
        ));
    }
    Ok(())
}

fn not_found() -> ApiError {
    ApiError::NotFound("not_found", "Record not found".into())
}

/// Record `rid` (as the path gives it) of zone `z`.
pub fn get(tx: &Connection, z: &Zone, rid: &str) -> Result<Record, ApiError> {
    let id: i64 = rid.parse().map_err(|_| not_found())?;
    records::record_by_id(tx, z.id, id)?.ok_or_else(not_found)
}

fn soa_is_managed() -> ApiError {
    ApiError::BadRequest("the SOA record is managed by the server".into())
}

fn record_limit(n: u32) -> ApiError {
    ApiError::Forbidden(format!("the zone has reached its limit of {n} records"))
}

pub fn create(
    w: &mut WriteTx,
    z: &Zone,
    input: RecordInput,
    limits: Limits,
) -> Result<Record, ApiError> {
    if over(
        limits.max_records,
        records::records_count(w.tx, z.id)? as usize + 1,
    ) {
        return Err(record_limit(limits.max_records));
    }
    check_name_rules(w.tx, z, &input, None)?;
    let now = clock::now_rfc3339();
    let mut r = Record {
        id: 0,
        zone_id: z.id,
        name: input.name,
        rtype: input.rtype,
        content: input.content,
        ttl: input.ttl,
        external_id: input.external_id,
        created_at: now.clone(),
        updated_at: now,
    };
    r.id = records::insert_record(w.tx, &r)?;
    // RFC 2181 §5.2: one TTL per RRset; the record written last sets it for its set.
    records::set_rrset_ttl(w.tx, z.id, &r.name, r.rtype, r.ttl)?;
    publish_sets(w, z, &[(r.name.clone(), r.rtype)])?;
    Ok(r)
}

/// Replace record `rid` with `input`; its `external_id` only when `set_external_id`.
pub fn update(
    w: &mut WriteTx,
    z: &Zone,
    rid: &str,
    input: RecordInput,
    set_external_id: bool,
) -> Result<Record, ApiError> {
    let old = get(w.tx, z, rid)?;
    if old.rtype == RType::Soa {
        return Err(soa_is_managed());
    }
    check_name_rules(w.tx, z, &input, Some(old.id))?;
    let mut r = old.clone();
    r.name = input.name;
    r.rtype = input.rtype;
    r.content = input.content;
    r.ttl = input.ttl;
    if set_external_id {
        r.external_id = input.external_id;
    }
    r.updated_at = clock::now_rfc3339();
    records::update_record(w.tx, &r)?;
    records::set_rrset_ttl(w.tx, z.id, &r.name, r.rtype, r.ttl)?;
    check_apex_ns(w.tx, z, &old)?;
    publish_sets(
        w,
        z,
        &[(old.name.clone(), old.rtype), (r.name.clone(), r.rtype)],
    )?;
    Ok(r)
}

pub fn delete(w: &mut WriteTx, z: &Zone, rid: &str) -> Result<Record, ApiError> {
    let r = get(w.tx, z, rid)?;
    if r.rtype == RType::Soa {
        return Err(soa_is_managed());
    }
    records::delete_record(w.tx, r.id)?;
    check_apex_ns(w.tx, z, &r)?;
    publish_sets(w, z, &[(r.name.clone(), r.rtype)])?;
    Ok(r)
}

/// Replace every non-SOA record of `z` with `inputs` (SOA inputs are skipped: the server
/// manages it). A set without apex NS records keeps the configured name servers
/// (`default_ns`), since a zone cannot be served without them.
/// `at(i)` names input `i` in an error (`records[3]`, `zone.txt: line 12`).
pub fn replace_all(
    w: &mut WriteTx,
    z: &Zone,
    inputs: Vec<RecordInput>,
    default_ns: Vec<RecordInput>,
    limits: Limits,
    at: impl Fn(usize) -> String,
) -> Result<(), ApiError> {
    if over(limits.max_records, inputs.len()) {
        return Err(ApiError::BadRequest(format!(
            "a zone holds at most {} records; this request carries {}",
            limits.max_records,
            inputs.len()
        )));
    }
    let mut sets = records::delete_zone_records_but_soa(w.tx, z.id)?;
    let now = clock::now_rfc3339();
    let mut all: Vec<(Option<usize>, RecordInput)> = inputs
        .into_iter()
        .enumerate()
        .filter(|(_, r)| r.rtype != RType::Soa)
        .map(|(i, r)| (Some(i), r))
        .collect();
    if !all
        .iter()
        .any(|(_, r)| r.rtype == RType::Ns && r.name == z.name)
    {
        all.extend(default_ns.into_iter().map(|r| (None, r)));
    }
    for (i, input) in all {
        check_name_rules(w.tx, z, &input, None).map_err(|e| match (e, i) {
            (ApiError::BadRequest(m), Some(i)) => ApiError::BadRequest(format!("{}: {m}", at(i))),
            (e, _) => e,
        })?;
        records::insert_record(
            w.tx,
            &Record {
                id: 0,
                zone_id: z.id,
                name: input.name.clone(),
                rtype: input.rtype,
                content: input.content,
                ttl: input.ttl,
                external_id: input.external_id,
                created_at: now.clone(),
                updated_at: now.clone(),
            },
        )?;
        records::set_rrset_ttl(w.tx, z.id, &input.name, input.rtype, input.ttl)?;
        sets.push((input.name, input.rtype));
    }
    publish_sets(w, z, &sets)
}

/// DDNS for one's own domain (what deSEC offers): `/update` and dyndns2 with the update token
/// set the A, AAAA and TXT of `name` in a hosted zone the user owns, as if it were a hostname
/// (one value each; `changes` as validated for hostnames). The records obey the same rules as
/// through the LuaDNS-style API. Returns the name as a hostname (for the answer) and whether
/// anything changed.
pub fn set_host_values(
    w: &mut WriteTx,
    z: &Zone,
    name: &str,
    changes: &Changes,
    default_ttl: u32,
    limits: Limits,
) -> Result<(Hostname, bool), ApiError> {
    let here = records::records_at(w.tx, z.id, name)?;
    let first = |t: RType| here.iter().find(|r| r.rtype == t);
    let ttl = changes
        .ttl
        .or_else(|| {
            [RType::A, RType::Aaaa, RType::Txt]
                .into_iter()
                .find_map(|t| first(t).map(|r| r.ttl))
        })
        .unwrap_or(default_ttl);
    let wanted: [(RType, Option<Option<String>>); 3] = [
        (RType::A, changes.ipv4.map(|v| v.map(|a| a.to_string()))),
        (RType::Aaaa, changes.ipv6.map(|v| v.map(|a| a.to_string()))),
        (
            RType::Txt,
            changes.txt.clone().map(|v| v.map(content::txt_content)),
        ),
    ];
    let mut changed = false;
    let mut sets = Vec::new();
    for (t, want) in wanted {
        let now: Vec<&Record> = here.iter().filter(|r| r.rtype == t).collect();
        let Some(want) = want else {
            if changes.ttl.is_some() && now.iter().any(|r| r.ttl != ttl) {
                records::set_rrset_ttl(w.tx, z.id, name, t, ttl)?;
                sets.push((name.to_string(), t));
                changed = true;
            }
            continue;
        };
        let same = match (&want, now.as_slice()) {
            (None, []) => true,
            (Some(c), [one]) => one.content == *c && one.ttl == ttl,
            _ => false,
        };
        if same {
            continue;
        }
        changed = true;
        for r in &now {
            records::delete_record(w.tx, r.id)?;
        }
        sets.push((name.to_string(), t));
        if let Some(content) = want {
            let input = RecordInput {
                name: name.to_string(),
                rtype: t,
                content,
                ttl,
                external_id: None,
            };
            create(w, z, input, limits)?;
        }
    }
    if !sets.is_empty() {
        publish_sets(w, z, &sets)?;
    }
    let after = records::records_at(w.tx, z.id, name)?;
    let value = |t: RType| {
        after
            .iter()
            .find(|r| r.rtype == t)
            .map(|r| r.content.clone())
    };
    let label = name
        .strip_suffix(z.name.as_str())
        .map(|l| l.trim_end_matches('.'))
        .unwrap_or("");
    let host = Hostname {
        id: format!("zone_{}:{name}", z.id),
        zone_id: z.id,
        zone: z.name.clone(),
        label: label.to_string(),
        user_id: z.owner_id,
        ipv4: value(RType::A).and_then(|a| a.parse().ok()),
        ipv6: value(RType::Aaaa).and_then(|a| a.parse().ok()),
        txt: value(RType::Txt).map(|t| content::txt_value(&t)),
        ttl,
        note: None,
        created_at: String::new(),
        updated_at: crate::clock::now_rfc3339(),
        ipv6_suffix: None,
        updated_from: None,
    };
    Ok((host, changed))
}
