//! The admin pages (admins only; `dispatch` checks the role): users with their status,
//! limits, API access and role, changed through `domain::users` as `lucentd user set` does;
//! a form that adds a user and shows their invite link (`domain::users::add` as `lucentd user
//! add`, then `accounts::invite` as `lucentd user invite`); and every zone with its queries
//! per day.

use maud::{html, Markup};

use super::pages::{alert, csrf, layout};
use super::session::page;
use super::*;
use crate::domain::users::{self as user_ops, UserChange};
use crate::model::Zone;
use crate::store::queries::{users, zones};

/// The users page, with an invite link made just now or an error.
pub(super) fn admin(
    ctx: &Ctx,
    s: &Session,
    invite: Option<(&str, &str)>,
    error: Option<&str>,
    status: u16,
) -> Result<Reply, ApiError> {
    let list = ctx.store.read(|tx| {
        let mut out = Vec::new();
        for (u, n) in users::list_users(tx)? {
            let role = accounts::role(tx, u.id)?;
            out.push((u, n, role));
        }
        Ok::<_, ApiError>(out)
    })?;
    Ok(page(status, users_page(s, &list, invite, error)))
}

/// An admin changes a user's status, role, hostname limit or API access.
pub(super) fn admin_user(ctx: &Ctx, s: &Session, id: i64, form: &Form) -> Result<Reply, ApiError> {
    let refuse = |m: &str| admin(ctx, s, None, Some(m), 400);
    let status = match form.get("status") {
        None => None,
        Some(v) => match Status::parse(v) {
            Some(st) => Some(st),
            None => return refuse("Status is active, disabled or banned."),
        },
    };
    let role = match form.get("role") {
        None => None,
        Some(r) => match Role::parse(r) {
            Some(r) => Some(r),
            None => return refuse("Role is user or admin."),
        },
    };
    let max_hostnames = match form.get("max_hostnames").map(str::trim) {
        None | Some("") => None,
        Some(v) => match v.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => return refuse("The hostname limit is a number."),
        },
    };
    let api_enabled = match form.get("api_enabled") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return refuse("API access is on or off."),
    };
    if id == s.user.id
        && (role == Some(Role::User) || status.is_some_and(|st| st != Status::Active))
    {
        return refuse("You cannot demote, disable or ban yourself.");
    }
    let ch = UserChange {
        status,
        max_hostnames,
        api_enabled,
        role,
    };
    ctx.store.write(move |w| user_ops::change(w, id, &ch))?;
    log::info!(
        "user {id} changed from the admin page by user {}",
        s.user.id
    );
    Ok(redirect("/admin"))
}

/// An admin adds a user (the update token is not shown: they make their own after signing
/// in) and gets the invite link to send them.
pub(super) fn admin_new_user(ctx: &Ctx, s: &Session, form: &Form) -> Result<Reply, ApiError> {
    let email = form.get("email").unwrap_or("").to_string();
    let max = match form.get("max_hostnames").map(str::trim) {
        None | Some("") => None,
        Some(v) => match v.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => return admin(ctx, s, None, Some("The hostname limit is a number."), 400),
        },
    };
    let r = ctx.store.write(move |w| {
        let (id, _token) = user_ops::add(w.tx, &email, max, None)?;
        let invite = accounts::invite(w.tx, id, clock::unix_now())?;
        Ok::<_, ApiError>((user_ops::check_email(&email)?, invite))
    });
    match r {
        Ok((email, invite)) => {
            log::info!(
                "user {email} added from the admin page by user {}",
                s.user.id
            );
            let link = format!("{}/invite/{}", ctx.config.public_url, invite.expose());
            admin(ctx, s, Some((&email, &link)), None, 200)
        }
        Err(e) if e.status() < 500 => admin(ctx, s, None, Some(&e.message()), e.status()),
        Err(e) => Err(e),
    }
}

