//! Invalid input of every kind, for records and zones, is refused with 400 and changes nothing
//! (API, serial, DNS).

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use serde_json::json;

use super::assert_error;
use crate::harness::*;

#[test]
fn validation_errors_change_nothing() {
    let s = Fixture::hosted("lua-validation").start();
    let c = s.lua();
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
    let serial = s.srv.soa_serial("example.org.");
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
    assert_eq!(s.srv.soa_serial("example.org."), serial);
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
