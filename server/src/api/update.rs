//! `/update` (seed 000; DuckDNS-compatible). Query-string and form requests get DuckDNS's
//! plain-text answers (`OK`, `KO`, and the verbose lines); JSON requests get JSON. The
//! path form `/update/{domain}/{token}[/{ip}]` serves routers that cannot send a query.
//!
//! Modes (PROTOCOLS.md §1): with `txt` present the TXT value is set (empty = cleared) and the
//! addresses are left alone; `clear=true` clears TXT when `txt` is present, else A and AAAA;
//! otherwise `ip` (either family) and `ipv6` set the addresses, and with neither the source
//! address is used. Only hostnames the token owns are touched; the operator token reaches
//! operator-managed names in shared zones (names no user owns).

use std::net::IpAddr;
use std::sync::atomic::Ordering;

use serde_json::{Map, Value};

use crate::api::hostnames::{self, find_owned, view, Changes};
use crate::api::{unmap, ApiRequest, Ctx, Plan, Render, Reply};
use crate::auth::{self, Principal};
use crate::clock;
use crate::error::ApiError;
use crate::secret::{self, Secret};
use crate::store::{queries, Hostname, ZoneKind};
use crate::validate;

/// Answers of the DuckDNS protocol, byte for byte (no trailing newline: lego and certbot
/// compare the whole body with `OK`).
pub const OK: &str = "OK";
pub const KO: &str = "KO";
pub const UPDATED: &str = "UPDATED";
pub const NOCHANGE: &str = "NOCHANGE";

pub fn wants_json(req: &ApiRequest) -> bool {
    req.method == "POST" && req.body_is_json()
}

/// What one update request asks for, parsed and validated before anything is touched.
#[derive(Debug, Default)]
struct UpdateRequest {
    domains: Vec<String>,
    changes: Changes,
    txt_mode: bool,
    verbose: bool,
    json: bool,
}

