//! `/v1/hostnames` (seed 000): list, create, read, patch and delete the hostnames an update
//! token owns in shared zones. JSON in and out; errors `{"error","message"}`. The rules are
//! the domain layer's (`domain::hostnames`); this file is the JSON shape.

use serde::{Deserialize, Serialize};

use super::body::{self, Field, Unknown};
use std::net::IpAddr;

use super::{unmap, ApiRequest, Ctx, Reply};
use crate::domain::hostnames::{self as ops, CreateRules, NewName};
use crate::error::ApiError;
use crate::model::{value, Changes, Hostname, TtlRange, User};

/// The hostname object of seed 000 (plus zone and timestamps).
#[derive(Serialize)]
pub struct HostnameView<'a> {
    pub id: &'a str,
    pub fqdn: String,
    pub ipv4: Option<String>,
    pub ipv6: Option<String>,
    pub txt: Option<&'a str>,
    pub ttl: u32,
    pub note: Option<&'a str>,
    pub zone: &'a str,
    #[serde(rename = "createdAt")]
    pub created_at: &'a str,
    #[serde(rename = "updatedAt")]
    pub updated_at: &'a str,
    /// The interface identifier a prefix push combines with (`ipv6prefix`).
    #[serde(rename = "ipv6Suffix")]
    pub ipv6_suffix: Option<String>,
}

