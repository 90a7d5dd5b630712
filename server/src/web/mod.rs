//! The signed-in dashboard, on the API's listener: routes (`WebRoute`, parsed from the same
//! path segments as the API's `Route`), server-side sessions in a cookie, CSRF tokens on every
//! form, sign-in rate limits, and the security headers every page carries. Pages are
//! server-rendered HTML (`pages.rs`, maud: every value escaped); the two static files are
//! embedded. Every change goes through the same code as the JSON API (`api::hostnames`'s
//! store writes over `domain::hostnames`, `domain::accounts`): no rule is written here.
//!
//! May import what `api` may, and `api` itself (its `Ctx`, `ApiRequest`, `Reply`).

mod pages;

use crate::api::body::Field;
use crate::api::hostnames::{self as api_hostnames, ValueFields};
use crate::api::{parse_form, ApiRequest, Ctx, Reply};
use crate::clock;
use crate::domain::accounts::{self, Role};
use crate::domain::hostnames::{self as host_ops, NewName};
use crate::domain::scoped_tokens;
use crate::error::ApiError;
use crate::model::{Changes, Status, User};
use crate::secret;
use crate::store::queries::accounts as q;

pub use pages::Notice;

/// Sign-in attempts per client address per 5 minutes.
pub const LOGIN_PER_ADDRESS: u32 = 30;
/// Sign-in attempts per account per 5 minutes.
pub const LOGIN_PER_ACCOUNT: u32 = 10;

const SESSION_COOKIE: &str = "lucent_session";
/// Before sign-in: the cookie the sign-in and invite forms' CSRF tokens are derived from.
const PRE_COOKIE: &str = "lucent_pre";

const HTML: &str = "text/html; charset=utf-8";
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                   frame-ancestors 'none'; form-action 'self'";

const STYLE: &str = include_str!("style.css");
const COPY_JS: &str = include_str!("copy.js");

/// The dashboard's pages and form targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebRoute {
    /// `/`: the hostnames page (or a redirect to `/login`).
    Home,
    Login,
    Logout,
    Invite(String),
    /// `POST /hostnames`: create.
    Hostnames,
    /// `/hostnames/{id}`: the edit form and its target.
    Hostname(String),
    /// `/hostnames/{id}/setup`: ready-to-paste client setups for the hostname.
    HostnameSetup(String),
    HostnameClear(String),
    HostnameDelete(String),
    /// `/token`: regenerate the update token.
    Token,
    /// `/tokens`: scoped tokens (list, create).
    Tokens,
    TokensRevoke,
    Account,
    AccountPassword,
    /// `/account/tfa`: start setting up two-factor sign-in; `/confirm`, `/disable`.
    TfaBegin,
    TfaConfirm,
    TfaDisable,
    SignOutAll,
    /// `/zones`: the user's hosted zones.
    Zones,
    /// `/zones/{id}`: its records (filter, sort, pages) and the add form's target.
    Zone(i64),
    /// `/zones/{id}/records/{rid}`: the edit form and its target.
    Record(i64, String),
    /// `/zones/{id}/records/{rid}/delete`
    RecordDelete(i64, String),
    /// `/apikeys`: the LuaDNS-style API's keys (list, create).
    ApiKeys,
    /// `/apikeys/{id}/revoke`
    ApiKeyRevoke(i64),
    /// `/admin`: the operator's page (admins only): users, invite links, status, role.
    Admin,
    AdminUser(i64),
    AdminInvite(i64),
    /// `/docs`: the public API guide, with this server's address and zones filled in.
    Docs,
    Style,
    Script,
}

impl WebRoute {
    pub fn parse(segs: &[&str]) -> Option<WebRoute> {
        let s = |x: &str| x.to_string();
        Some(match segs {
            [] => WebRoute::Home,
            ["login"] => WebRoute::Login,
            ["logout"] => WebRoute::Logout,
            ["invite", t] => WebRoute::Invite(s(t)),
            ["hostnames"] => WebRoute::Hostnames,
            ["hostnames", id] => WebRoute::Hostname(s(id)),
            ["hostnames", id, "clear"] => WebRoute::HostnameClear(s(id)),
            ["hostnames", id, "setup"] => WebRoute::HostnameSetup(s(id)),
            ["docs"] => WebRoute::Docs,
            ["hostnames", id, "delete"] => WebRoute::HostnameDelete(s(id)),
            ["token"] => WebRoute::Token,
            ["tokens"] => WebRoute::Tokens,
            ["tokens", "revoke"] => WebRoute::TokensRevoke,
            ["account"] => WebRoute::Account,
            ["account", "password"] => WebRoute::AccountPassword,
            ["account", "tfa"] => WebRoute::TfaBegin,
            ["account", "tfa", "confirm"] => WebRoute::TfaConfirm,
            ["account", "tfa", "disable"] => WebRoute::TfaDisable,
            ["account", "signout-all"] => WebRoute::SignOutAll,
            ["apikeys"] => WebRoute::ApiKeys,
            ["apikeys", id, "revoke"] => WebRoute::ApiKeyRevoke(id.parse().ok()?),
            ["zones"] => WebRoute::Zones,
            ["zones", id] => WebRoute::Zone(id.parse().ok()?),
            ["zones", id, "records", r] => WebRoute::Record(id.parse().ok()?, s(r)),
            ["zones", id, "records", r, "delete"] => WebRoute::RecordDelete(id.parse().ok()?, s(r)),
            ["admin"] => WebRoute::Admin,
            ["admin", "users", id] => WebRoute::AdminUser(id.parse().ok()?),
            ["admin", "users", id, "invite"] => WebRoute::AdminInvite(id.parse().ok()?),
            ["static", "style.css"] => WebRoute::Style,
            ["static", "copy.js"] => WebRoute::Script,
            _ => return None,
        })
    }

