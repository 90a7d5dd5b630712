//! Seed 001, the LuaDNS-style REST API under `/v1`: every example of the API guide against the
//! real server (users/me, zones, records, DS records), the raw JSON shape that regex-based
//! clients (acme.sh, OpenWrt) parse, list options and pagination headers, rate limiting, every
//! error status with its `{status, request_id, message}` body, validation that changes nothing,
//! isolation between users and between zone-restricted keys, the quirks of real clients
//! (PROTOCOLS.md §3, §7), and DNS answers following every acknowledged change at once.

use base64::Engine;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};
use serde_json::{json, Value};

use crate::harness::*;

const EMAIL: &str = "me@example.org";

/// A LuaDNS client: Basic auth (email : key), `Accept: application/json`, and
/// `Content-Type: application/json` when a body is sent.
struct Lua<'a> {
    srv: &'a Server,
    auth: String,
}

impl<'a> Lua<'a> {
    fn new(srv: &'a Server, email: &str, key: &str) -> Lua<'a> {
        let b = base64::engine::general_purpose::STANDARD.encode(format!("{email}:{key}"));
        Lua {
            srv,
            auth: format!("Basic {b}"),
        }
    }
    fn req(&self, method: &str, path: &str, body: Option<&str>) -> HttpReply {
        let mut h = vec![
            ("Authorization", self.auth.as_str()),
            ("Accept", "application/json"),
        ];
        match body {
            Some(b) => {
                h.push(("Content-Type", "application/json"));
                self.srv.send(method, path, &h, b)
            }
            None => http(self.srv.http, method, path, &h, None),
        }
    }
    fn get(&self, path: &str) -> HttpReply {
        self.req("GET", path, None)
    }
    fn post(&self, path: &str, body: &str) -> HttpReply {
        self.req("POST", path, Some(body))
    }
    fn put(&self, path: &str, body: &str) -> HttpReply {
        self.req("PUT", path, Some(body))
    }
    fn delete(&self, path: &str) -> HttpReply {
        self.req("DELETE", path, None)
    }
    /// GET that must answer 200; the JSON body.
    fn ok(&self, path: &str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        r.json()
    }
}

struct Setup {
    dir: TestDir,
    srv: Server,
    key: String,
    zid: i64,
}

/// A user with API access, a hosted zone `example.org` and a global API key.
fn setup(name: &str) -> Setup {
    setup_with(name, &[])
}

fn setup_with(name: &str, args: &[&str]) -> Setup {
    let dir = TestDir::new(name);
    admin(&dir, &["user", "add", EMAIL]);
    admin(&dir, &["zone", "add", "example.org", "--owner", EMAIL]);
    let key = last_line(&admin(&dir, &["user", "apikey", EMAIL]));
    let srv = Server::start_with(
        &dir,
        ServerOpts {
            args: args.to_vec(),
            env: vec![],
        },
    );
    let zid = zone_id(&Lua::new(&srv, EMAIL, &key), "example.org");
    Setup { dir, srv, key, zid }
}

fn zone_id(c: &Lua, name: &str) -> i64 {
    let j = c.ok("/v1/zones");
    j.as_array()
        .unwrap()
        .iter()
        .find(|z| z["name"] == name)
        .unwrap_or_else(|| panic!("zone {name} not listed: {j}"))["id"]
        .as_i64()
        .unwrap()
}

/// The error body of seed 001: exactly `status`, `request_id`, `message`.
fn assert_error(r: &HttpReply, status: u16, word: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let j = r.json();
    assert_eq!(j["status"], word, "{}", r.body);
    assert!(
        j["request_id"].as_str().is_some_and(|s| !s.is_empty()),
        "{}",
        r.body
    );
    assert!(
        j["message"].as_str().is_some_and(|s| !s.is_empty()),
        "{}",
        r.body
    );
    assert_eq!(j.as_object().unwrap().len(), 3, "{}", r.body);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
}

fn records_path(zid: i64) -> String {
    format!("/v1/zones/{zid}/records")
}

fn soa_serial(srv: &Server, zone: &str) -> u32 {
    let m = srv.dig(zone, RecordType::SOA);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    match &m.answers.first().expect("SOA answer").data {
        RData::SOA(s) => s.serial,
        other => panic!("not a SOA: {other:?}"),
    }
}

#[test]
fn users_me_fields() {
    let s = setup("lua-me");
    let c = Lua::new(&s.srv, EMAIL, &s.key);
    let r = c.get("/v1/users/me");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let j = r.json();
    assert_eq!(j["email"], EMAIL);
    assert!(j["name"].is_string());
    assert_eq!(j["repo_uri"], "");
    assert_eq!(j["api_enabled"], true);
    assert_eq!(j["tfa"], false);
    assert!(j["deploy_key"].is_string());
    assert_eq!(j["ttl"], 300);
    assert!(j["package"].is_string());
    let ns = j["name_servers"].as_array().expect("name_servers array");
    assert!(!ns.is_empty());
    for n in ns {
        assert!(n.as_str().unwrap().ends_with('.'), "{n}");
    }
}

#[test]
fn zones_seed_walk() {
    let s = setup("lua-zones");
    let c = Lua::new(&s.srv, EMAIL, &s.key);

    // List: compact JSON with `"id":N,"name":"…"` adjacency (acme.sh, OpenWrt).
    let r = c.get("/v1/zones");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains(&format!("\"id\":{},\"name\":\"example.org\"", s.zid)),
        "{}",
        r.body
    );
    let z = &r.json()[0];
    for k in [
        "synced",
        "queries_count",
        "records_count",
        "aliases_count",
        "redirects_count",
        "forwards_count",
        "template_id",
    ] {
        assert!(!z[k].is_null(), "{k} missing: {z}");
    }
    assert_eq!(z["records_count"], 2, "SOA + one NS: {z}");
    assert!(z["records"].is_null(), "no records in lists: {z}");

