//! Issue #16, zone files in and out: a hand-written BIND zone file imported into a hosted zone
//! and served; one bad record failing the whole import with its line number; export then import
//! into a second zone giving identical answers; a progress line on a large file; and the
//! operator's names listed.

use hickory_proto::rr::RecordType;

use crate::harness::*;

const BIND_ZONE: &str = r#"; example.org, as an operator of BIND would write it
$ORIGIN example.org.
$TTL 1h
@       IN  SOA ns1.other-provider.net. hostmaster.example.org. (
                2026120301 ; serial
                3600       ; refresh
                600        ; retry
                1209600    ; expire
                300 )      ; minimum
        IN  NS  ns1.other-provider.net.
        IN  MX  10 mail            ; relative target
www     300 IN A  192.0.2.10
        IN  AAAA 2001:db8::10
mail    IN  A   192.0.2.25
ftp     IN  CNAME www
_sip._udp 600 IN SRV 10 5 5060 sip.example.org.
sip     IN  A   192.0.2.50
@       IN  TXT "v=spf1 mx -all" "second string"
@       IN  CAA 0 issue "letsencrypt.org"
$TTL 120
short   A   192.0.2.99
"#;

/// (name, type) pairs whose answers are compared across the zones.
const PROBES: &[(&str, RecordType)] = &[
    ("www", RecordType::A),
    ("www", RecordType::AAAA),
    ("mail", RecordType::A),
    ("ftp", RecordType::CNAME),
    ("_sip._udp", RecordType::SRV),
    ("", RecordType::MX),
    ("", RecordType::TXT),
    ("", RecordType::CAA),
    ("short", RecordType::A),
];

fn name(label: &str, zone: &str) -> String {
    if label.is_empty() {
        format!("{zone}.")
    } else {
        format!("{label}.{zone}.")
    }
}

