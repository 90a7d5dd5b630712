//! `/v1/zones/{id}/records[/{rid}]`: a hosted zone's records as LuaDNS shows them. A request
//! body becomes a validated `RecordInput` here (name inside the zone, content normalised per
//! type, TTL per the one TTL rule); the rules between records are the domain layer's
//! (`domain::records`), which also publishes the touched RRsets in the same write.

use serde::Serialize;
use serde_json::{Map, Value};

use super::{body_object, ListOpts, LuaAuth, SortKey};
use crate::api::{ApiRequest, Ctx, Reply};
use crate::dns::ApexConfig;
use crate::domain::records::{self as ops, owner_in_zone, Limits, RecordInput};
use crate::domain::zones::soa_content;
use crate::error::ApiError;
use crate::model::value::TtlInput;
use crate::model::{content, RType, Record, TtlRange, Zone};
use crate::store::queries::records as rows;

/// A record as LuaDNS shows it, keys in LuaDNS's order (acme.sh and OpenWrt's script match
/// `"id":N,"name":"<fqdn>.","type":"TXT"` and read `"content"` right after `type`).
#[derive(Serialize)]
pub struct RecordJson {
    pub id: i64,
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: &'static str,
    pub content: String,
    pub ttl: u32,
    pub zone_id: i64,
    pub generated: bool,
    pub external_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

pub fn record_json(apex: &ApexConfig, z: &Zone, r: &Record) -> RecordJson {
    let soa = r.rtype == RType::Soa;
    RecordJson {
        id: r.id,
        name: format!("{}.", r.name),
        rtype: r.rtype.as_str(),
        // The SOA shown is the one served: config fields and the live serial.
        content: if soa {
            soa_content(apex, z.serial)
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

/// What parsing and writing records needs from the config.
#[derive(Debug, Clone, Copy)]
pub struct InputRules {
    pub ttl: TtlRange,
    pub default_ttl: u32,
    pub limits: Limits,
}

impl InputRules {
    pub fn of(ctx: &Ctx) -> InputRules {
        InputRules {
            ttl: ctx.ttl_range(),
            default_ttl: ctx.config.limits.record_default_ttl,
            limits: Limits {
                max_records: ctx.config.limits.max_records_per_zone,
            },
        }
    }
}

/// `name`, `type`, `content` required; `ttl` optional (the user's default); `external_id`
/// optional. Other fields (id, zone_id, … echoed from a GET) are ignored, as LuaDNS clients
/// send them back.
pub fn parse_input(
    rules: InputRules,
    z: &Zone,
    m: &Map<String, Value>,
) -> Result<RecordInput, ApiError> {
    let bad = ApiError::BadRequest;
    let s = |k: &str| -> Result<&str, ApiError> {
        match m.get(k) {
            Some(Value::String(v)) => Ok(v.as_str()),
            None | Some(Value::Null) => Err(bad(format!("{k} is required"))),
            Some(_) => Err(bad(format!("{k} must be a string"))),
        }
    };
    let rtype: RType = s("type")?.trim().parse()?;
    let name = owner_in_zone(z, s("name")?)?;
    let content = content::normalize_in(rtype, s("content")?, &z.name)?;
    let ttl = match m.get("ttl") {
        None | Some(Value::Null) => rules.default_ttl,
        // A JSON number; `"300"` is refused like any other non-number.
        Some(Value::Number(n)) => rules.ttl.check(TtlInput::Number(n.as_u64()), "ttl")?,
        Some(_) => rules.ttl.check(TtlInput::Other, "ttl")?,
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
    let apex = &ctx.config.apex;
    let items = ctx.store.read(|tx| {
        let z = a.zone(tx, zid)?;
        let all = rows::records_of_zone(tx, z.id)?;
        Ok::<_, ApiError>(
            all.iter()
                .map(|r| record_json(apex, &z, r))
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
        "type" => SortKey::Text(r.rtype.to_string()),
        "content" => SortKey::Text(r.content.clone()),
        "ttl" => SortKey::Int(r.ttl as i64),
        "created_at" => SortKey::Text(r.created_at.clone()),
        "updated_at" => SortKey::Text(r.updated_at.clone()),
        _ => SortKey::Int(r.id),
    }))
}

pub fn create(ctx: &Ctx, req: &ApiRequest, a: &LuaAuth, zid: &str) -> Result<Reply, ApiError> {
    let m = body_object(req)?;
    let (rules, apex, who, zid) = (
        InputRules::of(ctx),
        ctx.config.apex.clone(),
        a.clone(),
        zid.to_string(),
    );
    let j = ctx.store.write(move |w| {
        let z = who.zone(w.tx, &zid)?;
        let input = parse_input(rules, &z, &m)?;
        let r = ops::create(w, &z, input, rules.limits)?;
        Ok::<_, ApiError>(record_json(&apex, &z, &r))
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
        let r = ops::get(tx, &z, rid)?;
        Ok::<_, ApiError>(record_json(&ctx.config.apex, &z, &r))
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
    let (rules, apex, who) = (InputRules::of(ctx), ctx.config.apex.clone(), a.clone());
    let (zid, rid) = (zid.to_string(), rid.to_string());
    let j = ctx.store.write(move |w| {
        let z = who.zone(w.tx, &zid)?;
        // The SOA is refused before its body is looked at.
        let old = ops::get(w.tx, &z, &rid)?;
        if old.rtype == RType::Soa {
            return Err(ApiError::BadRequest(
                "the SOA record is managed by the server".into(),
            ));
        }
        let input = parse_input(rules, &z, &m)?;
        let r = ops::update(w, &z, &rid, input, m.contains_key("external_id"))?;
        Ok::<_, ApiError>(record_json(&apex, &z, &r))
    })?;
    Ok(Reply::json(200, &j))
}

pub fn delete(ctx: &Ctx, a: &LuaAuth, zid: &str, rid: &str) -> Result<Reply, ApiError> {
    let (apex, who) = (ctx.config.apex.clone(), a.clone());
    let (zid, rid) = (zid.to_string(), rid.to_string());
    let j = ctx.store.write(move |w| {
        let z = who.zone(w.tx, &zid)?;
        let r = ops::delete(w, &z, &rid)?;
        Ok::<_, ApiError>(record_json(&apex, &z, &r))
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
