//! `/update` (seed 000; DuckDNS-compatible). Query-string and form requests get DuckDNS's
//! plain-text answers (`OK`, `KO`, and the verbose lines); JSON requests get JSON. The
//! path form `/update/{domain}/{token}[/{ip}]` serves routers that cannot send a query.
//!
//! Modes (docs/protocols.md §1): with `txt` present the TXT value is set (empty = cleared) and
//! the addresses are left alone; `clear=true` clears TXT when `txt` is present, else A and
//! AAAA; otherwise `ip` (either family) and `ipv6` set the addresses, and with neither the
//! source address is used. Only hostnames the token owns are touched; the operator token
//! reaches operator-managed names in shared zones (names no user owns).

use std::net::IpAddr;
use std::sync::atomic::Ordering;

use serde::Deserialize;

use super::auth::{self, Principal};
use super::body::{self, Field, Unknown};
use super::hostnames::view;
use super::{unmap, ApiRequest, Ctx, Plan, Render, Reply};
use crate::domain::hostnames::{self as ops, PrefixResult};
use crate::domain::records::{self as record_ops, Limits};
use crate::error::ApiError;
use crate::model::value::Ipv6Prefix;
use crate::model::{value, Changes, Hostname};
use crate::secret::Secret;

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
    /// `ipv6prefix`: every hostname of the token with an `ipv6Suffix` gets prefix + suffix.
    prefix: Option<Ipv6Prefix>,
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
    req.prefix = get("ipv6prefix")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|p| Ipv6Prefix::parse(p, unmap(peer)))
        .transpose()?;
    address_changes(&mut req, clear, ip, ipv6, txt, peer)?;
    if let Some(t) = get("ttl").filter(|s| !s.is_empty()) {
        req.changes.ttl = Some(
            ctx.ttl_range()
                .check(crate::model::value::TtlInput::Text(t), "'ttl'")?,
        );
    }
    Ok(req)
}

/// The mode rules shared by the query and JSON forms.
fn address_changes(
    req: &mut UpdateRequest,
    clear: bool,
    ip: Option<&str>,
    ipv6: Option<&str>,
    txt: Option<&str>,
    peer: IpAddr,
) -> Result<(), ApiError> {
    let c = &mut req.changes;
    if let Some(t) = txt {
        req.txt_mode = true;
        c.txt = Some(if clear || t.is_empty() {
            None
        } else {
            Some(value::txt(t)?)
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
        match value::ip(ip)? {
            IpAddr::V4(a) => c.ipv4 = Some(Some(a)),
            IpAddr::V6(a) => c.ipv6 = Some(Some(a)),
        }
    }
    if let Some(v6) = ipv6 {
        c.ipv6 = Some(Some(value::ipv6(v6)?));
    }
    if ip.is_none() && ipv6.is_none() && txt.is_none() {
        match unmap(peer) {
            IpAddr::V4(a) => c.ipv4 = Some(Some(a)),
            IpAddr::V6(a) => c.ipv6 = Some(Some(a)),
        }
    }
    Ok(())
}

/// `POST /update` with a JSON body.
#[derive(Deserialize)]
struct UpdateBody {
    #[serde(default)]
    domains: Field,
    #[serde(default)]
    domain: Field,
    #[serde(default)]
    ip: Field,
    #[serde(default)]
    ipv4: Field,
    #[serde(default)]
    ipv6: Field,
    #[serde(default)]
    txt: Field,
    #[serde(default)]
    clear: Field,
    #[serde(default)]
    ttl: Field,
    #[serde(default)]
    note: Field,
    /// Accepted for symmetry with the query form; JSON answers are always complete.
    #[serde(default, rename = "verbose")]
    _verbose: Field,
    #[serde(default)]
    token: Field,
    #[serde(default)]
    ipv6prefix: Field,
    #[serde(flatten)]
    unknown: Unknown,
}

fn parse_json(ctx: &Ctx, b: &UpdateBody, peer: IpAddr) -> Result<UpdateRequest, ApiError> {
    body::refuse_unknown(&b.unknown)?;
    let names = match &b.domains {
        Field::Absent => &b.domain,
        given => given,
    };
    let domains = match names {
        Field::Other(serde_json::Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(|s| s.trim().to_string())
                    .ok_or_else(|| ApiError::BadRequest("'domains' must hold strings".into()))
            })
            .collect::<Result<Vec<_>, _>>()?,
        Field::Str(s) => s.split(',').map(|x| x.trim().to_string()).collect(),
        Field::Absent => Vec::new(),
        _ => {
            return Err(ApiError::BadRequest(
                "'domains' must be a list of names or a comma-separated string".into(),
            ))
        }
    };
    let clear = match &b.clear {
        Field::Absent | Field::Null => false,
        Field::Bool(v) => *v,
        Field::Str(s) => truthy(s),
        _ => return Err(ApiError::BadRequest("'clear' must be a boolean".into())),
    };
    let mut req = UpdateRequest {
        domains: domains.into_iter().filter(|d| !d.is_empty()).collect(),
        json: true,
        ..Default::default()
    };
    let ip =
        b.ip.str("ip")?
            .or(b.ipv4.str("ipv4")?)
            .map(str::trim)
            .filter(|x| !x.is_empty());
    let ipv6 = b.ipv6.str("ipv6")?.map(str::trim).filter(|x| !x.is_empty());
    req.prefix = b
        .ipv6prefix
        .str("ipv6prefix")?
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|p| Ipv6Prefix::parse(p, unmap(peer)))
        .transpose()?;
    // In JSON, `"txt": null` clears like an empty string.
    let txt = match &b.txt {
        Field::Null => Some(""),
        f => f.str("txt")?,
    };
    address_changes(&mut req, clear, ip, ipv6, txt, peer)?;
    // Without any address or txt field, JSON callers that only set ttl/note keep the addresses.
    if let Some(t) = b.ttl.ttl() {
        req.changes.ttl = Some(ctx.ttl_range().check(t, "'ttl'")?);
    }
    if let Some(n) = b.note.str("note")? {
        req.changes.note = Some(if n.is_empty() {
            None
        } else {
            Some(value::note(n)?)
        });
    }
    Ok(req)
}

