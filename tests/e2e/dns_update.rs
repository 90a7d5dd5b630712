//! Issue #19, DNS UPDATE (RFC 2136) signed with TSIG (RFC 8945), against the real lucentd with
//! real clients: BIND's `nsupdate` adding, replacing and deleting records of a hosted zone over
//! UDP and TCP, with prerequisites; every RCODE of RFC 2136 §2.2 that an update can earn, each
//! failure checked to change nothing; FORMERR from messages built here byte by byte and signed
//! with a MAC from `openssl`; shared-zone hostnames (one A, AAAA and TXT each; `_acme-challenge`
//! setting the hostname's TXT); keys limited to a zone or to hostnames; a revoked key refused at
//! once; and two ACME clients, certbot (dns-rfc2136) and lego (rfc2136), each getting a
//! certificate from Pebble, whose only resolver is lucentd. `dig` reads every result back.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::RData;
use hickory_proto::serialize::binary::BinDecodable as _;

use crate::harness::acme::*;
use crate::harness::*;

/// `lucentd user tsig EMAIL --name NAME LIMIT...`: the secret (its last stdout line).
fn tsig_key(dir: &TestDir, email: &str, name: &str, limit: &[&str]) -> String {
    let mut args = vec!["user", "tsig", email, "--name", name];
    args.extend_from_slice(limit);
    let secret = last_line(&admin(dir, &args));
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&secret)
        .unwrap_or_else(|e| panic!("the secret {secret:?} is not base64: {e}"));
    assert!(raw.len() >= 16, "a TSIG secret of {} bytes", raw.len());
    secret
}

