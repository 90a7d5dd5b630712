//! `/v1/zones/{id}/records[/{rid}]`: a hosted zone's records. Names must be inside the zone,
//! content is validated and normalised per type (`records::normalize`), a CNAME owns its name
//! alone and never sits at the apex, the SOA is the server's, and the apex keeps at least one
//! NS. Every change publishes the touched RRsets (and bumps the serial) in its transaction.

use serde::Serialize;
use serde_json::{Map, Value};

use super::{body_object, ListOpts, LuaAuth, SortKey};
use crate::api::{ApiRequest, Ctx, Reply};
use crate::clock;
use crate::error::ApiError;
use crate::records::{self, RType};
use crate::store::{queries, Record, WriteTx, Zone};

/// A record as LuaDNS shows it, keys in LuaDNS's order (acme.sh and OpenWrt's script match
/// `"id":N,"name":"<fqdn>.","type":"TXT"` and read `"content"` right after `type`).
#[derive(Serialize)]
pub struct RecordJson {
    pub id: i64,
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    pub content: String,
    pub ttl: u32,
    pub zone_id: i64,
    pub generated: bool,
    pub external_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

pub fn record_json(ctx: &Ctx, z: &Zone, r: &Record) -> RecordJson {
    let soa = r.rtype == "SOA";
    RecordJson {
        id: r.id,
        name: format!("{}.", r.name),
        rtype: r.rtype.clone(),
        // The SOA shown is the one served: config fields and the live serial.
        content: if soa {
            queries::soa_content(&ctx.config.apex, z.serial)
        } else {
            r.content.clone()
        },
        ttl: r.ttl,
        zone_id: r.zone_id,
        generated: soa,
        external_id: r.external_id.clone(),
        created_at: r.created_at.clone(),
        updated_at: r.updated_at.clone(),
    }
}

/// A validated record from a request body.
#[derive(Debug, Clone)]
pub struct RecordInput {
    pub name: String,
    pub rtype: RType,
    pub content: String,
    pub ttl: u32,
    pub external_id: Option<String>,
}

impl RecordInput {
    /// `name`, `type`, `content` required; `ttl` optional (the user's default);
    /// `external_id` optional. Other fields (id, zone_id, … echoed from a GET) are ignored.
    pub fn parse(ctx: &Ctx, z: &Zone, m: &Map<String, Value>) -> Result<RecordInput, ApiError> {
        let bad = |s: String| ApiError::BadRequest(s);
        let s = |k: &str| -> Result<&str, ApiError> {
            match m.get(k) {
                Some(Value::String(v)) => Ok(v.as_str()),
                None | Some(Value::Null) => Err(bad(format!("{k} is required"))),
                Some(_) => Err(bad(format!("{k} must be a string"))),
            }
        };
        let rtype: RType = s("type")?
            .trim()
            .parse()
            .map_err(|e: records::RecordError| bad(e.0))?;
        let name = owner_name(z, s("name")?)?;
        let content = records::normalize(rtype, s("content")?).map_err(|e| bad(e.0))?;
        let ttl = match m.get("ttl") {
            None | Some(Value::Null) => ctx.config.limits.record_default_ttl,
            Some(v) => {
                let n = match v {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.trim().parse().ok(),
                    _ => None,
                }
                .ok_or_else(|| bad("ttl must be a whole number of seconds".into()))?;
                let l = &ctx.config.limits;
                if n < l.min_ttl as u64 || n > l.max_ttl as u64 {
                    return Err(bad(format!(
                        "ttl must be between {} and {} seconds",
                        l.min_ttl, l.max_ttl
                    )));
                }
                n as u32
            }
        };
        let external_id = match m.get("external_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.len() <= 255 => Some(s.clone()).filter(|s| !s.is_empty()),
            Some(_) => {
                return Err(bad(
                    "external_id must be a string of at most 255 bytes".into()
                ))
            }
        };
        Ok(RecordInput {
            name,
            rtype,
            content,
            ttl,
            external_id,
        })
    }
}

/// An owner name inside zone `z` (fqdn with or without the final dot, or `@` for the apex).
fn owner_name(z: &Zone, name: &str) -> Result<String, ApiError> {
    let n = name.trim();
    if n == "@" {
        return Ok(z.name.clone());
    }
    let n = records::validate_name(n).map_err(|e| ApiError::BadRequest(e.0))?;
    if n == z.name || n.ends_with(&format!(".{}", z.name)) {
        Ok(n)
    } else {
        Err(ApiError::BadRequest(format!(
            "name '{n}.' is not inside the zone '{}'",
            z.name
        )))
    }
}

/// The rules that involve other records at the same name (RFC 1034 §3.6.2, RFC 2181 §10.1,
/// RFC 2181 §5 no duplicate records in an RRset).
fn check_name_rules(
    tx: &rusqlite::Connection,
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
    let here: Vec<Record> = queries::records_at(tx, z.id, &r.name)?
        .into_iter()
        .filter(|x| Some(x.id) != except)
        .collect();
    if r.rtype == RType::Cname && !here.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "a CNAME cannot share its name with other records ({}. has {})",
            r.name, here[0].rtype
        )));
    }
    if let Some(c) = here.iter().find(|x| x.rtype == "CNAME") {
        return Err(ApiError::BadRequest(format!(
            "{}. is a CNAME (record {}); no other record may share its name",
            r.name, c.id
        )));
    }
    // RFC 2181 §10.3: MX, NS and SRV targets must not be aliases (checked inside the zone).
    if let Some(target) = alias_free_target(r.rtype, &r.content) {
        let is_alias = queries::records_at(tx, z.id, &target)?
            .iter()
            .any(|x| x.rtype == "CNAME");
        if is_alias {
            return Err(ApiError::BadRequest(format!(
                "the {} target {target}. is a CNAME; it must name the host itself (RFC 2181 §10.3)",
                r.rtype
            )));
        }
    }
    if r.rtype == RType::Cname {
        let pointing = queries::records_of_zone(tx, z.id)?.into_iter().find(|x| {
            Some(x.id) != except
                && x.rtype
                    .parse::<RType>()
                    .ok()
                    .and_then(|t| alias_free_target(t, &x.content))
                    .as_deref()
                    == Some(r.name.as_str())
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
        .find(|x| x.rtype == r.rtype.as_str() && x.content == r.content)
    {
        return Err(ApiError::BadRequest(format!(
            "an identical record exists (id {})",
            d.id
        )));
    }
    Ok(())
}

/// The target name of an MX, NS or SRV record (normalised content: the last field, an fqdn
/// with its dot), which must not be an alias.
fn alias_free_target(t: RType, content: &str) -> Option<String> {
    match t {
        RType::Mx | RType::Ns | RType::Srv => content
            .split_whitespace()
            .last()
            .map(|n| n.trim_end_matches('.').to_string())
            .filter(|n| !n.is_empty()),
        _ => None,
    }
}

fn publish_sets(w: &mut WriteTx, z: &Zone, sets: &[(String, RType)]) -> Result<(), ApiError> {
    let mut changes = Vec::new();
    for (name, t) in sets {
        if *t == RType::Soa
            || changes
                .iter()
                .any(|c: &crate::dns::RrsetChange| c.name == *name && c.rtype == *t)
        {
            continue;
        }
        changes.push(queries::rrset(w.tx, z.id, name, *t)?);
    }
    w.publish(z, changes)?;
    Ok(())
}

/// After `old` was changed or removed: the apex must keep at least one NS record.
fn check_apex_ns(tx: &rusqlite::Connection, z: &Zone, old: &Record) -> Result<(), ApiError> {
    if old.rtype != "NS" || old.name != z.name {
        return Ok(());
    }
    let left = queries::records_at(tx, z.id, &z.name)?
        .iter()
        .filter(|r| r.rtype == "NS")
        .count();
    if left == 0 {
        return Err(ApiError::BadRequest(
            "the zone apex needs at least one NS record".into(),
        ));
    }
    Ok(())
}

/// The type of a stored record (written by us, so it always parses).
fn stored_type(r: &Record) -> Result<RType, ApiError> {
    r.rtype
        .parse()
        .map_err(|e: records::RecordError| ApiError::Internal(e.0))
}

fn parse_rid(rid: &str) -> Result<i64, ApiError> {
    rid.parse()
        .map_err(|_| ApiError::NotFound("not_found", "Record not found".into()))
}

fn record_in(tx: &rusqlite::Connection, z: &Zone, rid: &str) -> Result<Record, ApiError> {
    queries::record_by_id(tx, z.id, parse_rid(rid)?)?
        .ok_or_else(|| ApiError::NotFound("not_found", "Record not found".into()))
}

pub fn list(ctx: &Ctx, req: &ApiRequest, a: &LuaAuth, zid: &str) -> Result<Reply, ApiError> {
    let opts = ListOpts::parse(
        req,
        &[
            "id",
            "name",
            "type",
            "content",
            "ttl",
            "created_at",
            "updated_at",
        ],
    )?;
    let items = ctx.store.read(|tx| {
        let z = a.zone(tx, zid)?;
        let rows = queries::records_of_zone(tx, z.id)?;
        Ok::<_, ApiError>(
            rows.iter()
                .map(|r| record_json(ctx, &z, r))
                .filter(|r| {
                    opts.query.as_ref().is_none_or(|q| {
                        r.name.contains(q.as_str())
                            || r.rtype.to_ascii_lowercase() == *q
                            || r.content.to_ascii_lowercase().contains(q.as_str())
                    })
                })
                .collect::<Vec<_>>(),
        )
    })?;
    Ok(opts.page(items, |r, col| match col {
        "name" => SortKey::Text(r.name.clone()),
        "type" => SortKey::Text(r.rtype.clone()),
        "content" => SortKey::Text(r.content.clone()),
        "ttl" => SortKey::Int(r.ttl as i64),
        "created_at" => SortKey::Text(r.created_at.clone()),
        "updated_at" => SortKey::Text(r.updated_at.clone()),
        _ => SortKey::Int(r.id),
    }))
}

pub fn create(ctx: &Ctx, req: &ApiRequest, a: &LuaAuth, zid: &str) -> Result<Reply, ApiError> {
    let m = body_object(req)?;
    let j = ctx.store.write(|w| {
        let z = a.zone(w.tx, zid)?;
        let input = RecordInput::parse(ctx, &z, &m)?;
        check_name_rules(w.tx, &z, &input, None)?;
        let now = clock::now_rfc3339();
        let mut r = Record {
            id: 0,
            zone_id: z.id,
            name: input.name.clone(),
            rtype: input.rtype.as_str().to_string(),
            content: input.content,
            ttl: input.ttl,
            external_id: input.external_id,
            created_at: now.clone(),
            updated_at: now,
        };
        r.id = queries::insert_record(w.tx, &r)?;
        publish_sets(w, &z, &[(input.name, input.rtype)])?;
        Ok::<_, ApiError>(record_json(ctx, &z, &r))
    })?;
    log::info!(
        "record {} {} {} created by user {}",
        j.id,
        j.name,
        j.rtype,
        a.user.id
    );
    Ok(Reply::json(200, &j))
}

pub fn get(ctx: &Ctx, a: &LuaAuth, zid: &str, rid: &str) -> Result<Reply, ApiError> {
    let j = ctx.store.read(|tx| {
        let z = a.zone(tx, zid)?;
        let r = record_in(tx, &z, rid)?;
        Ok::<_, ApiError>(record_json(ctx, &z, &r))
    })?;
    Ok(Reply::json(200, &j))
}

pub fn update(
    ctx: &Ctx,
    req: &ApiRequest,
    a: &LuaAuth,
    zid: &str,
    rid: &str,
) -> Result<Reply, ApiError> {
    let m = body_object(req)?;
    let j = ctx.store.write(|w| {
        let z = a.zone(w.tx, zid)?;
        let old = record_in(w.tx, &z, rid)?;
        if old.rtype == "SOA" {
            return Err(ApiError::BadRequest(
                "the SOA record is managed by the server".into(),
            ));
        }
        let input = RecordInput::parse(ctx, &z, &m)?;
        check_name_rules(w.tx, &z, &input, Some(old.id))?;
        let mut r = old.clone();
        r.name = input.name.clone();
        r.rtype = input.rtype.as_str().to_string();
        r.content = input.content;
        r.ttl = input.ttl;
        if m.contains_key("external_id") {
            r.external_id = input.external_id;
        }
        r.updated_at = clock::now_rfc3339();
        queries::update_record(w.tx, &r)?;
        check_apex_ns(w.tx, &z, &old)?;
        let old_t = stored_type(&old)?;
        publish_sets(
            w,
            &z,
            &[(old.name.clone(), old_t), (input.name, input.rtype)],
        )?;
        Ok::<_, ApiError>(record_json(ctx, &z, &r))
    })?;
    Ok(Reply::json(200, &j))
}

pub fn delete(ctx: &Ctx, a: &LuaAuth, zid: &str, rid: &str) -> Result<Reply, ApiError> {
    let j = ctx.store.write(|w| {
        let z = a.zone(w.tx, zid)?;
        let r = record_in(w.tx, &z, rid)?;
        if r.rtype == "SOA" {
            return Err(ApiError::BadRequest(
                "the SOA record is managed by the server".into(),
            ));
        }
        queries::delete_record(w.tx, r.id)?;
        check_apex_ns(w.tx, &z, &r)?;
        publish_sets(w, &z, &[(r.name.clone(), stored_type(&r)?)])?;
        Ok::<_, ApiError>(record_json(ctx, &z, &r))
    })?;
    log::info!(
        "record {} {} {} deleted by user {}",
        j.id,
        j.name,
        j.rtype,
        a.user.id
    );
    Ok(Reply::json(200, &j))
}

/// Replace every non-SOA record of `z` with `inputs` (PUT /v1/zones/{id} with `records`).
pub fn replace_all(
    ctx: &Ctx,
    w: &mut WriteTx,
    z: &Zone,
    inputs: Vec<RecordInput>,
) -> Result<(), ApiError> {
    let removed = queries::delete_zone_records_but_soa(w.tx, z.id)?;
    let mut sets: Vec<(String, RType)> = removed
        .into_iter()
        .filter_map(|(n, t)| t.parse().ok().map(|t| (n, t)))
        .collect();
    let now = clock::now_rfc3339();
    let has_ns = inputs
        .iter()
        .any(|r| r.rtype == RType::Ns && r.name == z.name);
    let mut all = inputs;
    if !has_ns {
        for ns in &ctx.config.apex.nameservers {
            all.push(RecordInput {
                name: z.name.clone(),
                rtype: RType::Ns,
                content: format!("{ns}."),
                ttl: ctx.config.apex.ns_ttl,
                external_id: None,
            });
        }
    }
    for input in all {
        check_name_rules(w.tx, z, &input, None)?;
        queries::insert_record(
            w.tx,
            &Record {
                id: 0,
                zone_id: z.id,
                name: input.name.clone(),
                rtype: input.rtype.as_str().to_string(),
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