/// `/update` up to its write: parsed, authenticated, validated.
pub fn plan(ctx: &Ctx, req: &ApiRequest) -> Result<Plan, ApiError> {
    let (p, u) = if wants_json(req) {
        let b: UpdateBody = body::typed(req)?;
        let token = auth::token_from(req).or_else(|| {
            b.token
                .str("token")
                .ok()
                .flatten()
                .map(|t| Secret::new(t.trim()))
        });
        let p = auth::authenticate(ctx, token)?;
        (p, parse_json(ctx, &b, req.peer)?)
    } else {
        let mut params = req.query.clone();
        if req.method == "POST" && !req.body.is_empty() {
            let form = std::str::from_utf8(&req.body)
                .ok()
                .filter(|f| super::target_is_utf8(&format!("?{f}")))
                .ok_or_else(|| ApiError::BadRequest("the form body is not valid UTF-8".into()))?;
            params.extend(super::parse_form(form));
        }
        let token = auth::token_from(req).or_else(|| {
            params
                .iter()
                .find(|(k, _)| k == "token")
                .map(|(_, v)| Secret::new(v.trim()))
        });
        let p = auth::authenticate(ctx, token)?;
        (p, parse_params(ctx, &params, req.peer)?)
    };
    plan_write(ctx, p, u, unmap(req.peer))
}

/// The path form `/update/{domain}/{token}[/{ip}]` up to its write.
pub fn plan_path(
    ctx: &Ctx,
    req: &ApiRequest,
    domain: &str,
    token: &str,
    ip: Option<&str>,
) -> Result<Plan, ApiError> {
    let p = auth::authenticate(ctx, Some(Secret::new(token)))?;
    let mut params = vec![("domains".to_string(), domain.to_string())];
    if let Some(ip) = ip {
        params.push(("ip".to_string(), ip.to_string()));
    }
    let u = parse_params(ctx, &params, req.peer)?;
    plan_write(ctx, p, u, unmap(req.peer))
}

