//! Seed 000 `/update` and its DuckDNS compatibility (PROTOCOLS.md §1): plain-text `OK`/`KO`
//! and the verbose lines byte for byte, TXT set/clear, source-address fallback, JSON bodies,
//! the path form, and the error statuses with the body `KO`.

use crate::harness::*;

/// The shared zone `lucentdrift.online`, one user and its hostnames `client-demo` and `second`.
fn setup(name: &str) -> Fixture {
    Fixture::shared(name, "lucentdrift.online", "u@example.org")
        .hostnames(&["client-demo", "second"])
        .start()
}

#[test]
fn duckdns_query_form() {
    let Fixture {
        dir: _d,
        srv,
        token: t,
        ..
    } = setup("duck-query");
    let host_fqdn = "client-demo.lucentdrift.online";
    // The seed's example, verbose.
    let r = srv.get(
        &format!("/update?domains={host_fqdn}&token={t}&ip=198.51.100.44&verbose=true"),
        &[],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "OK\n198.51.100.44\n\nUPDATED");
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    // Same again: NOCHANGE.
    let r = srv.get(
        &format!("/update?domains={host_fqdn}&token={t}&ip=198.51.100.44&verbose=true"),
        &[],
    );
    assert_eq!(r.body, "OK\n198.51.100.44\n\nNOCHANGE");
    // Non-verbose, bare label, ip + ipv6, two domains.
    let r = srv.get(
        &format!("/update?domains=client-demo,second&token={t}&ip=192.0.2.7&ipv6=2001:DB8::7"),
        &[],
    );
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    for n in ["client-demo", "second"] {
        let h = srv.hostname(&t, n);
        assert_eq!(h["ipv4"], "192.0.2.7");
        assert_eq!(h["ipv6"], "2001:db8::7", "canonical form stored");
    }
    // ip= carrying IPv6 sets AAAA only; empty ip= with ipv6 leaves A alone.
    let r = srv.get(
        &format!("/update?domains=second&token={t}&ip=2001:db8::8&verbose=true"),
        &[],
    );
    assert_eq!(r.body, "OK\n192.0.2.7\n2001:db8::8\nUPDATED");
    let r = srv.get(
        &format!("/update?domains=second&token={t}&ip=&ipv6=2001:db8::9"),
        &[],
    );
    assert_eq!(r.body, "OK");
    assert_eq!(srv.hostname(&t, "second")["ipv4"], "192.0.2.7");
    // No ip at all: the source address (127.0.0.1).
    let r = srv.get(
        &format!("/update?domains=second&token={t}&verbose=true"),
        &[],
    );
    assert_eq!(r.body, "OK\n127.0.0.1\n2001:db8::9\nUPDATED");
    // clear=true clears both addresses.
    let r = srv.get(
        &format!("/update?domains=second&token={t}&clear=true&verbose=true"),
        &[],
    );
    assert_eq!(r.body, "OK\n\n\nUPDATED");
    let h = srv.hostname(&t, "second");
    assert!(h["ipv4"].is_null() && h["ipv6"].is_null());
}

#[test]
fn duckdns_txt_api() {
    let Fixture {
        dir: _d,
        srv,
        token: t,
        ..
    } = setup("duck-txt");
    let r = srv.get(
        &format!("/update?domains=client-demo&token={t}&txt=challenge-1&verbose=true"),
        &[],
    );
    assert_eq!(r.body, "OK\nchallenge-1\nUPDATED");
    assert!(
        srv.hostname(&t, "client-demo")["ipv4"].is_null(),
        "TXT mode leaves addresses alone"
    );
    let r = srv.get(
        &format!("/update?domains=client-demo&token={t}&txt=challenge-1&verbose=true"),
        &[],
    );
    assert_eq!(r.body, "OK\nchallenge-1\nNOCHANGE");
    // lego: clear=false&...&txt=, acme.sh/certbot: txt=&clear=true, dns-update: txt= only.
    let r = srv.get(
        &format!("/update?clear=true&domains=client-demo&token={t}&txt="),
        &[],
    );
    assert_eq!(r.body, "OK");
    assert!(srv.hostname(&t, "client-demo")["txt"].is_null());
    let r = srv.get(
        &format!("/update?clear=false&domains=client-demo&token={t}&txt=v2"),
        &[],
    );
    assert_eq!(r.body, "OK");
    assert_eq!(srv.hostname(&t, "client-demo")["txt"], "v2");
    let r = srv.get(&format!("/update?domains=client-demo&token={t}&txt="), &[]);
    assert_eq!(r.body, "OK");
    assert!(srv.hostname(&t, "client-demo")["txt"].is_null());
    // The seed's clear examples.
    srv.get(
        &format!("/update?domains=client-demo&token={t}&txt=x&ip=192.0.2.1"),
        &[],
    );
    let r = srv.get(
        &format!(
            "/update?domains=client-demo.lucentdrift.online&token={t}&txt=&clear=true&verbose=true"
        ),
        &[],
    );
    assert_eq!(r.body, "OK\n\nUPDATED");
    let h = srv.hostname(&t, "client-demo");
    assert!(h["txt"].is_null());
    assert_eq!(h["ipv4"], "192.0.2.1", "TXT clear keeps the address");
}