    pub fn label(&self) -> &'static str {
        match self {
            WebRoute::Style | WebRoute::Script => "web_static",
            WebRoute::Login | WebRoute::Logout | WebRoute::Invite(_) => "web_signin",
            _ => "web_page",
        }
    }

    fn methods(&self) -> &'static [&'static str] {
        match self {
            WebRoute::Home
            | WebRoute::Account
            | WebRoute::Admin
            | WebRoute::Zones
            | WebRoute::Docs
            | WebRoute::HostnameSetup(_)
            | WebRoute::Style
            | WebRoute::Script => &["GET", "HEAD"],
            WebRoute::Login
            | WebRoute::Invite(_)
            | WebRoute::Hostname(_)
            | WebRoute::Token
            | WebRoute::Zone(_)
            | WebRoute::Record(..)
            | WebRoute::ApiKeys
            | WebRoute::Tokens => &["GET", "HEAD", "POST"],
            WebRoute::Logout
            | WebRoute::Hostnames
            | WebRoute::HostnameClear(_)
            | WebRoute::HostnameDelete(_)
            | WebRoute::AccountPassword
            | WebRoute::TfaBegin
            | WebRoute::TfaConfirm
            | WebRoute::TfaDisable
            | WebRoute::TokensRevoke
            | WebRoute::RecordDelete(..)
            | WebRoute::ApiKeyRevoke(_)
            | WebRoute::AdminUser(_)
            | WebRoute::AdminInvite(_)
            | WebRoute::SignOutAll => &["POST"],
        }
    }
}

/// A signed-in request: the session's id (from the cookie), its user and CSRF token.
pub struct Session {
    id: String,
    pub user: User,
    pub role: Role,
    pub csrf: String,
}

/// The form fields of a POST body.
struct Form(Vec<(String, String)>);

