//! `/v1/hostnames` (seed 000): list, create, read, patch and delete the hostnames an update
//! token owns in shared zones. JSON in and out; errors `{"error","message"}`.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::api::{ApiRequest, Ctx, Reply};
use crate::auth::Principal;
use crate::clock;
use crate::error::ApiError;
use crate::secret;
use crate::store::{queries, Hostname, User, Zone, ZoneKind};
use crate::validate;

/// The hostname object of seed 000 (plus zone and timestamps).
#[derive(Serialize)]
pub struct HostnameView<'a> {
    pub id: &'a str,
    pub fqdn: String,
    pub ipv4: Option<&'a str>,
    pub ipv6: Option<&'a str>,
    pub txt: Option<&'a str>,
    pub ttl: u32,
    pub note: Option<&'a str>,
    pub zone: &'a str,
    #[serde(rename = "createdAt")]
    pub created_at: &'a str,
    #[serde(rename = "updatedAt")]
    pub updated_at: &'a str,
}

pub fn view(h: &Hostname) -> HostnameView<'_> {
    HostnameView {
        id: &h.id,
        fqdn: h.fqdn(),
        ipv4: h.ipv4.as_deref(),
        ipv6: h.ipv6.as_deref(),
        txt: h.txt.as_deref(),
        ttl: h.ttl,
        note: h.note.as_deref(),
        zone: &h.zone,
        created_at: &h.created_at,
        updated_at: &h.updated_at,
    }
}

pub fn user_of(p: &Principal) -> Result<&User, ApiError> {
    match p {
        Principal::User(u) => Ok(u),
        Principal::Operator => Err(ApiError::Forbidden(
            "the operator token may only update operator-managed names through /update".into(),
        )),
    }
}

#[derive(Serialize)]
struct Listing<'a> {
    hostnames: Vec<HostnameView<'a>>,
    #[serde(rename = "allowedZones")]
    allowed_zones: Vec<&'a str>,
    #[serde(rename = "defaultZone")]
    default_zone: Option<&'a str>,
    #[serde(rename = "maxHostnames")]
    max_hostnames: u32,
}

pub fn list(ctx: &Ctx, p: &Principal) -> Result<Reply, ApiError> {
    let u = user_of(p)?;
    let (hosts, zones) = ctx.store.read(|tx| {
        Ok::<_, ApiError>((
            queries::hostnames_of_user(tx, u.id)?,
            queries::allowed_zones(tx, u)?,
        ))
    })?;
    Ok(Reply::json(
        200,
        &Listing {
            hostnames: hosts.iter().map(view).collect(),
            allowed_zones: zones.iter().map(|z| z.name.as_str()).collect(),
            default_zone: zones.first().map(|z| z.name.as_str()),
            max_hostnames: u.max_hostnames,
        },
    ))
}

/// Parse a JSON object body; 400 with a clear message otherwise.
pub fn json_object(req: &ApiRequest) -> Result<Map<String, Value>, ApiError> {
    if req.body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::BadRequest(
            "request body must be a JSON object".into(),
        ));
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::BadRequest(
            "request body must be a JSON object".into(),
        )),
        Err(e) => Err(ApiError::BadRequest(format!("invalid JSON: {e}"))),
    }
}

/// A string field: absent -> None, null or "" -> Some(None), text -> Some(Some(text)).
fn opt_str<'a>(m: &'a Map<String, Value>, k: &str) -> Result<Option<Option<&'a str>>, ApiError> {
    match m.get(k) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if s.is_empty() => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.as_str()))),
        Some(_) => Err(ApiError::BadRequest(format!(
            "'{k}' must be a string or null"
        ))),
    }
}

/// The DNS/metadata fields a client may set; every one validated before anything changes.
#[derive(Default, Debug)]
pub struct Changes {
    pub ipv4: Option<Option<String>>,
    pub ipv6: Option<Option<String>>,
    pub txt: Option<Option<String>>,
    pub ttl: Option<u32>,
    pub note: Option<Option<String>>,
}

