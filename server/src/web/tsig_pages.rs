//! The DNS UPDATE keys page (`/tsig`): the user's TSIG keys for RFC 2136 clients (nsupdate,
//! certbot's and lego's rfc2136 plugins), each limited to one hosted zone or to chosen
//! hostnames, made and revoked here as with `lucentd user tsig` (one domain function behind
//! both). A new key's secret is shown once.

use maud::{html, Markup};

use super::pages::*;
use super::Session;
use crate::model::{Hostname, Zone, ZoneKind};
use crate::store::queries::update_keys::UpdateKeyRow;

pub fn tsig(
    s: &Session,
    keys: &[(UpdateKeyRow, String)],
    zones: &[Zone],
    hosts: &[Hostname],
    new_key: Option<(&str, &str)>,
    error: Option<&str>,
    nameserver: &str,
) -> Markup {
    // UPDATE goes to the DNS server: the zones' first name server (their SOA MNAME).
    let server = nameserver;
    let hosted: Vec<&Zone> = zones
        .iter()
        .filter(|z| z.kind == ZoneKind::Hosted)
        .collect();
    layout(
        "DNS UPDATE keys",
        Some(s),
        html! {
            @if let Some(e) = error { (alert(false, e)) }
            @if let Some((name, secret)) = new_key {
                div.card {
                    p { "The secret of " strong { (name) } " (hmac-sha256). It is shown only now: copy it to the client." }
                    pre { code #token-value { (secret) } }
                    button.copy type="button" data-copy="token-value" hidden { "Copy" }
                    (snippet(
                        "nsupdate-example",
                        "nsupdate",
                        &format!(
                            "nsupdate -y hmac-sha256:{name}:{secret} <<'END'\nserver {server}\nupdate add NAME 300 A 192.0.2.10\nsend\nEND"
                        ),
                    ))
                }
            }
            p { "Tools that speak standard dynamic updates (RFC 2136) sign them with a TSIG key: nsupdate, certbot and lego (rfc2136 plugins), DHCP servers. A key changes what you may change here, and only in the zone or for the hostnames you choose." }
            @for (k, reach) in keys {
                article.card {
                    h2 { (k.name) }
                    dl {
                        dt { "Reaches" } dd { (reach) }
                        dt { "Created" } dd { (minute(&k.created_at)) }
                        dt { "Last used" } dd { (k.last_used_at.as_deref().map(minute).unwrap_or_else(|| "never".into())) }
                    }
                    form method="post" action="/tsig/revoke" {
                        (csrf(s))
                        input type="hidden" name="name" value=(k.name);
                        button.danger type="submit" { "Revoke" }
                    }
                }
            }
            h2 { "New key" }
            @if hosted.is_empty() && hosts.is_empty() {
                p { "Create a hostname or a hosted zone first." }
            } @else {
                form.card method="post" action="/tsig" {
                    (csrf(s))
                    label for="name" { "Key name (e.g. certbot-web)" }
                    input #name name="name" required maxlength="63" pattern="[A-Za-z0-9][A-Za-z0-9.-]*";
                    @if !hosted.is_empty() {
                        label for="zone" { "A hosted zone it may change" }
                        select #zone name="zone" {
                            option value="" { "(none: the hostnames below)" }
                            @for z in &hosted { option value=(z.name) { (z.name) } }
                        }
                    }
                    @if !hosts.is_empty() {
                        fieldset {
                            legend { "Or the hostnames it may change (neither: everything you may change)" }
                            @for h in hosts {
                                div.check {
                                    input id={ "t-" (h.id) } type="checkbox" name="hostname" value=(h.fqdn());
                                    label for={ "t-" (h.id) } { (h.fqdn()) }
                                }
                            }
                        }
                    }
                    button type="submit" { "Create key" }
                }
            }
        },
    )
}
