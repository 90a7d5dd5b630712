//! Pages of hosted zones (records with filter, sort and pages), API keys and the
//! record edit form; the layout and shared pieces are in `pages.rs`.

use super::pages::*;
use super::Session;
use crate::model::{Record, Zone};
use crate::store::queries::api_keys::ApiKeyInfo;
use maud::{html, Markup};

pub fn zones(s: &Session, zones: &[Zone]) -> Markup {
    layout(
        "Hosted zones",
        Some(s),
        html! {
            @if zones.is_empty() {
                p { "You host no zones here. The operator adds one with " code { "lucentd zone add NAME --owner " (s.user.email) } "." }
            }
            ul.sessions {
                @for z in zones {
                    li.card { a href={ "/zones/" (z.id) } { (z.name) } " · serial " (z.serial) }
                }
            }
        },
    )
}

/// What the zone page shows.
pub struct ZoneView<'a> {
    pub zone: &'a Zone,
    pub records: &'a [Record],
    pub total: usize,
    pub q: &'a str,
    pub sort: &'a str,
    pub page: usize,
    pub pages: usize,
    /// DNS queries per day (day number, count), for the picture.
    pub daily: &'a [(u64, u64)],
    /// The zone's DS records in presentation form (empty when it is not signed).
    pub ds: &'a [String],
}

pub fn zone(s: &Session, v: &ZoneView, error: Option<&str>) -> Markup {
    let z = v.zone;
    let link = |page: usize| {
        format!(
            "/zones/{}?q={}&sort={}&page={page}",
            z.id,
            urlenc(v.q),
            v.sort
        )
    };
    layout(
        &z.name,
        Some(s),
        html! {
            @if let Some(e) = error { (alert(false, e)) }
            @if v.ds.is_empty() {
                h2 { "DNSSEC" }
                p { "This zone is not signed." }
            } @else {
                (super::pages::snippet("ds-records", "DNSSEC: DS records for your registrar", &v.ds.join("\n")))
                p.hint { "The zone is signed. Validation starts once the parent zone holds one \
                          of these DS records: add it at your registrar (most ask for the key \
                          tag, algorithm, digest type and digest: the first line's four \
                          numbers after DS)." }
            }
            h2 { "Queries per day" }
            (super::charts::daily_queries(&z.name, v.daily, crate::clock::unix_now()))
            h2 { "Records" }
            form.card method="get" action={ "/zones/" (z.id) } {
                label for="q" { "Filter (name, content or type)" }
                input #q name="q" value=(v.q) autocapitalize="off";
                label for="sort" { "Sort by" }
                select #sort name="sort" {
                    @for k in ["name", "type", "content", "ttl"] {
                        option value=(k) selected[v.sort == k] { (k) }
                    }
                }
                button type="submit" { "Show" }
            }
            p.hint { (v.total) " records · page " (v.page) " of " (v.pages) }
            @for r in v.records {
                article.card {
                    dl {
                        dt { "Name" } dd { (r.name) }
                        dt { "Type" } dd { (r.rtype.to_string()) }
                        dt { "Content" } dd { (r.content) }
                        dt { "TTL" } dd { (r.ttl) }
                    }
                    @if r.rtype.to_string() != "SOA" {
                        a.button href={ "/zones/" (z.id) "/records/" (r.id) } { "Edit" }
                        form method="post" action={ "/zones/" (z.id) "/records/" (r.id) "/delete" } {
                            (csrf(s))
                            button.danger type="submit" { "Delete" }
                        }
                    }
                }
            }
            div.actions {
                @if v.page > 1 { a href=(link(v.page - 1)) { "Previous page" } }
                @if v.page < v.pages { a href=(link(v.page + 1)) { "Next page" } }
            }
            h2 { "New record" }
            form.card method="post" action={ "/zones/" (z.id) } {
                (csrf(s))
                label for="name" { "Name (relative to " (z.name) ", @ for the apex, or a full name)" }
                input #name name="name" required autocapitalize="off";
                label for="type" { "Type" }
                select #type name="type" {
                    @for t in ["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "CAA", "PTR"] {
                        option value=(t) { (t) }
                    }
                }
                label for="content" { "Content" }
                input #content name="content" required autocapitalize="off";
                label for="ttl" { "TTL (seconds; empty: the default)" }
                input #ttl name="ttl" inputmode="numeric";
                button type="submit" { "Add record" }
            }
        },
    )
}

/// Percent-encode a query value.
fn urlenc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn api_keys(
    s: &Session,
    keys: &[ApiKeyInfo],
    zones: &[Zone],
    new_key: Option<&str>,
    error: Option<&str>,
) -> Markup {
    layout(
        "API keys",
        Some(s),
        html! {
            @if let Some(e) = error { (alert(false, e)) }
            @if let Some(k) = new_key {
                div.card {
                    p { "The new API key. It is shown only now; use it with your email for the LuaDNS-style API (HTTP Basic)." }
                    pre { code #token-value { (k) } }
                    button.copy type="button" data-copy="token-value" hidden { "Copy" }
                }
            }
            @for k in keys {
                article.card {
                    h2 { @if k.label.is_empty() { "Key " (k.id) } @else { (k.label) } }
                    dl {
                        dt { "Id" } dd { (k.id) }
                        dt { "Reaches" } dd { (k.zone.clone().unwrap_or_else(|| "all your zones".into())) }
                        dt { "Created" } dd { (minute(&k.created_at)) }
                    }
                    form method="post" action={ "/apikeys/" (k.id) "/revoke" } {
                        (csrf(s))
                        button.danger type="submit" { "Revoke" }
                    }
                }
            }
            h2 { "New API key" }
            form.card method="post" action="/apikeys" {
                (csrf(s))
                label for="label" { "Label (what the key is for, e.g. the tool using it)" }
                input #label name="label" maxlength=(crate::domain::api_keys::MAX_LABEL) autocapitalize="off";
                label for="zone" { "Reaches" }
                select #zone name="zone" {
                    option value="" { "all your zones" }
                    @for z in zones { option value=(z.name) { "only " (z.name) } }
                }
                button type="submit" { "Create key" }
            }
        },
    )
}

pub fn record(s: &Session, z: &Zone, r: &Record, error: Option<&str>) -> Markup {
    let ty = r.rtype.to_string();
    layout(
        &format!("{} {}", r.name, ty),
        Some(s),
        html! {
            @if let Some(e) = error { (alert(false, e)) }
            form.card method="post" action={ "/zones/" (z.id) "/records/" (r.id) } {
                (csrf(s))
                label for="name" { "Name" }
                input #name name="name" value=(r.name) required autocapitalize="off";
                label for="type" { "Type" }
                input #type name="type" value=(ty) required autocapitalize="characters";
                label for="content" { "Content" }
                input #content name="content" value=(r.content) required autocapitalize="off";
                label for="ttl" { "TTL (seconds)" }
                input #ttl name="ttl" value=(r.ttl) inputmode="numeric";
                button type="submit" { "Save" }
            }
            p { a href={ "/zones/" (z.id) } { "Back to " (z.name) } }
        },
    )
}
