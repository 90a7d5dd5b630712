//! Issue #14, the holes found by attacking lucentd's APIs and using it as a new operator would:
//! one test per item (named after it), each against the real binary on loopback, each failing
//! on the binary before its fix.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use serde_json::{json, Value};

use crate::harness::*;

fn create_host(srv: &Server, token: &str, body: Value) -> HttpReply {
    srv.json("POST", "/v1/hostnames", token, &body.to_string())
}

#[test]
fn issue14_2_nameserver_and_soa_names_are_reserved() {
    let dir = TestDir::new("h14-2");
    let cfg = write_config(
        &dir,
        "[dns]\nnameservers = [\"ns-a.dd.test\", \"ns-b.other.test\"]\n\
         soa_contact = \"dns-admin@dd.test\"\n",
    );
    let c = cfg.to_str().expect("utf-8 path");
    admin(&dir, &["--config", c, "zone", "add", "dd.test", "--shared"]);
    let token = add_user(&dir, EMAIL, &[]);
    let srv = Server::start_cfg(&dir, &cfg);
    for label in ["ns-a", "dns-admin"] {
        let r = create_host(
            &srv,
            &token,
            json!({"hostname": label, "ipv4": "192.0.2.66"}),
        );
        assert_eq!(r.status, 400, "{label}: {}", r.body);
        assert!(r.body.contains("reserved"), "{}", r.body);
    }
    // The zone's own glue still answers the operator's nameserver, not a user's address.
    let m = srv.dig("ns-a.dd.test.", RecordType::A);
    assert!(answers(&m).is_empty(), "{:?}", answers(&m));
    // A name that is not one of this zone's servers stays free.
    let r = create_host(&srv, &token, json!({"hostname": "ns-b"}));
    assert_eq!(r.status, 201, "{}", r.body);
}

#[test]
fn issue14_5_records_per_request_are_bounded_and_large_puts_work() {
    let e = Fixture::hosted("h14-5")
        .with_shared(SHARED)
        .config("[limits]\nmax_records_per_zone = 1500\nmax_body_bytes = 262144\n")
        .start();
    let srv = &e.srv;
    let zid = e.zid;
    let cnames = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"name": format!("c{i}.example.org."), "type": "CNAME", "content": format!("t{i}.example.net.")}))
            .collect()
    };
    // 1,300 CNAMEs in one PUT (the rule between them was quadratic): accepted, all served.
    let r = e.lua().json(
        "PUT",
        &format!("/v1/zones/{zid}"),
        Some(json!({"name": "example.org", "records": cnames(1300)})),
    );
    assert_eq!(r.status, 200, "{}", &r.body[..r.body.len().min(300)]);
    let m = srv.dig("c1299.example.org.", RecordType::CNAME);
    assert_eq!(answers(&m), ["t1299.example.net."]);
    // One more than a zone may hold: refused whole, nothing changed.
    let r = e.lua().json(
        "PUT",
        &format!("/v1/zones/{zid}"),
        Some(json!({"name": "example.org", "records": cnames(1501)})),
    );
    assert_eq!(r.status, 400, "{}", &r.body[..r.body.len().min(300)]);
    let m = srv.dig("c1299.example.org.", RecordType::CNAME);
    assert_eq!(answers(&m), ["t1299.example.net."]);
}