/// Every zone, with its owner and queries per day.
pub(super) fn admin_zones(ctx: &Ctx, s: &Session) -> Result<Reply, ApiError> {
    let since = clock::unix_now() / 86_400 - (charts::DAYS - 1);
    let (list, owners, daily) = ctx.store.read(|tx| {
        Ok::<_, ApiError>((
            zones::list_zones(tx)?,
            users::list_users(tx)?,
            zones::daily_queries_all(tx, since)?,
        ))
    })?;
    let owner = |id: Option<i64>| {
        id.and_then(|id| owners.iter().find(|(u, _)| u.id == id))
            .map(|(u, _)| u.email.clone())
            .unwrap_or_else(|| "shared".into())
    };
    let now = clock::unix_now();
    let body = html! {
        (admin_nav(true))
        p.hint { "Add and remove zones with " code { "lucentd zone add" } " and " code { "lucentd zone rm" } "." }
        @for z in &list {
            (zone_card(z, &owner(z.owner_id), daily.get(&z.id).map_or(&[][..], |v| v), now))
        }
    };
    Ok(page(200, layout("Zones", Some(s), body)))
}

fn zone_card(z: &Zone, owner: &str, daily: &[(u64, u64)], now: u64) -> Markup {
    html! {
        article.card {
            h2 { (z.name) }
            dl {
                dt { "Kind" } dd { (z.kind.as_str()) }
                dt { "Owner" } dd { (owner) }
                dt { "Serial" } dd { (z.serial) }
                dt { "Queries" } dd { (z.queries_count) " in all" }
            }
            (charts::daily_queries(&z.name, daily, now))
        }
    }
}

/// The admin pages' own links; the current one says so (`aria-current`).
fn admin_nav(zones: bool) -> Markup {
    html! {
        nav.sub aria-label="Admin" {
            a href="/admin" aria-current=[(!zones).then_some("page")] { "Users" }
            a href="/admin/zones" aria-current=[zones.then_some("page")] { "Zones" }
        }
    }
}

fn users_page(
    s: &Session,
    users: &[(User, u32, Role)],
    invite: Option<(&str, &str)>,
    error: Option<&str>,
) -> Markup {
    layout(
        "Users",
        Some(s),
        html! {
            (admin_nav(false))
            @if let Some(e) = error { (alert(false, e)) }
            @if let Some((email, link)) = invite {
                div.card {
                    p { "Invite link for " strong { (email) } " (valid 24 hours, works once):" }
                    pre { code #invite-link { (link) } }
                    button.copy type="button" data-copy="invite-link" hidden { "Copy" }
                }
            }
            h2 { "Invite someone" }
            form.card method="post" action="/admin/users" {
                (csrf(s))
                label for="new-email" { "Email" }
                input #new-email type="email" name="email" required autocomplete="off";
                label for="new-max" { "Hostname limit (empty: " (user_ops::DEFAULT_MAX_HOSTNAMES) ")" }
                input #new-max name="max_hostnames" inputmode="numeric";
                button type="submit" { "Add user and make an invite link" }
            }
            h2 { "Users" }
            @for (u, n, role) in users {
                article.card {
                    h2 { (u.email) }
                    dl {
                        dt { "Status" } dd { (u.status.as_str()) }
                        dt { "Role" } dd { (role.as_str()) }
                        dt { "Hostnames" } dd { (n) " of " (u.max_hostnames) }
                        dt { "API" } dd { @if u.api_enabled { "on" } @else { "off" } }
                    }
                    form method="post" action={ "/admin/users/" (u.id) } {
                        (csrf(s))
                        label for={ "status-" (u.id) } { "Status" }
                        select id={ "status-" (u.id) } name="status" {
                            @for st in [Status::Active, Status::Disabled, Status::Banned] {
                                option value=(st.as_str()) selected[u.status == st] { (st.as_str()) }
                            }
                        }
                        label for={ "role-" (u.id) } { "Role" }
                        select id={ "role-" (u.id) } name="role" {
                            @for r in [Role::User, Role::Admin] {
                                option value=(r.as_str()) selected[*role == r] { (r.as_str()) }
                            }
                        }
                        label for={ "max-" (u.id) } { "Hostname limit" }
                        input id={ "max-" (u.id) } name="max_hostnames" value=(u.max_hostnames) inputmode="numeric";
                        label for={ "api-" (u.id) } { "LuaDNS-style API" }
                        select id={ "api-" (u.id) } name="api_enabled" {
                            option value="true" selected[u.api_enabled] { "on" }
                            option value="false" selected[!u.api_enabled] { "off" }
                        }
                        button type="submit" { "Save" }
                    }
                    form method="post" action={ "/admin/users/" (u.id) "/invite" } {
                        (csrf(s))
                        button type="submit" { "New invite link" }
                    }
                }
            }
        },
    )
}