/// The zone as stored (`lucentd zone export`: every record with the SOA serial), to be equal
/// before and after an update that must change nothing. RRSIGs are left out: the export signs
/// on the spot what the server has not signed yet, so their times differ between two exports.
fn stored(dir: &TestDir, zone: &str) -> String {
    admin(dir, &["zone", "export", zone])
        .lines()
        .filter(|l| !l.contains("\tRRSIG\t"))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn serial(dns: SocketAddr, zone: &str) -> u32 {
    let soa = dig_rrs(dns, zone, "SOA");
    assert_eq!(soa.len(), 1, "{soa:?}");
    soa[0]
        .split_whitespace()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no serial in {soa:?}"))
}

/// Run `script` through nsupdate and expect `rcode`; panics with nsupdate's output otherwise.
fn expect(dns: SocketAddr, key: Option<(&str, &str)>, tcp: bool, script: &str, rcode: &str) {
    let r = nsupdate(dns, key, tcp, script);
    assert_eq!(r.update_rcode(), rcode, "{script}{}", r.text());
}

/// An update that must fail with `rcode` and leave `zone` exactly as it was, in the store and
/// in DNS (same serial).
fn refused_unchanged(
    e: &Fixture,
    zone: &str,
    key: Option<(&str, &str)>,
    script: &str,
    rcode: &str,
) {
    let before = stored(&e.dir, zone);
    let serial_before = serial(e.srv.dns, zone);
    expect(e.srv.dns, key, false, script, rcode);
    assert_eq!(serial(e.srv.dns, zone), serial_before, "{script}");
    assert!(stored(&e.dir, zone) == before, "{script} changed the zone");
}

/// How many updates signed with `key` changed a zone, by lucentd's log (one info line each).
fn changes_by(srv: &Server, key: &str) -> usize {
    let prefix = format!("update: key {key} from ");
    srv.log_text()
        .lines()
        .filter(|l| l.contains(&prefix) && l.ends_with(" changed"))
        .count()
}

#[test]
fn issue19_nsupdate_adds_replaces_and_deletes_hosted_zone_records_over_udp_and_tcp() {
    // A secondary (RFC 1996 NOTIFY target, AXFR/IXFR client) with its own key, to see that an
    // update reaches it as every other change does.
    let secondary = NotifyListener::start();
    let xfr = base64::engine::general_purpose::STANDARD.encode([0x5e; 32]);
    let cfg = format!(
        "[[dns.tsig_keys]]\nname = \"xfr\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{xfr}\"\n\n\
         [[dns.secondaries]]\nnotify = \"{}\"\nkey = \"xfr\"\nzones = [\"example.org\"]\n",
        secondary.addr
    );
    let mut e = Fixture::hosted("upd-hosted").config(&cfg).start();
    e.record("www.example.org.", "A", "192.0.2.10", 300);
    let secret = tsig_key(&e.dir, EMAIL, "upd-org", &["--zone", "example.org"]);
    let key = Some(("upd-org", secret.as_str()));
    let dns = e.srv.dns;
    let s0 = serial(dns, "example.org");

    // RFC 2136 §2.5.1: add to an RRset (two RRsets in one message), over UDP.
    expect(
        dns,
        key,
        false,
        "zone example.org\n\
         update add host.example.org 300 A 192.0.2.1\n\
         update add host.example.org 300 TXT \"hello world\"\n",
        "NOERROR",
    );
    assert_eq!(dig_rrs(dns, "host.example.org", "A"), ["192.0.2.1"]);
    assert_eq!(dig_rrs(dns, "host.example.org", "TXT"), ["\"hello world\""]);
    let s1 = serial(dns, "example.org");
    assert!(s1 > s0, "the serial moves on: {s0} -> {s1}");
    secondary.wait_for("example.org", s1);
    let y = format!("hmac-sha256:xfr:{xfr}");
    let axfr = dig(dns, &["-y", &y, "+noall", "+answer"], "example.org", "AXFR");
    assert!(
        axfr.contains("host.example.org.\t300\tIN\tA\t192.0.2.1"),
        "{axfr}"
    );
    let ixfr = format!("IXFR={s0}");
    let ixfr = dig(dns, &["-y", &y, "+noall", "+answer"], "example.org", &ixfr);
    assert!(
        ixfr.contains("host.example.org.\t300\tIN\tTXT\t\"hello world\""),
        "{ixfr}"
    );
    // A second A joins the RRset; the same again is a duplicate, ignored (§3.4.2.2), and the
    // serial stays: lucentd moves it on each change (RFC 2136 §3.6 lets a server also move it
    // on each update; lucentd does not).
    let second = "zone example.org\nupdate add host.example.org 300 A 192.0.2.2\n";
    expect(dns, key, false, second, "NOERROR");
    let s2 = serial(dns, "example.org");
    expect(dns, key, false, second, "NOERROR");
    assert_eq!(
        serial(dns, "example.org"),
        s2,
        "a duplicate add changed the serial"
    );
    assert_eq!(
        dig_rrs(dns, "host.example.org", "A"),
        ["192.0.2.1", "192.0.2.2"]
    );

    // Replace: delete the RRset and add the new value in one message (§2.5.2, §2.5.1), over
    // TCP this time.
    expect(
        dns,
        key,
        true,
        "zone example.org\n\
         update delete host.example.org A\n\
         update add host.example.org 600 A 192.0.2.3\n",
        "NOERROR",
    );
    assert_eq!(dig_rrs(dns, "host.example.org", "A"), ["192.0.2.3"]);
    let ttl = dig(dns, &["+noall", "+answer"], "host.example.org", "A");
    assert!(ttl.contains("\t600\t"), "{ttl}");

    // Other types the API accepts: MX, AAAA, CNAME, SRV, CAA.
    expect(
        dns,
        key,
        false,
        "zone example.org\n\
         update add example.org 300 MX 10 host.example.org.\n\
         update add v6.example.org 300 AAAA 2001:db8::6\n\
         update add alias.example.org 300 CNAME www.example.org.\n\
         update add _sip._udp.example.org 300 SRV 10 5 5060 host.example.org.\n\
         update add example.org 300 CAA 0 issue \"letsencrypt.org\"\n",
        "NOERROR",
    );
    assert_eq!(dig_rrs(dns, "example.org", "MX"), ["10 host.example.org."]);
    assert_eq!(dig_rrs(dns, "v6.example.org", "AAAA"), ["2001:db8::6"]);
    assert_eq!(
        dig_rrs(dns, "alias.example.org", "CNAME"),
        ["www.example.org."]
    );
    assert_eq!(
        dig_rrs(dns, "_sip._udp.example.org", "SRV"),
        ["10 5 5060 host.example.org."]
    );
    assert_eq!(
        dig_rrs(dns, "example.org", "CAA"),
        ["0 issue \"letsencrypt.org\""]
    );
    // The LuaDNS API sees what UPDATE wrote (one store).
    let list = e.lua().ok(&format!("{}?query=v6", records_path(e.zid)));
    assert_eq!(list[0]["content"], "2001:db8::6", "{list}");

    // Delete one RR (§2.5.4), then every RRset of a name (§2.5.3).
    expect(
        dns,
        key,
        false,
        "zone example.org\nupdate delete host.example.org TXT \"hello world\"\n",
        "NOERROR",
    );
    assert!(dig_rrs(dns, "host.example.org", "TXT").is_empty());
    assert_eq!(dig_rrs(dns, "host.example.org", "A"), ["192.0.2.3"]);
    expect(
        dns,
        key,
        true,
        "zone example.org\nupdate delete v6.example.org\n",
        "NOERROR",
    );
    assert_eq!(dig_status(dns, "v6.example.org", "AAAA"), "NXDOMAIN");
    // The records the API made are untouched by all this.
    assert_eq!(dig_rrs(dns, "www.example.org", "A"), ["192.0.2.10"]);

    // Answered after the change is durable: SIGKILL right after the answer loses nothing.
    expect(
        dns,
        key,
        false,
        "zone example.org\nupdate add durable.example.org 300 A 192.0.2.77\n",
        "NOERROR",
    );
    e.srv.kill9();
    e.srv = Server::start_cfg(&e.dir, &e.dir.path("lucentd.toml"));
    assert_eq!(
        dig_rrs(e.srv.dns, "durable.example.org", "A"),
        ["192.0.2.77"]
    );
    assert_eq!(dig_rrs(e.srv.dns, "host.example.org", "A"), ["192.0.2.3"]);
    report!("dns_update hosted: add/replace/delete over UDP and TCP, serial {s0} -> {s1}, kill -9 kept the last update");
}

#[test]
fn issue19_prerequisites_and_every_update_rcode_a_failed_update_changes_nothing() {
    let e = Fixture::hosted("upd-rcodes").start();
    let secret = tsig_key(&e.dir, EMAIL, "upd-rc", &["--zone", "example.org"]);
    let key = Some(("upd-rc", secret.as_str()));
    let dns = e.srv.dns;
    expect(
        dns,
        key,
        false,
        "zone example.org\nupdate add host.example.org 300 A 192.0.2.1\n",
        "NOERROR",
    );

    // Prerequisites that hold (§2.4.1-§2.4.5, value-dependent included): NOERROR, applied.
    expect(
        dns,
        key,
        false,
        "zone example.org\n\
         prereq yxdomain host.example.org\n\
         prereq nxdomain new.example.org\n\
         prereq yxrrset host.example.org A\n\
         prereq yxrrset host.example.org A 192.0.2.1\n\
         prereq nxrrset host.example.org AAAA\n\
         update add new.example.org 300 AAAA 2001:db8::1\n",
        "NOERROR",
    );
    assert_eq!(dig_rrs(dns, "new.example.org", "AAAA"), ["2001:db8::1"]);

    let add = "update add z.example.org 300 A 192.0.2.99\n";
    let cases: Vec<(String, &str)> = vec![
        // §2.4.5 "Name Is Not In Use" on a name in use.
        (format!("prereq nxdomain host.example.org\n{add}"), "YXDOMAIN"),
        // §2.4.4 "Name Is In Use" on a missing name.
        (format!("prereq yxdomain missing.example.org\n{add}"), "NXDOMAIN"),
        // §2.4.3 "RRset Does Not Exist" on an RRset that does.
        (format!("prereq nxrrset host.example.org A\n{add}"), "YXRRSET"),
        // §2.4.1 and §2.4.2 on an RRset that is missing or holds other values.
        (format!("prereq yxrrset host.example.org MX\n{add}"), "NXRRSET"),
        (
            format!("prereq yxrrset host.example.org A 192.0.2.50\n{add}"),
            "NXRRSET",
        ),
        // §3.4.1.3 and §3.2.5: names outside the zone section's zone.
        (
            "update add x.example.net 300 A 192.0.2.5\n".to_string(),
            "NOTZONE",
        ),
        (
            format!("prereq yxdomain www.example.net\n{add}"),
            "NOTZONE",
        ),
        // The SOA and the apex NS are the server's.
        (
            "update add example.org 300 SOA ns1.example.org. hostmaster.example.org. 9 3600 600 86400 300\n"
                .to_string(),
            "REFUSED",
        ),
        (
            "update add example.org 300 NS ns9.example.net.\n".to_string(),
            "REFUSED",
        ),
        ("update delete example.org NS\n".to_string(), "REFUSED"),
        // The API's validation: a CNAME leading back to itself is refused, and with it the
        // good record of the same message (§3.4: all or nothing).
        (
            format!("{add}update add loop.example.org 300 CNAME loop.example.org.\n"),
            "REFUSED",
        ),
    ];
    for (body, rcode) in &cases {
        refused_unchanged(
            &e,
            "example.org",
            key,
            &format!("zone example.org\n{body}"),
            rcode,
        );
    }
    assert_eq!(dig_status(dns, "z.example.org", "A"), "NXDOMAIN");
    assert_eq!(dig_status(dns, "loop.example.org", "CNAME"), "NXDOMAIN");

    // TSIG (RFC 8945 §5.2): a wrong secret is BADSIG, an unknown key BADKEY, both NOTAUTH;
    // an unsigned update is refused.
    let wrong = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let script = format!("zone example.org\n{add}");
    refused_unchanged(
        &e,
        "example.org",
        Some(("upd-rc", &wrong)),
        &script,
        "NOTAUTH(BADSIG)",
    );
    refused_unchanged(
        &e,
        "example.org",
        Some(("no-such-key", &secret)),
        &script,
        "NOTAUTH(BADKEY)",
    );
    refused_unchanged(&e, "example.org", None, &script, "REFUSED");
    // A zone this server does not serve (§3.1.2).
    expect(
        dns,
        key,
        false,
        "zone example.net\nupdate add x.example.net 300 A 192.0.2.5\n",
        "NOTAUTH",
    );
    assert_eq!(dig_status(dns, "z.example.org", "A"), "NXDOMAIN");

    // FORMERR (§3.1.1, §3.4.1.3), from messages built here and signed with the right key, so
    // that only their form is wrong. The same builder's well-formed update works.
    let formerr = [
        (
            "two zones",
            raw_update(&[ZONE_SOA, ZONE_SOA], &[add_a("f1")]),
        ),
        (
            "zone of type A",
            raw_update(&[("example.org", 1)], &[add_a("f2")]),
        ),
        (
            "update of class CH",
            raw_update(
                &[ZONE_SOA],
                &[rr("f3.example.org", 1, 3, 300, &[192, 0, 2, 3])],
            ),
        ),
        (
            "A with 3 bytes of RDATA",
            raw_update(
                &[ZONE_SOA],
                &[rr("f4.example.org", 1, 1, 300, &[192, 0, 2])],
            ),
        ),
    ];
    let before = stored(&e.dir, "example.org");
    for (what, msg) in &formerr {
        for tcp in [false, true] {
            let answer = exchange(dns, &tsig_sign(msg, "upd-rc", &secret), tcp);
            assert_eq!(rcode(&answer), ResponseCode::FormErr, "{what}: {answer:?}");
        }
    }
    assert!(
        stored(&e.dir, "example.org") == before,
        "a FORMERR changed the zone"
    );
    let good = raw_update(&[ZONE_SOA], &[add_a("raw")]);
    let answer = exchange(dns, &tsig_sign(&good, "upd-rc", &secret), false);
    assert_eq!(rcode(&answer), ResponseCode::NoError, "{answer:?}");
    assert_eq!(dig_rrs(dns, "raw.example.org", "A"), ["192.0.2.3"]);
    report!(
        "dns_update rcodes: {} refused updates changed nothing; {} FORMERR messages over UDP and TCP",
        cases.len() + 3,
        formerr.len()
    );
}

#[test]
fn issue19_shared_zone_hostnames_take_one_a_aaaa_and_txt_and_acme_challenge_sets_the_txt() {
    let e = Fixture::shared("upd-shared", SHARED, EMAIL)
        .hostnames(&["home", "other"])
        .start();
    let dns = e.srv.dns;
    let home = format!("home.{SHARED}");
    let both = format!("{home},other.{SHARED}");
    let all = tsig_key(&e.dir, EMAIL, "upd-all", &["--hostname", &both]);
    let all = Some(("upd-all", all.as_str()));
    let zone = format!("zone {SHARED}\n");

    expect(
        dns,
        all,
        false,
        &format!("{zone}update add {home} 60 A 192.0.2.7\nupdate add {home} 60 AAAA 2001:db8::7\n"),
        "NOERROR",
    );
    assert_eq!(dig_rrs(dns, &home, "A"), ["192.0.2.7"]);
    assert_eq!(dig_rrs(dns, &home, "AAAA"), ["2001:db8::7"]);
    let h = e.host(&home);
    assert_eq!(
        (h["ipv4"].as_str(), h["ipv6"].as_str()),
        (Some("192.0.2.7"), Some("2001:db8::7")),
        "{h}"
    );
    // One value per type: a second A is refused, a replacement is not.
    let before = stored(&e.dir, SHARED);
    expect(
        dns,
        all,
        false,
        &format!("{zone}update add {home} 60 A 192.0.2.8\n"),
        "REFUSED",
    );
    assert_eq!(dig_rrs(dns, &home, "A"), ["192.0.2.7"]);
    assert!(stored(&e.dir, SHARED) == before);
    expect(
        dns,
        all,
        true,
        &format!("{zone}update delete {home} A\nupdate add {home} 60 A 192.0.2.8\n"),
        "NOERROR",
    );
    assert_eq!(dig_rrs(dns, &home, "A"), ["192.0.2.8"]);
    // Only A, AAAA and TXT live on a hostname.
    expect(
        dns,
        all,
        false,
        &format!("{zone}update add {home} 60 MX 10 {home}.\n"),
        "REFUSED",
    );

    // TXT at the hostname, and at _acme-challenge.<hostname>: both set the one TXT, served at
    // the hostname and below it (DuckDNS's wildcard).
    expect(
        dns,
        all,
        false,
        &format!("{zone}update add {home} 60 TXT \"plain\"\n"),
        "NOERROR",
    );
    assert_eq!(dig_rrs(dns, &home, "TXT"), ["\"plain\""]);
    expect(
        dns,
        all,
        false,
        &format!(
            "{zone}update delete _acme-challenge.{home} TXT\n\
             update add _acme-challenge.{home} 60 TXT \"token-1\"\n"
        ),
        "NOERROR",
    );
    assert_eq!(e.host(&home)["txt"], "token-1");
    for n in [home.clone(), format!("_acme-challenge.{home}")] {
        assert_eq!(dig_rrs(dns, &n, "TXT"), ["\"token-1\""], "{n}");
    }
    expect(
        dns,
        all,
        false,
        &format!("{zone}update delete _acme-challenge.{home} TXT \"token-1\"\n"),
        "NOERROR",
    );
    assert!(dig_rrs(dns, &format!("_acme-challenge.{home}"), "TXT").is_empty());
    assert!(e.host(&home)["txt"].as_str().unwrap_or("").is_empty());
    // Deleting the A leaves the AAAA.
    expect(
        dns,
        all,
        false,
        &format!("{zone}update delete {home} A\n"),
        "NOERROR",
    );
    assert!(dig_rrs(dns, &home, "A").is_empty());
    assert_eq!(dig_rrs(dns, &home, "AAAA"), ["2001:db8::7"]);

    // A key limited to one hostname: that one works, the user's other hostname, a name no one
    // owns and another user's hostname are refused, and nothing changes.
    let only = tsig_key(&e.dir, EMAIL, "upd-home", &["--hostname", &home]);
    let only = Some(("upd-home", only.as_str()));
    expect(
        dns,
        only,
        false,
        &format!("{zone}update add {home} 60 A 192.0.2.9\n"),
        "NOERROR",
    );
    assert_eq!(dig_rrs(dns, &home, "A"), ["192.0.2.9"]);
    let theirs = add_user(&e.dir, "b@example.org", &[]);
    let r = e.srv.json(
        "POST",
        "/v1/hostnames",
        &theirs,
        r#"{"hostname":"theirs","ipv4":"192.0.2.200"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    for (k, name) in [
        (only, format!("other.{SHARED}")),
        (only, format!("_acme-challenge.other.{SHARED}")),
        (only, format!("nobody.{SHARED}")),
        (all, format!("theirs.{SHARED}")),
        (all, format!("nobody.{SHARED}")),
        (all, SHARED.to_string()),
    ] {
        refused_unchanged(
            &e,
            SHARED,
            k,
            &format!("{zone}update add {name} 60 TXT \"x\"\n"),
            "REFUSED",
        );
    }
    assert_eq!(
        dig_rrs(dns, &format!("theirs.{SHARED}"), "A"),
        ["192.0.2.200"]
    );
    assert_eq!(
        dig_status(dns, &format!("nobody.{SHARED}"), "A"),
        "NXDOMAIN"
    );
    report!("dns_update shared: A/AAAA/TXT of a hostname, _acme-challenge TXT, limits enforced");
}

#[test]
fn issue19_a_zone_limited_key_stays_in_its_zone_and_a_revoked_key_is_refused_at_once() {
    let e = Fixture::hosted("upd-limits").start();
    admin(&e.dir, &["zone", "add", "example.com", "--owner", EMAIL]);
    let dns = e.srv.dns;
    // A zone added by the admin command while the server runs is served once it sees it.
    wait_until("example.com served", || {
        dig_status(dns, "example.com", "SOA") == "NOERROR"
    });
    let secret = tsig_key(&e.dir, EMAIL, "upd-org-only", &["--zone", "example.org"]);
    let key = Some(("upd-org-only", secret.as_str()));
    expect(
        dns,
        key,
        false,
        "zone example.org\nupdate add a.example.org 300 A 192.0.2.1\n",
        "NOERROR",
    );
    // The same user's other zone is out of this key's reach.
    let before = stored(&e.dir, "example.com");
    let r = nsupdate(
        dns,
        key,
        false,
        "zone example.com\nupdate add a.example.com 300 A 192.0.2.1\n",
    );
    let code = r.update_rcode();
    assert!(code == "NOTZONE" || code == "REFUSED", "{}", r.text());
    assert!(stored(&e.dir, "example.com") == before);
    assert_eq!(dig_status(dns, "a.example.com", "A"), "NXDOMAIN");
    // A key of another user reaches nothing of this user's.
    admin(&e.dir, &["user", "add", "b@example.org"]);
    admin(
        &e.dir,
        &["zone", "add", "example.net", "--owner", "b@example.org"],
    );
    let other = tsig_key(&e.dir, "b@example.org", "upd-b", &["--zone", "example.net"]);
    refused_unchanged(
        &e,
        "example.org",
        Some(("upd-b", &other)),
        "zone example.org\nupdate add b.example.org 300 A 192.0.2.2\n",
        "REFUSED",
    );

    // Revoked while the server runs: the very next update is NOTAUTH (BADKEY: no such key).
    admin(&e.dir, &["user", "tsig-revoke", EMAIL, "upd-org-only"]);
    refused_unchanged(
        &e,
        "example.org",
        key,
        "zone example.org\nupdate add a.example.org 300 A 192.0.2.3\n",
        "NOTAUTH(BADKEY)",
    );
    assert_eq!(dig_rrs(dns, "a.example.org", "A"), ["192.0.2.1"]);
    report!(
        "dns_update limits: zone-limited key kept out of example.com, revoked key NOTAUTH at once"
    );
}

#[test]
fn issue19_certbot_dns_rfc2136_gets_a_certificate_for_a_hosted_zone_name() {
    let e = Fixture::hosted("upd-certbot").start();
    e.record("www.example.org.", "A", "192.0.2.10", 300);
    let secret = tsig_key(&e.dir, EMAIL, "certbot", &["--zone", "example.org"]);
    // certbot-dns-rfc2136 finds the zone by an SOA query signed with the key (its
    // `_query_soa`), and wants an authoritative, verifiable answer.
    let y = format!("hmac-sha256:certbot:{secret}");
    let soa = dig(e.srv.dns, &["-y", &y], "example.org", "SOA");
    assert!(
        soa.contains("status: NOERROR")
            && soa.contains(" aa")
            && soa.contains("TSIG PSEUDOSECTION")
            && !soa.contains("could not be validated"),
        "an SOA query signed with the UPDATE key: {soa}"
    );
    let pebble = Pebble::start(&e.dir, e.srv.dns);
    let s0 = serial(e.srv.dns, "example.org");
    let (ran, live) = certbot_rfc2136(
        &e.dir,
        &pebble,
        e.srv.dns,
        ("certbot", &secret),
        "www.example.org",
    );
    assert_eq!(
        ran.code,
        0,
        "{}\npebble:\n{}\nlucentd:\n{}",
        ran.text(),
        pebble.log_text(),
        e.srv.log_text()
    );
    pebble.assert_issued(
        &e.dir,
        &live.join("cert.pem"),
        &live.join("chain.pem"),
        "www.example.org",
    );
    // Pebble asked lucentd (its only resolver) for the TXT and found it...
    assert!(
        pebble
            .log_text()
            .contains("set VALID by completed challenge"),
        "{}",
        pebble.log_text()
    );
    // ... and certbot removed it: gone, with a serial bump for the add and one for the delete.
    assert_eq!(
        dig_status(e.srv.dns, "_acme-challenge.www.example.org", "TXT"),
        "NXDOMAIN"
    );
    let s1 = serial(e.srv.dns, "example.org");
    assert!(
        s1 >= s0 + 2,
        "add and delete each bump the serial: {s0} -> {s1}"
    );
    assert_eq!(changes_by(&e.srv, "certbot"), 2, "{}", e.srv.log_text());
    assert_eq!(dig_rrs(e.srv.dns, "www.example.org", "A"), ["192.0.2.10"]);
    report!("dns_update certbot: certificate for www.example.org from Pebble, serial {s0} -> {s1}");
}

#[test]
fn issue19_lego_rfc2136_gets_a_certificate_for_a_shared_zone_hostname() {
    let e = Fixture::shared("upd-lego", SHARED, EMAIL).start();
    e.add_hostname(serde_json::json!({"hostname": "home", "ipv4": "192.0.2.7"}));
    let home = format!("home.{SHARED}");
    let secret = tsig_key(&e.dir, EMAIL, "lego", &["--hostname", &home]);
    let pebble = Pebble::start(&e.dir, e.srv.dns);
    let s0 = serial(e.srv.dns, SHARED);
    let (ran, certs) = lego_rfc2136(&e.dir, &pebble, e.srv.dns, ("lego", &secret), &home);
    assert_eq!(
        ran.code,
        0,
        "{}\npebble:\n{}\nlucentd:\n{}",
        ran.text(),
        pebble.log_text(),
        e.srv.log_text()
    );
    let cert = certs.join(format!("{home}.crt"));
    pebble.assert_issued(
        &e.dir,
        &cert,
        &certs.join(format!("{home}.issuer.crt")),
        &home,
    );
    assert!(
        pebble
            .log_text()
            .contains("set VALID by completed challenge"),
        "{}",
        pebble.log_text()
    );
    // The challenge TXT was the hostname's, and lego's cleanup cleared it.
    assert!(dig_rrs(e.srv.dns, &format!("_acme-challenge.{home}"), "TXT").is_empty());
    assert!(dig_rrs(e.srv.dns, &home, "TXT").is_empty());
    assert!(e.host(&home)["txt"].as_str().unwrap_or("").is_empty());
    assert_eq!(dig_rrs(e.srv.dns, &home, "A"), ["192.0.2.7"]);
    let s1 = serial(e.srv.dns, SHARED);
    assert!(
        s1 >= s0 + 2,
        "add and delete each bump the serial: {s0} -> {s1}"
    );
    assert_eq!(changes_by(&e.srv, "lego"), 2, "{}", e.srv.log_text());
    report!("dns_update lego: certificate for {home} from Pebble, serial {s0} -> {s1}");
}

// ---- UPDATE messages built byte by byte (RFC 2136 §2), signed per RFC 8945 §4.3

/// The zone section entry of a well-formed update: example.org, type SOA.
const ZONE_SOA: (&str, u16) = ("example.org", 6);

/// `name` in uncompressed wire form (lowercase: canonical for TSIG, RFC 8945 §4.3.3).
fn wire_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.trim_end_matches('.').split('.') {
        out.push(label.len() as u8);
        out.extend(label.to_ascii_lowercase().bytes());
    }
    out.push(0);
    out
}