#[test]
fn issue14_6_zones_per_user_and_records_per_zone_are_limited() {
    let e = Fixture::hosted("h14-6")
        .with_shared(SHARED)
        .config("[limits]\nmax_zones_per_user = 2\nmax_records_per_zone = 5\n")
        .start();
    let r = e
        .lua()
        .json("POST", "/v1/zones", Some(json!({"name": "second.test"})));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = e
        .lua()
        .json("POST", "/v1/zones", Some(json!({"name": "third.test"})));
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.json()["status"], "Forbidden");
    assert!(r.body.contains("limit of 2 zones"), "{}", r.body);
    // example.org holds SOA + one NS (default config): three more records, then the limit.
    let zid = e.zid;
    let path = format!("/v1/zones/{zid}/records");
    for i in 0..3 {
        let r = e.lua().json(
            "POST",
            &path,
            Some(
                json!({"name": format!("r{i}.example.org."), "type": "A", "content": "192.0.2.1"}),
            ),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = e.lua().json(
        "POST",
        &path,
        Some(json!({"name": "r9.example.org.", "type": "A", "content": "192.0.2.1"})),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.json()["request_id"].is_string(),
        "LuaDNS shape: {}",
        r.body
    );
    assert!(r.body.contains("limit of 5 records"), "{}", r.body);
}

#[test]
fn issue14_7_public_suffixes_and_nameserver_zones_are_refused() {
    let e = Fixture::hosted("h14-7")
        .with_shared(SHARED)
        .config("[dns]\nnameservers = [\"ns1.provider.test\"]\n")
        .start();
    let srv = &e.srv;
    for name in [
        "co.uk",
        "in-addr.arpa",
        "github.io",
        "provider.test",
        "ns1.provider.test",
        "x.ns1.provider.test",
    ] {
        let r = e
            .lua()
            .json("POST", "/v1/zones", Some(json!({"name": name})));
        assert_eq!(r.status, 403, "{name}: {}", r.body);
        let m = srv.dig(&format!("{name}."), RecordType::SOA);
        assert_eq!(m.metadata.response_code, ResponseCode::Refused, "{name}");
    }
    let r = e
        .lua()
        .json("POST", "/v1/zones", Some(json!({"name": "mine.co.uk"})));
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn issue14_8_operator_names_stay_out_of_user_hostnames_and_are_freed() {
    let op = "operator-token-0123456789";
    let e = Fixture::hosted("h14-8")
        .with_shared(SHARED)
        .env("DDNS_API_TOKEN", op)
        .start();
    let srv = &e.srv;
    let r = create_host(srv, &e.token, json!({"hostname": "home", "txt": "mine"}));
    assert_eq!(r.status, 201, "{}", r.body);
    for name in ["_acme-challenge.home", "x.home"] {
        let r = srv.get(
            &format!("/update?domains={name}.{SHARED}&token={op}&txt=theirs"),
            &[],
        );
        assert_eq!((r.status, r.body.as_str()), (404, "KO"), "{name}");
    }
    let m = srv.dig(&format!("_acme-challenge.home.{SHARED}."), RecordType::TXT);
    assert_eq!(
        answers(&m),
        ["mine"],
        "the user's wildcard TXT is not shadowed"
    );
    // The operator's own name works, and clearing it frees it.
    let r = srv.get(
        &format!("/update?domains=_acme-challenge.{SHARED}&token={op}&txt=tok"),
        &[],
    );
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    let count = || -> i64 {
        let c = rusqlite::Connection::open(e.dir.db()).unwrap();
        c.query_row(
            "SELECT COUNT(*) FROM hostnames WHERE user_id IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(count(), 1);
    let r = srv.get(
        &format!("/update?domains=_acme-challenge.{SHARED}&token={op}&txt=&clear=true"),
        &[],
    );
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    assert_eq!(count(), 0, "a cleared operator name is freed");
    // A user cannot claim a label the operator has names below.
    srv.get(
        &format!("/update?domains=_x.free.{SHARED}&token={op}&txt=t"),
        &[],
    );
    let r = create_host(srv, &e.token, json!({"hostname": "free"}));
    assert_eq!(r.status, 409, "{}", r.body);
}

#[test]
fn issue14_9_metrics_only_for_allowed_addresses_or_the_token() {
    let dir = TestDir::new("h14-9");
    std::fs::write(dir.path("metrics-token"), "metrics-token-0123456789\n").unwrap();
    let cfg = write_config(
        &dir,
        &format!(
            "[http]\nmetrics_allow = [\"192.0.2.0/24\"]\nmetrics_token_file = \"{}\"\n",
            dir.path("metrics-token").display()
        ),
    );
    admin(&dir, &["zone", "add", SHARED, "--shared"]);
    let srv = Server::start_cfg(&dir, &cfg);
    let r = srv.get("/metrics", &[]);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(!r.body.contains(SHARED), "zone names leak: {}", r.body);
    let r = srv.get(
        "/metrics",
        &[("Authorization", "Bearer metrics-token-0123456789")],
    );
    assert_eq!(r.status, 200);
    assert!(r.body.contains("lucent_dns_queries_total"));
    let r = srv.get(
        "/metrics",
        &[("Authorization", "Bearer wrong-token-0123456789")],
    );
    assert_eq!(r.status, 403);
}

#[test]
fn issue14_10_banned_names_leave_dns_and_come_back() {
    let e = Fixture::hosted("h14-10").with_shared(SHARED).start();
    let srv = &e.srv;
    let r = create_host(
        srv,
        &e.token,
        json!({"hostname": "home", "ipv4": "192.0.2.10"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let zid = e.zid;
    let r = e.lua().json(
        "POST",
        &format!("/v1/zones/{zid}/records"),
        Some(json!({"name": "www.example.org.", "type": "A", "content": "192.0.2.20"})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let host = format!("home.{SHARED}.");
    let served = |name: &str| -> (ResponseCode, Vec<String>) {
        let m = srv.dig(name, RecordType::A);
        (m.metadata.response_code, answers(&m))
    };
    assert_eq!(served(&host).1, ["192.0.2.10"]);
    assert_eq!(served("www.example.org.").1, ["192.0.2.20"]);
    // Disabled freezes changes but keeps serving.
    admin(&e.dir, &["user", "set", EMAIL, "--status", "disabled"]);
    let r = srv.get(
        &format!("/update?domains=home&token={}&ip=192.0.2.99", e.token),
        &[],
    );
    assert_eq!(r.status, 403);
    assert_eq!(served(&host).1, ["192.0.2.10"]);
    // Banned takes both out of DNS within the sync tick.
    admin(&e.dir, &["user", "set", EMAIL, "--status", "banned"]);
    wait_until("banned names to leave DNS", || {
        served(&host).0 == ResponseCode::NXDomain
            && served("www.example.org.").0 == ResponseCode::Refused
    });
    // Reactivated: everything is back, unchanged.
    admin(&e.dir, &["user", "set", EMAIL, "--status", "active"]);
    wait_until("names to come back", || {
        served(&host).1 == ["192.0.2.10"] && served("www.example.org.").1 == ["192.0.2.20"]
    });
}

#[test]
fn issue14_11_inputs_that_were_accepted_are_refused() {
    let e = Fixture::hosted("h14-11").with_shared(SHARED).start();
    let srv = &e.srv;
    let t = &e.token;
    let r = create_host(srv, t, json!({"hostname": "home"}));
    assert_eq!(r.status, 201, "{}", r.body);
    let before = srv.bearer("GET", "/v1/hostnames/home", t).body;
    // Invalid UTF-8 after percent-decoding.
    let r = srv.get(
        &format!("/update?domains=%FFhome&token={t}&ip=192.0.2.1"),
        &[],
    );
    assert_eq!((r.status, r.body.as_str()), (400, "KO"));
    let r = srv.get(&format!("/update?domains=home&token={t}&txt=%C3"), &[]);
    assert_eq!((r.status, r.body.as_str()), (400, "KO"));
    // Control characters in a note, an IPv4-mapped IPv6 address, a TTL as a string, a
    // rename through PATCH.
    for body in [
        json!({"note": "a\u{0}b"}),
        json!({"note": "line\u{1b}[2J"}),
        json!({"ipv6": "::ffff:192.0.2.1"}),
        json!({"ttl": "120"}),
        json!({"fqdn": format!("other.{SHARED}")}),
        json!({"zone": "example.org"}),
        json!({"id": "host_0000"}),
    ] {
        let r = srv.json("PATCH", "/v1/hostnames/home", t, &body.to_string());
        assert_eq!(r.status, 400, "{body}: {}", r.body);
    }
    assert_eq!(srv.bearer("GET", "/v1/hostnames/home", t).body, before);
    // Echoing the object back unchanged is fine.
    let got: Value = serde_json::from_str(&before).unwrap();
    let r = srv.json("PATCH", "/v1/hostnames/home", t, &got.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    // hostname and fqdn naming different hostnames.
    let r = create_host(
        srv,
        t,
        json!({"hostname": "alpha", "fqdn": format!("beta.{SHARED}")}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let r = create_host(
        srv,
        t,
        json!({"hostname": "alpha", "fqdn": format!("alpha.{SHARED}")}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    // Records: IPv4-mapped AAAA, CNAME self-loop and two-step loop.
    let zid = e.zid;
    let path = format!("/v1/zones/{zid}/records");
    for body in [
        json!({"name": "m.example.org.", "type": "AAAA", "content": "::ffff:192.0.2.1"}),
        json!({"name": "self.example.org.", "type": "CNAME", "content": "self.example.org."}),
        json!({"name": "n.example.org.", "type": "TXT", "content": "a\u{0}b"}),
    ] {
        let r = e.lua().json("POST", &path, Some(body.clone()));
        assert_eq!(r.status, 400, "{body}: {}", r.body);
    }
    let r = e.lua().json(
        "POST",
        &path,
        Some(json!({"name": "a.example.org.", "type": "CNAME", "content": "b.example.org."})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = e.lua().json(
        "POST",
        &path,
        Some(json!({"name": "b.example.org.", "type": "CNAME", "content": "a"})),
    );
    assert_eq!(r.status, 400, "{}", r.body);
}

#[test]
fn issue14_14_a_zone_restricted_key_manages_records_only() {
    let e = Fixture::hosted("h14-14").with_shared(SHARED).start();
    let key = add_apikey(&e.dir, EMAIL, Some("example.org"));
    let srv = &e.srv;
    let rc = Lua::new(srv, EMAIL, &key);
    let zid = rc.zone_id("example.org");
    let r = rc.json(
        "POST",
        &format!("/v1/zones/{zid}/records"),
        Some(json!({"name": "_acme-challenge.example.org.", "type": "TXT", "content": "x"})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = rc.json("DELETE", &format!("/v1/zones/{zid}"), None);
    assert_eq!(r.status, 403, "{}", r.body);
    let m = srv.dig("example.org.", RecordType::SOA);
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::NoError,
        "zone still served"
    );
}

#[test]
fn issue14_17_cors_for_the_token_api() {
    let e = Fixture::hosted("h14-17").with_shared(SHARED).start();
    let srv = &e.srv;
    let r = srv.send(
        "OPTIONS",
        "/v1/hostnames",
        &[
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "POST"),
            (
                "Access-Control-Request-Headers",
                "authorization, content-type",
            ),
        ],
        "",
    );
    assert_eq!((r.status, r.body.as_str()), (200, ""));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let methods = r.header("access-control-allow-methods").unwrap_or("");
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let hdrs = r.header("access-control-allow-headers").unwrap_or("");
    assert!(
        hdrs.to_ascii_lowercase().contains("authorization"),
        "{hdrs}"
    );
    let r = srv.bearer("GET", "/v1/hostnames", &e.token);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let r = srv.get(&format!("/update?domains=nope&token={}", e.token), &[]);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("*"),
        "errors too"
    );
    // The LuaDNS-style API is not offered to other origins.
    let r = e.lua().json("GET", "/v1/zones", None);
    assert_eq!(r.header("access-control-allow-origin"), None);
}

#[test]
fn issue14_18_luadns_headers_on_every_answer() {
    let e = Fixture::hosted("h14-18")
        .with_shared(SHARED)
        .config("[limits]\nip_requests_per_5min = 4\n")
        .without_zone_lookup()
        .start();
    let srv = &e.srv;
    let bad = Lua::new(srv, EMAIL, "not-a-key");
    let r = bad.json("GET", "/v1/zones", None);
    assert_eq!(r.status, 401);
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(r.header(h).is_some(), "401 without {h}");
    }
    let mut last = r;
    for _ in 0..6 {
        last = e.lua().json("GET", "/v1/zones", None);
    }
    assert_eq!(last.status, 429, "{}", last.body);
    assert!(
        last.json()["request_id"].is_string(),
        "LuaDNS shape: {}",
        last.body
    );
    assert_eq!(last.header("x-ratelimit-limit"), Some("4"));
    assert_eq!(last.header("x-ratelimit-remaining"), Some("0"));
    assert!(last.header("x-ratelimit-reset").is_some());
}

#[test]
fn issue14_19_the_update_token_reaches_the_users_own_hosted_zone() {
    let e = Fixture::hosted("h14-19").with_shared(SHARED).start();
    let other = add_user(&e.dir, "other@example.org", &[]);
    let srv = &e.srv;
    let t = &e.token;
    let r = srv.get(
        &format!("/update?domains=home.example.org&token={t}&ip=192.0.2.5&verbose=true"),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, "OK\n192.0.2.5\n\nUPDATED");
    assert_eq!(
        answers(&srv.dig("home.example.org.", RecordType::A)),
        ["192.0.2.5"]
    );
    // dyndns2 too, both families, then nothing changed.
    let auth = basic("x", t);
    let r = srv.get(
        "/nic/update?hostname=home.example.org&myip=192.0.2.6,2001:db8::6",
        &[("Authorization", &auth)],
    );
    assert_eq!(r.body, "good 192.0.2.6,2001:db8::6");
    assert_eq!(
        answers(&srv.dig("home.example.org.", RecordType::AAAA)),
        ["2001:db8::6"]
    );
    let r = srv.get(
        "/nic/update?hostname=home.example.org&myip=192.0.2.6,2001:db8::6",
        &[("Authorization", &auth)],
    );
    assert_eq!(r.body, "nochg 192.0.2.6,2001:db8::6");
    // Another user's token does not reach it.
    let r = srv.get(
        &format!("/update?domains=home.example.org&token={other}&ip=192.0.2.7"),
        &[],
    );
    assert_eq!((r.status, r.body.as_str()), (404, "KO"));
    assert_eq!(
        answers(&srv.dig("home.example.org.", RecordType::A)),
        ["192.0.2.6"]
    );
}

#[test]
fn issue14_20_one_ttl_per_rrset_and_relative_names() {
    let e = Fixture::hosted("h14-20").with_shared(SHARED).start();
    let srv = &e.srv;
    let zid = e.zid;
    let path = format!("/v1/zones/{zid}/records");
    for (content, ttl) in [("192.0.2.1", 300), ("192.0.2.2", 120)] {
        let r = e.lua().json(
            "POST",
            &path,
            Some(json!({"name": "www", "type": "A", "content": content, "ttl": ttl})),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["name"], "www.example.org.");
    }
    let list = e
        .lua()
        .json("GET", &format!("{path}?query=www"), None)
        .json();
    let ttls: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "A")
        .map(|r| r["ttl"].as_i64().unwrap())
        .collect();
    assert_eq!(ttls, [120, 120], "what the API shows is what DNS serves");
    let m = srv.dig("www.example.org.", RecordType::A);
    assert!(m.answers.iter().all(|r| r.ttl == 120));
    // A relative target is relative to the zone, as a relative owner is.
    let r = e.lua().json(
        "POST",
        &path,
        Some(json!({"name": "alias", "type": "CNAME", "content": "www"})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["content"], "www.example.org.");
    let m = srv.dig("alias.example.org.", RecordType::A);
    assert_eq!(
        answers(&m).len(),
        3,
        "CNAME and both addresses: {:?}",
        answers(&m)
    );
}

#[test]
fn issue14_21_zone_and_record_ids_are_never_reused() {
    let e = Fixture::hosted("h14-21").with_shared(SHARED).start();
    let r = e
        .lua()
        .json("POST", "/v1/zones", Some(json!({"name": "gone.test"})));
    let first = r.json()["id"].as_i64().unwrap();
    let path = format!("/v1/zones/{first}/records");
    let r = e.lua().json(
        "POST",
        &path,
        Some(json!({"name": "x.gone.test.", "type": "A", "content": "192.0.2.1"})),
    );
    let rid = r.json()["id"].as_i64().unwrap();
    let r = e.lua().json("DELETE", &format!("{path}/{rid}"), None);
    assert_eq!(r.status, 200);
    let r = e.lua().json("DELETE", &format!("/v1/zones/{first}"), None);
    assert_eq!(r.status, 200);
    let r = e
        .lua()
        .json("POST", "/v1/zones", Some(json!({"name": "new.test"})));
    let second = r.json()["id"].as_i64().unwrap();
    assert!(
        second > first,
        "zone id {second} reused (first was {first})"
    );
    let r = e.lua().json("GET", &format!("/v1/zones/{first}"), None);
    assert_eq!(r.status, 404, "a stored id never names another zone");
    let r = e.lua().json(
        "POST",
        &format!("/v1/zones/{second}/records"),
        Some(json!({"name": "y.new.test.", "type": "A", "content": "192.0.2.2"})),
    );
    assert!(r.json()["id"].as_i64().unwrap() > rid);
}

#[test]
fn issue14_11_and_18_oversize_heads_and_bodies_are_refused_in_the_routes_shape() {
    let e = Fixture::hosted("h14-11-18").start();
    // A head above the documented 16 KiB: 431, nothing served.
    let big = "x".repeat(20 * 1024);
    let r = e.srv.get("/healthz", &[("X-Padding", &big)]);
    assert_eq!(r.status, 431, "{}", r.body);
    let r = e.srv.get("/healthz", &[("X-Padding", "small")]);
    assert_eq!(r.status, 200);
    // A body above max_body_bytes on a LuaDNS route: 413 in the LuaDNS error shape.
    let body = format!("{{\"name\":\"{}\"}}", "y".repeat(70 * 1024));
    let r = e.lua().post("/v1/zones", &body);
    assert_eq!(r.status, 413, "{}", &r.body[..r.body.len().min(200)]);
    let j = r.json();
    assert!(
        j["request_id"].is_string() && j["message"].is_string(),
        "{j}"
    );
    // ...and in the token API's shape on its routes.
    let r = e.srv.json("POST", "/v1/hostnames", "t", &body);
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"], "payload_too_large");
}