    // Create: 200 with the new zone.
    let r = c.post("/v1/zones", r#"{"name":"example.net"}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    let nz = r.json();
    let nid = nz["id"].as_i64().unwrap();
    assert_eq!(nz["name"], "example.net");
    assert!(r
        .body
        .contains(&format!("\"id\":{nid},\"name\":\"example.net\"")));
    // Served in DNS at once.
    let m = s.srv.dig("example.net.", RecordType::SOA);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(m.answers.len(), 1);

    // Get: with records, SOA and NS, record names fqdn with a trailing dot.
    let r = c.get(&format!("/v1/zones/{nid}"));
    assert_eq!(r.status, 200, "{}", r.body);
    let g = r.json();
    assert_eq!(g["id"], nid);
    assert_eq!(g["name"], "example.net");
    let recs = g["records"].as_array().expect("records");
    assert!(recs
        .iter()
        .any(|x| x["type"] == "SOA" && x["name"] == "example.net."));
    assert!(recs
        .iter()
        .any(|x| x["type"] == "NS" && x["name"] == "example.net."));
    for x in recs {
        assert_eq!(x["zone_id"], nid);
        assert!(x["id"].is_i64() && x["ttl"].is_u64() && x["content"].is_string());
    }
    let soa = recs.iter().find(|x| x["type"] == "SOA").unwrap();
    assert_eq!(
        soa["content"].as_str().unwrap().split(' ').count(),
        7,
        "{soa}"
    );

    // Update with records: replaces the whole set (SOA kept, NS kept when absent).
    let serial0 = soa_serial(&s.srv, "example.net.");
    let body = json!({"name":"example.net","records":[
        {"name":"www.example.net.","type":"A","content":"192.0.2.1","ttl":300},
        {"name":"example.net.","type":"TXT","content":"v=spf1 -all"}
    ]})
    .to_string();
    let r = c.put(&format!("/v1/zones/{nid}"), &body);
    assert_eq!(r.status, 200, "{}", r.body);
    let u = r.json();
    let recs = u["records"].as_array().unwrap();
    let types: Vec<&str> = recs.iter().map(|x| x["type"].as_str().unwrap()).collect();
    assert!(types.contains(&"SOA") && types.contains(&"NS"), "{types:?}");
    assert!(recs
        .iter()
        .any(|x| x["name"] == "www.example.net." && x["content"] == "192.0.2.1"));
    assert!(recs
        .iter()
        .any(|x| x["type"] == "TXT" && x["content"] == "v=spf1 -all"));
    assert_eq!(recs.len(), 4, "{recs:?}");
    assert_eq!(u["records_count"], 4);
    assert_eq!(
        answers(&s.srv.dig("www.example.net.", RecordType::A)),
        ["192.0.2.1"]
    );
    assert!(soa_serial(&s.srv, "example.net.") > serial0);

    // A second PUT replaces again: www is gone.
    let body = json!({"name":"example.net","records":[
        {"name":"mail.example.net.","type":"A","content":"192.0.2.2"}
    ]})
    .to_string();
    let r = c.put(&format!("/v1/zones/{nid}"), &body);
    assert_eq!(r.status, 200, "{}", r.body);
    let recs = r.json()["records"].as_array().unwrap().clone();
    assert!(!recs.iter().any(|x| x["name"] == "www.example.net."));
    assert_eq!(
        s.srv
            .dig("www.example.net.", RecordType::A)
            .metadata
            .response_code,
        ResponseCode::NXDomain
    );
    // PUT with just the name leaves the records alone.
    let r = c.put(&format!("/v1/zones/{nid}"), r#"{"name":"example.net"}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["records"].as_array().unwrap().len(), recs.len());

    // The list shows both zones.
    let all = c.ok("/v1/zones");
    assert_eq!(all.as_array().unwrap().len(), 2);

    // Delete: 200 with the deleted zone and its records; then 404 and REFUSED in DNS.
    let r = c.delete(&format!("/v1/zones/{nid}"));
    assert_eq!(r.status, 200, "{}", r.body);
    let d = r.json();
    assert_eq!(d["id"], nid);
    assert_eq!(d["name"], "example.net");
    assert_eq!(d["records"].as_array().unwrap().len(), recs.len());
    assert_error(&c.get(&format!("/v1/zones/{nid}")), 404, "Not Found");
    assert_error(&c.delete(&format!("/v1/zones/{nid}")), 404, "Not Found");
    assert_eq!(
        s.srv
            .dig("example.net.", RecordType::SOA)
            .metadata
            .response_code,
        ResponseCode::Refused
    );
    assert_eq!(c.ok("/v1/zones").as_array().unwrap().len(), 1);

    // DS records: none while zones are unsigned.
    let r = c.get(&format!("/v1/zones/{}/ds_records", s.zid));
    assert_eq!((r.status, r.body.as_str()), (200, "[]"));
}

#[test]
fn records_seed_walk() {
    let s = setup("lua-records");
    let c = Lua::new(&s.srv, EMAIL, &s.key);
    let rp = records_path(s.zid);

    // The list holds the SOA and the NS.
    let l = c.ok(&rp);
    let types: Vec<&str> = l
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"SOA") && types.contains(&"NS"), "{types:?}");

