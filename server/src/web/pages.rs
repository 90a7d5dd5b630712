//! The dashboard's HTML, as maud templates: every value is escaped by the template (a note
//! reading `<script>` is shown as text). Plain POST forms, each carrying the session's CSRF
//! token in a hidden `csrf` field; no inline script or style (the CSP forbids both).

use maud::{html, Markup, DOCTYPE};

use std::collections::HashMap;

use super::{charts, Session};
// The zone, admin and API-key pages live in zone_pages.rs; callers name them as pages::*.
pub use super::setup_pages::{docs, setup};
pub use super::zone_pages::{api_keys, record, zone, zones, ZoneView};
use crate::api::ApiRequest;
use crate::clock;
use crate::domain::accounts::Role;
use crate::model::{Hostname, Zone};
use crate::store::queries::accounts::SessionRow;
use crate::store::queries::hostnames::AddressChange;
use crate::store::queries::scoped_tokens::ScopedToken;

/// What the last form did, shown once after its redirect (`/?done=…`): fixed texts, so
/// nothing from the query string reaches the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Created,
    Saved,
    Cleared,
    Deleted,
}

impl Notice {
    pub fn from_query(req: &ApiRequest) -> Option<Notice> {
        match req.param("done")? {
            "created" => Some(Notice::Created),
            "saved" => Some(Notice::Saved),
            "cleared" => Some(Notice::Cleared),
            "deleted" => Some(Notice::Deleted),
            _ => None,
        }
    }
    fn text(self) -> &'static str {
        match self {
            Notice::Created => "Hostname created.",
            Notice::Saved => "Hostname saved.",
            Notice::Cleared => "Addresses and TXT cleared.",
            Notice::Deleted => "Hostname deleted.",
        }
    }
}

/// A snippet with a copy button (shown by copy.js).
pub(super) fn snippet(id: &str, title: &str, text: &str) -> Markup {
    html! {
        h2 { (title) }
        pre { code id=(id) { (text) } }
        button.copy type="button" data-copy=(id) hidden { "Copy" }
    }
}

/// `https://host[:port]` → (host[:port], is HTTPS).
pub(super) fn server_of(public_url: &str) -> (&str, bool) {
    match public_url.strip_prefix("https://") {
        Some(h) => (h, true),
        None => (
            public_url.strip_prefix("http://").unwrap_or(public_url),
            false,
        ),
    }
}

pub(super) fn layout(title: &str, s: Option<&Session>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Lucent Drift" }
                link rel="stylesheet" href="/static/style.css";
                script src="/static/copy.js" defer {}
            }
            body {
                header {
                    a.brand href="/" { "Lucent Drift" }
                    @if s.is_none() { nav aria-label="Main" { a href="/docs" { "API guide" } } }
                    @if let Some(s) = s {
                        nav aria-label="Main" {
                            a href="/" { "Hostnames" }
                            a href="/token" { "Token" }
                            a href="/tokens" { "Scoped tokens" }
                            a href="/zones" { "Zones" }
                            a href="/apikeys" { "API keys" }
                            a href="/tsig" { "DNS UPDATE keys" }
                            a href="/account" { "Account" }
                            a href="/docs" { "API guide" }
                            @if s.role == Role::Admin { a href="/admin" { "Admin" } }
                            form.inline method="post" action="/logout" {
                                (csrf(s))
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
                @if let Some(s) = s {
                    footer {
                        "Signed in as " (s.user.email)
                        @if s.role == Role::Admin { " (admin)" }
                    }
                }
            }
        }
    }
}

pub(super) fn csrf(s: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(s.csrf); }
}

pub(super) fn alert(ok: bool, text: &str) -> Markup {
    html! {
        @if ok { p.notice role="status" { (text) } } @else { p.error role="alert" { (text) } }
    }
}

pub fn message(title: &str, text: &str) -> Markup {
    layout(
        title,
        None,
        html! { p { (text) } p { a href="/" { "Back to the dashboard" } } },
    )
}