/// A resource record: owner, TYPE, CLASS, TTL, RDATA (RFC 1035 §4.1.3).
fn rr(name: &str, rtype: u16, class: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut out = wire_name(name);
    out.extend(rtype.to_be_bytes());
    out.extend(class.to_be_bytes());
    out.extend(ttl.to_be_bytes());
    out.extend((rdata.len() as u16).to_be_bytes());
    out.extend(rdata);
    out
}

/// `LABEL.example.org 300 IN A 192.0.2.3`, an add (§2.5.1).
fn add_a(label: &str) -> Vec<u8> {
    rr(&format!("{label}.example.org"), 1, 1, 300, &[192, 0, 2, 3])
}

/// An UPDATE (opcode 5) with these zone entries (name, type; class IN) and update RRs.
fn raw_update(zones: &[(&str, u16)], updates: &[Vec<u8>]) -> Vec<u8> {
    static NEXT: AtomicU16 = AtomicU16::new(0x5a00);
    let id = NEXT.fetch_add(1, Ordering::SeqCst);
    let mut m = id.to_be_bytes().to_vec();
    m.extend([5 << 3, 0]);
    for count in [zones.len(), 0, updates.len(), 0] {
        m.extend((count as u16).to_be_bytes());
    }
    for (name, ztype) in zones {
        m.extend(wire_name(name));
        m.extend(ztype.to_be_bytes());
        m.extend(1u16.to_be_bytes());
    }
    for u in updates {
        m.extend(u);
    }
    m
}

