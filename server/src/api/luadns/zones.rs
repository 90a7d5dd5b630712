//! `/v1/zones` and `/v1/zones/{id}` (+ `/ds_records`): a user's hosted zones. Creating one goes
//! through `domain::zones::create`, the same code as `lucentd zone add`; PUT may replace the
//! whole record set atomically.

use serde::Serialize;
use serde_json::Value;

use super::records::{parse_input, record_json, InputRules, RecordJson};
use super::{body_object, ListOpts, LuaAuth, SortKey};
use crate::api::{ApiRequest, Ctx, Reply};
use crate::dns::ApexConfig;
use crate::domain::records::RecordInput;
use crate::domain::{records as record_ops, zones as ops};
use crate::error::ApiError;
use crate::model::{name, RType, Zone, ZoneKind};
use crate::store::queries::{records, zones};

/// A zone as LuaDNS shows it; keys in LuaDNS's order (`id` right before `name`).
#[derive(Serialize)]
pub struct ZoneJson {
    pub id: i64,
    pub name: String,
    pub synced: bool,
    pub queries_count: i64,
    pub records_count: u32,
    pub aliases_count: u32,
    pub redirects_count: u32,
    pub forwards_count: u32,
    pub template_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<Vec<RecordJson>>,
    pub created_at: String,
    pub updated_at: String,
}

fn zone_json(
    tx: &rusqlite::Connection,
    apex: &ApexConfig,
    z: &Zone,
    with_records: bool,
) -> Result<ZoneJson, ApiError> {
    let records = if with_records {
        Some(
            records::records_of_zone(tx, z.id)?
                .iter()
                .map(|r| record_json(apex, z, r))
                .collect(),
        )
    } else {
        None
    };
    Ok(ZoneJson {
        id: z.id,
        name: z.name.clone(),
        synced: true,
        queries_count: z.queries_count,
        records_count: records::records_count(tx, z.id)?,
        aliases_count: 0,
        redirects_count: 0,
        forwards_count: 0,
        template_id: 0,
        records,
        created_at: z.created_at.clone(),
        updated_at: z.updated_at.clone(),
    })
}

pub fn list(ctx: &Ctx, req: &ApiRequest, a: &LuaAuth) -> Result<Reply, ApiError> {
    let opts = ListOpts::parse(
        req,
        &[
            "id",
            "name",
            "queries_count",
            "records_count",
            "created_at",
            "updated_at",
        ],
    )?;
    let zones = ctx.store.read(|tx| {
        let mut out = Vec::new();
        for z in zones::zones_of_user(tx, a.user.id)? {
            if a.zone_only.is_some_and(|only| only != z.id) {
                continue;
            }
            if opts
                .query
                .as_ref()
                .is_some_and(|q| !z.name.contains(q.as_str()))
            {
                continue;
            }
            out.push(zone_json(tx, &ctx.config.apex, &z, false)?);
        }
        Ok::<_, ApiError>(out)
    })?;
    Ok(opts.page(zones, |z, col| match col {
        "name" => SortKey::Text(z.name.clone()),
        "queries_count" => SortKey::Int(z.queries_count),
        "records_count" => SortKey::Int(z.records_count as i64),
        "created_at" => SortKey::Text(z.created_at.clone()),
        "updated_at" => SortKey::Text(z.updated_at.clone()),
        _ => SortKey::Int(z.id),
    }))
}

pub fn create(ctx: &Ctx, req: &ApiRequest, a: &LuaAuth) -> Result<Reply, ApiError> {
    if a.zone_only.is_some() {
        return Err(ApiError::Forbidden(
            "a zone-restricted API key cannot create zones".into(),
        ));
    }
    let m = body_object(req)?;
    let name = match m.get("name") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(ApiError::BadRequest("name is required".into())),
    };
    match m.get("template_id") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_i64() == Some(0) => {}
        Some(_) => return Err(ApiError::BadRequest("templates are not supported".into())),
    }
    let name = name::zone_name(&name)?;
    let (apex, owner) = (ctx.config.apex.clone(), a.user.id);
    let rules = ops::UserZoneRules {
        max_zones: ctx.config.limits.max_zones_per_user,
    };
    let zone = ctx.store.write(move |w| {
        ops::check_user_zone(w.tx, &apex, &name, owner, rules)
            .and_then(|()| ops::create(w, &apex, &name, ZoneKind::Hosted, Some(owner)))
            .map_err(|e| match e {
                ops::CreateError::Conflict(why) => {
                    log::debug!("zone create refused: {why}");
                    ApiError::Forbidden(format!("Zone '{name}' is taken already."))
                }
                ops::CreateError::Store(e) => e.into(),
                why => ApiError::Forbidden(format!("Zone '{name}' cannot be created: {why}.")),
            })
    })?;
    log::info!("hosted zone {} created by user {}", zone.name, a.user.id);
    let j = ctx
        .store
        .read(|tx| zone_json(tx, &ctx.config.apex, &zone, false))?;
    Ok(Reply::json(200, &j))
}