/// The write of an update asked by the client at `from` (recorded as the hostnames' source).
fn plan_write(ctx: &Ctx, p: Principal, u: UpdateRequest, from: IpAddr) -> Result<Plan, ApiError> {
    if u.domains.is_empty() && u.prefix.is_none() {
        return Err(ApiError::BadRequest("'domains' is required".into()));
    }
    if u.prefix.is_some() && matches!(p, Principal::Operator) {
        return Err(ApiError::BadRequest(
            "ipv6prefix re-addresses a user's hostnames: use the user's token".into(),
        ));
    }
    if u.domains.len() > 100 {
        return Err(ApiError::BadRequest(
            "at most 100 domains per request".into(),
        ));
    }
    let default_ttl = ctx.config.limits.default_ttl;
    let limits = Limits {
        max_records: ctx.config.limits.max_records_per_zone,
    };
    let UpdateRequest {
        domains,
        changes,
        prefix,
        txt_mode,
        verbose,
        json,
    } = u;
    Ok(Plan::Write(Box::new(move |w| {
        let mut hosts: Vec<Hostname> = Vec::with_capacity(domains.len());
        let mut changed = false;
        for d in &domains {
            let mut h = match &p {
                Principal::User(user) => match ops::find_owned(w.tx, user, d) {
                    Ok(h) => h,
                    // A name in one of the user's own hosted zones.
                    Err(ApiError::NotFound(..)) => {
                        let (z, name) = ops::own_zone_name(w.tx, user, d)?;
                        if hosts.iter().any(|x| x.fqdn() == name) {
                            continue;
                        }
                        let (h, c) = record_ops::set_host_values(
                            w,
                            &z,
                            &name,
                            &changes,
                            default_ttl,
                            limits,
                        )?;
                        changed |= c;
                        hosts.push(h);
                        continue;
                    }
                    Err(e) => return Err(e),
                },
                Principal::Operator => ops::operator_name(w.tx, d, default_ttl)?,
            };
            if hosts.iter().any(|x| x.id == h.id) {
                continue;
            }
            changed |= ops::save(w, &mut h, &changes, from)?;
            if matches!(p, Principal::Operator) {
                ops::free_if_empty(w, &h)?;
            }
            hosts.push(h);
        }
        let mut by_prefix = Vec::new();
        if let (Some(prefix), Principal::User(user)) = (&prefix, &p) {
            // Hostnames this request gave an IPv6 address explicitly keep it.
            let skip: Vec<String> = if changes.ipv6.is_some() {
                hosts.iter().map(|h| h.id.clone()).collect()
            } else {
                Vec::new()
            };
            by_prefix = ops::apply_prefix(w, user, prefix, &skip, from)?;
            changed |= by_prefix.iter().any(|r| r.changed);
        }
        let render: Render =
            Box::new(move |ctx| answer(ctx, &hosts, &by_prefix, changed, txt_mode, verbose, json));
        Ok(render)
    })))
}

/// The reply once the write has committed. Hostnames a prefix push re-addressed follow the
/// usual verbose lines, one line each: `fqdn address UPDATED|NOCHANGE`.
fn answer(
    ctx: &Ctx,
    hosts: &[Hostname],
    by_prefix: &[PrefixResult],
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
    counter.fetch_add((hosts.len() + by_prefix.len()) as u64, Ordering::Relaxed);
    for r in by_prefix.iter().filter(|r| r.changed) {
        log::info!(
            "update {}: ipv6={} (prefix)",
            r.host.fqdn(),
            r.host.ipv6.map_or("-".into(), |a| a.to_string())
        );
    }
    let shown = |a: Option<String>| a.unwrap_or_default();
    if changed {
        for h in hosts {
            log::info!(
                "update {}: ipv4={} ipv6={} txt={}",
                h.fqdn(),
                h.ipv4.map_or("-".into(), |a| a.to_string()),
                h.ipv6.map_or("-".into(), |a| a.to_string()),
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
                "prefix": by_prefix.iter().map(|r| serde_json::json!({
                    "hostname": view(&r.host),
                    "changed": r.changed,
                })).collect::<Vec<_>>(),
            }),
        );
    }
    if !verbose {
        return Reply::text(200, OK);
    }
    let word = if changed { UPDATED } else { NOCHANGE };
    let mut body = match hosts.first() {
        Some(first) if txt_mode => {
            format!("{OK}\n{}\n{word}", first.txt.as_deref().unwrap_or(""))
        }
        Some(first) => format!(
            "{OK}\n{}\n{}\n{word}",
            shown(first.ipv4.map(|a| a.to_string())),
            shown(first.ipv6.map(|a| a.to_string()))
        ),
        None => OK.to_string(),
    };
    for r in by_prefix {
        body.push_str(&format!(
            "\n{} {} {}",
            r.host.fqdn(),
            shown(r.host.ipv6.map(|a| a.to_string())),
            if r.changed { UPDATED } else { NOCHANGE }
        ));
    }
    Reply::text(200, body)
}