/// `msg` with a TSIG RR appended (RFC 8945 §4.2), hmac-sha256 under `key`, the MAC computed
/// by `openssl` over the message and the TSIG variables (§4.3.3), time now, fudge 300.
fn tsig_sign(msg: &[u8], key: &str, secret_b64: &str) -> Vec<u8> {
    let secret = base64::engine::general_purpose::STANDARD
        .decode(secret_b64)
        .expect("base64 secret");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let time = &now.to_be_bytes()[2..]; // 48 bits
    let alg = wire_name("hmac-sha256");
    let mut vars = wire_name(key);
    vars.extend(255u16.to_be_bytes()); // CLASS ANY
    vars.extend(0u32.to_be_bytes()); // TTL
    vars.extend(&alg);
    vars.extend(time);
    vars.extend(300u16.to_be_bytes()); // fudge
    vars.extend(0u16.to_be_bytes()); // error
    vars.extend(0u16.to_be_bytes()); // other len
    let mac = hmac_sha256(&secret, &[msg, &vars].concat());
    let mut rdata = alg;
    rdata.extend(time);
    rdata.extend(300u16.to_be_bytes());
    rdata.extend((mac.len() as u16).to_be_bytes());
    rdata.extend(&mac);
    rdata.extend(&msg[..2]); // original ID
    rdata.extend(0u16.to_be_bytes());
    rdata.extend(0u16.to_be_bytes());
    let mut out = msg.to_vec();
    let arcount = u16::from_be_bytes([out[10], out[11]]) + 1;
    out[10..12].copy_from_slice(&arcount.to_be_bytes());
    out.extend(rr(key, 250, 255, 0, &rdata));
    out
}