impl Changes {
    pub fn from_json(ctx: &Ctx, m: &Map<String, Value>) -> Result<Changes, ApiError> {
        let bad = ApiError::BadRequest;
        let mut c = Changes::default();
        if let Some(v) = opt_str(m, "ipv4")? {
            c.ipv4 = Some(match v {
                Some(s) => Some(validate::ipv4(s).map_err(bad)?.to_string()),
                None => None,
            });
        }
        if let Some(v) = opt_str(m, "ipv6")? {
            c.ipv6 = Some(match v {
                Some(s) => Some(validate::ipv6(s).map_err(bad)?.to_string()),
                None => None,
            });
        }
        if let Some(v) = opt_str(m, "txt")? {
            c.txt = Some(match v {
                Some(s) => Some(validate::txt(s).map_err(bad)?),
                None => None,
            });
        }
        if let Some(v) = opt_str(m, "note")? {
            c.note = Some(match v {
                Some(s) => Some(validate::note(s).map_err(bad)?),
                None => None,
            });
        }
        match m.get("ttl") {
            None | Some(Value::Null) => {}
            Some(v) => c.ttl = Some(ttl(ctx, v)?),
        }
        Ok(c)
    }

    /// Apply to `h`; true when anything changed.
    pub fn apply(&self, h: &mut Hostname) -> bool {
        let before = h.clone();
        if let Some(v) = &self.ipv4 {
            h.ipv4 = v.clone();
        }
        if let Some(v) = &self.ipv6 {
            h.ipv6 = v.clone();
        }
        if let Some(v) = &self.txt {
            h.txt = v.clone();
        }
        if let Some(v) = self.ttl {
            h.ttl = v;
        }
        if let Some(v) = &self.note {
            h.note = v.clone();
        }
        *h != before
    }
}

pub fn ttl(ctx: &Ctx, v: &Value) -> Result<u32, ApiError> {
    let l = &ctx.config.limits;
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
    .ok_or_else(|| ApiError::BadRequest("'ttl' must be a whole number of seconds".into()))?;
    if n < l.min_ttl as u64 || n > l.max_ttl as u64 {
        return Err(ApiError::BadRequest(format!(
            "'ttl' must be between {} and {} seconds",
            l.min_ttl, l.max_ttl
        )));
    }
    Ok(n as u32)
}

fn check_fields(m: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "unknown field '{}'",
                validate::printable(k)
            )));
        }
    }
    Ok(())
}

/// Fields a client may echo back from a GET; they are read-only and ignored.
const READ_ONLY: &[&str] = &["id", "fqdn", "zone", "createdAt", "updatedAt"];

pub fn create(ctx: &Ctx, req: &ApiRequest, p: &Principal) -> Result<Reply, ApiError> {
    let u = user_of(p)?;
    let m = json_object(req)?;
    check_fields(
        &m,
        &[
            "hostname",
            "zoneDomain",
            "zone",
            "fqdn",
            "ipv4",
            "ipv6",
            "txt",
            "ttl",
            "note",
        ],
    )?;
    let changes = Changes::from_json(ctx, &m)?;
    let s = |k: &str| -> Result<Option<&str>, ApiError> { Ok(opt_str(&m, k)?.flatten()) };
    let (hostname, zone_domain, fqdn) =
        (s("hostname")?, s("zoneDomain")?.or(s("zone")?), s("fqdn")?);

    let h = ctx.store.write(|w| {
        let tx = w.tx;
        let allowed = queries::allowed_zones(tx, u)?;
        let (zone, label) = resolve_new(ctx, &allowed, hostname, zone_domain, fqdn)?;
        if queries::count_user_hostnames(tx, u.id)? >= u.max_hostnames {
            return Err(ApiError::Conflict(format!(
                "the account reached its limit of {} hostnames",
                u.max_hostnames
            )));
        }
        if queries::hostname_by_zone_label(tx, zone.id, &label)?.is_some() {
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
            ttl: ctx.config.limits.default_ttl,
            note: None,
            created_at: now.clone(),
            updated_at: now,
        };
        changes.apply(&mut h);
        queries::insert_hostname(tx, &h)?;
        w.publish(&zone, h.rrsets())?;
        Ok(h)
    })?;
    log::info!("hostname {} created by user {}", h.fqdn(), u.id);
    Ok(Reply::json(201, &view(&h)))
}