impl Form {
    fn of(req: &ApiRequest) -> Form {
        Form(parse_form(&String::from_utf8_lossy(&req.body)))
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    fn all(&self, k: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// Answer one dashboard request. Every HTML answer carries the security headers.
pub fn handle(ctx: &Ctx, req: &ApiRequest, route: &WebRoute) -> Reply {
    match route {
        WebRoute::Style => return asset("text/css; charset=utf-8", STYLE),
        WebRoute::Script => return asset("text/javascript; charset=utf-8", COPY_JS),
        _ => {}
    }
    let reply = if !route.methods().contains(&req.method.as_str()) {
        page(
            405,
            pages::message(
                "Method not allowed",
                "This address does not take that method.",
            ),
        )
        .with_header("allow", route.methods().join(", "))
    } else {
        match dispatch(ctx, req, route) {
            Ok(r) => r,
            Err(e) => error_page(req, &e),
        }
    };
    secured(reply)
}

fn dispatch(ctx: &Ctx, req: &ApiRequest, route: &WebRoute) -> Result<Reply, ApiError> {
    let post = req.method == "POST";
    match route {
        WebRoute::Login => return login(ctx, req, post),
        WebRoute::Docs => {
            let s = session(ctx, req)?;
            let zones = ctx.store.read(|tx| {
                Ok::<_, ApiError>(
                    crate::store::queries::zones::list_zones(tx)?
                        .into_iter()
                        .filter(|z| z.kind == crate::model::ZoneKind::Shared)
                        .map(|z| z.name)
                        .collect::<Vec<_>>(),
                )
            })?;
            return Ok(page(
                200,
                pages::docs(s.as_ref(), &ctx.config.public_url, &zones),
            ));
        }
        WebRoute::Invite(t) => return invite(ctx, req, t, post),
        _ => {}
    }
    let Some(s) = session(ctx, req)? else {
        return Ok(if post {
            page(
                403,
                pages::message("Signed out", "Your session has ended: sign in again."),
            )
        } else {
            redirect("/login")
        });
    };
    let form = Form::of(req);
    if post && !accounts::csrf_ok(&s.id, form.get("csrf")) {
        return Err(ApiError::Forbidden(
            "the form's security token is missing or stale: reload the page and try again".into(),
        ));
    }
    match route {
        WebRoute::Home => home(ctx, &s, Notice::from_query(req), None, 200),
        WebRoute::Logout => {
            let id = secret::hash(&s.id);
            ctx.store.write(move |w| q::delete_session(w.tx, &id))?;
            Ok(redirect("/login").with_header("set-cookie", clear_cookie(SESSION_COOKIE, req)))
        }
        WebRoute::Hostnames => create_hostname(ctx, &s, &form),
        WebRoute::Hostname(id) if post => edit_hostname(ctx, &s, id, &form),
        WebRoute::Hostname(id) => {
            let h = ctx.store.read(|tx| host_ops::find_owned(tx, &s.user, id))?;
            Ok(page(200, pages::edit(&s, &h, None)))
        }
        WebRoute::HostnameSetup(id) => {
            let h = ctx.store.read(|tx| host_ops::find_owned(tx, &s.user, id))?;
            Ok(page(200, pages::setup(&s, &h, &ctx.config.public_url)))
        }
        WebRoute::HostnameClear(id) => {
            let changes = Changes {
                ipv4: Some(None),
                ipv6: Some(None),
                txt: Some(None),
                ..Default::default()
            };
            api_hostnames::change_hostname(ctx, &s.user, id, changes)?;
            Ok(redirect("/?done=cleared"))
        }
        WebRoute::HostnameDelete(id) => {
            api_hostnames::delete_hostname(ctx, &s.user, id)?;
            Ok(redirect("/?done=deleted"))
        }
        WebRoute::Token if post => {
            if form.get("confirm") != Some("yes") {
                return Ok(page(
                    400,
                    pages::token(
                        &s,
                        None,
                        Some("Tick the box to confirm: the old token stops working."),
                    ),
                ));
            }
            let uid = s.user.id;
            let t = ctx
                .store
                .write(move |w| accounts::regenerate_token(w.tx, uid))?;
            log::info!("update token regenerated from the dashboard by user {uid}");
            Ok(page(200, pages::token(&s, Some(t.expose()), None)))
        }
        WebRoute::Token => Ok(page(200, pages::token(&s, None, None))),
        WebRoute::Tokens if post => {
            let (user, label, hosts) = (
                s.user.clone(),
                form.get("label").unwrap_or("").to_string(),
                form.all("hostname"),
            );
            let r = ctx.store.write(move |w| {
                scoped_tokens::create(w.tx, &user, &label, &hosts, clock::unix_now())
            });
            match r {
                Ok(t) => tokens(ctx, &s, Some(t.expose()), None, 200),
                Err(e) if e.status() < 500 => tokens(ctx, &s, None, Some(&e.message()), e.status()),
                Err(e) => Err(e),
            }
        }
        WebRoute::Tokens => tokens(ctx, &s, None, None, 200),
        WebRoute::TokensRevoke => {
            let (uid, label) = (s.user.id, form.get("label").unwrap_or("").to_string());
            ctx.store
                .write(move |w| scoped_tokens::revoke(w.tx, uid, &label))?;
            Ok(redirect("/tokens"))
        }
        WebRoute::ApiKeys if post => {
            let user = s.user.clone();
            let zone = form
                .get("zone")
                .map(str::trim)
                .filter(|z| !z.is_empty())
                .map(String::from);
            let r = ctx
                .store
                .write(move |w| crate::domain::api_keys::create(w.tx, &user, zone.as_deref()));
            match r {
                Ok((_, key)) => api_keys_page(ctx, &s, Some(key.expose()), None, 200),
                Err(e) if e.status() < 500 => {
                    api_keys_page(ctx, &s, None, Some(&e.message()), e.status())
                }
                Err(e) => Err(e),
            }
        }
        WebRoute::ApiKeys => api_keys_page(ctx, &s, None, None, 200),
        WebRoute::ApiKeyRevoke(id) => {
            let (uid, id) = (s.user.id, *id);
            ctx.store
                .write(move |w| crate::store::queries::api_keys::delete_api_key(w.tx, uid, id))?;
            Ok(redirect("/apikeys"))
        }
        WebRoute::Zones => {
            let zones = ctx
                .store
                .read(|tx| crate::store::queries::zones::zones_of_user(tx, s.user.id))?;
            Ok(page(200, pages::zones(&s, &zones)))
        }
        WebRoute::Zone(id) if post => add_record(ctx, req, &s, *id, &form),
        WebRoute::Zone(id) => zone_page(ctx, req, &s, *id, None, 200),
        WebRoute::Record(id, rid) if post => edit_record(ctx, &s, *id, rid, &form),
        WebRoute::Record(id, rid) => {
            let z = own_zone(ctx, &s, *id)?;
            let r = ctx
                .store
                .read(|tx| crate::domain::records::get(tx, &z, rid))?;
            Ok(page(200, pages::record(&s, &z, &r, None)))
        }
        WebRoute::RecordDelete(id, rid) => {
            let (z, rid) = (own_zone(ctx, &s, *id)?, rid.clone());
            ctx.store
                .write(move |w| crate::domain::records::delete(w, &z, &rid))?;
            Ok(redirect(&format!("/zones/{id}")))
        }
        WebRoute::Account => account(ctx, &s, None, 200),
        WebRoute::Admin | WebRoute::AdminUser(_) | WebRoute::AdminInvite(_)
            if s.role != Role::Admin =>
        {
            Err(ApiError::Forbidden(
                "this page is for the server's administrators".into(),
            ))
        }
        WebRoute::Admin => admin(ctx, &s, None, None, 200),
        WebRoute::AdminUser(id) => admin_user(ctx, &s, *id, &form),
        WebRoute::AdminInvite(id) => {
            let id = *id;
            let r = ctx.store.write(move |w| {
                let u = crate::store::queries::users::user_by_id(w.tx, id)?
                    .ok_or_else(|| ApiError::NotFound("not_found", "no such user".into()))?;
                let t = accounts::invite(w.tx, u.id, clock::unix_now())?;
                Ok::<_, ApiError>((u.email, t))
            })?;
            let link = format!("{}/invite/{}", ctx.config.public_url, r.1.expose());
            admin(ctx, &s, Some((&r.0, &link)), None, 200)
        }
        WebRoute::AccountPassword => change_password(ctx, req, &s, &form),
        WebRoute::TfaBegin => {
            let uid = s.user.id;
            ctx.store.write(move |w| accounts::tfa::begin(w.tx, uid))?;
            account(ctx, &s, None, 200)
        }
        WebRoute::TfaConfirm => {
            let (uid, code) = (s.user.id, form.get("code").unwrap_or("").to_string());
            let r = ctx
                .store
                .write(move |w| accounts::tfa::confirm(w.tx, uid, &code, clock::unix_now()));
            match r {
                Ok(codes) => Ok(page(200, pages::recovery_codes(&s, &codes))),
                Err(e) if e.status() < 500 => {
                    account(ctx, &s, Some((false, &e.message())), e.status())
                }
                Err(e) => Err(e),
            }
        }
        WebRoute::TfaDisable => {
            let (uid, code) = (s.user.id, form.get("code").unwrap_or("").to_string());
            let r = ctx.store.write(move |w| {
                if !accounts::tfa::verify(w.tx, uid, &code, clock::unix_now())? {
                    return Err(ApiError::BadRequest("that code does not match".into()));
                }
                accounts::tfa::disable(w.tx, uid)
            });
            match r {
                Ok(()) => account(ctx, &s, Some((true, "Two-factor sign-in is off.")), 200),
                Err(e) if e.status() < 500 => {
                    account(ctx, &s, Some((false, &e.message())), e.status())
                }
                Err(e) => Err(e),
            }
        }
        WebRoute::SignOutAll => {
            let uid = s.user.id;
            ctx.store
                .write(move |w| q::delete_sessions_of_user(w.tx, uid))?;
            Ok(redirect("/login").with_header("set-cookie", clear_cookie(SESSION_COOKIE, req)))
        }
        WebRoute::Login
        | WebRoute::Invite(_)
        | WebRoute::Docs
        | WebRoute::Style
        | WebRoute::Script => Err(ApiError::Internal("handled above".into())),
    }
}

/// The hostnames page, with a notice or an error from a form.
fn home(
    ctx: &Ctx,
    s: &Session,
    notice: Option<Notice>,
    error: Option<String>,
    status: u16,
) -> Result<Reply, ApiError> {
    let (hosts, zones) = ctx.store.read(|tx| host_ops::list(tx, &s.user))?;
    Ok(page(
        status,
        pages::home(s, &hosts, &zones, notice, error.as_deref()),
    ))
}

/// The value fields of a hostname form, as the JSON API's (an empty field clears the value).
fn value_fields(form: &Form) -> ValueFields {
    let text = |k: &str| match form.get(k) {
        None => Field::Absent,
        Some(v) => Field::Str(v.trim().to_string()),
    };
    let ttl = match form.get("ttl").map(str::trim) {
        None | Some("") => Field::Absent,
        Some(v) => match v.parse::<u64>() {
            Ok(n) => Field::Num(n.into()),
            Err(_) => Field::Str(v.to_string()),
        },
    };
    ValueFields {
        ipv4: text("ipv4"),
        ipv6: text("ipv6"),
        txt: text("txt"),
        ttl,
        note: text("note"),
        ipv6_suffix: Field::Absent,
    }
}

fn create_hostname(ctx: &Ctx, s: &Session, form: &Form) -> Result<Reply, ApiError> {
    let nonempty = |k: &str| {
        form.get(k)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from)
    };
    let result = value_fields(form)
        .changes(ctx.ttl_range())
        .and_then(|changes| {
            let new = NewName {
                hostname: nonempty("hostname"),
                zone: nonempty("zoneDomain"),
                fqdn: None,
            };
            api_hostnames::create_hostname(ctx, &s.user, new, changes)
        });
    match result {
        Ok(_) => Ok(redirect("/?done=created")),
        Err(e) if e.status() < 500 => home(ctx, s, None, Some(e.message()), e.status()),
        Err(e) => Err(e),
    }
}

fn edit_hostname(ctx: &Ctx, s: &Session, id: &str, form: &Form) -> Result<Reply, ApiError> {
    let result = value_fields(form)
        .changes(ctx.ttl_range())
        .and_then(|c| api_hostnames::change_hostname(ctx, &s.user, id, c));
    match result {
        Ok(_) => Ok(redirect("/?done=saved")),
        Err(e) if e.status() < 500 && e.status() != 404 => {
            let h = ctx.store.read(|tx| host_ops::find_owned(tx, &s.user, id))?;
            Ok(page(e.status(), pages::edit(s, &h, Some(&e.message()))))
        }
        Err(e) => Err(e),
    }
}

/// The scoped tokens page: the list, the create form, and a new token once.
fn tokens(
    ctx: &Ctx,
    s: &Session,
    new_token: Option<&str>,
    error: Option<&str>,
    status: u16,
) -> Result<Reply, ApiError> {
    let (list, (hosts, _)) = ctx.store.read(|tx| {
        Ok::<_, ApiError>((
            scoped_tokens::list(tx, s.user.id)?,
            host_ops::list(tx, &s.user)?,
        ))
    })?;
    Ok(page(
        status,
        pages::tokens(s, &list, &hosts, new_token, error),
    ))
}

/// The API keys page: the keys (never their secrets), the create form, a new key once.
fn api_keys_page(
    ctx: &Ctx,
    s: &Session,
    new_key: Option<&str>,
    error: Option<&str>,
    status: u16,
) -> Result<Reply, ApiError> {
    let (keys, zones) = ctx.store.read(|tx| {
        Ok::<_, ApiError>((
            crate::store::queries::api_keys::api_keys_of_user(tx, s.user.id)?,
            crate::store::queries::zones::zones_of_user(tx, s.user.id)?,
        ))
    })?;
    Ok(page(
        status,
        pages::api_keys(s, &keys, &zones, new_key, error),
    ))
}

/// A hosted zone of the signed-in user (404 otherwise, as for anyone else's).
fn own_zone(ctx: &Ctx, s: &Session, id: i64) -> Result<crate::model::Zone, ApiError> {
    ctx.store
        .read(|tx| crate::store::queries::zones::zone_by_id(tx, id))?
        .filter(|z| z.owner_id == Some(s.user.id) && z.kind == crate::model::ZoneKind::Hosted)
        .ok_or_else(|| ApiError::NotFound("zone_not_found", "no such zone".into()))
}

/// Records per page on the zone page.
const RECORDS_PER_PAGE: usize = 50;

/// The zone page: records filtered by `q` (name or content), sorted by `sort` (name, type,
/// content or ttl), `page` by page.
fn zone_page(
    ctx: &Ctx,
    req: &ApiRequest,
    s: &Session,
    id: i64,
    error: Option<&str>,
    status: u16,
) -> Result<Reply, ApiError> {
    let z = own_zone(ctx, s, id)?;
    let mut records = ctx
        .store
        .read(|tx| crate::store::queries::records::records_of_zone(tx, z.id))?;
    let q = req.param("q").unwrap_or("").trim().to_ascii_lowercase();
    if !q.is_empty() {
        records.retain(|r| {
            r.name.contains(&q)
                || r.content.to_ascii_lowercase().contains(&q)
                || r.rtype.to_string().eq_ignore_ascii_case(&q)
        });
    }
    let sort = ["type", "content", "ttl"]
        .into_iter()
        .find(|k| req.param("sort") == Some(*k))
        .unwrap_or("name");
    match sort {
        "type" => records
            .sort_by(|a, b| (a.rtype.to_string(), &a.name).cmp(&(b.rtype.to_string(), &b.name))),
        "content" => records.sort_by(|a, b| (&a.content, &a.name).cmp(&(&b.content, &b.name))),
        "ttl" => records.sort_by_key(|r| (r.ttl, r.name.clone())),
        _ => records
            .sort_by(|a, b| (&a.name, a.rtype.to_string()).cmp(&(&b.name, b.rtype.to_string()))),
    }
    let pages = records.len().div_ceil(RECORDS_PER_PAGE).max(1);
    let page_no = req
        .param("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, pages);
    let total = records.len();
    let shown: Vec<_> = records
        .into_iter()
        .skip((page_no - 1) * RECORDS_PER_PAGE)
        .take(RECORDS_PER_PAGE)
        .collect();
    let view = pages::ZoneView {
        zone: &z,
        records: &shown,
        total,
        q: &q,
        sort,
        page: page_no,
        pages,
    };
    Ok(page(status, pages::zone(s, &view, error)))
}

/// A record form's fields as the LuaDNS-style API's JSON object, for its input rules.
fn record_fields(form: &Form) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    for k in ["name", "type", "content"] {
        m.insert(k.into(), form.get(k).unwrap_or("").trim().into());
    }
    match form.get("ttl").map(str::trim) {
        None | Some("") => {}
        Some(t) => {
            let v = t
                .parse::<u64>()
                .map(serde_json::Value::from)
                .unwrap_or_else(|_| t.into());
            m.insert("ttl".into(), v);
        }
    }
    m
}

/// Change a record: the API's input rules and `domain::records::update`.
fn edit_record(ctx: &Ctx, s: &Session, id: i64, rid: &str, form: &Form) -> Result<Reply, ApiError> {
    use crate::api::luadns::records::{parse_input, InputRules};
    let z = own_zone(ctx, s, id)?;
    let m = record_fields(form);
    let (zone, rid_owned) = (z.clone(), rid.to_string());
    let r = parse_input(InputRules::of(ctx), &z, &m).and_then(|input| {
        ctx.store
            .write(move |w| crate::domain::records::update(w, &zone, &rid_owned, input, false))
    });
    match r {
        Ok(_) => Ok(redirect(&format!("/zones/{id}"))),
        Err(e) if e.status() < 500 && e.status() != 404 => {
            let rec = ctx
                .store
                .read(|tx| crate::domain::records::get(tx, &z, rid))?;
            Ok(page(
                e.status(),
                pages::record(s, &z, &rec, Some(&e.message())),
            ))
        }
        Err(e) => Err(e),
    }
}

/// Add a record: the form's fields through the LuaDNS-style API's input rules and
/// `domain::records::create`.
fn add_record(
    ctx: &Ctx,
    req: &ApiRequest,
    s: &Session,
    id: i64,
    form: &Form,
) -> Result<Reply, ApiError> {
    use crate::api::luadns::records::{parse_input, InputRules};
    let z = own_zone(ctx, s, id)?;
    let m = record_fields(form);
    let rules = InputRules::of(ctx);
    let zone = z.clone();
    let r = parse_input(rules, &z, &m).and_then(|input| {
        ctx.store
            .write(move |w| crate::domain::records::create(w, &zone, input, rules.limits))
    });
    match r {
        Ok(_) => Ok(redirect(&format!("/zones/{id}"))),
        Err(e) if e.status() < 500 => zone_page(ctx, req, s, id, Some(&e.message()), e.status()),
        Err(e) => Err(e),
    }
}

/// The admin page, with an invite link made just now or an error.
fn admin(
    ctx: &Ctx,
    s: &Session,
    invite: Option<(&str, &str)>,
    error: Option<&str>,
    status: u16,
) -> Result<Reply, ApiError> {
    let users = ctx.store.read(|tx| {
        let mut out = Vec::new();
        for (u, n) in crate::store::queries::users::list_users(tx)? {
            let role = accounts::role(tx, u.id)?;
            out.push((u, n, role));
        }
        Ok::<_, ApiError>(out)
    })?;
    let zones = ctx.store.read(crate::store::queries::zones::list_zones)?;
    Ok(page(status, pages::admin(s, &users, &zones, invite, error)))
}

/// An admin changes a user's status (active or disabled), role or hostname limit.
fn admin_user(ctx: &Ctx, s: &Session, id: i64, form: &Form) -> Result<Reply, ApiError> {
    let status = match form.get("status") {
        None => None,
        Some("active") => Some(Status::Active),
        Some("disabled") => Some(Status::Disabled),
        Some(_) => {
            return admin(
                ctx,
                s,
                None,
                Some("Status is active or disabled here (ban with `lucentd user set`)."),
                400,
            )
        }
    };
    let role = match form.get("role") {
        None => None,
        Some(r) => match Role::parse(r) {
            Some(r) => Some(r),
            None => return admin(ctx, s, None, Some("Role is user or admin."), 400),
        },
    };
    if id == s.user.id && (role == Some(Role::User) || status == Some(Status::Disabled)) {
        return admin(
            ctx,
            s,
            None,
            Some("You cannot demote or disable yourself."),
            400,
        );
    }
    let max = match form.get("max_hostnames").map(str::trim) {
        None | Some("") => None,
        Some(v) => match v.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => return admin(ctx, s, None, Some("The hostname limit is a number."), 400),
        },
    };
    ctx.store.write(move |w| {
        use crate::store::queries::users;
        users::user_by_id(w.tx, id)?
            .ok_or_else(|| ApiError::NotFound("not_found", "no such user".into()))?;
        if let Some(st) = status {
            users::set_user_status(w.tx, id, st)?;
        }
        if let Some(r) = role {
            q::set_role(w.tx, id, r.as_str())?;
        }
        if let Some(n) = max {
            users::set_user_max_hostnames(w.tx, id, n)?;
        }
        Ok::<_, ApiError>(())
    })?;
    log::info!(
        "user {id} changed from the admin page by user {}",
        s.user.id
    );
    Ok(redirect("/admin"))
}

fn account(
    ctx: &Ctx,
    s: &Session,
    msg: Option<(bool, &str)>,
    status: u16,
) -> Result<Reply, ApiError> {
    let (sessions, tfa) = ctx.store.read(|tx| {
        let on = accounts::tfa::enabled(tx, s.user.id)?;
        let pending = accounts::tfa::pending(tx, s.user.id)?;
        let left = q::recovery_codes_left(tx, s.user.id)?;
        Ok::<_, ApiError>((
            q::sessions_of_user(tx, s.user.id)?,
            pages::TfaState {
                on,
                pending: pending.map(|p| (accounts::tfa::uri(&p, &s.user.email), p)),
                codes_left: left,
            },
        ))
    })?;
    let current = secret::hash(&s.id);
    Ok(page(
        status,
        pages::account(s, &sessions, &current, &tfa, msg),
    ))
}

fn change_password(
    ctx: &Ctx,
    req: &ApiRequest,
    s: &Session,
    form: &Form,
) -> Result<Reply, ApiError> {
    let current = form.get("current").unwrap_or("");
    let new = form.get("password").unwrap_or("").to_string();
    if !login_allowed(ctx, req, &s.user.email) {
        return account(
            ctx,
            s,
            Some((false, "Too many attempts: wait a few minutes.")),
            429,
        );
    }
    let ok = ctx
        .store
        .read(|tx| accounts::sign_in(tx, &s.user.email, current))?
        .is_some();
    if !ok {
        return account(
            ctx,
            s,
            Some((false, "The current password is not right.")),
            400,
        );
    }
    let (uid, keep) = (s.user.id, secret::hash(&s.id));
    let r = ctx.store.write(move |w| {
        accounts::set_password(w.tx, uid, &new)?;
        // Every other session ends with the old password.
        for o in q::sessions_of_user(w.tx, uid)? {
            if o.id_hash != keep {
                q::delete_session(w.tx, &o.id_hash)?;
            }
        }
        Ok::<_, ApiError>(())
    });
    match r {
        Ok(()) => account(
            ctx,
            s,
            Some((true, "Password changed; other sessions were signed out.")),
            200,
        ),
        Err(e) if e.status() < 500 => account(ctx, s, Some((false, &e.message())), e.status()),
        Err(e) => Err(e),
    }
}

/// Count one sign-in attempt against the address's and the account's limits.
fn login_allowed(ctx: &Ctx, req: &ApiRequest, email: &str) -> bool {
    let now = clock::unix_now();
    let by_ip = ctx.login_ip_limits.check(&req.peer, now).allowed;
    let by_account = ctx
        .login_account_limits
        .check(&secret::hash(&email.trim().to_ascii_lowercase()), now)
        .allowed;
    by_ip && by_account
}

fn login(ctx: &Ctx, req: &ApiRequest, post: bool) -> Result<Reply, ApiError> {
    if !post {
        if session(ctx, req)?.is_some() {
            return Ok(redirect("/"));
        }
        let (pre, set) = pre_session(req);
        let r = page(200, pages::login(&accounts::csrf_token(&pre), None, ""));
        return Ok(with_pre(r, set, &pre, req));
    }
    let form = Form::of(req);
    let Some(pre) = cookie(req, PRE_COOKIE).filter(|p| accounts::csrf_ok(p, form.get("csrf")))
    else {
        return Err(ApiError::Forbidden(
            "the form's security token is missing or stale: reload the page and try again".into(),
        ));
    };
    let csrf = accounts::csrf_token(&pre);
    let email = form.get("email").unwrap_or("").trim().to_string();
    let password = form.get("password").unwrap_or("");
    if !login_allowed(ctx, req, &email) {
        return Ok(page(
            429,
            pages::login(
                &csrf,
                Some("Too many sign-in attempts: wait a few minutes."),
                &email,
            ),
        ));
    }
    let user = ctx
        .store
        .read(|tx| accounts::sign_in(tx, &email, password))?;
    // The second factor, when the account has one: checked (and a code spent) in a write.
    let user = match user {
        Some(u) => {
            let (uid, code, now) = (
                u.id,
                form.get("code").unwrap_or("").to_string(),
                clock::unix_now(),
            );
            let ok = ctx
                .store
                .write(move |w| accounts::tfa::verify(w.tx, uid, &code, now))?;
            ok.then_some(u)
        }
        None => None,
    };
    let Some(user) = user else {
        log::info!("dashboard sign-in refused from {}", req.peer);
        return Ok(page(
            401,
            pages::login(
                &csrf,
                Some("Wrong email, password or two-factor code."),
                &email,
            ),
        ));
    };
    start(ctx, req, &user)
}

/// Start a session for `user` and send them to the dashboard.
fn start(ctx: &Ctx, req: &ApiRequest, user: &User) -> Result<Reply, ApiError> {
    let (uid, addr) = (user.id, req.peer.to_string());
    let ua = req.header("user-agent").unwrap_or("").to_string();
    let sid = ctx
        .store
        .write(move |w| accounts::start_session(w.tx, uid, clock::unix_now(), &addr, &ua))?;
    log::info!("dashboard sign-in of user {uid} from {}", req.peer);
    Ok(redirect("/")
        .with_header("set-cookie", set_cookie(SESSION_COOKIE, sid.expose(), req))
        .with_header("set-cookie", clear_cookie(PRE_COOKIE, req)))
}

fn invite(ctx: &Ctx, req: &ApiRequest, token: &str, post: bool) -> Result<Reply, ApiError> {
    let now = clock::unix_now();
    let gone = || {
        page(
            404,
            pages::message(
                "Link expired",
                "This invite link was used or has expired: ask the operator for a new one.",
            ),
        )
    };
    if !post {
        let Some(u) = ctx.store.read(|tx| accounts::invite_user(tx, token, now))? else {
            return Ok(gone());
        };
        let (pre, set) = pre_session(req);
        let r = page(
            200,
            pages::invite(&u.email, &accounts::csrf_token(&pre), None),
        );
        return Ok(with_pre(r, set, &pre, req));
    }
    let form = Form::of(req);
    let Some(pre) = cookie(req, PRE_COOKIE).filter(|p| accounts::csrf_ok(p, form.get("csrf")))
    else {
        return Err(ApiError::Forbidden(
            "the form's security token is missing or stale: reload the page and try again".into(),
        ));
    };
    let password = form.get("password").unwrap_or("").to_string();
    let t = token.to_string();
    match ctx
        .store
        .write(move |w| accounts::accept_invite(w.tx, &t, &password, now))
    {
        Ok(u) => start(ctx, req, &u),
        Err(ApiError::NotFound(..)) => Ok(gone()),
        Err(e) if e.status() < 500 => {
            let email = ctx
                .store
                .read(|tx| accounts::invite_user(tx, token, now))?
                .map(|u| u.email)
                .unwrap_or_default();
            let csrf = accounts::csrf_token(&pre);
            Ok(page(
                e.status(),
                pages::invite(&email, &csrf, Some(&e.message())),
            ))
        }
        Err(e) => Err(e),
    }
}

/// The signed-in session of the request's cookie, if live (touching `last_seen` now and then).
fn session(ctx: &Ctx, req: &ApiRequest) -> Result<Option<Session>, ApiError> {
    let Some(id) = cookie(req, SESSION_COOKIE) else {
        return Ok(None);
    };
    let now = clock::unix_now();
    let Some((row, user)) = ctx.store.read(|tx| accounts::session(tx, &id, now))? else {
        return Ok(None);
    };
    let role = ctx.store.read(|tx| accounts::role(tx, user.id))?;
    if now >= row.last_seen + accounts::TOUCH_SECS {
        let h = row.id_hash.clone();
        ctx.store.write(move |w| q::touch_session(w.tx, &h, now))?;
    }
    Ok(Some(Session {
        csrf: accounts::csrf_token(&id),
        id,
        user,
        role,
    }))
}

/// The pre-sign-in cookie's value: the request's, or a new one (`true`: set it).
fn pre_session(req: &ApiRequest) -> (String, bool) {
    match cookie(req, PRE_COOKIE).filter(|v| v.len() == 40) {
        Some(v) => (v, false),
        None => (secret::new_token().expose().to_string(), true),
    }
}

fn with_pre(r: Reply, set: bool, pre: &str, req: &ApiRequest) -> Reply {
    if set {
        r.with_header("set-cookie", set_cookie(PRE_COOKIE, pre, req))
    } else {
        r
    }
}

/// A cookie of the request by name.
fn cookie(req: &ApiRequest, name: &str) -> Option<String> {
    req.headers
        .iter()
        .filter(|(k, _)| k == "cookie")
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// `HttpOnly; SameSite=Lax; Path=/`, and `Secure` when the client came over HTTPS.
pub fn set_cookie(name: &str, value: &str, req: &ApiRequest) -> String {
    let secure = if req.https { "; Secure" } else { "" };
    format!("{name}={value}; HttpOnly; SameSite=Lax; Path=/{secure}")
}

fn clear_cookie(name: &str, req: &ApiRequest) -> String {
    format!("{}; Max-Age=0", set_cookie(name, "", req))
}

fn page(status: u16, body: maud::Markup) -> Reply {
    Reply {
        status,
        content_type: HTML,
        headers: Vec::new(),
        body: body.into_string().into_bytes(),
    }
}

fn redirect(to: &str) -> Reply {
    Reply {
        status: 303,
        content_type: HTML,
        headers: Vec::new(),
        body: Vec::new(),
    }
    .with_header("location", to)
}

fn error_page(req: &ApiRequest, e: &ApiError) -> Reply {
    if let Some(d) = e.detail() {
        log::error!("request {}: {d}", req.id);
    }
    let title = crate::error::reason(e.status());
    let r = page(e.status(), pages::message(title, &e.message()));
    match e {
        ApiError::RateLimited(s) => r.with_header("retry-after", s.to_string()),
        _ => r,
    }
}

/// The headers of every dashboard answer.
fn secured(r: Reply) -> Reply {
    r.with_header("content-security-policy", CSP)
        .with_header("x-content-type-options", "nosniff")
        .with_header("referrer-policy", "no-referrer")
        .with_header("cache-control", "no-store")
}

fn asset(content_type: &'static str, body: &'static str) -> Reply {
    Reply {
        status: 200,
        content_type,
        headers: Vec::new(),
        body: body.as_bytes().to_vec(),
    }
    .with_header("x-content-type-options", "nosniff")
    .with_header("cache-control", "public, max-age=3600")
}

#[cfg(test)]
mod tests;
