//! Who may do what: credentials and their errors, the Accept header, zone-restricted keys,
//! `api_enabled`, isolation between users, and the rate-limit headers and 429.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use super::assert_error;
use crate::harness::*;

#[test]
fn auth_and_permission_errors() {
    let s = Fixture::hosted("lua-auth").start();
    let c = s.lua();
    // Bad key, wrong email, no credentials, a Bearer token: 401 with WWW-Authenticate.
    let bad_key = Lua::new(&s.srv, EMAIL, "0123456789abcdef0123456789abcdef");
    let wrong_email = Lua::new(&s.srv, "other@example.org", &s.key);
    for (who, r) in [
        ("bad key", bad_key.get("/v1/users/me")),
        ("wrong email", wrong_email.get("/v1/users/me")),
        ("wrong email zones", wrong_email.get("/v1/zones")),
        (
            "no auth",
            s.srv.get("/v1/users/me", &[("Accept", "application/json")]),
        ),
        (
            "bearer",
            s.srv.get(
                "/v1/zones",
                &[
                    ("Accept", "application/json"),
                    ("Authorization", &format!("Bearer {}", s.key)),
                ],
            ),
        ),
    ] {
        assert_error(&r, 401, "Unauthorized");
        let wa = r
            .header("www-authenticate")
            .unwrap_or_else(|| panic!("{who}: no WWW-Authenticate"));
        assert!(wa.starts_with("Basic"), "{who}: {wa}");
    }
    // The update token is not an API key.
    let token = add_user(&s.dir, "tok@example.org", &[]);
    assert_error(
        &Lua::new(&s.srv, "tok@example.org", &token).get("/v1/users/me"),
        401,
        "Unauthorized",
    );
    // Email is matched case-insensitively.
    let upper = Lua::new(&s.srv, "ME@Example.ORG", &s.key);
    assert_eq!(upper.get("/v1/users/me").status, 200);

    // A bad Accept header: 403 "Invalid 'Accept' header".
    let r = s.srv.get(
        "/v1/users/me",
        &[("Accept", "text/html"), ("Authorization", &c.auth)],
    );
    assert_error(&r, 403, "Forbidden");
    assert!(r.json()["message"].as_str().unwrap().contains("Accept"));
    // No Accept at all, */* and a parameterised JSON type are fine.
    for h in [
        vec![("Authorization", c.auth.as_str())],
        vec![("Authorization", c.auth.as_str()), ("Accept", "*/*")],
        vec![
            ("Authorization", c.auth.as_str()),
            ("Accept", "application/json; charset=utf-8"),
        ],
    ] {
        assert_eq!(s.srv.get("/v1/users/me", &h).status, 200, "{h:?}");
    }

    // Restricted key: its zone only.
    admin(&s.dir, &["zone", "add", "example.net", "--owner", EMAIL]);
    let net = c.zone_id("example.net");
    let rkey = last_line(&admin(
        &s.dir,
        &["user", "apikey", EMAIL, "--zone", "example.org"],
    ));
    let rc = Lua::new(&s.srv, EMAIL, &rkey);
    let z = rc.ok("/v1/zones");
    assert_eq!(z.as_array().unwrap().len(), 1, "{z}");
    assert_eq!(z[0]["name"], "example.org");
    assert_eq!(rc.get(&format!("/v1/zones/{}", s.zid)).status, 200);
    let r = rc.post(
        &records_path(s.zid),
        r#"{"name":"ok.example.org.","type":"A","content":"192.0.2.1"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let net_before = c.ok(&records_path(net));
    let nrec = net_before
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["type"] == "NS")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let rec_body = r#"{"name":"x.example.net.","type":"A","content":"192.0.2.1"}"#;
    for r in [
        rc.get(&format!("/v1/zones/{net}")),
        rc.put(&format!("/v1/zones/{net}"), r#"{"name":"example.net"}"#),
        rc.delete(&format!("/v1/zones/{net}")),
        rc.get(&records_path(net)),
        rc.post(&records_path(net), rec_body),
        rc.get(&format!("{}/{nrec}", records_path(net))),
        rc.put(&format!("{}/{nrec}", records_path(net)), rec_body),
        rc.delete(&format!("{}/{nrec}", records_path(net))),
        rc.get(&format!("/v1/zones/{net}/ds_records")),
        rc.post("/v1/zones", r#"{"name":"example.com"}"#),
    ] {
        assert_error(&r, 403, "Forbidden");
    }
    assert_eq!(c.ok(&records_path(net)), net_before);
    assert_eq!(c.ok("/v1/zones").as_array().unwrap().len(), 2);
    // A restricted key still sees /users/me.
    assert_eq!(rc.get("/v1/users/me").status, 200);

    // api_enabled=false: 403 on every route, for every key; back on: works.
    admin(&s.dir, &["user", "set", EMAIL, "--api-enabled", "false"]);
    for p in ["/v1/users/me", "/v1/zones", &records_path(s.zid)] {
        assert_error(&c.get(p), 403, "Forbidden");
        assert_error(&rc.get(p), 403, "Forbidden");
    }
    assert_error(
        &c.post(
            &records_path(s.zid),
            r#"{"name":"no.example.org.","type":"A","content":"192.0.2.1"}"#,
        ),
        403,
        "Forbidden",
    );
    admin(&s.dir, &["user", "set", EMAIL, "--api-enabled", "true"]);
    assert_eq!(c.get("/v1/users/me").status, 200);
    assert_eq!(
        s.srv
            .dig("no.example.org.", RecordType::A)
            .metadata
            .response_code,
        ResponseCode::NXDomain
    );
    // A disabled account: 403.
    admin(&s.dir, &["user", "set", EMAIL, "--status", "disabled"]);
    assert_error(&c.get("/v1/users/me"), 403, "Forbidden");
}

#[test]
fn cross_user_isolation() {
    let s = Fixture::hosted("lua-isolation").start();
    let a = s.lua();
    admin(&s.dir, &["user", "add", "b@example.org"]);
    let bkey = last_line(&admin(&s.dir, &["user", "apikey", "b@example.org"]));
    let b = Lua::new(&s.srv, "b@example.org", &bkey);
    let rp = records_path(s.zid);
    let rec = a
        .post(
            &rp,
            r#"{"name":"www.example.org.","type":"A","content":"192.0.2.1"}"#,
        )
        .json();
    let rid = rec["id"].as_i64().unwrap();
    let before = a.get(&rp).body;
    let zone_before = a.get(&format!("/v1/zones/{}", s.zid)).body;

    // B sees no zones at all.
    assert_eq!(b.get("/v1/zones").body, "[]");
    let rec_body = r#"{"name":"www.example.org.","type":"A","content":"198.51.100.1"}"#;
    for (what, r) in [
        ("GET zone", b.get(&format!("/v1/zones/{}", s.zid))),
        (
            "PUT zone",
            b.put(
                &format!("/v1/zones/{}", s.zid),
                r#"{"name":"example.org","records":[]}"#,
            ),
        ),
        ("GET records", b.get(&rp)),
        ("POST record", b.post(&rp, rec_body)),
        ("GET record", b.get(&format!("{rp}/{rid}"))),
        ("PUT record", b.put(&format!("{rp}/{rid}"), rec_body)),
        ("DELETE record", b.delete(&format!("{rp}/{rid}"))),
        (
            "ds_records",
            b.get(&format!("/v1/zones/{}/ds_records", s.zid)),
        ),
        ("DELETE zone", b.delete(&format!("/v1/zones/{}", s.zid))),
    ] {
        assert_eq!(r.status, 404, "{what}: {}", r.body);
        assert_error(&r, 404, "Not Found");
    }
    // B's own zone does not give access to A's records through it.
    let r = b.post("/v1/zones", r#"{"name":"b-zone.net"}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    let bz = r.json()["id"].as_i64().unwrap();
    assert_error(
        &b.get(&format!("/v1/zones/{bz}/records/{rid}")),
        404,
        "Not Found",
    );
    assert_error(
        &b.delete(&format!("/v1/zones/{bz}/records/{rid}")),
        404,
        "Not Found",
    );
    assert_error(
        &b.put(&format!("/v1/zones/{bz}/records/{rid}"), rec_body),
        404,
        "Not Found",
    );
    // Nor can B create records of A's zone in its own.
    assert_error(&b.post(&records_path(bz), rec_body), 400, "Bad Request");
    // A cannot see B's zone.
    assert_error(&a.get(&format!("/v1/zones/{bz}")), 404, "Not Found");
    assert_eq!(a.ok("/v1/zones").as_array().unwrap().len(), 1);

    // A's data is unchanged, in the API and in DNS.
    assert_eq!(a.get(&rp).body, before);
    assert_eq!(a.get(&format!("/v1/zones/{}", s.zid)).body, zone_before);
    assert_eq!(
        answers(&s.srv.dig("www.example.org.", RecordType::A)),
        ["192.0.2.1"]
    );
}

#[test]
fn rate_limit_headers_and_429() {
    let f = Fixture::hosted("lua-ratelimit")
        .config("[limits]\nrequests_per_5min = 5\n")
        .without_zone_lookup()
        .start();
    let (srv, key) = (&f.srv, &f.key);
    let key2 = add_apikey(&f.dir, EMAIL, None);
    let c = Lua::new(srv, EMAIL, key);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut remaining = Vec::new();
    // Successes and errors alike carry the headers and count.
    for p in [
        "/v1/users/me",
        "/v1/zones",
        "/v1/zones/999999",
        "/v1/zones?limit=501",
        "/v1/users/me",
    ] {
        let r = c.get(p);
        assert!(r.status == 200 || r.status == 404 || r.status == 400);
        assert_eq!(r.header("x-ratelimit-limit"), Some("5"), "{p}");
        let reset: u64 = r.header("x-ratelimit-reset").unwrap().parse().unwrap();
        assert!(
            reset >= now && reset <= now + 301,
            "reset {reset} vs now {now}"
        );
        remaining.push(r.header("x-ratelimit-remaining").unwrap().to_string());
    }
    assert_eq!(remaining, ["4", "3", "2", "1", "0"]);
    let r = c.get("/v1/users/me");
    assert_error(&r, 429, "Too Many Requests");
    assert_eq!(r.header("x-ratelimit-limit"), Some("5"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    assert!(r
        .header("x-ratelimit-reset")
        .unwrap()
        .parse::<u64>()
        .is_ok());
    let ra: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=300).contains(&ra), "{ra}");
    // A write is refused too, and changes nothing.
    let r = c.post(
        "/v1/zones/1/records",
        r#"{"name":"x.example.org.","type":"A","content":"192.0.2.1"}"#,
    );
    assert_eq!(r.status, 429);
    assert_eq!(
        srv.dig("x.example.org.", RecordType::A)
            .metadata
            .response_code,
        ResponseCode::NXDomain
    );
    // The limit is per key: another key of the same user still works.
    let c2 = Lua::new(srv, EMAIL, &key2);
    let r = c2.get("/v1/users/me");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("4"));
}

#[test]
fn headers_on_every_answer_with_a_valid_key() {
    let s = Fixture::hosted("lua-headers").start();
    let c = s.lua();
    let r = c.get("/v1/zones");
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    // Unknown routes under /v1 answer in the LuaDNS error shape.
    let r = c.get(&format!("/v1/zones/{}/records/1/extra", s.zid));
    assert_error(&r, 404, "Not Found");
    // A bad Accept with a valid key: 403, with the rate-limit headers too.
    let r = s.srv.get(
        "/v1/zones",
        &[("Accept", "text/html"), ("Authorization", &c.auth)],
    );
    assert_error(&r, 403, "Forbidden");
    assert!(r.header("x-ratelimit-limit").is_some(), "{:?}", r.headers);
    // Every other answer to a valid key has them: 200, 400, 403 (restricted), 404.
    let rkey = last_line(&admin(
        &s.dir,
        &["user", "apikey", EMAIL, "--zone", "example.org"],
    ));
    let rc = Lua::new(&s.srv, EMAIL, &rkey);
    for r in [
        c.get("/v1/users/me"),
        c.get("/v1/zones?page=0"),
        c.get("/v1/zones/424242"),
        c.post(&records_path(s.zid), "{"),
        rc.post("/v1/zones", r#"{"name":"other.org"}"#),
    ] {
        for h in [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
        ] {
            let v = r
                .header(h)
                .unwrap_or_else(|| panic!("{h} missing on {}: {}", r.status, r.body));
            assert!(v.parse::<u64>().is_ok(), "{h}: {v}");
        }
    }
}
