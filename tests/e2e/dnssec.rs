//! Issue #15, DNSSEC by default, checked with real validators from Debian's packages: `delv`
//! with the zone's DS as its trust anchor validates positive answers of every type, wildcard
//! answers, NXDOMAIN and NODATA; a tampered anchor fails; after `/update` the very next answer
//! validates with the new address; after a restart the same DNSKEY validates; the DS from
//! `zone ds` and from the API equal `ldns-key2ds`'s from the served DNSKEY; an `unbound`
//! resolver on loopback sets AD; a rollover and switching signing off go as documented.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hickory_proto::rr::RecordType;

use crate::harness::*;

/// `delv` against the server with `anchor` as the only trust anchor for `zone`: its output.
fn delv(srv: &Server, anchor: &str, zone: &str, name: &str, t: &str) -> String {
    crate::harness::delv(srv.dns, anchor, zone, name, t)
}

fn dig_short(srv: &Server, name: &str, t: &str) -> String {
    let out = Command::new("dig")
        .args(["+short", "+norec", "-p", &srv.dns.port().to_string()])
        .arg(format!("@{}", srv.dns.ip()))
        .args([name, t])
        .output()
        .expect("run dig");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A hosted zone with one record of every kind the issue names.
fn signed_hosted(name: &str) -> Fixture {
    let e = Fixture::hosted(name).start();
    e.record("www.example.org.", "A", "192.0.2.10", 300);
    e.record("www.example.org.", "AAAA", "2001:db8::10", 300);
    e.record("example.org.", "TXT", "v=spf1 -all", 300);
    e.record("example.org.", "MX", "10 mail.example.org.", 300);
    e.record("mail.example.org.", "A", "192.0.2.25", 300);
    e.record("ftp.example.org.", "CNAME", "www.example.org.", 300);
    e.record(
        "_sip._udp.example.org.",
        "SRV",
        "10 5 5060 www.example.org.",
        300,
    );
    e.record("*.wild.example.org.", "A", "192.0.2.99", 300);
    // Large enough that a signed answer needs TCP at a 512-octet buffer.
    for i in 0..6 {
        e.record(
            "big.example.org.",
            "TXT",
            &format!("{i}{}", "x".repeat(200)),
            300,
        );
    }
    wait_until("the records in DNS", || {
        answers(&dns_tcp(e.srv.dns, "big.example.org.", RecordType::TXT)).len() == 6
    });
    e
}

#[test]
fn issue15_delv_validates_answers_proofs_and_rejects_a_tampered_anchor() {
    let e = signed_hosted("dnssec-delv");
    let ds = admin(&e.dir, &["zone", "ds", "example.org"]);
    assert_eq!(ds.lines().count(), 2, "digest types 2 and 4: {ds}");
    let anchor = delv_anchor(&e.dir, &ds, "anchor.conf");
    for (name, t) in [
        ("www.example.org", "A"),
        ("www.example.org", "AAAA"),
        ("example.org", "TXT"),
        ("example.org", "MX"),
        ("ftp.example.org", "CNAME"),
        ("ftp.example.org", "A"),
        ("_sip._udp.example.org", "SRV"),
        ("anything.wild.example.org", "A"),
        ("example.org", "DNSKEY"),
        ("example.org", "SOA"),
        ("big.example.org", "TXT"),
    ] {
        let out = delv(&e.srv, &anchor, "example.org", name, t);
        assert_validated(&out, &format!("{name} {t}"));
    }
    // NXDOMAIN (below the apex, and below an existing name) and NODATA proofs.
    for (name, t) in [
        ("nope.example.org", "A"),
        ("a.b.www.example.org", "A"),
        ("www.example.org", "MX"),
        ("anything.wild.example.org", "TXT"),
        ("example.org", "SRV"),
    ] {
        let out = delv(&e.srv, &anchor, "example.org", name, t);
        assert!(
            out.contains("negative response, fully validated"),
            "{name} {t}: {out}"
        );
    }
    // A tampered trust anchor: one digit of each digest changed.
    let bad: String = ds
        .lines()
        .map(|l| {
            let (head, last) = l.rsplit_once(' ').unwrap();
            let flipped = if last.starts_with('0') { "1" } else { "0" };
            format!("{head} {flipped}{}\n", &last[1..])
        })
        .collect();
    let bad_anchor = delv_anchor(&e.dir, &bad, "bad.conf");
    let out = delv(&e.srv, &bad_anchor, "example.org", "www.example.org", "A");
    assert!(!out.contains("fully validated"), "{out}");

    // DO=0 answers carry no DNSSEC records; DO=1 ones do.
    let plain = e.srv.dig("www.example.org.", RecordType::A);
    assert!(!types(&plain.answers).contains(&RecordType::RRSIG));
    // A signed answer too large for 512 octets is truncated over UDP (TC) and whole over TCP.
    let udp = Command::new("dig")
        .args(["+dnssec", "+bufsize=512", "+ignore", "+norec", "-p"])
        .arg(e.srv.dns.port().to_string())
        .arg(format!("@{}", e.srv.dns.ip()))
        .args(["big.example.org", "TXT"])
        .output()
        .unwrap();
    let udp = String::from_utf8_lossy(&udp.stdout);
    assert!(udp.contains(" tc"), "{udp}");
}

#[test]
fn issue15_ds_from_cli_and_api_match_ldns_key2ds_and_survive_a_restart() {
    let mut e = Fixture::hosted("dnssec-ds").start();
    let ds_cli = admin(&e.dir, &["zone", "ds", "example.org"]);
    let dnskey = dig_short(&e.srv, "example.org", "DNSKEY");
    assert_eq!(dnskey.lines().count(), 1, "{dnskey}");
    let keyfile = e.dir.path("Kexample.org.key");
    std::fs::write(
        &keyfile,
        format!("example.org. 3600 IN DNSKEY {}", dnskey.trim()),
    )
    .unwrap();
    for (flag, dt) in [("-2", "2"), ("-4", "4")] {
        let out = Command::new("ldns-key2ds")
            .args(["-n", flag])
            .arg(&keyfile)
            .output()
            .expect("run ldns-key2ds (Debian package ldnsutils)");
        let theirs = String::from_utf8_lossy(&out.stdout);
        let f: Vec<&str> = theirs.split_whitespace().collect();
        let mine = ds_cli
            .lines()
            .find(|l| l.split_whitespace().nth(6) == Some(dt))
            .unwrap();
        let m: Vec<&str> = mine.split_whitespace().collect();
        assert_eq!(
            f[4..7],
            m[4..7],
            "tag, algorithm, digest type: {theirs} / {mine}"
        );
        assert_eq!(f[7].to_lowercase(), m[7].to_lowercase(), "digest");
    }
    // The API lists the same DS with seed 001's fields.
    let list = e.lua().ok(&format!("/v1/zones/{}/ds_records", e.zid));
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    for d in list {
        for f in [
            "id",
            "key_tag",
            "algorithm",
            "digest_type",
            "digest",
            "public_key",
            "zone_id",
            "created_at",
            "updated_at",
        ] {
            assert!(d.get(f).is_some(), "{f} missing: {d}");
        }
        let line = ds_cli
            .lines()
            .find(|l| l.split_whitespace().nth(6) == Some(&d["digest_type"].to_string()))
            .unwrap();
        assert!(
            line.to_lowercase().ends_with(d["digest"].as_str().unwrap()),
            "{line} / {d}"
        );
        assert_eq!(d["zone_id"], e.zid);
        assert_eq!(d["algorithm"], 13);
    }
    // The private key never appears in an answer or the log.
    assert!(!list.iter().any(|d| d.to_string().contains("private")));

    // Restart: the same key signs, and the old anchor still validates.
    let anchor = delv_anchor(&e.dir, &ds_cli, "anchor.conf");
    e.record("www.example.org.", "A", "192.0.2.10", 300);
    let signed = |srv: &Server| {
        let out = Command::new("dig")
            .args([
                "+dnssec",
                "+short",
                "+norec",
                "-p",
                &srv.dns.port().to_string(),
            ])
            .arg(format!("@{}", srv.dns.ip()))
            .args(["www.example.org", "A"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    wait_until("www signed", || {
        signed(&e.srv).contains("RRSIG") || signed(&e.srv).contains(" 13 3 ")
    });
    let before = signed(&e.srv);
    e.srv.stop();
    e.srv = Server::start(&e.dir);
    assert_eq!(dig_short(&e.srv, "example.org", "DNSKEY"), dnskey);
    // The signatures were kept: the restarted server serves the very same RRSIG (ECDSA
    // signatures differ each time they are made).
    assert_eq!(signed(&e.srv), before);
    let out = delv(&e.srv, &anchor, "example.org", "www.example.org", "A");
    assert_validated(&out, "after restart");
}

#[test]
fn issue15_update_is_validated_at_once_in_a_shared_zone() {
    let e = Fixture::shared("dnssec-update", SHARED, "u@example.net")
        .hostnames(&["home"])
        .start();
    let ds = admin(&e.dir, &["zone", "ds", SHARED]);
    let anchor = delv_anchor(&e.dir, &ds, "anchor.conf");
    let fqdn = format!("home.{SHARED}");
    for ip in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        e.update(&format!("domains=home&ip={ip}"));
        // The very next answer: no waiting.
        let out = delv(&e.srv, &anchor, SHARED, &fqdn, "A");
        assert_validated(&out, ip);
        assert!(out.contains(ip), "{out}");
    }
    let out = delv(&e.srv, &anchor, SHARED, &format!("nobody.{SHARED}"), "A");
    assert!(out.contains("negative response, fully validated"), "{out}");
}

/// An `unbound` resolver on loopback, validating the zone with `ds` as its trust anchor and
/// sending its queries to `srv`.
struct Unbound {
    child: Child,
    port: u16,
}

impl Unbound {
    fn start(dir: &TestDir, srv: &Server, zone: &str, ds: &str, name: &str) -> Unbound {
        // A port picked free can be taken again before unbound binds it: try a few.
        for attempt in 0..5 {
            if let Some(u) = Unbound::try_start(dir, srv, zone, ds, &format!("{name}-{attempt}")) {
                return u;
            }
        }
        panic!("unbound did not start; see {}", dir.0.display());
    }

    fn try_start(dir: &TestDir, srv: &Server, zone: &str, ds: &str, name: &str) -> Option<Unbound> {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let anchors: String = ds
            .lines()
            .map(|l| format!("    trust-anchor: \"{l}\"\n"))
            .collect();
        let conf = dir.path(&format!("{name}.conf"));
        std::fs::write(
            &conf,
            format!(
                "server:\n    interface: 127.0.0.1@{port}\n    port: {port}\n\
                 \x20   do-not-query-localhost: no\n    username: \"\"\n    chroot: \"\"\n\
                 \x20   directory: \"{d}\"\n    pidfile: \"\"\n    use-syslog: no\n\
                 \x20   logfile: \"\"\n    verbosity: 1\n    do-ip6: no\n\
                 \x20   module-config: \"validator iterator\"\n\
                 \x20   access-control: 127.0.0.0/8 allow\n{anchors}\
                 stub-zone:\n    name: \"{zone}\"\n    stub-addr: {ip}@{p}\n\
                 remote-control:\n    control-enable: no\n",
                d = dir.0.display(),
                ip = srv.dns.ip(),
                p = srv.dns.port(),
            ),
        )
        .unwrap();
        let err = std::fs::File::create(dir.path(&format!("{name}.err"))).unwrap();
        let child = Command::new("unbound")
            .args(["-d", "-c"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("run unbound (Debian package unbound)");
        let mut u = Unbound { child, port };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if u.child.try_wait().ok().flatten().is_some() {
                return None;
            }
            let answered = std::net::UdpSocket::bind("127.0.0.1:0")
                .and_then(|s| {
                    s.set_read_timeout(Some(Duration::from_millis(200)))?;
                    let q = query_bytes(&format!("{zone}."), RecordType::SOA, 7);
                    s.send_to(&q, ("127.0.0.1", port))?;
                    let mut b = [0u8; 512];
                    s.recv(&mut b)
                })
                .is_ok();
            if answered {
                return Some(u);
            }
        }
        let _ = u.child.kill();
        None
    }

    /// `dig` through the resolver: its full output.
    fn dig(&self, name: &str, t: &str) -> String {
        let out = Command::new("dig")
            .args([
                "+dnssec",
                "+tries=2",
                "+time=3",
                "-p",
                &self.port.to_string(),
            ])
            .args(["@127.0.0.1", name, t])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn flags_line(out: &str) -> String {
    out.lines()
        .find(|l| l.contains(";; flags:"))
        .unwrap_or("")
        .to_string()
}

#[test]
fn issue15_unbound_sets_ad_and_fails_with_a_wrong_anchor() {
    let e = signed_hosted("dnssec-unbound");
    let ds = admin(&e.dir, &["zone", "ds", "example.org"]);
    let u = Unbound::start(&e.dir, &e.srv, "example.org", &ds, "unbound");
    for (name, t, rcode) in [
        ("www.example.org", "A", "NOERROR"),
        ("_sip._udp.example.org", "SRV", "NOERROR"),
        ("x.wild.example.org", "A", "NOERROR"),
        ("nope.example.org", "A", "NXDOMAIN"),
        ("www.example.org", "TXT", "NOERROR"),
    ] {
        let out = u.dig(name, t);
        assert!(
            out.contains(&format!("status: {rcode}")),
            "{name} {t}: {out}"
        );
        assert!(flags_line(&out).contains(" ad"), "{name} {t}: no AD: {out}");
    }
    drop(u);
    // A wrong anchor (another key's DS): answers are bogus, unbound gives SERVFAIL.
    let other = "example.org. 3600 IN DS 12345 13 2 \
                 0000000000000000000000000000000000000000000000000000000000000000";
    let bad = Unbound::start(&e.dir, &e.srv, "example.org", other, "unbound-bad");
    let out = bad.dig("www.example.org", "A");
    assert!(out.contains("status: SERVFAIL"), "{out}");
}

#[test]
fn issue15_rollover_and_switching_off_keep_answers_valid() {
    let e = signed_hosted("dnssec-roll");
    let old_ds = admin(&e.dir, &["zone", "ds", "example.org"]);
    let old = delv_anchor(&e.dir, &old_ds, "old.conf");
    let out = admin(&e.dir, &["zone", "rollover", "example.org"]);
    let new_ds: String = out
        .lines()
        .filter(|l| l.contains(" IN DS "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(new_ds.lines().count(), 2, "{out}");
    assert_ne!(new_ds, old_ds);
    assert_eq!(admin(&e.dir, &["zone", "ds", "example.org"]), new_ds);
    let new = delv_anchor(&e.dir, &new_ds, "new.conf");
    wait_until("both keys published", || {
        dig_short(&e.srv, "example.org", "DNSKEY").lines().count() == 2
    });
    // The CDS names the new key.
    let new_tag = new_ds.split_whitespace().nth(4).unwrap().to_string();
    assert!(dig_short(&e.srv, "example.org", "CDS").starts_with(&new_tag));
    for anchor in [&old, &new] {
        assert_validated(
            &delv(&e.srv, anchor, "example.org", "www.example.org", "A"),
            "during the rollover",
        );
    }
    // Completing it: the new key signs; the old one stays published for a DS TTL.
    admin(&e.dir, &["zone", "rollover", "example.org"]);
    wait_until("the new key signing", || {
        let out = delv(&e.srv, &new, "example.org", "www.example.org", "A");
        out.contains("fully validated") && out.contains(&format!(" {new_tag} example.org."))
    });
    assert_validated(
        &delv(&e.srv, &old, "example.org", "www.example.org", "A"),
        "old DS while the old key retires",
    );

    // Switching off: first the RFC 8078 delete CDS/CDNSKEY, still signed; then unsigned.
    admin(&e.dir, &["zone", "dnssec", "example.org", "--disable"]);
    wait_until("the delete CDS", || {
        dig_short(&e.srv, "example.org", "CDS").trim() == "0 0 0 00"
    });
    assert_eq!(
        dig_short(&e.srv, "example.org", "CDNSKEY").trim(),
        "0 3 0 AA=="
    );
    assert_validated(
        &delv(&e.srv, &new, "example.org", "www.example.org", "A"),
        "while disabling",
    );
    assert_eq!(admin(&e.dir, &["zone", "ds", "example.org"]), "");
    admin(&e.dir, &["zone", "dnssec", "example.org", "--disable"]);
    wait_until("unsigned", || {
        dig_short(&e.srv, "example.org", "DNSKEY").is_empty()
    });
    let (code, _, err) = admin_status(&e.dir, &["zone", "dnssec", "example.org"]);
    assert_ne!(code, 0, "{err}");
}

#[test]
fn issue15_nsec_denial_and_ed25519_keys_validate_too() {
    let e = Fixture::hosted("dnssec-nsec")
        .config("[dnssec]\ndenial = \"nsec\"\nalgorithm = \"ed25519\"\n")
        .start();
    // A zone made through the API gets a key of the configured algorithm (15).
    let c = e.lua();
    let r = c.post("/v1/zones", r#"{"name":"second.org"}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    let zid = c.zone_id("second.org");
    c.record(zid, "www.second.org.", "A", "192.0.2.7", 300);
    c.record(zid, "*.wild.second.org.", "TXT", "hello", 300);
    wait_until("www in DNS", || {
        answers(&e.srv.dig("www.second.org.", RecordType::A)) == ["192.0.2.7"]
    });
    let ds = admin(&e.dir, &["zone", "ds", "second.org"]);
    assert!(
        ds.lines()
            .all(|l| l.split_whitespace().nth(5) == Some("15")),
        "{ds}"
    );
    let anchor = delv_anchor(&e.dir, &ds, "anchor.conf");
    for (name, t) in [
        ("www.second.org", "A"),
        ("x.wild.second.org", "TXT"),
        ("second.org", "DNSKEY"),
    ] {
        assert_validated(&delv(&e.srv, &anchor, "second.org", name, t), name);
    }
    for (name, t) in [
        ("nope.second.org", "A"),
        ("www.second.org", "TXT"),
        ("x.wild.second.org", "A"),
        ("a.b.www.second.org", "A"),
    ] {
        let out = delv(&e.srv, &anchor, "second.org", name, t);
        assert!(
            out.contains("negative response, fully validated"),
            "{name} {t}: {out}"
        );
    }
    // The denial records are NSEC, each covering only the name asked about.
    let out = Command::new("dig")
        .args(["+dnssec", "+norec", "-p", &e.srv.dns.port().to_string()])
        .arg(format!("@{}", e.srv.dns.ip()))
        .args(["nope.second.org", "A"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    let words: Vec<&str> = out.split_whitespace().collect();
    assert!(words.contains(&"NSEC") && !out.contains("NSEC3"), "{out}");
    assert!(
        !out.contains("www.second.org"),
        "a denial that names another host: {out}"
    );
}