pub fn login(csrf: &str, error: Option<&str>, email: &str) -> Markup {
    layout(
        "Sign in",
        None,
        html! {
            @if let Some(e) = error { (alert(false, e)) }
            form.card method="post" action="/login" {
                input type="hidden" name="csrf" value=(csrf);
                label for="email" { "Email" }
                input #email type="email" name="email" value=(email) autocomplete="username" required;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                label for="code" { "Two-factor code (if you turned it on) or a recovery code" }
                input #code name="code" autocomplete="one-time-code" inputmode="numeric" autocapitalize="off";
                button type="submit" { "Sign in" }
            }
            p.hint { "No password yet? Ask the operator for an invite link." }
        },
    )
}

pub fn invite(email: &str, csrf: &str, error: Option<&str>) -> Markup {
    layout(
        "Choose a password",
        None,
        html! {
            @if let Some(e) = error { (alert(false, e)) }
            form.card method="post" {
                input type="hidden" name="csrf" value=(csrf);
                p { "Account: " strong { (email) } }
                label for="password" { "New password (at least 10 characters)" }
                input #password type="password" name="password" autocomplete="new-password" minlength="10" required;
                button type="submit" { "Set password and sign in" }
            }
        },
    )
}

/// A stored RFC 3339 time shown to the minute: `2026-12-03 10:38 UTC`.
pub(super) fn minute(t: &str) -> String {
    match (t.get(..10), t.get(11..16)) {
        (Some(d), Some(hm)) => format!("{d} {hm} UTC"),
        _ => t.to_string(),
    }
}

pub(super) fn opt(v: Option<String>) -> String {
    v.unwrap_or_else(|| "—".into())
}

/// When and from where a hostname was last changed.
fn updated(h: &Hostname) -> Markup {
    html! {
        (minute(&h.updated_at))
        @if let Some(a) = h.updated_from { " from " span.addr { (a) } }
    }
}

pub fn home(
    s: &Session,
    hosts: &[Hostname],
    changes: &HashMap<String, Vec<AddressChange>>,
    zones: &[Zone],
    notice: Option<Notice>,
    error: Option<&str>,
) -> Markup {
    let now = clock::unix_now();
    layout(
        "Hostnames",
        Some(s),
        html! {
            @if let Some(n) = notice { (alert(true, n.text())) }
            @if let Some(e) = error { (alert(false, e)) }
            @if hosts.is_empty() {
                p { "No hostnames yet: create one below." }
            }
            @for h in hosts {
                article.card.host {
                    h2 { (h.fqdn()) }
                    dl {
                        dt { "A" } dd { (opt(h.ipv4.map(|a| a.to_string()))) }
                        dt { "AAAA" } dd { (opt(h.ipv6.map(|a| a.to_string()))) }
                        dt { "TXT" } dd { (opt(h.txt.clone())) }
                        dt { "TTL" } dd { (h.ttl) }
                        dt { "Note" } dd.note { (opt(h.note.clone())) }
                        dt { "Updated" } dd { (updated(h)) }
                    }
                    (charts::address_changes(&h.fqdn(), changes.get(&h.id).map_or(&[][..], |v| v), now))
                    p { a href={ "/hostnames/" (h.id) "/setup" } { "Set up a router or client for " (h.fqdn()) } }
                    div.actions {
                        a.button href={ "/hostnames/" (h.id) } { "Edit" }
                        form.inline method="post" action={ "/hostnames/" (h.id) "/clear" } {
                            (csrf(s))
                            button type="submit" { "Clear" }
                        }
                        form.inline method="post" action={ "/hostnames/" (h.id) "/delete" } {
                            (csrf(s))
                            button.danger type="submit" { "Delete" }
                        }
                    }
                }
            }
            h2 { "New hostname" }
            @if zones.is_empty() {
                p { "Your account may not create hostnames in any zone." }
            } @else {
                form.card method="post" action="/hostnames" {
                    (csrf(s))
                    label for="hostname" { "Name (one label)" }
                    input #hostname name="hostname" required autocapitalize="off" spellcheck="false";
                    label for="zoneDomain" { "Zone" }
                    select #zoneDomain name="zoneDomain" {
                        @for z in zones { option value=(z.name) { (z.name) } }
                    }
                    (value_inputs(None))
                    button type="submit" { "Create" }
                }
            }
        },
    )
}

