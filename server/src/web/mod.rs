//! The signed-in dashboard, on the API's listener: routes (`WebRoute`, parsed from the same
//! path segments as the API's `Route`), server-side sessions in a cookie, CSRF tokens on every
//! form, sign-in rate limits, and the security headers every page carries. Pages are
//! server-rendered HTML (`pages.rs`, maud: every value escaped); the two static files are
//! embedded. Every change goes through the same code as the JSON API (`api::hostnames`'s
//! store writes over `domain::hostnames`, `domain::accounts`): no rule is written here.
//!
//! May import what `api` may, and `api` itself (its `Ctx`, `ApiRequest`, `Reply`).

mod admin;
mod charts;
mod handlers;
mod pages;
mod session;
mod setup_pages;
mod tsig_pages;
mod zone_pages;

use admin::*;
use handlers::*;
use session::*;

use crate::api::body::Field;
use crate::api::hostnames::{self as api_hostnames, ValueFields};
use crate::api::{parse_form, unmap, ApiRequest, Ctx, Reply};
use crate::clock;
use crate::domain::accounts::{self, Role};
use crate::domain::hostnames::{self as host_ops, NewName};
use crate::domain::scoped_tokens;
use crate::error::ApiError;
use crate::model::{Changes, Status, User};
use crate::secret;
use crate::store::queries::accounts as q;

pub use pages::Notice;

pub use crate::api::web_route::{WebRoute, LOGIN_PER_ACCOUNT, LOGIN_PER_ADDRESS};

const SESSION_COOKIE: &str = "lucent_session";
/// Before sign-in: the cookie the sign-in and invite forms' CSRF tokens are derived from.
const PRE_COOKIE: &str = "lucent_pre";

const HTML: &str = "text/html; charset=utf-8";
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                   frame-ancestors 'none'; form-action 'self'";

const STYLE: &str = include_str!("style.css");
const COPY_JS: &str = include_str!("copy.js");

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
        WebRoute::Hostnames => create_hostname(ctx, req, &s, &form),
        WebRoute::Hostname(id) if post => edit_hostname(ctx, req, &s, id, &form),
        WebRoute::Hostname(id) => edit_page(ctx, &s, id, None, 200),
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
            api_hostnames::change_hostname(ctx, &s.user, id, changes, unmap(req.peer))?;
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
        WebRoute::Tsig if post => {
            let user = s.user.clone();
            let name = form.get("name").unwrap_or("").trim().to_string();
            let zone = form
                .get("zone")
                .map(str::trim)
                .filter(|z| !z.is_empty())
                .map(String::from);
            let hosts = form.all("hostname");
            let reserved: Vec<String> = ctx
                .config
                .dns_xfr
                .keys
                .iter()
                .map(|k| k.name().to_string())
                .collect();
            let n = name.clone();
            let r = ctx.store.write(move |w| {
                crate::domain::dns_update::create_key(
                    w.tx,
                    &user,
                    &n,
                    zone.as_deref(),
                    &hosts,
                    &reserved,
                )
            });
            match r {
                Ok(secret) => {
                    log::info!(
                        "TSIG key {name} made from the dashboard by user {}",
                        s.user.id
                    );
                    tsig_page(ctx, &s, Some((&name, &secret)), None, 200)
                }
                Err(e) if e.status() < 500 => {
                    tsig_page(ctx, &s, None, Some(&e.message()), e.status())
                }
                Err(e) => Err(e),
            }
        }
        WebRoute::Tsig => tsig_page(ctx, &s, None, None, 200),
        WebRoute::TsigRevoke => {
            let (user, name) = (s.user.clone(), form.get("name").unwrap_or("").to_string());
            ctx.store
                .write(move |w| crate::domain::dns_update::revoke_key(w.tx, &user, &name))?;
            Ok(redirect("/tsig"))
        }
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
            let label = form.get("label").unwrap_or("").to_string();
            let r = ctx.store.write(move |w| {
                crate::domain::api_keys::create(w.tx, &user, zone.as_deref(), &label)
            });
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
        WebRoute::Admin
        | WebRoute::AdminUser(_)
        | WebRoute::AdminInvite(_)
        | WebRoute::AdminNewUser
        | WebRoute::AdminZones
            if s.role != Role::Admin =>
        {
            Err(ApiError::Forbidden(
                "this page is for the server's administrators".into(),
            ))
        }
        WebRoute::Admin => admin(ctx, &s, None, None, 200),
        WebRoute::AdminUser(id) => admin_user(ctx, &s, *id, &form),
        WebRoute::AdminNewUser => admin_new_user(ctx, &s, &form),
        WebRoute::AdminZones => admin_zones(ctx, &s),
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

#[cfg(test)]
mod tests;
