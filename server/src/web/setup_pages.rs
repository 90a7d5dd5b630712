//! The pages that print this server's address into ready-to-paste text: a hostname's client
//! setups (curl, lucent-agent, ddclient, inadyn, OpenWrt, a router's own form) and the public
//! API guide. The layout and shared pieces are in `pages.rs`.

use maud::{html, Markup};

use super::pages::*;
use super::Session;
use crate::model::Hostname;

pub fn setup(s: &Session, h: &Hostname, public_url: &str) -> Markup {
    let fqdn = h.fqdn();
    let (server, https) = server_of(public_url);
    let yes = |b: bool| if b { "yes" } else { "no" };
    let curl = format!(
        "# Sets A to the address this request comes from:\n\
         curl '{public_url}/update?domains={fqdn}&token=YOUR_TOKEN'\n\
         # Or give the addresses:\n\
         curl '{public_url}/update?domains={fqdn}&token=YOUR_TOKEN&ip=192.0.2.1&ipv6=2001:db8::1'"
    );
    let agent = format!(
        "# /etc/lucent/agent.toml\n\
         server = \"{public_url}\"\n\
         token = \"YOUR_TOKEN\"\n\
         hostnames = [\"{fqdn}\"]\n\
         protocol = \"lucent\"\n\
         interval = 300\n\n\
         [ipv4]\n\
         source = \"http\"\n\n\
         [ipv6]\n\
         source = \"interface\""
    );
    let ddclient = format!(
        "# /etc/ddclient.conf (mode 600)\n\
         daemon=300\n\
         ssl={}\n\
         protocol=dyndns2\n\
         server={server}\n\
         use=web, web={public_url}/ip\n\
         login=anything\n\
         password=YOUR_TOKEN\n\
         {fqdn}",
        yes(https)
    );
    let inadyn = format!(
        "# /etc/inadyn.conf\n\
         period = 300\n\
         custom lucent {{\n\
         \x20   ssl         = {https}\n\
         \x20   ddns-server = \"{server}\"\n\
         \x20   ddns-path   = \"/update?domains=%h&token=%p&ip=%i\"\n\
         \x20   username    = \"anything\"\n\
         \x20   password    = \"YOUR_TOKEN\"\n\
         \x20   hostname    = \"{fqdn}\"\n\
         }}"
    );
    let openwrt = format!(
        "# /etc/config/ddns\n\
         config service 'lucent'\n\
         \toption enabled '1'\n\
         \toption lookup_host '{fqdn}'\n\
         \toption domain '{fqdn}'\n\
         \toption password 'YOUR_TOKEN'\n\
         \toption update_url '{public_url}/update?domains=[DOMAIN]&token=[PASSWORD]&ip=[IP]'\n\
         \toption use_https '{}'\n\
         \toption cacert '/etc/ssl/certs'\n\
         \toption ip_source 'network'\n\
         \toption ip_network 'wan'\n\
         \toption interface 'wan'",
        u8::from(https)
    );
    let router = format!(
        "Update URL (e.g. FRITZ!Box \"user-defined\"):\n\
         {public_url}/update?domains=<domain>&token=<pass>&ip=<ipaddr>&ipv6=<ip6addr>\n\
         Domain: {fqdn}   Username: anything   Password: YOUR_TOKEN\n\n\
         dyndns2 form (server, hostname, username, password):\n\
         Server: {server}   Hostname: {fqdn}   Username: anything   Password: YOUR_TOKEN"
    );
    layout(
        &format!("Set up {fqdn}"),
        Some(s),
        html! {
            p { "Replace " code { "YOUR_TOKEN" } " with your update token (regenerate it on the " a href="/token" { "token page" } " if you do not have it) or with a " a href="/tokens" { "scoped token" } " made for this device." }
            (snippet("snip-curl", "curl", &curl))
            (snippet("snip-agent", "lucent-agent", &agent))
            (snippet("snip-ddclient", "ddclient", &ddclient))
            (snippet("snip-inadyn", "inadyn", &inadyn))
            (snippet("snip-openwrt", "OpenWrt ddns-scripts", &openwrt))
            (snippet("snip-router", "A router's custom DynDNS", &router))
            p { a href="/" { "Back to the hostnames" } }
        },
    )
}

pub fn docs(s: Option<&Session>, public_url: &str, zones: &[String]) -> Markup {
    let zone = zones
        .first()
        .map(String::as_str)
        .unwrap_or("dyn.example.net");
    let fqdn = format!("home.{zone}");
    let (server, _) = server_of(public_url);
    layout(
        "API guide",
        s,
        html! {
            p { "This server answers at " code { (public_url) } "." }
            @if !zones.is_empty() {
                p { "Shared zones you can create hostnames in: " (zones.join(", ")) "." }
            }
            p { "Every request carries your update token: as " code { "token=" } ", " code { "Authorization: Bearer" } ", or the Basic password. Scoped tokens work the same way for their hostnames." }
            (snippet("doc-update", "Update (DuckDNS style)", &format!(
                "GET {public_url}/update?domains={fqdn}&token=TOKEN&ip=192.0.2.1\n\
                 GET {public_url}/update?domains={fqdn}&token=TOKEN          (A = the caller's address)\n\
                 GET {public_url}/update?domains={fqdn}&token=TOKEN&txt=VALUE (TXT, e.g. ACME DNS-01)\n\
                 GET {public_url}/update?domains={fqdn}&token=TOKEN&clear=true\n\
                 Answers OK or KO; add verbose=true for details.")))
            (snippet("doc-dyndns2", "dyndns2 (routers, ddclient)", &format!(
                "GET {public_url}/nic/update?hostname={fqdn}&myip=192.0.2.1\n\
                 Authorization: Basic (any user name, password TOKEN)\n\
                 Server for router forms: {server}\n\
                 Answers good 192.0.2.1, nochg, badauth, nohost, ...")))
            (snippet("doc-json", "Hostnames (JSON)", &format!(
                "curl -H 'Authorization: Bearer TOKEN' {public_url}/v1/hostnames\n\
                 curl -H 'Authorization: Bearer TOKEN' -H 'Content-Type: application/json' \\\n\
                 \x20    -d '{{\"hostname\":\"home\",\"zoneDomain\":\"{zone}\",\"ipv4\":\"192.0.2.1\"}}' {public_url}/v1/hostnames\n\
                 curl -X PATCH -H 'Authorization: Bearer TOKEN' -H 'Content-Type: application/json' \\\n\
                 \x20    -d '{{\"txt\":\"hello\"}}' {public_url}/v1/hostnames/{fqdn}\n\
                 curl -X DELETE -H 'Authorization: Bearer TOKEN' {public_url}/v1/hostnames/{fqdn}")))
            (snippet("doc-ip", "Your address", &format!("GET {public_url}/ip")))
        },
    )
}