/// Which zone and label a create request names; every rule of seed 000 checked.
fn resolve_new(
    ctx: &Ctx,
    allowed: &[Zone],
    hostname: Option<&str>,
    zone_domain: Option<&str>,
    fqdn: Option<&str>,
) -> Result<(Zone, String), ApiError> {
    let bad = ApiError::BadRequest;
    let (zone_name, label) = match (fqdn, hostname) {
        (Some(f), _) => split_fqdn(allowed, &validate::domain_name(f).map_err(bad)?)?,
        (None, Some(h)) if h.contains('.') && zone_domain.is_none() => {
            split_fqdn(allowed, &validate::domain_name(h).map_err(bad)?)?
        }
        (None, Some(h)) => {
            let z = match zone_domain {
                Some(z) => validate::domain_name(z).map_err(bad)?,
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
                validate::printable(&zone_name)
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
    let label = validate::host_label(&label).map_err(bad)?;
    if ctx.config.reserved_labels.contains(&label) {
        return Err(ApiError::BadRequest(format!(
            "'{label}' is a reserved name"
        )));
    }
    Ok((zone, label))
}

/// Split an fqdn into (zone, label) against the allowed zones (longest match).
fn split_fqdn(allowed: &[Zone], fqdn: &str) -> Result<(String, String), ApiError> {
    let mut best: Option<&Zone> = None;
    for z in allowed {
        let under = fqdn == z.name || fqdn.ends_with(&format!(".{}", z.name));
        if under && best.is_none_or(|b| z.name.len() > b.name.len()) {
            best = Some(z);
        }
    }
    match best {
        Some(z) => {
            let label = fqdn[..fqdn.len() - z.name.len()].trim_end_matches('.');
            Ok((z.name.clone(), label.to_string()))
        }
        None => Err(ApiError::Forbidden(format!(
            "'{}' is not under any of the account's allowed zones",
            validate::printable(fqdn)
        ))),
    }
}

/// The user's hostname named by id (`host_…`), fqdn or label; 404 if the user does not own it.
pub fn find_owned(tx: &rusqlite::Connection, u: &User, key: &str) -> Result<Hostname, ApiError> {
    let key = key.trim().trim_end_matches('.').to_ascii_lowercase();
    let found = if key.starts_with("host_") {
        queries::user_hostname_by_id(tx, u.id, &key)?
    } else if key.contains('.') {
        match queries::zone_for_name(tx, &key)? {
            Some((z, label)) => queries::hostname_by_zone_label(tx, z.id, &label)?,
            None => None,
        }
    } else {
        // A bare label: prefer the default (first allowed) zone when it is ambiguous.
        let mut hits = queries::user_hostnames_by_label(tx, u.id, &key)?;
        if hits.len() > 1 {
            if let Some(d) = queries::allowed_zones(tx, u)?.into_iter().next() {
                if let Some(i) = hits.iter().position(|h| h.zone_id == d.id) {
                    hits.swap(0, i);
                }
            }
        }
        hits.into_iter().next()
    };
    found
        .filter(|h| h.user_id == Some(u.id))
        .ok_or_else(ApiError::hostname_not_found)
}

pub fn get(ctx: &Ctx, p: &Principal, key: &str) -> Result<Reply, ApiError> {
    let u = user_of(p)?;
    let h = ctx.store.read(|tx| find_owned(tx, u, key))?;
    Ok(Reply::json(200, &view(&h)))
}

pub fn patch(ctx: &Ctx, req: &ApiRequest, p: &Principal, key: &str) -> Result<Reply, ApiError> {
    let u = user_of(p)?;
    let m = json_object(req)?;
    let mut allowed = vec!["ipv4", "ipv6", "txt", "ttl", "note"];
    allowed.extend_from_slice(READ_ONLY);
    check_fields(&m, &allowed)?;
    let changes = Changes::from_json(ctx, &m)?;
    let h = ctx.store.write(|w| {
        let mut h = find_owned(w.tx, u, key)?;
        if changes.apply(&mut h) {
            h.updated_at = clock::now_rfc3339();
            queries::update_hostname(w.tx, &h)?;
            w.publish_host(&h)?;
        }
        Ok::<_, ApiError>(h)
    })?;
    Ok(Reply::json(200, &view(&h)))
}

pub fn delete(ctx: &Ctx, p: &Principal, key: &str) -> Result<Reply, ApiError> {
    let u = user_of(p)?;
    let h = ctx.store.write(|w| {
        let h = find_owned(w.tx, u, key)?;
        queries::delete_hostname(w.tx, &h.id)?;
        let zone = zone_of(w.tx, &h)?;
        w.publish(&zone, h.rrsets_removed())?;
        Ok::<_, ApiError>(h)
    })?;
    log::info!("hostname {} deleted by user {}", h.fqdn(), u.id);
    Ok(Reply::json(200, &view(&h)))
}

pub fn zone_of(tx: &rusqlite::Connection, h: &Hostname) -> Result<Zone, ApiError> {
    let z = queries::zone_by_id(tx, h.zone_id)?
        .ok_or_else(|| ApiError::Internal(format!("zone {} of {} vanished", h.zone_id, h.id)))?;
    debug_assert_eq!(z.kind, ZoneKind::Shared);
    Ok(z)
}
