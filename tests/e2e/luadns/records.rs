//! Records: the record walk of the API guide (create of every type, get, update, delete, unknown
//! ids), list pagination, sorting and filtering, and RFC 2181 §10.3 alias targets.

use serde_json::{json, Value};

use super::assert_error;
use crate::harness::*;

#[test]
fn records_seed_walk() {
    let s = Fixture::hosted("lua-records").start();
    let c = s.lua();
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
    let s = Fixture::hosted("lua-lists").start();
    let c = s.lua();
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

/// RFC 2181 §10.3: MX, NS and SRV targets must not be aliases — neither by pointing at an
/// existing CNAME nor by turning a target into one.
#[test]
fn mx_ns_srv_targets_are_not_aliases() {
    let s = Fixture::hosted("lua-alias-targets").start();
    let c = s.lua();
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