pub fn view(h: &Hostname) -> HostnameView<'_> {
    HostnameView {
        id: &h.id,
        fqdn: h.fqdn(),
        ipv4: h.ipv4.map(|a| a.to_string()),
        ipv6: h.ipv6.map(|a| a.to_string()),
        txt: h.txt.as_deref(),
        ttl: h.ttl,
        note: h.note.as_deref(),
        zone: &h.zone,
        created_at: &h.created_at,
        updated_at: &h.updated_at,
        ipv6_suffix: h.ipv6_suffix.map(|a| a.to_string()),
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

pub fn list(ctx: &Ctx, u: &User) -> Result<Reply, ApiError> {
    let (hosts, zones) = ctx.store.read(|tx| ops::list(tx, u))?;
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

/// The value fields a client may set on a hostname (create and PATCH).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ValueFields {
    pub ipv4: Field,
    pub ipv6: Field,
    pub txt: Field,
    pub ttl: Field,
    pub note: Field,
    #[serde(rename = "ipv6Suffix")]
    pub ipv6_suffix: Field,
}

impl ValueFields {
    /// Every field validated before anything changes.
    pub fn changes(&self, ttl: TtlRange) -> Result<Changes, ApiError> {
        let mut c = Changes::default();
        if let Some(v) = self.ipv4.opt_str("ipv4")? {
            c.ipv4 = Some(v.map(value::ipv4).transpose()?);
        }
        if let Some(v) = self.ipv6.opt_str("ipv6")? {
            c.ipv6 = Some(v.map(value::ipv6).transpose()?);
        }
        if let Some(v) = self.txt.opt_str("txt")? {
            c.txt = Some(v.map(value::txt).transpose()?);
        }
        if let Some(v) = self.note.opt_str("note")? {
            c.note = Some(v.map(value::note).transpose()?);
        }
        if let Some(t) = self.ttl.ttl() {
            c.ttl = Some(ttl.check(t, "'ttl'")?);
        }
        if let Some(v) = self.ipv6_suffix.opt_str("ipv6Suffix")? {
            c.ipv6_suffix = Some(v.map(value::ipv6_suffix).transpose()?);
        }
        Ok(c)
    }
}

/// `POST /v1/hostnames`.
#[derive(Deserialize)]
struct CreateBody {
    #[serde(default)]
    hostname: Field,
    #[serde(default, rename = "zoneDomain")]
    zone_domain: Field,
    #[serde(default)]
    zone: Field,
    #[serde(default)]
    fqdn: Field,
    #[serde(flatten)]
    values: ValueFields,
    #[serde(flatten)]
    unknown: Unknown,
}

/// `PATCH /v1/hostnames/{key}`: the value fields, and the read-only ones a client may echo
/// back from a GET: `id`, `fqdn` and `zone` must then be the hostname's own (a different one
/// would be a rename or a move, which PATCH does not do: 400), the timestamps are ignored.
#[derive(Deserialize)]
struct PatchBody {
    #[serde(flatten)]
    values: ValueFields,
    #[serde(default)]
    id: Field,
    #[serde(default)]
    fqdn: Field,
    #[serde(default)]
    zone: Field,
    #[serde(default, rename = "createdAt")]
    _created: Field,
    #[serde(default, rename = "updatedAt")]
    _updated: Field,
    #[serde(flatten)]
    unknown: Unknown,
}

impl PatchBody {
    /// The read-only fields given must match `h`.
    fn check_identity(&self, h: &Hostname) -> Result<(), ApiError> {
        let fqdn = h.fqdn();
        for (field, value, own) in [
            (&self.id, "id", h.id.as_str()),
            (&self.fqdn, "fqdn", fqdn.as_str()),
            (&self.zone, "zone", h.zone.as_str()),
        ] {
            if let Some(v) = field.opt_str(value)?.flatten() {
                if !v.trim_end_matches('.').eq_ignore_ascii_case(own) {
                    return Err(ApiError::BadRequest(format!(
                        "'{value}' is read-only: a hostname cannot be renamed or moved by PATCH"
                    )));
                }
            }
        }
        Ok(())
    }
}

pub fn create(ctx: &Ctx, req: &ApiRequest, u: &User) -> Result<Reply, ApiError> {
    let b: CreateBody = body::typed(req)?;
    body::refuse_unknown(&b.unknown)?;
    let changes = b.values.changes(ctx.ttl_range())?;
    let text = |f: &Field, k: &str| -> Result<Option<String>, ApiError> {
        Ok(f.opt_str(k)?.flatten().map(str::to_string))
    };
    let new = NewName {
        hostname: text(&b.hostname, "hostname")?,
        zone: text(&b.zone_domain, "zoneDomain")?.or(text(&b.zone, "zone")?),
        fqdn: text(&b.fqdn, "fqdn")?,
    };
    let h = create_hostname(ctx, u, new, changes, unmap(req.peer))?;
    Ok(Reply::json(201, &view(&h)))
}

/// Claim a hostname for `u`, asked by the client at `from`, in one store write (this API and
/// the dashboard).
pub fn create_hostname(
    ctx: &Ctx,
    u: &User,
    new: NewName,
    changes: Changes,
    from: IpAddr,
) -> Result<Hostname, ApiError> {
    let rules = CreateRules::new(
        ctx.config.limits.default_ttl,
        ctx.config.reserved_labels.clone(),
        &ctx.config.apex,
    );
    let user = u.clone();
    let h = ctx
        .store
        .write(move |w| ops::create(w, &user, &new, &changes, &rules, from))?;
    log::info!("hostname {} created by user {}", h.fqdn(), u.id);
    Ok(h)
}

/// Change the user's hostname `key`, asked by the client at `from`, in one store write (the
/// dashboard's edit and clear).
pub fn change_hostname(
    ctx: &Ctx,
    u: &User,
    key: &str,
    changes: Changes,
    from: IpAddr,
) -> Result<Hostname, ApiError> {
    let (user, key) = (u.clone(), key.to_string());
    ctx.store.write(move |w| {
        let mut h = ops::find_owned(w.tx, &user, &key)?;
        ops::save(w, &mut h, &changes, from)?;
        Ok::<_, ApiError>(h)
    })
}

/// Delete the user's hostname `key` in one store write (this API and the dashboard).
pub fn delete_hostname(ctx: &Ctx, u: &User, key: &str) -> Result<Hostname, ApiError> {
    let (user, key) = (u.clone(), key.to_string());
    let h = ctx.store.write(move |w| ops::delete(w, &user, &key))?;
    log::info!("hostname {} deleted by user {}", h.fqdn(), u.id);
    Ok(h)
}

pub fn get(ctx: &Ctx, u: &User, key: &str) -> Result<Reply, ApiError> {
    let h = ctx.store.read(|tx| ops::find_owned(tx, u, key))?;
    Ok(Reply::json(200, &view(&h)))
}

pub fn patch(ctx: &Ctx, req: &ApiRequest, u: &User, key: &str) -> Result<Reply, ApiError> {
    let b: PatchBody = body::typed(req)?;
    body::refuse_unknown(&b.unknown)?;
    let changes = b.values.changes(ctx.ttl_range())?;
    let (user, key, from) = (u.clone(), key.to_string(), unmap(req.peer));
    let h = ctx.store.write(move |w| {
        let mut h = ops::find_owned(w.tx, &user, &key)?;
        b.check_identity(&h)?;
        ops::save(w, &mut h, &changes, from)?;
        Ok::<_, ApiError>(h)
    })?;
    Ok(Reply::json(200, &view(&h)))
}

pub fn delete(ctx: &Ctx, u: &User, key: &str) -> Result<Reply, ApiError> {
    let h = delete_hostname(ctx, u, key)?;
    Ok(Reply::json(200, &view(&h)))
}
