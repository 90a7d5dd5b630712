//! Records of hosted zones: the rules that involve more than one record (a CNAME owns its
//! name alone and never sits at the apex, MX/NS/SRV targets are not aliases, no duplicate
//! records, the SOA is the server's, the apex keeps an NS), and creating, changing, deleting
//! and replacing records with the touched RRsets published in the same write.

use rusqlite::Connection;

use crate::clock;
use crate::error::ApiError;
use crate::model::name::{self, is_at_or_below};
use crate::model::record::alias_free_target;
use crate::model::{RType, Record, RrsetChange, Zone};
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

/// An owner name inside zone `z` (fqdn with or without the final dot, or `@` for the apex).
pub fn owner_in_zone(z: &Zone, name: &str) -> Result<String, ApiError> {
    let n = name.trim();
    if n == "@" {
        return Ok(z.name.clone());
    }
    let n = name::owner_name(n)?;
    if is_at_or_below(&n, &z.name) {
        Ok(n)
    } else {
        Err(ApiError::BadRequest(format!(
            "name '{n}.' is not inside the zone '{}'",
            z.name
        )))
    }
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
        let pointing = records::records_of_zone(tx, z.id)?.into_iter().find(|x| {
            Some(x.id) != except && alias_free_target(x.rtype, &x.content) == Some(&r.name)
        });
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
    let mut changes: Vec<RrsetChange> = Vec::new();
    for (name, t) in sets {
        if *t == RType::Soa || changes.iter().any(|c| c.name == *name && c.rtype == *t) {
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

pub fn create(w: &mut WriteTx, z: &Zone, input: RecordInput) -> Result<Record, ApiError> {
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
pub fn replace_all(
    w: &mut WriteTx,
    z: &Zone,
    inputs: Vec<RecordInput>,
    default_ns: Vec<RecordInput>,
) -> Result<(), ApiError> {
    let mut sets = records::delete_zone_records_but_soa(w.tx, z.id)?;
    let now = clock::now_rfc3339();
    let mut all: Vec<RecordInput> = inputs
        .into_iter()
        .filter(|r| r.rtype != RType::Soa)
        .collect();
    if !all.iter().any(|r| r.rtype == RType::Ns && r.name == z.name) {
        all.extend(default_ns);
    }
    for input in all {
        check_name_rules(w.tx, z, &input, None)?;
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
        sets.push((input.name, input.rtype));
    }
    publish_sets(w, z, &sets)
}