fn truthy(s: &str) -> bool {
    matches!(s.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on")
}

fn parse_params(
    ctx: &Ctx,
    params: &[(String, String)],
    peer: IpAddr,
) -> Result<UpdateRequest, ApiError> {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let domains = get("domains")
        .or(get("domain"))
        .map(|d| {
            d.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut req = UpdateRequest {
        domains,
        verbose: get("verbose").is_some_and(truthy),
        ..Default::default()
    };
    let clear = get("clear").is_some_and(truthy);
    let ip = get("ip").map(str::trim).filter(|s| !s.is_empty());
    let ipv6 = get("ipv6").map(str::trim).filter(|s| !s.is_empty());
    let txt = get("txt");
    address_changes(ctx, &mut req, clear, ip, ipv6, txt, peer)?;
    if let Some(t) = get("ttl").filter(|s| !s.is_empty()) {
        req.changes.ttl = Some(hostnames::ttl(ctx, &Value::String(t.into()))?);
    }
    Ok(req)
}

/// The mode rules shared by the query and JSON forms.
fn address_changes(
    _ctx: &Ctx,
    req: &mut UpdateRequest,
    clear: bool,
    ip: Option<&str>,
    ipv6: Option<&str>,
    txt: Option<&str>,
    peer: IpAddr,
) -> Result<(), ApiError> {
    let bad = ApiError::BadRequest;
    let c = &mut req.changes;
    if let Some(t) = txt {
        req.txt_mode = true;
        c.txt = Some(if clear || t.is_empty() {
            None
        } else {
            Some(validate::txt(t).map_err(bad)?)
        });
        // The TXT API leaves addresses alone unless they are given explicitly.
        if clear {
            return Ok(());
        }
    } else if clear {
        c.ipv4 = Some(None);
        c.ipv6 = Some(None);
        return Ok(());
    }
    if let Some(ip) = ip {
        match validate::ip(ip).map_err(bad)? {
            IpAddr::V4(a) => c.ipv4 = Some(Some(a.to_string())),
            IpAddr::V6(a) => c.ipv6 = Some(Some(a.to_string())),
        }
    }
    if let Some(v6) = ipv6 {
        c.ipv6 = Some(Some(validate::ipv6(v6).map_err(bad)?.to_string()));
    }
    if ip.is_none() && ipv6.is_none() && txt.is_none() {
        match unmap(peer) {
            IpAddr::V4(a) => c.ipv4 = Some(Some(a.to_string())),
            IpAddr::V6(a) => c.ipv6 = Some(Some(a.to_string())),
        }
    }
    Ok(())
}

fn parse_json(ctx: &Ctx, m: &Map<String, Value>, peer: IpAddr) -> Result<UpdateRequest, ApiError> {
    for k in m.keys() {
        if ![
            "domains", "domain", "ip", "ipv4", "ipv6", "txt", "clear", "ttl", "note", "verbose",
            "token",
        ]
        .contains(&k.as_str())
        {
            return Err(ApiError::BadRequest(format!(
                "unknown field '{}'",
                validate::printable(k)
            )));
        }
    }
    let domains = match m.get("domains").or(m.get("domain")) {
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(|s| s.trim().to_string())
                    .ok_or_else(|| ApiError::BadRequest("'domains' must hold strings".into()))
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(Value::String(s)) => s.split(',').map(|x| x.trim().to_string()).collect(),
        None => Vec::new(),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "'domains' must be a list of names or a comma-separated string".into(),
            ))
        }
    };
    let s = |k: &str| -> Result<Option<&str>, ApiError> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(ApiError::BadRequest(format!("'{k}' must be a string"))),
        }
    };
    let clear = match m.get("clear") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => truthy(s),
        Some(_) => return Err(ApiError::BadRequest("'clear' must be a boolean".into())),
    };
    let mut req = UpdateRequest {
        domains: domains.into_iter().filter(|d| !d.is_empty()).collect(),
        json: true,
        ..Default::default()
    };
    let ip = s("ip")?
        .or(s("ipv4")?)
        .map(str::trim)
        .filter(|x| !x.is_empty());
    let ipv6 = s("ipv6")?.map(str::trim).filter(|x| !x.is_empty());
    // In JSON, `"txt": null` clears like an empty string.
    let txt = match m.get("txt") {
        Some(Value::Null) => Some(""),
        _ => s("txt")?,
    };
    address_changes(ctx, &mut req, clear, ip, ipv6, txt, peer)?;
    // Without any address or txt field, JSON callers that only set ttl/note keep the addresses.
    if let Some(t) = m.get("ttl").filter(|v| !v.is_null()) {
        req.changes.ttl = Some(hostnames::ttl(ctx, t)?);
    }
    if let Some(n) = s("note")? {
        req.changes.note = Some(if n.is_empty() {
            None
        } else {
            Some(validate::note(n).map_err(ApiError::BadRequest)?)
        });
    }
    Ok(req)
}

/// `GET/POST /update`.
pub fn handle(ctx: &Ctx, req: &ApiRequest) -> Result<Reply, ApiError> {
    plan(ctx, req)?.run(ctx)
}

/// `GET /update/{domain}/{token}[/{ip}]`.
pub fn handle_path(ctx: &Ctx, req: &ApiRequest) -> Result<Reply, ApiError> {
    plan_path(ctx, req)?.run(ctx)
}

/// `/update` up to its write: parsed, authenticated, validated.
pub fn plan(ctx: &Ctx, req: &ApiRequest) -> Result<Plan, ApiError> {
    let mut params = req.query.clone();
    let parsed = if wants_json(req) {
        let m = hostnames::json_object(req)?;
        let token = auth::token_from(req).or_else(|| {
            m.get("token")
                .and_then(Value::as_str)
                .map(|t| Secret::new(t.trim()))
        });
        let p = auth::authenticate(ctx, req, token)?;
        (p, parse_json(ctx, &m, req.peer)?)
    } else {
        if req.method == "POST" && !req.body.is_empty() {
            params.extend(crate::api::parse_form(&String::from_utf8_lossy(&req.body)));
        }
        let token = auth::token_from(req).or_else(|| {
            params
                .iter()
                .find(|(k, _)| k == "token")
                .map(|(_, v)| Secret::new(v.trim()))
        });
        let p = auth::authenticate(ctx, req, token)?;
        (p, parse_params(ctx, &params, req.peer)?)
    };
    plan_write(ctx, parsed.0, parsed.1)
}

