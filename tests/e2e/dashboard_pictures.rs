//! The dashboard (#17), the rest: when and from which address each hostname was last changed
//! (by every update path), its address changes over 30 days (counted per hour) and a zone's queries per day as
//! inline SVGs, labelled API keys, and the admin pages (users' status, limits, API access and
//! role; adding a user with an invite link; every zone).

use crate::harness::*;
use hickory_proto::rr::RecordType;
use std::time::Duration;

/// One request from the loopback address `src` (every 127/8 address is this host).
fn from(
    srv: &Server,
    src: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> HttpReply {
    let bytes = request(method, target, headers, body.map(str::as_bytes));
    match exchange_from(src, srv.http, &bytes, Duration::from_secs(5)) {
        Outcome::Reply(r) => r,
        _ => panic!("{method} {target} from {src}: no reply"),
    }
}

/// The text of the `dd` after `<dt>Updated</dt>` in the first card naming `fqdn`, tags removed.
fn updated_line(page: &str, fqdn: &str) -> String {
    let at = page
        .find(&format!("<h2>{fqdn}</h2>"))
        .unwrap_or_else(|| panic!("{fqdn} in {page}"));
    let rest = &page[at..];
    let dd = rest.find("<dt>Updated</dt><dd>").expect("Updated") + "<dt>Updated</dt><dd>".len();
    let end = rest[dd..].find("</dd>").expect("end");
    let mut out = String::new();
    let mut tag = false;
    for c in rest[dd..dd + end].chars() {
        match c {
            '<' => tag = true,
            '>' => tag = false,
            c if !tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// The `aria-label` of the first picture after `from` on the page.
fn picture_label(page: &str, after: &str) -> String {
    let at = page
        .find(after)
        .unwrap_or_else(|| panic!("{after} in {page}"));
    let rest = &page[at..];
    let svg = rest.find("<svg").expect("a picture");
    let l = svg + rest[svg..].find("aria-label=\"").expect("its label") + 12;
    rest[l..l + rest[l..].find('"').expect("end")].to_string()
}

fn sign_in(srv: &Server, email: &str, password: &str) -> Browser {
    let mut b = Browser::new(srv);
    let r = b.submit(
        "/login",
        "/login",
        &[("email", email), ("password", password)],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    b
}

#[test]
fn hostnames_show_when_and_from_where_every_update_path_changed_them() {
    let dir = TestDir::new("dash_updated_from");
    admin(&dir, &["zone", "add", "dyn.test", "--shared"]);
    let token = add_user(&dir, "ann@example.org", &[]);
    passwd(&dir, "ann@example.org", "ann's password");
    let srv = Server::start(&dir);
    let bearer = format!("Bearer {token}");
    let auth = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];

    // /v1/hostnames (create) from .3, /update from .7, dyndns2 from .8.
    let r = from(
        &srv,
        "127.0.0.3",
        "POST",
        "/v1/hostnames",
        &auth,
        Some(r#"{"hostname":"home","zoneDomain":"dyn.test","ipv4":"192.0.2.1"}"#),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let mut b = sign_in(&srv, "ann@example.org", "ann's password");
    assert!(updated_line(&b.get("/").body, "home.dyn.test").ends_with(" from 127.0.0.3"));

    let r = from(
        &srv,
        "127.0.0.7",
        "GET",
        &format!("/update?domains=home&token={token}&ip=192.0.2.2"),
        &[],
        None,
    );
    assert_eq!(r.body, "OK");
    let page = b.get("/").body;
    assert!(
        updated_line(&page, "home.dyn.test").ends_with(" from 127.0.0.7"),
        "{page}"
    );

    let auth2 = basic("x", &token);
    let r = from(
        &srv,
        "127.0.0.8",
        "GET",
        "/nic/update?hostname=home.dyn.test&myip=192.0.2.3",
        &[("Authorization", auth2.as_str())],
        None,
    );
    assert_eq!(r.body.trim(), "good 192.0.2.3");
    // Nothing changed: the last change stays the one from .8.
    let r = from(
        &srv,
        "127.0.0.9",
        "GET",
        &format!("/update?domains=home&token={token}&ip=192.0.2.3"),
        &[],
        None,
    );
    assert_eq!(r.body, "OK");
    let page = b.get("/").body;
    assert!(
        updated_line(&page, "home.dyn.test").ends_with(" from 127.0.0.8"),
        "{page}"
    );
    // The picture: three address changes, the last to 192.0.2.3; no inline style.
    let label = picture_label(&page, "<h2>home.dyn.test</h2>");
    assert!(
        label.starts_with("home.dyn.test: 3 address changes in the last 30 days"),
        "{label}"
    );
    assert!(label.ends_with("to 192.0.2.3."), "{label}");
    assert!(page.contains("<title>home.dyn.test: 3 address changes"));
    assert!(!page.contains("style="));

    // /v1/hostnames PATCH from .4 (a note only: not an address change), the dashboard's edit
    // form from .1 (an address change).
    let r = from(
        &srv,
        "127.0.0.4",
        "PATCH",
        "/v1/hostnames/home.dyn.test",
        &auth,
        Some(r#"{"note":"n"}"#),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let page = b.get("/").body;
    assert!(
        updated_line(&page, "home.dyn.test").ends_with(" from 127.0.0.4"),
        "{page}"
    );
    assert!(picture_label(&page, "<h2>home.dyn.test</h2>").contains(": 3 address changes"));
    let at = page.find("/hostnames/host_").expect("edit link") + 11;
    let id = &page[at..at + page[at..].find(['"', '/']).expect("end")];
    let edit = format!("/hostnames/{id}");
    let r = b.submit(
        &edit,
        &edit,
        &[
            ("ipv4", "192.0.2.4"),
            ("ipv6", ""),
            ("txt", ""),
            ("ttl", ""),
            ("note", "n"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.get(&edit).body;
    assert!(
        page.contains(" from <span class=\"addr\">127.0.0.1</span>"),
        "{page}"
    );
    assert!(
        picture_label(&page, "Address changes").contains(": 4 address changes"),
        "{page}"
    );
    // The list has a line per hour with changes (this test may straddle the top of an hour).
    let hours = page.matches("<li>").count();
    assert!((1..=2).contains(&hours), "the changes as a list: {page}");
    assert!(page.contains("192.0.2.4, —"), "{page}");

    // The history stays bounded: 120 more changes are counted in the rows of their hours.
    for i in 0..120 {
        let r = srv.get(
            &format!("/update?domains=home&token={token}&ip=198.51.100.{}", i + 1),
            &[],
        );
        assert_eq!(r.body, "OK");
    }
    let page = b.get(&edit).body;
    assert!(
        picture_label(&page, "Address changes").contains(": 124 address changes"),
        "{page}"
    );
    assert!(page.matches("<li>").count() <= 3, "{page}");
    assert!(page.contains("198.51.100.120, —"), "{page}");
    assert!(page.contains(" changes in that hour)"), "{page}");
    assert_eq!(a_records(&srv, "home.dyn.test"), vec!["198.51.100.120"]);
}

#[test]
fn api_keys_carry_their_label() {
    let dir = TestDir::new("dash_key_labels");
    add_user(&dir, "kim@example.org", &[]);
    passwd(&dir, "kim@example.org", "kim's password");
    admin(
        &dir,
        &["zone", "add", "kim.example", "--owner", "kim@example.org"],
    );
    let srv = Server::start(&dir);
    let mut b = sign_in(&srv, "kim@example.org", "kim's password");
    let r = b.submit(
        "/apikeys",
        "/apikeys",
        &[("label", "  deploy <ci>  "), ("zone", "kim.example")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let key = token_value(&r.body);
    let page = b.get("/apikeys").body;
    assert!(page.contains("<h2>deploy &lt;ci&gt;</h2>"), "{page}");
    assert!(page.contains("<dd>kim.example</dd>"), "{page}");
    // The key works (restricted to its zone), and the label is in the admin command's list.
    let r = srv.get(
        "/v1/zones",
        &[
            ("Authorization", &basic("kim@example.org", &key)),
            ("Accept", "application/json"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let list = admin(&dir, &["user", "apikeys", "kim@example.org"]);
    assert!(
        list.lines()
            .nth(1)
            .is_some_and(|l| l.ends_with(" deploy <ci>")),
        "{list}"
    );
    // Too long: refused on the page, nothing made.
    let long = "x".repeat(65);
    let r = b.submit("/apikeys", "/apikeys", &[("label", &long)]);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("at most 64 characters"), "{}", r.body);
    assert_eq!(
        admin(&dir, &["user", "apikeys", "kim@example.org"])
            .lines()
            .count(),
        2
    );
    // The admin command takes --label too.
    let out = admin(
        &dir,
        &["user", "apikey", "kim@example.org", "--label", "laptop"],
    );
    assert!(!last_line(&out).is_empty());
    assert!(b.get("/apikeys").body.contains("<h2>laptop</h2>"));
}

#[test]
fn admins_change_users_invite_new_ones_and_see_every_zone() {
    let dir = TestDir::new("dash_admin_pages");
    admin(&dir, &["zone", "add", "dyn.test", "--shared"]);
    add_user(&dir, "root@example.org", &[]);
    admin(
        &dir,
        &["user", "set", "root@example.org", "--role", "admin"],
    );
    passwd(&dir, "root@example.org", "root's password");
    let dan = add_user(&dir, "dan@example.org", &[]);
    admin(
        &dir,
        &["zone", "add", "dan.example", "--owner", "dan@example.org"],
    );
    let srv = Server::start(&dir);
    let r = srv.get(
        &format!("/update?domains=home.dyn.test&token={dan}&ip=192.0.2.9"),
        &[],
    );
    assert_eq!(r.body, "KO", "not created yet");
    let r = http(
        srv.http,
        "POST",
        "/v1/hostnames",
        &[
            ("Authorization", &format!("Bearer {dan}")),
            ("Content-Type", "application/json"),
        ],
        Some(br#"{"hostname":"home","zoneDomain":"dyn.test","ipv4":"192.0.2.9"}"#),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let mut b = sign_in(&srv, "root@example.org", "root's password");

    // Ban dan from the page: his name leaves DNS at once; reactivated, it is back.
    let page = b.get("/admin").body;
    let at = page.find("<h2>dan@example.org</h2>").expect("dan listed");
    let f = at + page[at..].find("action=\"/admin/users/").expect("form") + 21;
    let dan_id = page[f..f + page[f..].find('"').expect("end")].to_string();
    let action = format!("/admin/users/{dan_id}");
    let r = b.submit("/admin", &action, &[("status", "banned")]);
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/admin")),
        "{}",
        r.body
    );
    assert!(
        a_records(&srv, "home.dyn.test").is_empty(),
        "banned: out of DNS"
    );
    let r = srv.get(
        &format!("/update?domains=home&token={dan}&ip=192.0.2.10"),
        &[],
    );
    assert_eq!(r.body, "KO", "a banned account's token changes nothing");
    let r = b.submit(
        "/admin",
        &action,
        &[
            ("status", "active"),
            ("max_hostnames", "3"),
            ("api_enabled", "false"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(a_records(&srv, "home.dyn.test"), vec!["192.0.2.9"]);
    // The same store rows the admin command reads.
    let list = admin(&dir, &["user", "list"]);
    let row = list
        .lines()
        .find(|l| l.contains("dan@example.org"))
        .expect("dan");
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[2..6], ["active", "1", "3", "false"], "{row}");
    // Bad values are refused on the page; an admin cannot ban themself.
    let r = b.submit("/admin", &action, &[("status", "gone")]);
    assert_eq!(r.status, 400, "{}", r.body);
    let page = b.get("/admin").body;
    let at = page.find("<h2>root@example.org</h2>").expect("root listed");
    let f = at + page[at..].find("action=\"/admin/users/").expect("form") + 21;
    let me = format!(
        "/admin/users/{}",
        &page[f..f + page[f..].find('"').expect("end")]
    );
    let r = b.submit("/admin", &me, &[("status", "banned")]);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("cannot demote, disable or ban yourself"));

    // Invite someone new from the page: the link works once and signs them in.
    let r = b.submit(
        "/admin",
        "/admin/users",
        &[("email", "eve@example.org"), ("max_hostnames", "2")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let at = r.body.find(r#"id="invite-link">"#).expect("link shown") + 18;
    let link = r.body[at..at + r.body[at..].find('<').expect("end")].to_string();
    let path = &link[link.find("/invite/").expect("path")..];
    let mut eve = Browser::new(&srv);
    let r = eve.submit(path, path, &[("password", "eve's password")]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(eve.get("/").body.contains("Signed in as eve@example.org"));
    let r = b.submit("/admin", "/admin/users", &[("email", "EVE@example.org")]);
    assert_eq!(r.status, 409, "{}", r.body);
    let r = b.submit("/admin", "/admin/users", &[("email", "not an address")]);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(admin(&dir, &["user", "list"])
        .lines()
        .any(|l| l.contains("eve@example.org") && l.contains(" 2 ")));
    // A normal user gets neither page.
    assert_eq!(eve.get("/admin/zones").status, 403);
    let r = eve.submit("/", "/admin/users", &[("email", "x@example.org")]);
    assert_eq!(r.status, 403);

    // Every zone with its queries per day: counted by DNS, flushed at a clean stop.
    for _ in 0..5 {
        srv.dig("home.dyn.test", RecordType::A);
    }
    for _ in 0..3 {
        srv.dig("www.dan.example", RecordType::A);
    }
    let mut srv = srv;
    assert_eq!(srv.stop(), 0);
    let srv = Server::start(&dir);
    let mut b = sign_in(&srv, "root@example.org", "root's password");
    let page = b.get("/admin/zones").body;
    assert!(page.contains(r#"<a href="/admin/zones" aria-current="page">Zones</a>"#));
    assert!(
        page.contains("<h2>dan.example</h2>") && page.contains("<dd>dan@example.org</dd>"),
        "{page}"
    );
    let label = picture_label(&page, "<h2>dyn.test</h2>");
    // These 5 and the 2 lookups after the ban and the reactivation.
    assert!(
        label.starts_with("dyn.test: 7 DNS queries in the last 30 days; the most, 7, on "),
        "{label}"
    );
    assert!(picture_label(&page, "<h2>dan.example</h2>").starts_with("dan.example: 3 DNS queries"));
    // The zone's owner sees the same picture on the zone's page.
    passwd(&dir, "dan@example.org", "dan's password");
    let mut d = sign_in(&srv, "dan@example.org", "dan's password");
    let zones = d.get("/zones").body;
    let at = zones.find("href=\"/zones/").expect("zone link") + 6;
    let zpath = zones[at..at + zones[at..].find('"').expect("end")].to_string();
    let page = d.get(&zpath).body;
    assert!(
        picture_label(&page, "Queries per day").starts_with("dan.example: 3 DNS queries"),
        "{page}"
    );
}