/// The value fields of the create and edit forms (the JSON API's names).
pub(super) fn value_inputs(h: Option<&Hostname>) -> Markup {
    let v4 = h
        .and_then(|h| h.ipv4)
        .map(|a| a.to_string())
        .unwrap_or_default();
    let v6 = h
        .and_then(|h| h.ipv6)
        .map(|a| a.to_string())
        .unwrap_or_default();
    let txt = h.and_then(|h| h.txt.clone()).unwrap_or_default();
    let ttl = h.map(|h| h.ttl.to_string()).unwrap_or_default();
    let note = h.and_then(|h| h.note.clone()).unwrap_or_default();
    html! {
        label for="ipv4" { "IPv4 address (A)" }
        input #ipv4 name="ipv4" value=(v4) inputmode="decimal" autocapitalize="off";
        label for="ipv6" { "IPv6 address (AAAA)" }
        input #ipv6 name="ipv6" value=(v6) autocapitalize="off";
        label for="txt" { "TXT" }
        input #txt name="txt" value=(txt) autocapitalize="off";
        label for="ttl" { "TTL (seconds; empty: the default)" }
        input #ttl name="ttl" value=(ttl) inputmode="numeric";
        label for="note" { "Note" }
        input #note name="note" value=(note);
    }
}

pub fn edit(s: &Session, h: &Hostname, changes: &[AddressChange], error: Option<&str>) -> Markup {
    layout(
        &h.fqdn(),
        Some(s),
        html! {
            @if let Some(e) = error { (alert(false, e)) }
            p { "Last updated " (updated(h)) "." }
            h2 { "Address changes" }
            (charts::address_changes(&h.fqdn(), changes, clock::unix_now()))
            @if !changes.is_empty() {
                details {
                    summary { "The changes as a list" }
                    ul {
                        @for c in changes.iter().rev() {
                            li { (minute(&clock::rfc3339(c.at, 0))) ": "
                                (opt(c.ipv4.map(|a| a.to_string()))) ", "
                                (opt(c.ipv6.map(|a| a.to_string())))
                                @if c.changes > 1 { " (the last of " (c.changes) " changes in that hour)" } }
                        }
                    }
                }
            }
            h2 { "Values" }
            form.card method="post" action={ "/hostnames/" (h.id) } {
                (csrf(s))
                p.hint { "An empty field clears that value." }
                (value_inputs(Some(h)))
                button type="submit" { "Save" }
            }
            p { a href="/" { "Back to the hostnames" } }
        },
    )
}