/// Answers with TTLs, and the zone name replaced, so two zones can be compared.
fn served(srv: &Server, zone: &str) -> Vec<String> {
    PROBES
        .iter()
        .flat_map(|(l, t)| {
            let m = srv.dig(&name(l, zone), *t);
            m.answers
                .iter()
                .map(|r| format!("{l} {} {t} {}", r.ttl, r.data).replace(zone, "ZONE"))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn issue16_bind_zone_file_imports_and_serves() {
    let e = Fixture::hosted("zf-import").start();
    let file = e.dir.path("example.org.zone");
    std::fs::write(&file, BIND_ZONE).unwrap();
    let out = admin(
        &e.dir,
        &["zone", "import", "example.org", file.to_str().unwrap()],
    );
    assert!(out.contains("imported 10 records"), "{out}");
    wait_until("the imported zone in DNS", || {
        answers(&e.srv.dig("www.example.org.", RecordType::A)) == ["192.0.2.10"]
    });
    let got = served(&e.srv, "example.org");
    for want in [
        "www 300 A 192.0.2.10",
        "www 3600 AAAA 2001:db8::10",
        "ftp 3600 CNAME www.ZONE.",
        "_sip._udp 600 SRV 10 5 5060 sip.ZONE.",
        " 3600 MX 10 mail.ZONE.",
        "short 120 A 192.0.2.99",
    ] {
        assert!(got.iter().any(|g| g == want), "{want} not in {got:#?}");
    }
    // The apex NS and SOA are this server's, not the old provider's.
    let ns = answers(&e.srv.dig("example.org.", RecordType::NS));
    assert!(!ns.iter().any(|n| n.contains("other-provider")), "{ns:?}");
    // The records are the API's too.
    let list = e.lua().ok(&format!("{}?query=short", records_path(e.zid)));
    assert_eq!(list[0]["content"], "192.0.2.99");
}

#[test]
fn issue16_one_bad_record_fails_the_import_with_its_line_and_changes_nothing() {
    let e = Fixture::hosted("zf-bad").start();
    e.record("keep.example.org.", "A", "192.0.2.1", 300);
    for (bad, line, why) in [
        ("bad 300 IN A 300.1.1.1\n", 22, "IPv4"),
        ("loop IN CNAME loop\n", 22, "loop"),
        ("www2 IN CNAME www\nwww2 IN A 192.0.2.3\n", 23, "CNAME"),
        ("outside.example.net. IN A 192.0.2.4\n", 22, "not inside"),
    ] {
        let file = e.dir.path("bad.zone");
        std::fs::write(&file, format!("{BIND_ZONE}{bad}")).unwrap();
        let (code, _, err) = admin_status(
            &e.dir,
            &["zone", "import", "example.org", file.to_str().unwrap()],
        );
        assert_eq!(code, 1, "{bad}: {err}");
        assert!(err.contains(&format!("line {line}")), "{bad}: {err}");
        assert!(err.contains(why), "{bad}: {err}");
    }
    // Nothing of any attempt was imported; the old record still answers.
    assert_eq!(
        answers(&e.srv.dig("keep.example.org.", RecordType::A)),
        ["192.0.2.1"]
    );
    let m = e.srv.dig("www.example.org.", RecordType::A);
    assert!(answers(&m).is_empty());
}

#[test]
fn issue16_export_then_import_into_a_second_zone_answers_the_same() {
    let e = Fixture::hosted("zf-roundtrip").start();
    admin(&e.dir, &["zone", "add", "example.com", "--owner", EMAIL]);
    let file = e.dir.path("example.org.zone");
    std::fs::write(&file, BIND_ZONE).unwrap();
    admin(
        &e.dir,
        &["zone", "import", "example.org", file.to_str().unwrap()],
    );
    let exported = admin(&e.dir, &["zone", "export", "example.org"]);
    assert!(exported.starts_with("$ORIGIN example.org."), "{exported}");
    // Zones are signed by default: the export is the signed zone (keys, every RRSIG, the
    // NSEC3 chain), and ldns-verify-zone checks every signature and the chain.
    for t in ["\tDNSKEY\t", "\tRRSIG\t", "\tNSEC3\t", "\tNSEC3PARAM\t"] {
        assert!(exported.contains(t), "{t} missing: {exported}");
    }
    let signed = e.dir.path("signed.zone");
    std::fs::write(&signed, &exported).unwrap();
    let v = std::process::Command::new("ldns-verify-zone")
        .arg(&signed)
        .output()
        .expect("ldns-verify-zone (ldnsutils) runs");
    let said = String::from_utf8_lossy(&v.stdout).to_string() + &String::from_utf8_lossy(&v.stderr);
    assert!(
        v.status.success() && said.contains("Zone is verified and complete"),
        "{said}"
    );
    // The same file under another $ORIGIN is the same zone under another name.
    let moved = exported.replacen("$ORIGIN example.org.", "$ORIGIN example.com.", 1);
    let file2 = e.dir.path("example.com.zone");
    std::fs::write(&file2, moved).unwrap();
    admin(
        &e.dir,
        &["zone", "import", "example.com", file2.to_str().unwrap()],
    );
    wait_until("both zones served", || {
        !answers(&e.srv.dig("short.example.com.", RecordType::A)).is_empty()
            && !answers(&e.srv.dig("short.example.org.", RecordType::A)).is_empty()
    });
    let a = served(&e.srv, "example.org");
    let b = served(&e.srv, "example.com");
    assert_eq!(a.len(), PROBES.len(), "{a:#?}");
    assert_eq!(a, b);
    // A shared zone exports as DNS serves it: its hostnames' A, AAAA and TXT.
    let s = Fixture::shared("zf-shared", SHARED, EMAIL).start();
    s.add_hostname(serde_json::json!({"hostname": "home", "ipv4": "192.0.2.7", "txt": "x"}));
    let out = admin(&s.dir, &["zone", "export", SHARED]);
    assert!(out.contains("home") && out.contains("192.0.2.7"), "{out}");
    assert!(
        out.contains("*.home"),
        "the DuckDNS wildcard TXT is exported: {out}"
    );
}

#[test]
fn issue16_large_import_prints_progress() {
    let e = Fixture::hosted("zf-large").start();
    let cfg = write_config(&e.dir, "[limits]\nmax_records_per_zone = 0\n");
    let mut text = String::from("$ORIGIN example.org.\n$TTL 300\n");
    for i in 0..25_000 {
        text.push_str(&format!("h{i} A 198.18.{}.{}\n", i / 256, i % 256));
    }
    let file = e.dir.path("large.zone");
    std::fs::write(&file, text).unwrap();
    let (code, out, err) = admin_status(
        &e.dir,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "zone",
            "import",
            "example.org",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 25000 records"), "{out}");
    assert!(
        err.contains("10000 records read") && err.contains("20000 records read"),
        "{err}"
    );
    wait_until("the last record in DNS", || {
        answers(&e.srv.dig("h24999.example.org.", RecordType::A)) == ["198.18.97.167"]
    });
}

#[test]
fn issue14_8_operator_names_are_listed() {
    let s = Fixture::shared("zf-oplist", SHARED, EMAIL)
        .env("DDNS_API_TOKEN", "operator-token-0123456789")
        .start();
    s.add_hostname(serde_json::json!({"hostname": "home", "ipv4": "192.0.2.7"}));
    let r = s.srv.get(
        &format!("/update?domains=_acme-challenge.{SHARED}&token=operator-token-0123456789&txt=t"),
        &[],
    );
    assert_eq!(r.body, "OK");
    let all = admin(&s.dir, &["hostname", "list"]);
    assert!(
        all.contains(&format!("home.{SHARED}")) && all.contains(EMAIL),
        "{all}"
    );
    let ops = admin(&s.dir, &["hostname", "list", "--operator"]);
    assert!(ops.contains(&format!("_acme-challenge.{SHARED}")), "{ops}");
    assert!(!ops.contains(&format!("home.{SHARED}")), "{ops}");
}