    // acme.sh's add: compact record with `"id":N,"name":"<fqdn>.","type":"TXT"`.
    let r = c.post(
        &rp,
        r#"{"type":"TXT","name":"_acme-challenge.www.example.org.","content":"tok-123","ttl":120}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let t = r.json();
    let tid = t["id"].as_i64().unwrap();
    assert!(
        r.body.starts_with(&format!(
            "{{\"id\":{tid},\"name\":\"_acme-challenge.www.example.org.\",\"type\":\"TXT\",\"content\":\"tok-123\",\"ttl\":120,\"zone_id\":{}",
            s.zid
        )),
        "{}",
        r.body
    );
    assert!(!r.body.contains(": "), "compact JSON: {}", r.body);
    // The list shows it in the same compact form.
    let r = c.get(&rp);
    assert!(r.body.contains(&format!(
        "\"id\":{tid},\"name\":\"_acme-challenge.www.example.org.\",\"type\":\"TXT\""
    )));

    // The seed's MX example; name without the trailing dot, target normalised, ttl default.
    let r = c.post(
        &rp,
        r#"{"name":"example.org","type":"MX","content":"10 mail.example.org"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let mx = r.json();
    assert_eq!(mx["name"], "example.org.");
    assert_eq!(mx["type"], "MX");
    assert_eq!(mx["content"], "10 mail.example.org.");
    assert_eq!(mx["ttl"], 300, "ttl defaults to 300");
    assert_eq!(mx["zone_id"], s.zid);
    assert!(mx["created_at"].as_str().unwrap().contains('T'));
    assert!(mx["updated_at"].is_string());
    let mxid = mx["id"].as_i64().unwrap();

    // CNAME target normalised; TXT with spaces and quotes-free content kept as is.
    let r = c.post(
        &rp,
        r#"{"name":"alias.example.org.","type":"CNAME","content":"www.example.org","ttl":3600}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["content"], "www.example.org.");
    let r = c.post(
        &rp,
        r#"{"name":"example.org.","type":"TXT","content":"v=spf1 include:_spf.example.net -all"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["content"], "v=spf1 include:_spf.example.net -all");
    for (name, t, content, want) in [
        ("www.example.org.", "A", "192.0.2.10", "192.0.2.10"),
        ("www.example.org.", "AAAA", "2001:DB8:0::10", "2001:db8::10"),
        (
            "_sip._udp.example.org.",
            "SRV",
            "0 5 5060 sip.example.org",
            "0 5 5060 sip.example.org.",
        ),
        (
            "example.org.",
            "CAA",
            "0 issue \"letsencrypt.org\"",
            "0 issue \"letsencrypt.org\"",
        ),
        (
            "10.example.org.",
            "PTR",
            "host.example.net",
            "host.example.net.",
        ),
    ] {
        let r = c.post(
            &rp,
            &json!({"name":name,"type":t,"content":content,"ttl":60}).to_string(),
        );
        assert_eq!(r.status, 200, "{t}: {}", r.body);
        assert_eq!(r.json()["content"], want, "{t}");
        assert_eq!(r.json()["ttl"], 60);
    }

    // Get one.
    let r = c.get(&format!("{rp}/{mxid}"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), mx);

    // Update (the seed's PUT): 200 with the updated record, same id.
    let r = c.put(
        &format!("{rp}/{mxid}"),
        r#"{"name":"example.org.","type":"MX","content":"20 mx2.example.org.","ttl":600}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let u = r.json();
    assert_eq!(u["id"], mxid);
    assert_eq!(u["content"], "20 mx2.example.org.");
    assert_eq!(u["ttl"], 600);
    assert_eq!(u["created_at"], mx["created_at"]);
    assert_eq!(c.ok(&format!("{rp}/{mxid}")), u);
    // PUT without ttl: the default again.
    let r = c.put(
        &format!("{rp}/{mxid}"),
        r#"{"name":"example.org.","type":"MX","content":"20 mx2.example.org."}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["ttl"], 300);

    // Delete: 200 with the deleted record; then 404 for get, put and delete.
    let before = c.ok(&rp).as_array().unwrap().len();
    let r = c.delete(&format!("{rp}/{tid}"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["id"], tid);
    assert_eq!(r.json()["name"], "_acme-challenge.www.example.org.");
    assert_eq!(r.json()["content"], "tok-123");
    assert_eq!(c.ok(&rp).as_array().unwrap().len(), before - 1);
    assert_error(&c.get(&format!("{rp}/{tid}")), 404, "Not Found");
    assert_error(&c.delete(&format!("{rp}/{tid}")), 404, "Not Found");
    assert_error(
        &c.put(
            &format!("{rp}/{tid}"),
            r#"{"name":"x.example.org.","type":"A","content":"192.0.2.1"}"#,
        ),
        404,
        "Not Found",
    );
    // Unknown ids of every shape.
    for p in [
        format!("{rp}/999999"),
        format!("{rp}/abc"),
        "/v1/zones/999999".to_string(),
        "/v1/zones/999999/records".to_string(),
        "/v1/zones/999999/ds_records".to_string(),
        "/v1/zones/xyz".to_string(),
    ] {
        assert_error(&c.get(&p), 404, "Not Found");
    }
    assert_error(
        &c.post(
            "/v1/zones/999999/records",
            r#"{"name":"a.example.org.","type":"A","content":"192.0.2.1"}"#,
        ),
        404,
        "Not Found",
    );
}

/// Records `r00`..`r{n-1}` (A, TTLs 100+i) for the list tests.
fn many_records(c: &Lua, zid: i64, n: usize) {
    for i in 0..n {
        let r = c.post(
            &records_path(zid),
            &json!({"name":format!("r{i:02}.example.org."),"type":"A","content":format!("192.0.2.{}", i + 1),"ttl":100 + i}).to_string(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
}

fn page_headers(r: &HttpReply) -> (String, String, String, String) {
    let h = |k: &str| {
        r.header(k)
            .unwrap_or_else(|| panic!("{k} missing"))
            .to_string()
    };
    (
        h("x-page"),
        h("x-limit"),
        h("x-total-pages"),
        h("x-total-count"),
    )
}

#[test]
fn list_pagination_sorting_filtering() {
    let s = setup("lua-lists");
    let c = Lua::new(&s.srv, EMAIL, &s.key);
    let rp = records_path(s.zid);
    many_records(&c, s.zid, 5);
    // 5 A + SOA + NS = 7 records.
    let total = 7;

    // No options: everything.
    let r = c.get(&rp);
    assert_eq!(r.json().as_array().unwrap().len(), total);
    assert_eq!(r.header("x-total-count"), Some("7"));

    // limit=1: one per page, 7 pages.
    let r = c.get(&format!("{rp}?limit=1"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    assert_eq!(
        page_headers(&r),
        ("1".into(), "1".into(), "7".into(), "7".into())
    );
    // Walking every page with limit=1 yields every record once.
    let mut ids = Vec::new();
    for p in 1..=total {
        let r = c.get(&format!("{rp}?limit=1&page={p}"));
        assert_eq!(r.header("x-page"), Some(p.to_string().as_str()));
        ids.push(r.json()[0]["id"].as_i64().unwrap());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total);

    // limit=3: pages of 3, 3, 1; page 4 is past the end: [].
    let r = c.get(&format!("{rp}?limit=3&page=3"));
    assert_eq!(r.json().as_array().unwrap().len(), 1, "last page");
    assert_eq!(
        page_headers(&r),
        ("3".into(), "3".into(), "3".into(), "7".into())
    );
    let r = c.get(&format!("{rp}?limit=3&page=4"));
    assert_eq!((r.status, r.body.as_str()), (200, "[]"));
    assert_eq!(r.header("x-total-count"), Some("7"));
    // limit=500: everything on one page.
    let r = c.get(&format!("{rp}?limit=500&page=1"));
    assert_eq!(r.json().as_array().unwrap().len(), total);
    assert_eq!(
        page_headers(&r),
        ("1".into(), "500".into(), "1".into(), "7".into())
    );
    let r = c.get(&format!("{rp}?limit=500&page=2"));
    assert_eq!(r.body, "[]");
    // luadns-go reads x-pages-count.
    assert_eq!(r.header("x-pages-count"), Some("1"));

    // Out of range / malformed options: 400 with the error body.
    for q in [
        "limit=501",
        "page=0",
        "limit=-1",
        "limit=abc",
        "sort_by=bogus",
        "sort_order=sideways",
    ] {
        assert_error(&c.get(&format!("{rp}?{q}")), 400, "Bad Request");
    }
    assert_error(&c.get("/v1/zones?limit=501"), 400, "Bad Request");
    assert_error(&c.get("/v1/zones?page=0"), 400, "Bad Request");

    // sort_by name / type / ttl, asc and desc.
    let col = |q: &str, k: &str| -> Vec<Value> {
        c.ok(&format!("{rp}?{q}"))
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x[k].clone())
            .collect()
    };
    let names = col("sort_by=name&sort_order=asc", "name");
    let mut sorted = names.clone();
    sorted.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    assert_eq!(names, sorted);
    let mut rev = col("sort_by=name&sort_order=desc", "name");
    rev.reverse();
    assert_eq!(rev, sorted);
    let ttls: Vec<u64> = col("sort_by=ttl", "ttl")
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(ttls.windows(2).all(|w| w[0] <= w[1]), "{ttls:?}");
    let ttls: Vec<u64> = col("sort_by=ttl&sort_order=desc", "ttl")
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(ttls.windows(2).all(|w| w[0] >= w[1]), "{ttls:?}");
    let types: Vec<String> = col("sort_by=type", "type")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(types.windows(2).all(|w| w[0] <= w[1]), "{types:?}");
    // Sorting combined with paging: the first page of desc-by-name is the last name.
    let first = col("sort_by=name&sort_order=desc&limit=1", "name");
    assert_eq!(first, vec![sorted.last().unwrap().clone()]);

    // query filters.
    let q = c.ok(&format!("{rp}?query=r03"));
    assert_eq!(q.as_array().unwrap().len(), 1, "{q}");
    assert_eq!(q[0]["name"], "r03.example.org.");
    let q = c.get(&format!("{rp}?query=nomatch-anywhere"));
    assert_eq!(
        (q.body.as_str(), q.header("x-total-count")),
        ("[]", Some("0"))
    );
    // Zones: query, sort, paging.
    let r = c.post("/v1/zones", r#"{"name":"example.net"}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    let z = c.ok("/v1/zones?query=example.net");
    assert_eq!(z.as_array().unwrap().len(), 1);
    assert_eq!(z[0]["name"], "example.net");
    let z = c.ok("/v1/zones?sort_by=name&sort_order=desc");
    assert_eq!(z[0]["name"], "example.org");
    let r = c.get("/v1/zones?sort_by=name&limit=1&page=2");
    assert_eq!(r.json()[0]["name"], "example.org");
    assert_eq!(
        page_headers(&r),
        ("2".into(), "1".into(), "2".into(), "2".into())
    );
    assert_eq!(c.get("/v1/zones?limit=1&page=3").body, "[]");
}

#[test]
fn rate_limit_headers_and_429() {
    let dir = TestDir::new("lua-ratelimit");
    std::fs::write(
        dir.path("lucentd.toml"),
        "[limits]\nrequests_per_5min = 5\n",
    )
    .unwrap();
    admin(&dir, &["user", "add", EMAIL]);
    admin(&dir, &["zone", "add", "example.org", "--owner", EMAIL]);
    let key = last_line(&admin(&dir, &["user", "apikey", EMAIL]));
    let key2 = last_line(&admin(&dir, &["user", "apikey", EMAIL]));
    let cfg = dir.path("lucentd.toml");
    let srv = Server::start_with(
        &dir,
        ServerOpts {
            args: vec!["--config", cfg.to_str().unwrap()],
            env: vec![],
        },
    );
    let c = Lua::new(&srv, EMAIL, &key);
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
    let c2 = Lua::new(&srv, EMAIL, &key2);
    let r = c2.get("/v1/users/me");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("4"));
}

#[test]
fn auth_and_permission_errors() {
    let s = setup("lua-auth");
    let c = Lua::new(&s.srv, EMAIL, &s.key);
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
    let net = zone_id(&c, "example.net");
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
fn validation_errors_change_nothing() {
    let s = setup("lua-validation");
    let c = Lua::new(&s.srv, EMAIL, &s.key);
    let rp = records_path(s.zid);
    // Existing data the rules check against.
    let www = c
        .post(
            &rp,
            r#"{"name":"www.example.org.","type":"A","content":"192.0.2.1"}"#,
        )
        .json();
    assert!(www["id"].is_i64(), "{www}");
    let r = c.post(
        &rp,
        r#"{"name":"alias.example.org.","type":"CNAME","content":"www.example.org."}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let before = c.get(&rp).body;
    let zone_before = c.get(&format!("/v1/zones/{}", s.zid)).body;
    let serial = soa_serial(&s.srv, "example.org.");
    let list = c.ok(&rp);
    let soa_id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["type"] == "SOA")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let ns_id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["type"] == "NS")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    let bad_creates: Vec<(&str, String)> = vec![
        (
            "bad type",
            r#"{"name":"t.example.org.","type":"BOGUS","content":"x"}"#.into(),
        ),
        (
            "unsupported type",
            r#"{"name":"t.example.org.","type":"HINFO","content":"a b"}"#.into(),
        ),
        (
            "outside the zone",
            r#"{"name":"www.example.com.","type":"A","content":"192.0.2.9"}"#.into(),
        ),
        (
            "suffix but not a subdomain",
            r#"{"name":"badexample.org.","type":"A","content":"192.0.2.9"}"#.into(),
        ),
        (
            "bad label",
            r#"{"name":"a b.example.org.","type":"A","content":"192.0.2.9"}"#.into(),
        ),
        (
            "bad IPv4",
            r#"{"name":"t.example.org.","type":"A","content":"300.1.2.3"}"#.into(),
        ),
        (
            "zero-padded IPv4",
            r#"{"name":"t.example.org.","type":"A","content":"192.000.002.001"}"#.into(),
        ),
        (
            "IPv6 in A",
            r#"{"name":"t.example.org.","type":"A","content":"2001:db8::1"}"#.into(),
        ),
        (
            "bad IPv6",
            r#"{"name":"t.example.org.","type":"AAAA","content":"2001:db8::g"}"#.into(),
        ),
        (
            "CNAME at apex",
            r#"{"name":"example.org.","type":"CNAME","content":"www.example.net."}"#.into(),
        ),
        (
            "CNAME beside other data",
            r#"{"name":"www.example.org.","type":"CNAME","content":"x.example.net."}"#.into(),
        ),
        (
            "other data beside a CNAME",
            r#"{"name":"alias.example.org.","type":"TXT","content":"hello"}"#.into(),
        ),
        (
            "second CNAME",
            r#"{"name":"alias.example.org.","type":"CNAME","content":"x.example.net."}"#.into(),
        ),
        (
            "duplicate record",
            r#"{"name":"www.example.org.","type":"A","content":"192.0.2.1"}"#.into(),
        ),
        (
            "duplicate in other spelling",
            r#"{"name":"WWW.example.org","type":"a","content":" 192.0.2.1 "}"#.into(),
        ),
        (
            "SOA create",
            r#"{"name":"example.org.","type":"SOA","content":"ns.example.org. h.example.org. 1 2 3 4 5"}"#.into(),
        ),
        (
            "MX without preference",
            r#"{"name":"example.org.","type":"MX","content":"mail.example.org."}"#.into(),
        ),
        (
            "MX preference too large",
            r#"{"name":"example.org.","type":"MX","content":"70000 mail.example.org."}"#.into(),
        ),
        (
            "SRV without port",
            r#"{"name":"_sip._tcp.example.org.","type":"SRV","content":"0 0 sip.example.org."}"#.into(),
        ),
        (
            "SRV port too large",
            r#"{"name":"_sip._tcp.example.org.","type":"SRV","content":"0 0 70000 sip.example.org."}"#.into(),
        ),
        (
            "CAA without value",
            r#"{"name":"example.org.","type":"CAA","content":"0 issue"}"#.into(),
        ),
        (
            "CAA flags too large",
            r#"{"name":"example.org.","type":"CAA","content":"256 issue \"letsencrypt.org\""}"#.into(),
        ),
        (
            "ttl zero",
            r#"{"name":"t.example.org.","type":"A","content":"192.0.2.9","ttl":0}"#.into(),
        ),
        (
            "ttl too large",
            r#"{"name":"t.example.org.","type":"A","content":"192.0.2.9","ttl":2147483648}"#.into(),
        ),
        (
            "ttl negative",
            r#"{"name":"t.example.org.","type":"A","content":"192.0.2.9","ttl":-5}"#.into(),
        ),
        (
            "ttl not a number",
            r#"{"name":"t.example.org.","type":"A","content":"192.0.2.9","ttl":"soon"}"#.into(),
        ),
        (
            "content missing",
            r#"{"name":"t.example.org.","type":"A"}"#.into(),
        ),
        (
            "name missing",
            r#"{"type":"A","content":"192.0.2.9"}"#.into(),
        ),
        (
            "content not a string",
            r#"{"name":"t.example.org.","type":"A","content":42}"#.into(),
        ),
        (
            "TXT string too long",
            json!({"name":"t.example.org.","type":"TXT","content":"x".repeat(70000)}).to_string(),
        ),
        (
            "malformed JSON",
            r#"{"name":"t.example.org.","type":"A","#.into(),
        ),
        ("JSON array", r#"[1,2]"#.into()),
        ("empty body", String::new()),
    ];
    for (what, body) in &bad_creates {
        let r = c.post(&rp, body);
        assert!(
            r.status == 400 || (what == &"TXT string too long" && r.status == 413),
            "{what}: {} {}",
            r.status,
            r.body
        );
        if r.status == 400 {
            assert_error(&r, 400, "Bad Request");
        }
    }
    // Updates that break a rule.
    let wid = www["id"].as_i64().unwrap();
    for (what, body) in [
        (
            "bad IPv4",
            r#"{"name":"www.example.org.","type":"A","content":"1.2.3"}"#,
        ),
        (
            "outside the zone",
            r#"{"name":"www.example.com.","type":"A","content":"192.0.2.1"}"#,
        ),
        (
            "onto the CNAME's name",
            r#"{"name":"alias.example.org.","type":"A","content":"192.0.2.1"}"#,
        ),
        (
            "into a CNAME at apex",
            r#"{"name":"example.org.","type":"CNAME","content":"x.example.net."}"#,
        ),
        (
            "into a SOA",
            r#"{"name":"example.org.","type":"SOA","content":"ns.example.org. h.example.org. 1 2 3 4 5"}"#,
        ),
        (
            "ttl out of range",
            r#"{"name":"www.example.org.","type":"A","content":"192.0.2.1","ttl":99999999}"#,
        ),
        ("malformed JSON", r#"{"name":"#),
    ] {
        let r = c.put(&format!("{rp}/{wid}"), body);
        assert_eq!(r.status, 400, "{what}: {}", r.body);
        assert_error(&r, 400, "Bad Request");
    }
    // SOA update/delete, last apex NS delete or move.
    assert_error(
        &c.put(
            &format!("{rp}/{soa_id}"),
            r#"{"name":"example.org.","type":"SOA","content":"ns.example.org. h.example.org. 1 2 3 4 5"}"#,
        ),
        400,
        "Bad Request",
    );
    assert_error(&c.delete(&format!("{rp}/{soa_id}")), 400, "Bad Request");
    assert_error(&c.delete(&format!("{rp}/{ns_id}")), 400, "Bad Request");
    assert_error(
        &c.put(
            &format!("{rp}/{ns_id}"),
            r#"{"name":"example.org.","type":"A","content":"192.0.2.1"}"#,
        ),
        400,
        "Bad Request",
    );
    // Zone PUT: a bad record anywhere in the set rejects the whole set.
    let body = json!({"name":"example.org","records":[
        {"name":"new.example.org.","type":"A","content":"192.0.2.7"},
        {"name":"bad.example.org.","type":"A","content":"999.0.0.1"}
    ]})
    .to_string();
    assert_error(
        &c.put(&format!("/v1/zones/{}", s.zid), &body),
        400,
        "Bad Request",
    );
    let body = json!({"name":"example.org","records":[
        {"name":"dup.example.org.","type":"A","content":"192.0.2.7"},
        {"name":"dup.example.org.","type":"CNAME","content":"www.example.org."}
    ]})
    .to_string();
    assert_error(
        &c.put(&format!("/v1/zones/{}", s.zid), &body),
        400,
        "Bad Request",
    );
    assert_error(
        &c.put(
            &format!("/v1/zones/{}", s.zid),
            r#"{"name":"example.org","records":"all"}"#,
        ),
        400,
        "Bad Request",
    );
    assert_error(
        &c.put(&format!("/v1/zones/{}", s.zid), r#"{"name":"renamed.org"}"#),
        400,
        "Bad Request",
    );
    // Zone creation: bad names.
    for body in [
        r#"{"name":"-bad-.org"}"#,
        r#"{"name":"org"}"#,
        r#"{}"#,
        r#"{"name":"x.org","template_id":7}"#,
        r#"{"name":"#,
    ] {
        assert_error(&c.post("/v1/zones", body), 400, "Bad Request");
    }

    // Nothing changed: same list, same zone, same serial, same DNS.
    assert_eq!(c.get(&rp).body, before);
    assert_eq!(
        c.get(&format!("/v1/zones/{}", s.zid)).body,
        zone_before,
        "zone unchanged"
    );
    assert_eq!(c.ok("/v1/zones").as_array().unwrap().len(), 1);
    assert_eq!(soa_serial(&s.srv, "example.org."), serial);
    assert_eq!(
        answers(&s.srv.dig("www.example.org.", RecordType::A)),
        ["192.0.2.1"]
    );
    for n in ["t.example.org.", "new.example.org.", "dup.example.org."] {
        assert_eq!(
            s.srv.dig(n, RecordType::A).metadata.response_code,
            ResponseCode::NXDomain,
            "{n}"
        );
    }
}

#[test]
fn cross_user_isolation() {
    let s = setup("lua-isolation");
    let a = Lua::new(&s.srv, EMAIL, &s.key);
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
fn zone_names_taken() {
    let s = setup("lua-taken");
    let c = Lua::new(&s.srv, EMAIL, &s.key);
    admin(&s.dir, &["zone", "add", "dyn.example.net", "--shared"]);
    admin(&s.dir, &["user", "add", "b@example.org"]);
    admin(
        &s.dir,
        &["zone", "add", "b-zone.com", "--owner", "b@example.org"],
    );
    for name in [
        "example.org",       // mine already
        "EXAMPLE.org",       // same, other case
        "b-zone.com",        // another user's
        "dyn.example.net",   // a shared zone
        "h.dyn.example.net", // inside a shared zone
        "example.net",       // contains a shared zone
        "sub.example.org",   // inside my own zone
        "x.b-zone.com",      // inside another user's zone
    ] {
        let r = c.post("/v1/zones", &json!({ "name": name }).to_string());
        assert_error(&r, 403, "Forbidden");
        let msg = r.json()["message"].as_str().unwrap().to_string();
        assert_eq!(
            msg,
            format!("Zone '{}' is taken already.", name.to_ascii_lowercase()),
            "{name}"
        );
    }
    assert_eq!(c.ok("/v1/zones").as_array().unwrap().len(), 1);
    // A free name is fine, with a trailing dot and upper case normalised.
    let r = c.post("/v1/zones", r#"{"name":"Fresh-Zone.org."}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["name"], "fresh-zone.org");
}

#[test]
fn real_client_quirks() {
    let s = setup("lua-quirks");
    let c = Lua::new(&s.srv, EMAIL, &s.key);
    let rp = records_path(s.zid);

    // lexicon: a JSON body `{}` on GET and DELETE.
    let r = c.req("GET", "/v1/zones", Some("{}"));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c.req("GET", &rp, Some("{}"));
    assert_eq!(r.status, 200, "{}", r.body);
    // lego: body ending with a newline; DELETE with the whole record as body.
    let r = c.post(
        &rp,
        "{\"name\":\"_acme-challenge.example.org.\",\"type\":\"TXT\",\"content\":\"lego-tok\",\"ttl\":300}\n",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let rec = r.body.clone();
    let rid = r.json()["id"].as_i64().unwrap();
    let r = c.req("DELETE", &format!("{rp}/{rid}"), Some(&rec));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["id"], rid);
    let r = c.post(
        &rp,
        r#"{"name":"_acme-challenge.example.org.","type":"TXT","content":"lexicon-tok","ttl":3600}"#,
    );
    let rid = r.json()["id"].as_i64().unwrap();
    let r = c.req("DELETE", &format!("{rp}/{rid}"), Some("{}"));
    assert_eq!(r.status, 200, "{}", r.body);

    // acme.sh: POST with ttl 120, find the id by regex in the list, DELETE with `//`.
    let r = c.post(
        &rp,
        r#"{"type":"TXT","name":"_acme-challenge.host.example.org.","content":"acme-sh","ttl":120}"#,
    );
    assert!(r.body.contains("_acme-challenge.host.example.org"));
    let list = c.get(&rp).body;
    let needle = ",\"name\":\"_acme-challenge.host.example.org.\",\"type\":\"TXT\"";
    let end = list.find(needle).expect("acme.sh's regex matches");
    let start = list[..end].rfind("\"id\":").unwrap() + 5;
    let rid: i64 = list[start..end].parse().unwrap();
    let r = c.delete(&format!("/v1//zones/{}/records/{rid}", s.zid));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(&rid.to_string()));
    assert_eq!(
        s.srv
            .dig("_acme-challenge.host.example.org.", RecordType::TXT)
            .metadata
            .response_code,
        ResponseCode::NXDomain
    );
    // Several TXT values at one name, deletable one by one (a wildcard and its apex).
    let mut ids = Vec::new();
    for v in ["one", "two"] {
        let r = c.post(
            &rp,
            &json!({"name":"_acme-challenge.example.org.","type":"TXT","content":v,"ttl":60})
                .to_string(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        ids.push(r.json()["id"].as_i64().unwrap());
    }
    assert_eq!(
        answers(&s.srv.dig("_acme-challenge.example.org.", RecordType::TXT)),
        ["one", "two"]
    );
    assert_eq!(c.delete(&format!("{rp}/{}", ids[0])).status, 200);
    assert_eq!(
        answers(&s.srv.dig("_acme-challenge.example.org.", RecordType::TXT)),
        ["two"]
    );

    // OpenWrt: read `"content":"<ip>"` right after the type, then PUT.
    let r = c.post(
        &rp,
        r#"{"name":"router.example.org.","type":"A","content":"192.0.2.50","ttl":300}"#,
    );
    let rid = r.json()["id"].as_i64().unwrap();
    let list = c.get(&rp).body;
    assert!(list.contains(&format!(
        "\"id\":{rid},\"name\":\"router.example.org.\",\"type\":\"A\",\"content\":\"192.0.2.50\""
    )));
    let r = c.put(
        &format!("{rp}/{rid}"),
        r#"{"name":"router.example.org.","type":"A","content":"198.51.100.50","ttl":300}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // luadns-go/lexicon echo a whole GET object back on PUT (extra fields ignored).
    let mut obj = c.ok(&format!("{rp}/{rid}"));
    obj["content"] = json!("198.51.100.51");
    let r = c.put(&format!("{rp}/{rid}"), &obj.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        answers(&s.srv.dig("router.example.org.", RecordType::A)),
        ["198.51.100.51"]
    );
    // A zone-restricted key lists its zone (certbot, lego list zones first).
    let rkey = last_line(&admin(
        &s.dir,
        &["user", "apikey", EMAIL, "--zone", "example.org"],
    ));
    let r = Lua::new(&s.srv, EMAIL, &rkey).get("/v1/zones");
    assert_eq!(r.status, 200);
    assert!(r
        .body
        .contains(&format!("\"id\":{},\"name\":\"example.org\"", s.zid)));
}

#[test]
fn dns_follows_every_change() {
    let s = setup("lua-dns");
    let c = Lua::new(&s.srv, EMAIL, &s.key);
    let rp = records_path(s.zid);
    let mut serial = soa_serial(&s.srv, "example.org.");
    let mut bumped = |what: &str| {
        let now = soa_serial(&s.srv, "example.org.");
        assert!(now > serial, "{what}: serial {now} not above {serial}");
        serial = now;
    };

    // Create: answered on the very next query, with the record's TTL.
    let r = c.post(
        &rp,
        r#"{"name":"live.example.org.","type":"A","content":"192.0.2.31","ttl":120}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let rid = r.json()["id"].as_i64().unwrap();
    let m = s.srv.dig("live.example.org.", RecordType::A);
    assert_eq!(answers(&m), ["192.0.2.31"]);
    assert_eq!(m.answers[0].ttl, 120);
    assert!(m.metadata.authoritative);
    bumped("create");

    // Update.
    let r = c.put(
        &format!("{rp}/{rid}"),
        r#"{"name":"live.example.org.","type":"A","content":"192.0.2.32","ttl":60}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let m = s.srv.dig("live.example.org.", RecordType::A);
    assert_eq!(answers(&m), ["192.0.2.32"]);
    assert_eq!(m.answers[0].ttl, 60);
    bumped("update");

    // Update that renames: the old name disappears, the new one answers.
    let r = c.put(
        &format!("{rp}/{rid}"),
        r#"{"name":"moved.example.org.","type":"A","content":"192.0.2.33"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        s.srv
            .dig("live.example.org.", RecordType::A)
            .metadata
            .response_code,
        ResponseCode::NXDomain
    );
    assert_eq!(
        answers(&s.srv.dig("moved.example.org.", RecordType::A)),
        ["192.0.2.33"]
    );
    bumped("rename");

    // TXT unquoted in the API, one string in DNS.
    let r = c.post(
        &rp,
        r#"{"name":"example.org.","type":"TXT","content":"v=spf1 -all"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let m = s.srv.dig("example.org.", RecordType::TXT);
    match &m.answers[0].data {
        RData::TXT(t) => {
            assert_eq!(t.txt_data.len(), 1);
            assert_eq!(&*t.txt_data[0], b"v=spf1 -all");
        }
        other => panic!("{other:?}"),
    }
    bumped("txt");

    // Delete.
    let r = c.delete(&format!("{rp}/{rid}"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        s.srv
            .dig("moved.example.org.", RecordType::A)
            .metadata
            .response_code,
        ResponseCode::NXDomain
    );
    bumped("delete");

    // Zone PUT with records.
    let r = c.put(
        &format!("/v1/zones/{}", s.zid),
        r#"{"name":"example.org","records":[{"name":"bulk.example.org.","type":"AAAA","content":"2001:db8::5"}]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        answers(&s.srv.dig("bulk.example.org.", RecordType::AAAA)),
        ["2001:db8::5"]
    );
    assert!(s
        .srv
        .dig("example.org.", RecordType::TXT)
        .answers
        .is_empty());
    bumped("zone put");

    // The SOA shown by the API carries the served serial.
    let l = c.ok(&rp);
    let soa = l
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["type"] == "SOA")
        .unwrap()
        .clone();
    let shown: u32 = soa["content"]
        .as_str()
        .unwrap()
        .split(' ')
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(shown, soa_serial(&s.srv, "example.org."));
}

#[test]
fn record_changes_keep_dns_consistent() {
    let s = setup("lua-consistency");
    let c = Lua::new(&s.srv, EMAIL, &s.key);
    let rp = records_path(s.zid);
    let post = |body: serde_json::Value| -> i64 {
        let r = c.post(&rp, &body.to_string());
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["id"].as_i64().unwrap()
    };
    // Type change of one record: the old RRset vanishes, the new one answers.
    let id = post(json!({"name":"t.example.org.","type":"A","content":"192.0.2.1"}));
    let r = c.put(
        &format!("{rp}/{id}"),
        r#"{"name":"t.example.org.","type":"AAAA","content":"2001:db8::1"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(s
        .srv
        .dig("t.example.org.", RecordType::A)
        .answers
        .is_empty());
    assert_eq!(
        answers(&s.srv.dig("t.example.org.", RecordType::AAAA)),
        ["2001:db8::1"]
    );
    // Turning a record into a CNAME while another record shares the name: 400.
    post(json!({"name":"t.example.org.","type":"TXT","content":"beside"}));
    let r = c.put(
        &format!("{rp}/{id}"),
        r#"{"name":"t.example.org.","type":"CNAME","content":"www.example.net."}"#,
    );
    assert_error(&r, 400, "Bad Request");
    // Turning the only record at a name into a CNAME is fine.
    let solo = post(json!({"name":"solo.example.org.","type":"A","content":"192.0.2.3"}));
    let r = c.put(
        &format!("{rp}/{solo}"),
        r#"{"name":"solo.example.org.","type":"CNAME","content":"t.example.org."}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let m = s.srv.dig("solo.example.org.", RecordType::AAAA);
    assert_eq!(
        answers(&m),
        ["2001:db8::1", "t.example.org."],
        "CNAME + target"
    );
    // An empty non-terminal disappears with the last record below it.
    let srv_id = post(
        json!({"name":"_sip._udp.example.org.","type":"SRV","content":"0 0 5060 t.example.org."}),
    );
    assert_eq!(
        s.srv
            .dig("_udp.example.org.", RecordType::TXT)
            .metadata
            .response_code,
        ResponseCode::NoError
    );
    assert_eq!(c.delete(&format!("{rp}/{srv_id}")).status, 200);
    assert_eq!(
        s.srv
            .dig("_udp.example.org.", RecordType::TXT)
            .metadata
            .response_code,
        ResponseCode::NXDomain
    );
    // A wildcard stops answering once deleted.
    let w = post(json!({"name":"*.w.example.org.","type":"A","content":"192.0.2.9"}));
    assert_eq!(
        answers(&s.srv.dig("x.w.example.org.", RecordType::A)),
        ["192.0.2.9"]
    );
    assert_eq!(c.delete(&format!("{rp}/{w}")).status, 200);
    assert_eq!(
        s.srv
            .dig("x.w.example.org.", RecordType::A)
            .metadata
            .response_code,
        ResponseCode::NXDomain
    );
    // A long TXT value (over 255 bytes) is served as several character-strings.
    let long = "k".repeat(400);
    post(json!({"name":"long.example.org.","type":"TXT","content":long}));
    let m = dns_tcp(s.srv.dns, "long.example.org.", RecordType::TXT);
    match &m.answers[..] {
        [r] => match &r.data {
            RData::TXT(t) => {
                let joined: Vec<u8> = t.txt_data.iter().flat_map(|x| x.iter().copied()).collect();
                assert_eq!(joined, long.as_bytes());
                assert!(t.txt_data.iter().all(|x| x.len() <= 255));
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    let g = c.ok(&format!("{rp}?query=long.example.org"));
    assert_eq!(g[0]["content"], long.as_str(), "the API shows it unsplit");
    // A CNAME loop is refused (issue #14 item 11), and the half that exists is answered.
    post(json!({"name":"loop1.example.org.","type":"CNAME","content":"loop2.example.org."}));
    let r = c.post(
        &rp,
        &json!({"name":"loop2.example.org.","type":"CNAME","content":"loop1.example.org."})
            .to_string(),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("loop"), "{}", r.body);
    let m = s.srv.dig("loop1.example.org.", RecordType::A);
    assert!(matches!(
        m.metadata.response_code,
        ResponseCode::NoError | ResponseCode::NXDomain
    ));
    // records_count follows.
    let z = c.ok(&format!("/v1/zones/{}", s.zid));
    assert_eq!(
        z["records_count"].as_u64().unwrap() as usize,
        z["records"].as_array().unwrap().len()
    );
}

#[test]
fn parallel_writes_all_land() {
    let s = setup("lua-parallel");
    let rp = records_path(s.zid);
    let serial0 = soa_serial(&s.srv, "example.org.");
    let ids: Vec<i64> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..8)
            .map(|t| {
                let srv = &s.srv;
                let key = s.key.clone();
                let rp = rp.clone();
                sc.spawn(move || {
                    let c = Lua::new(srv, EMAIL, &key);
                    (0..10)
                        .map(|i| {
                            let r = c.post(
                                &rp,
                                &json!({"name":format!("p{t}-{i}.example.org."),"type":"A","content":format!("192.0.2.{}", t * 10 + i + 1)}).to_string(),
                            );
                            assert_eq!(r.status, 200, "{}", r.body);
                            r.json()["id"].as_i64().unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut u = ids.clone();
    u.sort();
    u.dedup();
    assert_eq!(u.len(), 80, "unique ids");
    let c = Lua::new(&s.srv, EMAIL, &s.key);
    assert_eq!(c.ok(&rp).as_array().unwrap().len(), 82);
    for t in 0..8 {
        for i in 0..10 {
            assert_eq!(
                answers(&s.srv.dig(&format!("p{t}-{i}.example.org."), RecordType::A)),
                [format!("192.0.2.{}", t * 10 + i + 1)]
            );
        }
    }
    assert!(soa_serial(&s.srv, "example.org.") > serial0);
}

#[test]
fn headers_on_every_answer_with_a_valid_key() {
    let s = setup("lua-headers");
    let c = Lua::new(&s.srv, EMAIL, &s.key);
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

#[test]
fn zone_get_put_round_trip_and_edges() {
    let s = setup("lua-roundtrip");
    let c = Lua::new(&s.srv, EMAIL, &s.key);
    let rp = records_path(s.zid);
    for body in [
        json!({"name":"@","type":"TXT","content":"at-apex"}),
        json!({"name":"www.example.org","type":"A","content":"192.0.2.1","ttl":120}),
        json!({"name":"min.example.org.","type":"A","content":"192.0.2.2","ttl":30}),
        json!({"name":"max.example.org.","type":"A","content":"192.0.2.3","ttl":86400}),
    ] {
        let r = c.post(&rp, &body.to_string());
        assert_eq!(r.status, 200, "{body}: {}", r.body);
    }
    let l = c.ok(&format!("{rp}?query=at-apex"));
    assert_eq!(l[0]["name"], "example.org.");
    for ttl in [29, 86401] {
        let r = c.post(
            &rp,
            &json!({"name":"t.example.org.","type":"A","content":"192.0.2.9","ttl":ttl})
                .to_string(),
        );
        assert_error(&r, 400, "Bad Request");
    }
    // luadns-go style: GET the zone, PUT it back unchanged (SOA echoed and ignored).
    let z = c.ok(&format!("/v1/zones/{}", s.zid));
    let r = c.put(&format!("/v1/zones/{}", s.zid), &z.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    let mut a: Vec<(String, String, String, u64)> = z["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["type"] != "SOA")
        .map(|x| {
            (
                x["name"].as_str().unwrap().into(),
                x["type"].as_str().unwrap().into(),
                x["content"].as_str().unwrap().into(),
                x["ttl"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut b: Vec<(String, String, String, u64)> = r.json()["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["type"] != "SOA")
        .map(|x| {
            (
                x["name"].as_str().unwrap().into(),
                x["type"].as_str().unwrap().into(),
                x["content"].as_str().unwrap().into(),
                x["ttl"].as_u64().unwrap(),
            )
        })
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert_eq!(
        answers(&s.srv.dig("www.example.org.", RecordType::A)),
        ["192.0.2.1"]
    );
    // PUT with an empty record list: only the apex NS (kept) and the SOA remain.
    let r = c.put(
        &format!("/v1/zones/{}", s.zid),
        r#"{"name":"example.org","records":[]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let t: Vec<String> = r.json()["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(t.len(), 2, "{t:?}");
    assert!(t.contains(&"SOA".to_string()) && t.contains(&"NS".to_string()));
    let m = s.srv.dig("example.org.", RecordType::NS);
    assert!(!m.answers.is_empty());
    // Not asserted: an MX whose target is a CNAME (RFC 2181 §10.3, PROTOCOLS.md §5 "worth
    // enforcing") is accepted with 200; reported as doubtful.
}

/// RFC 2181 §10.3: MX, NS and SRV targets must not be aliases — neither by pointing at an
/// existing CNAME nor by turning a target into one.
#[test]
fn mx_ns_srv_targets_are_not_aliases() {
    let s = setup("lua-alias-targets");
    let c = Lua::new(&s.srv, EMAIL, &s.key);
    let p = records_path(s.zid);
    let r = c.post(
        &p,
        r#"{"name":"alias.example.org.","type":"CNAME","content":"host.example.org."}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    for body in [
        r#"{"name":"example.org.","type":"MX","content":"10 alias.example.org."}"#,
        r#"{"name":"_sip._udp.example.org.","type":"SRV","content":"0 0 5060 alias.example.org."}"#,
        r#"{"name":"sub.example.org.","type":"NS","content":"alias.example.org."}"#,
    ] {
        assert_error(&c.post(&p, body), 400, "Bad Request");
    }
    let r = c.post(
        &p,
        r#"{"name":"example.org.","type":"MX","content":"10 mx.example.org."}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let before = c.get(&p).body;
    assert_error(
        &c.post(
            &p,
            r#"{"name":"mx.example.org.","type":"CNAME","content":"host.example.org."}"#,
        ),
        400,
        "Bad Request",
    );
    assert_eq!(c.get(&p).body, before, "nothing changed");
}