#[test]
fn update_failures_are_ko_with_seed_statuses() {
    let Fixture {
        dir, srv, token: t, ..
    } = setup("duck-errors");
    let cases = [
        (
            "/update?domains=client-demo&token=nope&ip=192.0.2.1".to_string(),
            401,
        ),
        ("/update?domains=client-demo&ip=192.0.2.1".to_string(), 401),
        (
            format!("/update?domains=unknown&token={t}&ip=192.0.2.1"),
            404,
        ),
        (
            format!("/update?domains=client-demo,unknown&token={t}&ip=192.0.2.1"),
            404,
        ),
        (
            format!("/update?domains=client-demo&token={t}&ip=300.1.1.1"),
            400,
        ),
        (
            format!("/update?domains=client-demo&token={t}&ipv6=192.0.2.1"),
            400,
        ),
        (format!("/update?token={t}&ip=192.0.2.1"), 400),
    ];
    for (url, status) in &cases {
        let r = srv.get(url, &[]);
        assert_eq!((r.status, r.body.as_str()), (*status, "KO"), "{url}");
    }
    assert!(
        srv.hostname(&t, "client-demo")["ipv4"].is_null(),
        "nothing changed (all-or-nothing)"
    );
    admin(
        &dir,
        &["user", "set", "u@example.org", "--status", "banned"],
    );
    let r = srv.get(
        &format!("/update?domains=client-demo&token={t}&ip=192.0.2.1"),
        &[],
    );
    assert_eq!((r.status, r.body.as_str()), (403, "KO"));
}

#[test]
fn json_post_path_and_form() {
    let Fixture {
        dir: _d,
        srv,
        token: t,
        ..
    } = setup("update-json");
    // The seed's JSON example.
    let r = srv.json(
        "POST",
        "/update",
        &t,
        r#"{"domains":["client-demo.lucentdrift.online"],"ip":"198.51.100.44","txt":"new-value","ttl":120,"note":"updated by API client"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert_eq!(j["changed"], true);
    let h = &j["hostnames"][0];
    assert_eq!(h["ipv4"], "198.51.100.44");
    assert_eq!(h["txt"], "new-value");
    assert_eq!(h["ttl"], 120);
    assert_eq!(h["note"], "updated by API client");
    // JSON errors are JSON.
    let r = srv.json(
        "POST",
        "/update",
        &t,
        r#"{"domains":["nope"],"ip":"192.0.2.1"}"#,
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "hostname_not_found");
    let r = srv.json(
        "POST",
        "/update",
        &t,
        r#"{"domains":"client-demo","ip":"x"}"#,
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_request");
    // Path form /update/{domain}/{token}[/{ip}].
    let r = srv.get(&format!("/update/second/{t}/192.0.2.33"), &[]);
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    assert_eq!(srv.hostname(&t, "second")["ipv4"], "192.0.2.33");
    let r = srv.get("/update/second/wrong-token", &[]);
    assert_eq!((r.status, r.body.as_str()), (401, "KO"));
    // Form-encoded POST (routers).
    let r = srv.send(
        "POST",
        "/update",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &format!("domains=second&token={t}&ip=192.0.2.34"),
    );
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    assert_eq!(srv.hostname(&t, "second")["ipv4"], "192.0.2.34");
}

#[test]
fn tokens_never_reach_the_log() {
    let Fixture {
        dir: _d,
        srv,
        token: t,
        ..
    } = setup("redaction");
    srv.get(
        &format!("/update?domains=second&token={t}&ip=192.0.2.1"),
        &[],
    );
    srv.get(&format!("/update/second/{t}/192.0.2.2"), &[]);
    srv.bearer("GET", "/v1/hostnames", &t);
    srv.get("/update?domains=second&token=wrong-secret-value", &[]);
    wait_until("access log lines", || {
        srv.log_text().contains("/update/second/***")
    });
    let log = srv.log_text();
    assert!(log.contains("token=***"), "{log}");
    assert!(!log.contains(&t), "token leaked into the log");
    assert!(!log.contains("wrong-secret-value"));
}

#[test]
fn ip_echo_and_health() {
    let Fixture {
        dir: _d,
        srv,
        token: _t,
        ..
    } = setup("ip-echo");
    let r = srv.get("/ip", &[]);
    assert_eq!((r.status, r.body.as_str()), (200, "127.0.0.1"));
    // X-Forwarded-For from an untrusted peer is ignored.
    let r = srv.get("/ip", &[("X-Forwarded-For", "203.0.113.9")]);
    assert_eq!(r.body, "127.0.0.1");
    let r = srv.get("/healthz", &[]);
    assert_eq!(r.status, 200);
}

#[test]
fn trusted_proxy_forwarded_for() {
    let dir = TestDir::new("xff");
    let cfg = write_config(&dir, "trusted_proxies = [\"127.0.0.1\"]\n");
    let srv = Server::start_cfg(&dir, &cfg);
    let r = srv.get("/ip", &[("X-Forwarded-For", "198.51.100.1, 203.0.113.9")]);
    assert_eq!(r.body, "203.0.113.9", "right-most untrusted hop");
    let r = srv.get("/ip", &[("X-Forwarded-For", "2001:db8::5")]);
    assert_eq!(r.body, "2001:db8::5");
}