pub fn get(ctx: &Ctx, a: &LuaAuth, id: &str) -> Result<Reply, ApiError> {
    let j = ctx.store.read(|tx| {
        let z = a.zone(tx, id)?;
        zone_json(tx, &ctx.config.apex, &z, true)
    })?;
    Ok(Reply::json(200, &j))
}

/// PUT: `name` must be the zone's own (renaming is not supported); `records`, when given,
/// replace every record but the SOA in one transaction.
pub fn update(ctx: &Ctx, req: &ApiRequest, a: &LuaAuth, id: &str) -> Result<Reply, ApiError> {
    let m = body_object(req)?;
    let (rules, apex, who, id) = (
        InputRules::of(ctx),
        ctx.config.apex.clone(),
        a.clone(),
        id.to_string(),
    );
    // A bulk write: it runs in a group of its own, after the ordinary writes queued with it.
    let j = ctx.store.write_bulk(move |w| {
        let z = who.zone(w.tx, &id)?;
        match m.get("name") {
            Some(Value::String(n)) => {
                if name::domain_name(n)? != z.name {
                    return Err(ApiError::BadRequest(
                        "a zone cannot be renamed; create a new zone instead".into(),
                    ));
                }
            }
            _ => return Err(ApiError::BadRequest("name is required".into())),
        }
        if let Some(v) = m.get("records").filter(|v| !v.is_null()) {
            let list = v
                .as_array()
                .ok_or_else(|| ApiError::BadRequest("records must be an array".into()))?;
            let mut inputs = Vec::with_capacity(list.len());
            for (i, r) in list.iter().enumerate() {
                let obj = r.as_object().ok_or_else(|| {
                    ApiError::BadRequest(format!("records[{i}] must be an object"))
                })?;
                let input = parse_input(rules, &z, obj)
                    .map_err(|e| ApiError::BadRequest(format!("records[{i}]: {}", e.message())))?;
                inputs.push(input);
            }
            let default_ns = apex
                .nameservers
                .iter()
                .map(|ns| RecordInput {
                    name: z.name.clone(),
                    rtype: RType::Ns,
                    content: format!("{ns}."),
                    ttl: apex.ns_ttl,
                    external_id: None,
                })
                .collect();
            record_ops::replace_all(w, &z, inputs, default_ns, rules.limits, |i| {
                format!("records[{i}]")
            })?;
        }
        let z = zones::zone_by_id(w.tx, z.id)?
            .ok_or_else(|| ApiError::Internal("zone vanished".into()))?;
        zone_json(w.tx, &apex, &z, true)
    })?;
    Ok(Reply::json(200, &j))
}

pub fn delete(ctx: &Ctx, a: &LuaAuth, id: &str) -> Result<Reply, ApiError> {
    // A zone-restricted key (an ACME hook's) manages records only, never the zone itself.
    if a.zone_only.is_some() {
        return Err(ApiError::Forbidden(
            "a zone-restricted API key cannot delete zones".into(),
        ));
    }
    let (apex, who, id) = (ctx.config.apex.clone(), a.clone(), id.to_string());
    let j = ctx.store.write_bulk(move |w| {
        let z = who.zone(w.tx, &id)?;
        let j = zone_json(w.tx, &apex, &z, true)?;
        ops::delete(w, &z)?;
        Ok::<_, ApiError>(j)
    })?;
    log::info!("hosted zone {} deleted by user {}", j.name, a.user.id);
    Ok(Reply::json(200, &j))
}

/// The DS records to put at the parent (seed 001's fields), as `lucentd zone ds` prints them;
/// an empty list when the zone is not signed.
pub fn ds_records(ctx: &Ctx, a: &LuaAuth, id: &str) -> Result<Reply, ApiError> {
    let ttl = ctx.config.apex.soa_ttl;
    let list = ctx.store.read(|tx| {
        let z = a.zone(tx, id)?;
        Ok::<_, ApiError>(crate::domain::dnssec::ds_records(tx, &z, ttl)?)
    })?;
    Ok(Reply::json(200, &list))
}