pub fn token(s: &Session, new_token: Option<&str>, error: Option<&str>) -> Markup {
    layout(
        "Update token",
        Some(s),
        html! {
            @if let Some(e) = error { (alert(false, e)) }
            @if let Some(t) = new_token {
                div.card {
                    p { "Your new update token. It is shown only now: copy it to your router or client." }
                    pre { code #token-value { (t) } }
                    button.copy type="button" data-copy="token-value" hidden { "Copy" }
                    p.hint { "The old token no longer works." }
                }
            } @else {
                p { "The update token is stored only as a hash and cannot be shown again. If it is lost or leaked, make a new one: the old one stops working at once, so every router or client using it must be given the new one." }
                form.card method="post" action="/token" {
                    (csrf(s))
                    div.check {
                        input #confirm type="checkbox" name="confirm" value="yes" required;
                        label for="confirm" { "Yes, replace my update token" }
                    }
                    button.danger type="submit" { "Regenerate token" }
                }
            }
        },
    )
}

/// Two-factor sign-in as the account page shows it.
pub struct TfaState {
    pub on: bool,
    /// While setting up: the otpauth URI and the base32 secret.
    pub pending: Option<(String, String)>,
    pub codes_left: u32,
}

pub fn recovery_codes(s: &Session, codes: &[String]) -> Markup {
    layout(
        "Two-factor sign-in is on",
        Some(s),
        html! {
            div.card {
                p { "Keep these recovery codes somewhere safe. Each signs you in once if you lose your device; they are shown only now." }
                pre { code #recovery-codes { (codes.join("\n")) } }
                button.copy type="button" data-copy="recovery-codes" hidden { "Copy" }
            }
            p { a href="/account" { "Back to the account" } }
        },
    )
}

pub fn account(
    s: &Session,
    sessions: &[SessionRow],
    current: &[u8; 32],
    tfa: &TfaState,
    msg: Option<(bool, &str)>,
) -> Markup {
    let now = clock::unix_now();
    let when = |t: u64| minute(&clock::rfc3339(t, 0));
    layout(
        "Account",
        Some(s),
        html! {
            @if let Some((ok, m)) = msg { (alert(ok, m)) }
            h2 { "Password" }
            form.card method="post" action="/account/password" {
                (csrf(s))
                input type="email" name="email" value=(s.user.email) autocomplete="username" hidden;
                label for="current" { "Current password" }
                input #current type="password" name="current" autocomplete="current-password" required;
                label for="password" { "New password (at least 10 characters)" }
                input #password type="password" name="password" autocomplete="new-password" minlength="10" required;
                button type="submit" { "Change password" }
            }
            h2 { "Two-factor sign-in" }
            @if tfa.on {
                p { "On (TOTP). " (tfa.codes_left) " recovery codes left." }
                form.card method="post" action="/account/tfa/disable" {
                    (csrf(s))
                    label for="tfa-off" { "A current code (or a recovery code) to turn it off" }
                    input #tfa-off name="code" autocomplete="one-time-code" required;
                    button.danger type="submit" { "Turn off" }
                }
            } @else if let Some((uri, secret)) = &tfa.pending {
                div.card {
                    p { "Add this key to your authenticator app (or open the link on the phone that has it), then enter the code it shows." }
                    p { "Key: " code #tfa-secret { (secret) } }
                    p { a href=(uri) { "Open in an authenticator app" } }
                    form method="post" action="/account/tfa/confirm" {
                        (csrf(s))
                        label for="tfa-code" { "Code from the app" }
                        input #tfa-code name="code" autocomplete="one-time-code" inputmode="numeric" required;
                        button type="submit" { "Turn on" }
                    }
                }
            } @else {
                form method="post" action="/account/tfa" {
                    (csrf(s))
                    p { "Off. With it on, signing in also asks for a code from an authenticator app." }
                    button type="submit" { "Set up two-factor sign-in" }
                }
            }
            h2 { "Sessions" }
            ul.sessions {
                @for x in sessions {
                    li.card {
                        strong { (x.address) }
                        @if x.id_hash[..] == current[..] { " (this session)" }
                        br;
                        span.hint { (x.user_agent) }
                        br;
                        span.hint { "signed in " (when(x.created_at)) ", last seen " (when(x.last_seen.min(now))) }
                    }
                }
            }
            form method="post" action="/account/signout-all" {
                (csrf(s))
                button.danger type="submit" { "Sign out everywhere" }
            }
        },
    )
}

pub fn tokens(
    s: &Session,
    list: &[ScopedToken],
    hosts: &[Hostname],
    new_token: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let when = |t: u64| minute(&clock::rfc3339(t, 0));
    layout(
        "Scoped tokens",
        Some(s),
        html! {
            @if let Some(e) = error { (alert(false, e)) }
            @if let Some(t) = new_token {
                div.card {
                    p { "The new token. It is shown only now: copy it to the router or client." }
                    pre { code #token-value { (t) } }
                    button.copy type="button" data-copy="token-value" hidden { "Copy" }
                }
            }
            p { "A scoped token updates only the hostnames you choose (on /update, dyndns2 and /v1/hostnames) and cannot create or delete any: give each router its own." }
            @for t in list {
                article.card {
                    h2 { (t.label) }
                    dl {
                        dt { "Hostnames" } dd { (t.hostnames.join(", ")) }
                        dt { "Created" } dd { (when(t.created_at)) }
                        dt { "Last used" } dd { (t.last_used.map(when).unwrap_or_else(|| "never".into())) }
                    }
                    form method="post" action="/tokens/revoke" {
                        (csrf(s))
                        input type="hidden" name="label" value=(t.label);
                        button.danger type="submit" { "Revoke" }
                    }
                }
            }
            h2 { "New scoped token" }
            @if hosts.is_empty() {
                p { "Create a hostname first." }
            } @else {
                form.card method="post" action="/tokens" {
                    (csrf(s))
                    label for="label" { "Label (e.g. the router's name)" }
                    input #label name="label" required maxlength="64";
                    fieldset {
                        legend { "Hostnames it may update" }
                        @for h in hosts {
                            div.check {
                                input id={ "h-" (h.id) } type="checkbox" name="hostname" value=(h.id);
                                label for={ "h-" (h.id) } { (h.fqdn()) }
                            }
                        }
                    }
                    button type="submit" { "Create token" }
                }
            }
        },
    )
}
