//! Zones and the account: `/v1/users/me`, the zone walk of the API guide (list, create, get,
//! PUT with and without records, delete, DS records), names that are taken, and a zone read
//! and written back unchanged.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use serde_json::json;

use super::assert_error;
use crate::harness::*;

#[test]
fn users_me_fields() {
    let s = Fixture::hosted("lua-me").start();
    let c = s.lua();
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
    let s = Fixture::hosted("lua-zones").start();
    let c = s.lua();

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
    let serial0 = s.srv.soa_serial("example.net.");
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
    assert!(s.srv.soa_serial("example.net.") > serial0);

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

    // DS records (issue #15: zones are signed by default): one per digest type (2, 4) of the
    // zone's key, with seed 001's fields.
    let ds = c.ok(&format!("/v1/zones/{}/ds_records", s.zid));
    let ds = ds.as_array().unwrap();
    assert_eq!(ds.len(), 2, "{ds:?}");
    assert_eq!(
        (ds[0]["digest_type"].as_i64(), ds[1]["digest_type"].as_i64()),
        (Some(2), Some(4))
    );
    assert_eq!(ds[0]["key_tag"], ds[1]["key_tag"]);
    assert_eq!(ds[0]["zone_id"], s.zid);
    assert_eq!(ds[0]["algorithm"], 13);
}

#[test]
fn zone_names_taken() {
    let s = Fixture::hosted("lua-taken").start();
    let c = s.lua();
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
fn zone_get_put_round_trip_and_edges() {
    let s = Fixture::hosted("lua-roundtrip").start();
    let c = s.lua();
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