/// The path form up to its write.
pub fn plan_path(ctx: &Ctx, req: &ApiRequest) -> Result<Plan, ApiError> {
    let s = &req.segments;
    let p = auth::authenticate(ctx, req, Some(Secret::new(s[2].clone())))?;
    let mut params = vec![("domains".to_string(), s[1].clone())];
    if let Some(ip) = s.get(3) {
        params.push(("ip".to_string(), ip.clone()));
    }
    let u = parse_params(ctx, &params, req.peer)?;
    plan_write(ctx, p, u)
}

fn plan_write(ctx: &Ctx, p: Principal, u: UpdateRequest) -> Result<Plan, ApiError> {
    if u.domains.is_empty() {
        return Err(ApiError::BadRequest("'domains' is required".into()));
    }
    if u.domains.len() > 100 {
        return Err(ApiError::BadRequest(
            "at most 100 domains per request".into(),
        ));
    }
    let default_ttl = ctx.config.limits.default_ttl;
    let UpdateRequest {
        domains,
        changes,
        txt_mode,
        verbose,
        json,
    } = u;
    Ok(Plan::Write(Box::new(move |w| {
        let mut hosts: Vec<Hostname> = Vec::with_capacity(domains.len());
        for d in &domains {
            let h = match &p {
                Principal::User(user) => find_owned(w.tx, user, d)?,
                Principal::Operator => operator_name(w.tx, d, default_ttl)?,
            };
            if !hosts.iter().any(|x| x.id == h.id) {
                hosts.push(h);
            }
        }
        let mut changed = false;
        for h in &mut hosts {
            let is_new = h.created_at.is_empty();
            if changes.apply(h) || is_new {
                changed = true;
                let now = clock::now_rfc3339();
                h.updated_at = now.clone();
                if is_new {
                    h.created_at = now;
                    queries::insert_hostname(w.tx, h)?;
                } else {
                    queries::update_hostname(w.tx, h)?;
                }
                w.publish_host(h)?;
            }
        }
        let render: Render =
            Box::new(move |ctx| answer(ctx, &hosts, changed, txt_mode, verbose, json));
        Ok(render)
    })))
}

/// The reply once the write has committed.
fn answer(
    ctx: &Ctx,
    hosts: &[Hostname],
    changed: bool,
    txt_mode: bool,
    verbose: bool,
    json: bool,
) -> Reply {
    let counter = if changed {
        &ctx.metrics.updates
    } else {
        &ctx.metrics.updates_nochg
    };
    counter.fetch_add(hosts.len() as u64, Ordering::Relaxed);
    if changed {
        for h in hosts {
            log::info!(
                "update {}: ipv4={} ipv6={} txt={}",
                h.fqdn(),
                h.ipv4.as_deref().unwrap_or("-"),
                h.ipv6.as_deref().unwrap_or("-"),
                if h.txt.is_some() { "set" } else { "-" }
            );
        }
    }
    if json {
        return Reply::json(
            200,
            &serde_json::json!({
                "status": OK,
                "changed": changed,
                "hostnames": hosts.iter().map(view).collect::<Vec<_>>(),
            }),
        );
    }
    if !verbose {
        return Reply::text(200, OK);
    }
    let first = &hosts[0];
    let word = if changed { UPDATED } else { NOCHANGE };
    let body = if txt_mode {
        format!("{OK}\n{}\n{word}", first.txt.as_deref().unwrap_or(""))
    } else {
        format!(
            "{OK}\n{}\n{}\n{word}",
            first.ipv4.as_deref().unwrap_or(""),
            first.ipv6.as_deref().unwrap_or("")
        )
    };
    Reply::text(200, body)
}

/// An operator-managed name: an fqdn in a shared zone that no user owns (created on first
/// write; `created_at` is left empty to mark it new).
fn operator_name(tx: &rusqlite::Connection, d: &str, ttl: u32) -> Result<Hostname, ApiError> {
    let fqdn = validate::domain_name(d).map_err(ApiError::BadRequest)?;
    let (zone, label) = queries::zone_for_name(tx, &fqdn)?
        .filter(|(z, _)| z.kind == ZoneKind::Shared)
        .ok_or_else(ApiError::hostname_not_found)?;
    match queries::hostname_by_zone_label(tx, zone.id, &label)? {
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
        }),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn duckdns_words_are_exact() {
        assert_eq!(super::OK, "OK");
        assert_eq!(super::KO, "KO");
        assert_eq!(super::UPDATED, "UPDATED");
        assert_eq!(super::NOCHANGE, "NOCHANGE");
    }
}
