//! Seed 000, `/v1/hostnames`: every example of the public API guide against the real server,
//! each error code, the four token forms, validation, limits and isolation between users.

use crate::harness::*;

const ZONE: &str = "lucentdrift.online";

#[test]
fn seed_examples_walk() {
    let Fixture {
        dir: _dir,
        srv,
        token: t,
        ..
    } = Fixture::shared("seed-walk", ZONE, "a@example.org").start();

    // List (empty), with allowedZones/defaultZone/maxHostnames.
    let r = srv.bearer("GET", "/v1/hostnames", &t);
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert_eq!(j["hostnames"], serde_json::json!([]));
    assert_eq!(j["allowedZones"], serde_json::json!(["lucentdrift.online"]));
    assert_eq!(j["defaultZone"], "lucentdrift.online");
    assert_eq!(j["maxHostnames"], 10);

    // Create by label + zone.
    let r = srv.json(
        "POST",
        "/v1/hostnames",
        &t,
        r#"{"hostname":"client-demo","zoneDomain":"lucentdrift.online","ipv4":"203.0.113.10","ttl":60,"note":"created by an API client"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let h = r.json();
    assert!(h["id"].as_str().unwrap().starts_with("host_"));
    assert_eq!(h["fqdn"], "client-demo.lucentdrift.online");
    assert_eq!(h["ipv4"], "203.0.113.10");
    assert_eq!(h["ipv6"], serde_json::Value::Null);
    assert_eq!(h["txt"], serde_json::Value::Null);
    assert_eq!(h["ttl"], 60);
    assert_eq!(h["note"], "created by an API client");
    let id = h["id"].as_str().unwrap().to_string();

    // Create by fqdn with a TXT value.
    let r = srv.json(
        "POST",
        "/v1/hostnames",
        &t,
        r#"{"fqdn":"client-two.lucentdrift.online","txt":"challenge-value"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["txt"], "challenge-value");
    assert_eq!(r.json()["ttl"], 60, "default TTL");

    // Read by id, label and fqdn.
    for key in [
        id.as_str(),
        "client-demo",
        "client-demo.lucentdrift.online",
        "CLIENT-DEMO.lucentdrift.online.",
    ] {
        let r = srv.bearer("GET", &format!("/v1/hostnames/{key}"), &t);
        assert_eq!(r.status, 200, "{key}: {}", r.body);
        assert_eq!(r.json()["id"], id.as_str());
    }

    // PATCH every field.
    let r = srv.json(
        "PATCH",
        "/v1/hostnames/client-demo.lucentdrift.online",
        &t,
        r#"{"ipv4":"198.51.100.44","ipv6":"2001:db8::44","txt":"new-value","ttl":120,"note":"rotated by API client"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let h = r.json();
    assert_eq!(h["ipv4"], "198.51.100.44");
    assert_eq!(h["ipv6"], "2001:db8::44");
    assert_eq!(h["txt"], "new-value");
    assert_eq!(h["ttl"], 120);
    assert_eq!(h["note"], "rotated by API client");

    // Clear with null and with "".
    let r = srv.json(
        "PATCH",
        "/v1/hostnames/client-demo.lucentdrift.online",
        &t,
        r#"{"ipv4":null,"ipv6":null,"txt":""}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let h = r.json();
    assert!(h["ipv4"].is_null() && h["ipv6"].is_null() && h["txt"].is_null());
    assert_eq!(h["ttl"], 120, "untouched fields stay");

    // List shows both.
    let j = srv.bearer("GET", "/v1/hostnames", &t).json();
    assert_eq!(j["hostnames"].as_array().unwrap().len(), 2);

    // Delete returns the deleted object; then 404.
    let r = srv.bearer("DELETE", "/v1/hostnames/client-demo.lucentdrift.online", &t);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["id"], id.as_str());
    let r = srv.bearer("GET", &format!("/v1/hostnames/{id}"), &t);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "hostname_not_found");
    // The label is free again.
    let r = srv.json("POST", "/v1/hostnames", &t, r#"{"hostname":"client-demo"}"#);
    assert_eq!(r.status, 201, "{}", r.body);
}

#[test]
fn token_forms_and_auth_errors() {
    let Fixture {
        dir, srv, token: t, ..
    } = Fixture::shared("token-forms", ZONE, "a@example.org").start();
    let forms: Vec<Vec<(&str, String)>> = vec![
        vec![("Authorization", format!("Bearer {t}"))],
        vec![("X-Lucent-Token", t.clone())],
        vec![("X-DDNS-Token", t.clone())],
        vec![("X-API-Key", t.clone())],
    ];
    for f in &forms {
        let h: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(srv.get("/v1/hostnames", &h).status, 200, "{f:?}");
    }
    assert_eq!(
        srv.get(&format!("/v1/hostnames?token={t}"), &[]).status,
        200
    );

    let r = srv.get("/v1/hostnames", &[]);
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "unauthorized");
    let r = srv.bearer(
        "GET",
        "/v1/hostnames",
        "0000000000000000000000000000000000000000",
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "unauthorized");
    assert!(r.json()["message"].is_string());

    // Disabled and banned accounts: 403.
    for st in ["disabled", "banned"] {
        admin(&dir, &["user", "set", "a@example.org", "--status", st]);
        let r = srv.bearer("GET", "/v1/hostnames", &t);
        assert_eq!(r.status, 403, "{st}");
        assert_eq!(r.json()["error"], "forbidden");
    }
    admin(
        &dir,
        &["user", "set", "a@example.org", "--status", "active"],
    );
    assert_eq!(srv.bearer("GET", "/v1/hostnames", &t).status, 200);

    // Regenerated token: the old one stops working at once.
    let t2 = last_line(&admin(&dir, &["user", "token", "a@example.org"]));
    assert_ne!(t, t2);
    assert_eq!(srv.bearer("GET", "/v1/hostnames", &t).status, 401);
    assert_eq!(srv.bearer("GET", "/v1/hostnames", &t2).status, 200);
}

#[test]
fn validation_errors_change_nothing() {
    let Fixture {
        dir: _dir,
        srv,
        token: t,
        ..
    } = Fixture::shared("validation", ZONE, "a@example.org").start();
    let ok = srv.json(
        "POST",
        "/v1/hostnames",
        &t,
        r#"{"hostname":"keep","ipv4":"192.0.2.1"}"#,
    );
    assert_eq!(ok.status, 201);
    let before = srv.bearer("GET", "/v1/hostnames", &t).body;

    let bad_creates = [
        r#"{"hostname":"-bad"}"#,
        r#"{"hostname":"bad_label"}"#,
        r#"{"hostname":"a.b","zoneDomain":"lucentdrift.online"}"#,
        r#"{"fqdn":"a.b.lucentdrift.online"}"#,
        r#"{"hostname":"www"}"#,
        r#"{"hostname":"_acme-challenge"}"#,
        r#"{"fqdn":"lucentdrift.online"}"#,
        r#"{"hostname":"x","ipv4":"2001:db8::1"}"#,
        r#"{"hostname":"x","ipv4":"203.0.113.010"}"#,
        r#"{"hostname":"x","ipv6":"10.0.0.1"}"#,
        r#"{"hostname":"x","ttl":1}"#,
        r#"{"hostname":"x","ttl":99999999}"#,
        r#"{"hostname":"x","ttl":"abc"}"#,
        r#"{"hostname":"x","bogus":1}"#,
        r#"{"hostname":42}"#,
        r#"["x"]"#,
        r#"{"hostname":"x""#,
        "",
        r#"{}"#,
    ];
    let long_txt = format!(r#"{{"hostname":"x","txt":"{}"}}"#, "A".repeat(256));
    for b in bad_creates.iter().copied().chain([long_txt.as_str()]) {
        let r = srv.json("POST", "/v1/hostnames", &t, b);
        assert_eq!(r.status, 400, "{b} -> {} {}", r.status, r.body);
        assert_eq!(r.json()["error"], "invalid_request", "{b}");
        assert!(!r.json()["message"].as_str().unwrap().is_empty());
    }
    // A zone the account may not use.
    let r = srv.json(
        "POST",
        "/v1/hostnames",
        &t,
        r#"{"hostname":"x","zoneDomain":"other.example"}"#,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // Exists: 409.
    let r = srv.json("POST", "/v1/hostnames", &t, r#"{"hostname":"keep"}"#);
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["error"], "hostname_not_available");

    for b in [
        r#"{"ipv4":"1.2.3"}"#,
        r#"{"ttl":0}"#,
        r#"{"nope":1}"#,
        "null",
        r#"{"txt":5}"#,
    ] {
        let r = srv.json("PATCH", "/v1/hostnames/keep", &t, b);
        assert_eq!(r.status, 400, "{b}: {}", r.body);
    }
    assert_eq!(
        srv.bearer("GET", "/v1/hostnames", &t).body,
        before,
        "bad input changed nothing"
    );

    // Unknown path 404, wrong method 405, both JSON.
    let r = srv.bearer("GET", "/v2/whatever", &t);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "not_found");
    let r = srv.bearer("PUT", "/v1/hostnames/keep", &t);
    assert_eq!(r.status, 405);
    assert!(r.json()["error"].is_string());

    // Body over 64 KiB: 413, nothing read.
    let big = format!("{{\"note\":\"{}\"}}", "x".repeat(70 * 1024));
    let r = srv.json("PATCH", "/v1/hostnames/keep", &t, &big);
    assert_eq!(r.status, 413);
}

#[test]
fn hostname_limit_is_409() {
    let Fixture { srv, token: t, .. } = Fixture::shared("limit", SHARED, "l@example.org")
        .user_args(&["--max-hostnames", "2"])
        .start();
    for l in ["one", "two"] {
        let r = srv.json(
            "POST",
            "/v1/hostnames",
            &t,
            &format!(r#"{{"hostname":"{l}"}}"#),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = srv.json("POST", "/v1/hostnames", &t, r#"{"hostname":"three"}"#);
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["error"], "hostname_not_available");
    assert_eq!(
        srv.bearer("GET", "/v1/hostnames", &t).json()["maxHostnames"],
        2
    );
}

#[test]
fn restricted_zones() {
    let dir = TestDir::new("zones-restricted");
    admin(&dir, &["zone", "add", "a.example.net", "--shared"]);
    admin(&dir, &["zone", "add", "b.example.net", "--shared"]);
    let t = add_user(&dir, "r@example.org", &["--zones", "b.example.net"]);
    let srv = Server::start(&dir);
    let j = srv.bearer("GET", "/v1/hostnames", &t).json();
    assert_eq!(j["allowedZones"], serde_json::json!(["b.example.net"]));
    assert_eq!(j["defaultZone"], "b.example.net");
    let r = srv.json("POST", "/v1/hostnames", &t, r#"{"fqdn":"x.a.example.net"}"#);
    assert_eq!(r.status, 403);
    let r = srv.json("POST", "/v1/hostnames", &t, r#"{"hostname":"x"}"#);
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["fqdn"], "x.b.example.net");
}

/// One user's token on every endpoint against another user's hostname: 404 each time, and
/// the other user's data unchanged.
#[test]
fn isolation_between_users() {
    let Fixture {
        dir,
        srv,
        token: ta,
        ..
    } = Fixture::shared("isolation", ZONE, "a@example.org").start();
    let tb = add_user(&dir, "b@example.org", &[]);
    let r = srv.json(
        "POST",
        "/v1/hostnames",
        &ta,
        r#"{"hostname":"alice","ipv4":"192.0.2.1","txt":"a"}"#,
    );
    assert_eq!(r.status, 201);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let before = srv.bearer("GET", &format!("/v1/hostnames/{id}"), &ta).body;

    for key in [id.as_str(), "alice", "alice.lucentdrift.online"] {
        let p = format!("/v1/hostnames/{key}");
        for (m, body) in [
            ("GET", None),
            ("PATCH", Some(r#"{"ipv4":"192.0.2.99"}"#)),
            ("DELETE", None),
        ] {
            let r = match body {
                Some(b) => srv.json(m, &p, &tb, b),
                None => srv.bearer(m, &p, &tb),
            };
            assert_eq!(r.status, 404, "{m} {p}: {}", r.body);
            assert_eq!(r.json()["error"], "hostname_not_found");
        }
        let r = srv.get(
            &format!("/update?domains={key}&token={tb}&ip=192.0.2.99"),
            &[],
        );
        assert_eq!((r.status, r.body.as_str()), (404, "KO"), "/update {key}");
        let r = srv.json(
            "POST",
            "/update",
            &tb,
            &format!(r#"{{"domains":["{key}"],"ip":"192.0.2.99"}}"#),
        );
        assert_eq!(r.status, 404, "/update JSON {key}");
    }
    // B cannot claim A's name either, and does not see it.
    let r = srv.json("POST", "/v1/hostnames", &tb, r#"{"hostname":"alice"}"#);
    assert_eq!(r.status, 409);
    assert_eq!(
        srv.bearer("GET", "/v1/hostnames", &tb).json()["hostnames"],
        serde_json::json!([])
    );
    assert_eq!(
        srv.bearer("GET", &format!("/v1/hostnames/{id}"), &ta).body,
        before
    );
}

#[test]
fn operator_token_is_limited_to_operator_names() {
    let op = "operator-token-0123456789abcdef";
    let Fixture { srv, token: t, .. } = Fixture::shared("operator", ZONE, "a@example.org")
        .env("DDNS_API_TOKEN", op)
        .start();
    let r = srv.json("POST", "/v1/hostnames", &t, r#"{"hostname":"home"}"#);
    assert_eq!(r.status, 201);

    // ACME hook style: TXT at _acme-challenge.<zone>, and the apex address.
    let r = srv.get(
        &format!(
            "/update?domains=_acme-challenge.lucentdrift.online&token={op}&txt=tok123&verbose=true"
        ),
        &[],
    );
    assert_eq!((r.status, r.body.as_str()), (200, "OK\ntok123\nUPDATED"));
    let r = srv.get(
        &format!("/update?domains=lucentdrift.online&token={op}&ip=192.0.2.53"),
        &[],
    );
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    let r = srv.get(
        &format!("/update?domains=ns1.lucentdrift.online&token={op}&ip=192.0.2.54"),
        &[],
    );
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    // Not a user's name, not the hostname API, not outside shared zones.
    let r = srv.get(
        &format!("/update?domains=home.lucentdrift.online&token={op}&ip=192.0.2.1"),
        &[],
    );
    assert_eq!((r.status, r.body.as_str()), (404, "KO"));
    assert_eq!(srv.bearer("GET", "/v1/hostnames", op).status, 403);
    let r = srv.get(
        &format!("/update?domains=example.com&token={op}&ip=192.0.2.1"),
        &[],
    );
    assert_eq!((r.status, r.body.as_str()), (404, "KO"));
    // Users cannot claim a name the operator manages.
    let r = srv.json("POST", "/v1/hostnames", &t, r#"{"hostname":"ns1"}"#);
    assert_eq!(r.status, 400, "ns1 is reserved");
}

#[test]
fn rate_limit_per_token_and_per_address() {
    let Fixture {
        dir, srv, token: t, ..
    } = Fixture::shared("ratelimit", SHARED, "r@example.org")
        .config("[limits]\nrequests_per_5min = 5\nip_requests_per_5min = 12\n")
        .start();
    let t2 = add_user(&dir, "s@example.org", &[]);
    for _ in 0..5 {
        assert_eq!(srv.bearer("GET", "/v1/hostnames", &t).status, 200);
    }
    let r = srv.bearer("GET", "/v1/hostnames", &t);
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["error"], "rate_limited");
    let ra: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=300).contains(&ra));
    let r = srv.get(&format!("/update?domains=x&token={t}"), &[]);
    assert_eq!((r.status, r.body.as_str()), (429, "KO"));
    assert!(r.header("retry-after").is_some());
    // Another token still works until the address limit (12 per window) is reached.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(srv.bearer("GET", "/v1/hostnames", &t2).status);
    }
    assert_eq!(statuses[..5], [200, 200, 200, 200, 200]);
    assert_eq!(statuses[5], 429, "per-address limit reached: {statuses:?}");
}
