//! The quirks of real clients (lexicon, lego, acme.sh, OpenWrt, luadns-go, certbot) against
//! the server.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use serde_json::json;

use crate::harness::*;

#[test]
fn real_client_quirks() {
    let s = Fixture::hosted("lua-quirks").start();
    let c = s.lua();
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