/// One exchange of raw bytes with lucentd over UDP or TCP; the answer, same id.
fn exchange(dns: SocketAddr, msg: &[u8], tcp: bool) -> Message {
    let answer = if tcp {
        let mut s = TcpStream::connect_timeout(&dns, Duration::from_secs(3)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        s.write_all(&framed(msg)).expect("write");
        let mut len = [0u8; 2];
        s.read_exact(&mut len).expect("read length");
        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut buf).expect("read answer");
        Message::from_bytes(&buf).expect("decode")
    } else {
        udp_raw(dns, msg).0
    };
    assert_eq!(answer.metadata.id.to_be_bytes(), msg[..2], "{answer:?}");
    answer
}

/// A secondary's NOTIFY port: a UDP socket on 127.0.0.1 whose thread answers each NOTIFY
/// (RFC 1996 §4.7: QR set, same id) and passes on the zone and the serial of the SOA it carries
/// (§3.7). The thread ends when the listener is dropped.
struct NotifyListener {
    addr: SocketAddr,
    seen: mpsc::Receiver<(String, u32)>,
    stop: Arc<AtomicBool>,
}

impl NotifyListener {
    fn start() -> NotifyListener {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let addr = sock.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, seen) = mpsc::channel();
        let done = stop.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !done.load(Ordering::SeqCst) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let Ok(m) = Message::from_bytes(&buf[..n]) else {
                    continue;
                };
                if m.metadata.op_code != OpCode::Notify {
                    continue;
                }
                let mut reply = buf[..12].to_vec();
                reply[2] |= 0x80;
                reply[3] = 0;
                reply[4..12].fill(0);
                let _ = sock.send_to(&reply, from);
                let zone = m
                    .queries
                    .first()
                    .map(|q| q.name().to_string())
                    .unwrap_or_default();
                let serial = m.answers.iter().find_map(|r| match &r.data {
                    RData::SOA(soa) => Some(soa.serial),
                    _ => None,
                });
                let _ = tx.send((zone, serial.unwrap_or(0)));
            }
        });
        NotifyListener { addr, seen, stop }
    }

    /// Wait (5 s at most) for a NOTIFY of `zone` carrying serial `serial` or a later one.
    fn wait_for(&self, zone: &str, serial: u32) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut got = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.seen.recv_timeout(left) {
                Ok((z, s)) if z.trim_end_matches('.') == zone && s >= serial => return,
                Ok(other) => got.push(other),
                Err(_) => panic!("no NOTIFY of {zone} at serial {serial} within 5 s; got {got:?}"),
            }
        }
    }
}

impl Drop for NotifyListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
