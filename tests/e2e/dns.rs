//! The authoritative DNS responder against the real server, with data written through the
//! HTTP APIs (shared-zone hostnames via `/v1/hostnames` and `/update`, hosted-zone records via
//! the LuaDNS API): header bits, positive and negative answers, wildcards, CNAMEs, referrals,
//! additional-section processing, ANY, TCP, EDNS truncation, live updates, restarts, zones
//! added and removed by the admin command, concurrency, and the query counters.
//! Test names carry the RFC section they check. Each test starts from the hosted-zone fixture
//! beside the shared zone `dyn.example.net` (one user with an update token and an API key).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use serde_json::json;

use crate::harness::*;

/// The SOA of a negative answer: in authority, none in the answer section.
fn assert_negative(m: &Message, code: ResponseCode, zone: &str) {
    assert_eq!(rcode(m), code, "{m:?}");
    assert!(m.answers.is_empty(), "{:?}", m.answers);
    assert!(m.metadata.authoritative, "AA on negative answers");
    assert_eq!(m.authorities.len(), 1, "{:?}", m.authorities);
    let soa = &m.authorities[0];
    assert_eq!(soa.record_type(), RecordType::SOA);
    assert_eq!(soa.name, Name::from_ascii(zone).unwrap());
    // RFC 2308 §3: TTL = min(SOA TTL 3600, SOA MINIMUM 60).
    assert_eq!(soa.ttl, 60, "negative TTL");
    match &soa.data {
        RData::SOA(s) => assert_eq!(s.minimum, 60),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rfc1035_4_1_1_aa_set_ra_clear_and_hostname_rrsets() {
    let e = Fixture::hosted("dns-basics").with_shared(SHARED).start();
    e.add_hostname(
        json!({"hostname":"home","zoneDomain":SHARED,"ipv4":"203.0.113.10",
        "ipv6":"2001:db8::10","txt":"hello world","ttl":120}),
    );
    for (t, want) in [
        (RecordType::A, "203.0.113.10"),
        (RecordType::AAAA, "2001:db8::10"),
    ] {
        let (m, _) = udp(e.srv.dns, &query_msg("home.dyn.example.net.", t, None));
        assert_eq!(rcode(&m), ResponseCode::NoError);
        assert!(m.metadata.authoritative, "AA set");
        assert!(!m.metadata.recursion_available, "RA clear");
        assert!(m.metadata.recursion_desired, "RD copied (RFC 1035 §4.1.1)");
        assert_eq!(answers(&m), [want]);
        assert_eq!(m.answers[0].ttl, 120, "hostname TTL");
        assert_eq!(
            m.answers[0].name,
            Name::from_ascii("home.dyn.example.net.").unwrap()
        );
    }
    let m = e.srv.dig("home.dyn.example.net.", RecordType::TXT);
    match &m.answers[..] {
        [r] => match &r.data {
            RData::TXT(t) => assert_eq!(&*t.txt_data[0], b"hello world"),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert_eq!(m.answers[0].ttl, 120);
    // The apex of a shared zone: SOA (answer section) and NS.
    let m = e.srv.dig("dyn.example.net.", RecordType::SOA);
    assert_eq!(types(&m.answers), [RecordType::SOA]);
    assert!(m.metadata.authoritative);
    let m = e.srv.dig("dyn.example.net.", RecordType::NS);
    assert!(!m.answers.is_empty());
    assert!(m.answers.iter().all(|r| r.record_type() == RecordType::NS));
    // A hosted zone's apex too.
    let m = e.srv.dig("example.org.", RecordType::SOA);
    assert_eq!(types(&m.answers), [RecordType::SOA]);
    assert!(m.metadata.authoritative && !m.metadata.recursion_available);
}

#[test]
fn rfc4592_acme_challenge_below_hostname() {
    let e = Fixture::hosted("dns-acme").with_shared(SHARED).start();
    e.add_hostname(
        json!({"hostname":"box","zoneDomain":SHARED,"ipv4":"203.0.113.20","txt":"acme-token-1"}),
    );
    e.add_hostname(json!({"hostname":"notxt","zoneDomain":SHARED,"ipv4":"203.0.113.21"}));
    let m = e
        .srv
        .dig("_acme-challenge.box.dyn.example.net.", RecordType::TXT);
    assert_eq!(rcode(&m), ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert_eq!(answers(&m), ["acme-token-1"]);
    // Synthesised with the query name as owner (RFC 4592 §3.3.1).
    assert_eq!(
        m.answers[0].name,
        Name::from_ascii("_acme-challenge.box.dyn.example.net.").unwrap()
    );
    // Deeper names match the same wildcard; other types there are NODATA.
    assert_eq!(
        answers(&e.srv.dig("a.b.box.dyn.example.net.", RecordType::TXT)),
        ["acme-token-1"]
    );
    assert_negative(
        &e.srv
            .dig("_acme-challenge.box.dyn.example.net.", RecordType::A),
        ResponseCode::NoError,
        "dyn.example.net.",
    );
    // A hostname without TXT has nothing below it.
    assert_negative(
        &e.srv
            .dig("_acme-challenge.notxt.dyn.example.net.", RecordType::TXT),
        ResponseCode::NXDomain,
        "dyn.example.net.",
    );
    // DuckDNS-style TXT update is served at once; clearing it removes the wildcard answer.
    e.update("domains=box&txt=acme-token-2");
    assert_eq!(
        answers(
            &e.srv
                .dig("_acme-challenge.box.dyn.example.net.", RecordType::TXT)
        ),
        ["acme-token-2"]
    );
    e.update("domains=box&txt=&clear=true");
    assert_negative(
        &e.srv
            .dig("_acme-challenge.box.dyn.example.net.", RecordType::TXT),
        ResponseCode::NXDomain,
        "dyn.example.net.",
    );
    assert_eq!(
        answers(&e.srv.dig("box.dyn.example.net.", RecordType::A)),
        ["203.0.113.20"],
        "the address stays"
    );
}

#[test]
fn rfc2308_nxdomain_vs_nodata() {
    let e = Fixture::hosted("dns-negative").with_shared(SHARED).start();
    e.add_hostname(json!({"hostname":"v4only","zoneDomain":SHARED,"ipv4":"203.0.113.30"}));
    e.record(
        "_sip._udp.example.org.",
        "SRV",
        "0 5 5060 sip.example.org.",
        300,
    );
    e.record("www.example.org.", "A", "192.0.2.1", 300);

    // RFC 2308 §2.1: the name does not exist.
    for (n, z) in [
        ("nothere.dyn.example.net.", "dyn.example.net."),
        ("nothere.example.org.", "example.org."),
        ("deep.nothere.example.org.", "example.org."),
    ] {
        assert_negative(&e.srv.dig(n, RecordType::A), ResponseCode::NXDomain, z);
    }
    // RFC 2308 §2.2: the name exists without that type.
    assert_negative(
        &e.srv.dig("v4only.dyn.example.net.", RecordType::AAAA),
        ResponseCode::NoError,
        "dyn.example.net.",
    );
    assert_negative(
        &e.srv.dig("www.example.org.", RecordType::MX),
        ResponseCode::NoError,
        "example.org.",
    );
    assert_negative(
        &e.srv.dig("example.org.", RecordType::A),
        ResponseCode::NoError,
        "example.org.",
    );
    // RFC 8020 §2: an empty non-terminal exists (NODATA, not NXDOMAIN).
    assert_negative(
        &e.srv.dig("_udp.example.org.", RecordType::TXT),
        ResponseCode::NoError,
        "example.org.",
    );
    // lego walks SOA queries upward from the challenge name: never REFUSED/SERVFAIL inside.
    for n in [
        "_acme-challenge.www.example.org.",
        "www.example.org.",
        "_acme-challenge.v4only.dyn.example.net.",
    ] {
        let m = e.srv.dig(n, RecordType::SOA);
        assert!(
            matches!(rcode(&m), ResponseCode::NoError | ResponseCode::NXDomain),
            "{n}: {:?}",
            rcode(&m)
        );
        assert!(m.answers.is_empty(), "SOA only at the apex: {n}");
        assert_eq!(types(&m.authorities), [RecordType::SOA]);
    }
}

#[test]
fn rfc1035_4_1_1_refused_outside_served_zones() {
    let e = Fixture::hosted("dns-refused").with_shared(SHARED).start();
    for n in [
        "example.com.",
        "www.example.com.",
        "org.",
        ".",
        "net.",
        "example.net.",
        "xexample.org.",
    ] {
        let m = e.srv.dig(n, RecordType::A);
        assert_eq!(rcode(&m), ResponseCode::Refused, "{n}");
        assert!(!m.metadata.authoritative, "{n}: AA clear");
        assert!(!m.metadata.recursion_available);
        assert!(m.answers.is_empty() && m.authorities.is_empty(), "{n}");
    }
    // Zone transfers are refused as well.
    assert_eq!(
        rcode(&dns_tcp(e.srv.dns, "example.org.", RecordType::AXFR)),
        ResponseCode::Refused
    );
}

#[test]
fn rfc4343_case_insensitive_with_query_case_echoed() {
    let e = Fixture::hosted("dns-case").with_shared(SHARED).start();
    e.record("www.example.org.", "A", "192.0.2.1", 300);
    e.add_hostname(json!({"hostname":"mixed","zoneDomain":SHARED,"ipv4":"203.0.113.40"}));
    for q in ["WwW.ExAmPlE.oRg.", "MIXED.DYN.Example.NET."] {
        let (m, _) = udp(e.srv.dns, &query_msg(q, RecordType::A, None));
        assert_eq!(rcode(&m), ResponseCode::NoError, "{q}");
        assert_eq!(m.answers.len(), 1, "{q}");
        // RFC 4343 §4.1: the question is echoed as sent; the owner keeps the query's case.
        assert_eq!(m.queries[0].name().to_string(), q);
        assert_eq!(m.answers[0].name.to_string(), q);
    }
    // Negative answers work case-insensitively too.
    assert_eq!(
        rcode(&e.srv.dig("NOPE.EXAMPLE.ORG.", RecordType::A)),
        ResponseCode::NXDomain
    );
}

#[test]
fn rfc1034_4_3_2_cname_with_in_zone_target() {
    let e = Fixture::hosted("dns-cname").with_shared(SHARED).start();
    e.record("www.example.org.", "A", "192.0.2.1", 300);
    e.record("alias.example.org.", "CNAME", "www.example.org.", 600);
    e.record("out.example.org.", "CNAME", "target.example.com.", 600);
    e.record(
        "dangling.example.org.",
        "CNAME",
        "missing.example.org.",
        600,
    );

    let m = e.srv.dig("alias.example.org.", RecordType::A);
    assert_eq!(rcode(&m), ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert_eq!(types(&m.answers), [RecordType::CNAME, RecordType::A]);
    assert_eq!(m.answers[0].ttl, 600);
    assert_eq!(
        m.answers[1].name,
        Name::from_ascii("www.example.org.").unwrap()
    );
    assert_eq!(m.answers[1].data.to_string(), "192.0.2.1");
    // Asking for the CNAME itself: just the CNAME.
    let m = e.srv.dig("alias.example.org.", RecordType::CNAME);
    assert_eq!(types(&m.answers), [RecordType::CNAME]);
    // Out-of-zone target: the CNAME only, never a recursion.
    let m = e.srv.dig("out.example.org.", RecordType::A);
    assert_eq!(rcode(&m), ResponseCode::NoError);
    assert_eq!(types(&m.answers), [RecordType::CNAME]);
    // RFC 6604 §3: the rcode follows the end of the chain.
    let m = e.srv.dig("dangling.example.org.", RecordType::A);
    assert_eq!(rcode(&m), ResponseCode::NXDomain);
    assert_eq!(types(&m.answers), [RecordType::CNAME]);
    assert_eq!(types(&m.authorities), [RecordType::SOA]);
    // A type the target lacks: CNAME + NODATA.
    let m = e.srv.dig("alias.example.org.", RecordType::AAAA);
    assert_eq!(rcode(&m), ResponseCode::NoError);
    assert_eq!(types(&m.answers), [RecordType::CNAME]);
}

#[test]
fn rfc4592_wildcards_only_for_missing_names() {
    let e = Fixture::hosted("dns-wildcard").with_shared(SHARED).start();
    e.record("*.w.example.org.", "A", "192.0.2.99", 300);
    e.record("real.w.example.org.", "TXT", "i exist", 300);
    e.record("a.w.example.org.", "A", "192.0.2.1", 300);

    for n in ["nothing.w.example.org.", "x.y.w.example.org."] {
        let m = e.srv.dig(n, RecordType::A);
        assert_eq!(rcode(&m), ResponseCode::NoError, "{n}");
        assert!(m.metadata.authoritative);
        assert_eq!(answers(&m), ["192.0.2.99"], "{n}");
        assert_eq!(
            m.answers[0].name,
            Name::from_ascii(n).unwrap(),
            "owner = qname"
        );
    }
    // Existing names are not covered by the wildcard (RFC 4592 §2.2.1).
    assert_negative(
        &e.srv.dig("real.w.example.org.", RecordType::A),
        ResponseCode::NoError,
        "example.org.",
    );
    assert_eq!(
        answers(&e.srv.dig("a.w.example.org.", RecordType::A)),
        ["192.0.2.1"]
    );
    // The wildcard's parent is an empty non-terminal: NODATA; the wildcard has no TXT.
    assert_negative(
        &e.srv.dig("w.example.org.", RecordType::A),
        ResponseCode::NoError,
        "example.org.",
    );
    assert_negative(
        &e.srv.dig("nothing.w.example.org.", RecordType::TXT),
        ResponseCode::NoError,
        "example.org.",
    );
    // Outside the wildcard's domain: NXDOMAIN.
    assert_negative(
        &e.srv.dig("nothing.v.example.org.", RecordType::A),
        ResponseCode::NXDomain,
        "example.org.",
    );
    // The literal wildcard name answers too.
    assert_eq!(
        answers(&e.srv.dig("*.w.example.org.", RecordType::A)),
        ["192.0.2.99"]
    );
}

#[test]
fn rfc1034_4_3_2_delegation_is_a_referral_with_glue() {
    let e = Fixture::hosted("dns-delegation")
        .with_shared(SHARED)
        .start();
    e.record("sub.example.org.", "NS", "ns.sub.example.org.", 3600);
    e.record("ns.sub.example.org.", "A", "192.0.2.53", 3600);
    for (n, t) in [
        ("www.sub.example.org.", RecordType::A),
        ("sub.example.org.", RecordType::NS),
        ("sub.example.org.", RecordType::A),
        ("deep.www.sub.example.org.", RecordType::TXT),
    ] {
        let m = e.srv.dig(n, t);
        assert_eq!(rcode(&m), ResponseCode::NoError, "{n}");
        assert!(!m.metadata.authoritative, "{n}: AA clear on a referral");
        assert!(m.answers.is_empty(), "{n}: {:?}", m.answers);
        assert_eq!(types(&m.authorities), [RecordType::NS], "{n}");
        assert_eq!(
            m.authorities[0].name,
            Name::from_ascii("sub.example.org.").unwrap()
        );
        assert_eq!(m.authorities[0].data.to_string(), "ns.sub.example.org.");
        let glue: Vec<String> = m
            .additionals
            .iter()
            .filter(|r| r.record_type() == RecordType::A)
            .map(|r| format!("{} {}", r.name, r.data))
            .collect();
        assert_eq!(glue, ["ns.sub.example.org. 192.0.2.53"], "{n}");
    }
    // Names beside the cut are still answered authoritatively.
    e.record("other.example.org.", "A", "192.0.2.2", 300);
    let m = e.srv.dig("other.example.org.", RecordType::A);
    assert!(m.metadata.authoritative);
    assert_eq!(answers(&m), ["192.0.2.2"]);
}

#[test]
fn rfc1035_3_3_9_mx_with_additional_address() {
    let e = Fixture::hosted("dns-mx").with_shared(SHARED).start();
    e.record("example.org.", "MX", "10 mail.example.org.", 300);
    e.record("example.org.", "MX", "20 mx.example.net.", 300);
    e.record("mail.example.org.", "A", "192.0.2.25", 300);
    e.record("mail.example.org.", "AAAA", "2001:db8::25", 300);
    let m = e.srv.dig("example.org.", RecordType::MX);
    assert_eq!(rcode(&m), ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert_eq!(answers(&m), ["10 mail.example.org.", "20 mx.example.net."]);
    let mut add: Vec<String> = m
        .additionals
        .iter()
        .filter(|r| r.record_type() != RecordType::OPT)
        .map(|r| format!("{} {} {}", r.name, r.record_type(), r.data))
        .collect();
    add.sort();
    assert_eq!(
        add,
        [
            "mail.example.org. A 192.0.2.25",
            "mail.example.org. AAAA 2001:db8::25"
        ]
    );
    // SRV targets get the same treatment.
    e.record(
        "_sip._tcp.example.org.",
        "SRV",
        "0 5 5060 mail.example.org.",
        300,
    );
    let m = e.srv.dig("_sip._tcp.example.org.", RecordType::SRV);
    assert_eq!(answers(&m), ["0 5 5060 mail.example.org."]);
    assert!(m
        .additionals
        .iter()
        .any(|r| r.record_type() == RecordType::A));
}

#[test]
fn rfc8482_any_answered_minimally() {
    let e = Fixture::hosted("dns-any").with_shared(SHARED).start();
    e.add_hostname(
        json!({"hostname":"multi","zoneDomain":SHARED,"ipv4":"203.0.113.50",
        "ipv6":"2001:db8::50","txt":"t"}),
    );
    e.record("many.example.org.", "A", "192.0.2.1", 300);
    e.record("many.example.org.", "A", "192.0.2.2", 300);
    e.record("many.example.org.", "TXT", "x", 300);
    e.record("many.example.org.", "MX", "10 many.example.org.", 300);
    for n in ["multi.dyn.example.net.", "many.example.org."] {
        let m = e.srv.dig(n, RecordType::ANY);
        assert_eq!(rcode(&m), ResponseCode::NoError, "{n}");
        assert!(!m.answers.is_empty(), "{n}");
        let t = m.answers[0].record_type();
        assert!(
            m.answers.iter().all(|r| r.record_type() == t),
            "{n}: one RRset only: {:?}",
            types(&m.answers)
        );
    }
    // At the apex: the SOA; a missing name: NXDOMAIN.
    let m = e.srv.dig("example.org.", RecordType::ANY);
    assert_eq!(types(&m.answers), [RecordType::SOA]);
    assert_eq!(
        rcode(&e.srv.dig("none.example.org.", RecordType::ANY)),
        ResponseCode::NXDomain
    );
}

#[test]
fn rfc7766_tcp_answers_like_udp() {
    let e = Fixture::hosted("dns-tcp").with_shared(SHARED).start();
    e.add_hostname(json!({"hostname":"t","zoneDomain":SHARED,"ipv4":"203.0.113.60","txt":"tcp"}));
    e.record("www.example.org.", "A", "192.0.2.1", 300);
    e.record("alias.example.org.", "CNAME", "www.example.org.", 300);
    for (n, t) in [
        ("t.dyn.example.net.", RecordType::A),
        ("t.dyn.example.net.", RecordType::TXT),
        ("_acme-challenge.t.dyn.example.net.", RecordType::TXT),
        ("alias.example.org.", RecordType::A),
        ("missing.example.org.", RecordType::A),
        ("www.example.org.", RecordType::AAAA),
        ("example.org.", RecordType::SOA),
        ("example.com.", RecordType::A),
    ] {
        let u = e.srv.dig(n, t);
        let c = dns_tcp(e.srv.dns, n, t);
        assert_eq!(rcode(&u), rcode(&c), "{n} {t}");
        assert_eq!(
            u.metadata.authoritative, c.metadata.authoritative,
            "{n} {t}"
        );
        assert_eq!(u.answers, c.answers, "{n} {t}");
        assert_eq!(u.authorities, c.authorities, "{n} {t}");
    }
}

#[test]
fn rfc6891_large_rrset_truncated_over_udp_full_over_tcp() {
    let e = Fixture::hosted("dns-edns").with_shared(SHARED).start();
    let n = 15;
    for i in 0..n {
        e.record(
            "big.example.org.",
            "TXT",
            &format!("{i:02}-{}", "x".repeat(180)),
            300,
        );
    }
    // EDNS with a 512-byte buffer: TC set, within 512 bytes.
    let (m, size) = udp(
        e.srv.dns,
        &query_msg("big.example.org.", RecordType::TXT, Some(512)),
    );
    assert!(m.metadata.truncation, "TC with a 512-byte buffer");
    assert!(size <= 512, "{size} bytes");
    assert!(m.answers.len() < n);
    assert!(m.edns.is_some(), "OPT answered when the query had one");
    // No EDNS: 512 bytes too (RFC 1035 §4.2.1).
    let (m, size) = udp(
        e.srv.dns,
        &query_msg("big.example.org.", RecordType::TXT, None),
    );
    assert!(m.metadata.truncation && size <= 512);
    assert!(m.edns.is_none(), "no OPT without one in the query");
    // A 4096-byte offer is capped at 1232 (DNS flag day 2020): ~3 KB still gets TC.
    let (m, size) = udp(
        e.srv.dns,
        &query_msg("big.example.org.", RecordType::TXT, Some(4096)),
    );
    assert!(m.metadata.truncation);
    assert!(size <= 1232, "{size}");
    assert_eq!(m.edns.as_ref().map(|x| x.max_payload()), Some(1232));
    // An RRset of ~1 KB fits a large buffer but not 512 bytes.
    for i in 0..5 {
        e.record(
            "mid.example.org.",
            "TXT",
            &format!("{i:02}-{}", "y".repeat(180)),
            300,
        );
    }
    let (m, size) = udp(
        e.srv.dns,
        &query_msg("mid.example.org.", RecordType::TXT, Some(4096)),
    );
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), 5);
    assert!(size > 512 && size <= 1232, "{size}");
    let (m, _) = udp(
        e.srv.dns,
        &query_msg("mid.example.org.", RecordType::TXT, Some(512)),
    );
    assert!(m.metadata.truncation);
    // TCP (the client's fallback): complete, never truncated.
    let m = tcp(
        e.srv.dns,
        &query_msg("big.example.org.", RecordType::TXT, Some(512)),
    );
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), n);
    let mut got = answers(&m);
    got.dedup();
    assert_eq!(got.len(), n);
    // Small answers fit with a small buffer: no TC.
    e.record("small.example.org.", "A", "192.0.2.1", 300);
    let (m, _) = udp(
        e.srv.dns,
        &query_msg("small.example.org.", RecordType::A, Some(512)),
    );
    assert!(!m.metadata.truncation);
    assert_eq!(answers(&m), ["192.0.2.1"]);
}

#[test]
fn update_answered_in_the_very_next_query() {
    let e = Fixture::hosted("dns-update").with_shared(SHARED).start();
    e.add_hostname(json!({"hostname":"dyn","zoneDomain":SHARED}));
    // A hostname without any value has no records: the name does not exist in DNS.
    assert_negative(
        &e.srv.dig("dyn.dyn.example.net.", RecordType::A),
        ResponseCode::NXDomain,
        "dyn.example.net.",
    );
    for i in 1..=20 {
        let ip = format!("198.51.100.{i}");
        e.update(&format!("domains=dyn&ip={ip}"));
        assert_eq!(
            answers(&e.srv.dig("dyn.dyn.example.net.", RecordType::A)),
            [ip.as_str()],
            "update {i}"
        );
    }
    e.update("domains=dyn&ipv6=2001:db8::77");
    assert_eq!(
        answers(&e.srv.dig("dyn.dyn.example.net.", RecordType::AAAA)),
        ["2001:db8::77"]
    );
    // PATCH and DELETE via /v1/hostnames too.
    let r = e.srv.json(
        "PATCH",
        "/v1/hostnames/dyn",
        &e.token,
        r#"{"ipv4":"192.0.2.200","ttl":300}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let m = e.srv.dig("dyn.dyn.example.net.", RecordType::A);
    assert_eq!(answers(&m), ["192.0.2.200"]);
    assert_eq!(m.answers[0].ttl, 300);
    let r = e.srv.bearer("DELETE", "/v1/hostnames/dyn", &e.token);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_negative(
        &e.srv.dig("dyn.dyn.example.net.", RecordType::A),
        ResponseCode::NXDomain,
        "dyn.example.net.",
    );
}

#[test]
fn restart_keeps_serving_everything() {
    let mut e = Fixture::hosted("dns-restart").with_shared(SHARED).start();
    e.add_hostname(
        json!({"hostname":"keep","zoneDomain":SHARED,"ipv4":"203.0.113.70","txt":"kept"}),
    );
    e.record("www.example.org.", "A", "192.0.2.1", 300);
    e.record("alias.example.org.", "CNAME", "www.example.org.", 300);
    e.record("*.w.example.org.", "AAAA", "2001:db8::1", 300);
    let checks: Vec<(&str, RecordType)> = vec![
        ("keep.dyn.example.net.", RecordType::A),
        ("_acme-challenge.keep.dyn.example.net.", RecordType::TXT),
        ("alias.example.org.", RecordType::A),
        ("x.w.example.org.", RecordType::AAAA),
        ("example.org.", RecordType::SOA),
        ("example.org.", RecordType::NS),
        ("missing.example.org.", RecordType::A),
    ];
    let before: Vec<Message> = checks.iter().map(|(n, t)| e.srv.dig(n, *t)).collect();
    assert_eq!(e.srv.stop(), 0);
    e.srv = Server::start(&e.dir);
    for ((n, t), b) in checks.iter().zip(&before) {
        let a = e.srv.dig(n, *t);
        assert_eq!(rcode(&a), rcode(b), "{n} {t}");
        assert_eq!(a.answers, b.answers, "{n} {t}");
        assert_eq!(a.authorities, b.authorities, "{n} {t}");
    }
    assert_eq!(
        answers(&e.srv.dig("keep.dyn.example.net.", RecordType::A)),
        ["203.0.113.70"]
    );
}

#[test]
fn zone_add_and_rm_while_running() {
    let e = Fixture::hosted("dns-zone-live").with_shared(SHARED).start();
    assert_eq!(
        rcode(&e.srv.dig("live.test-zone.net.", RecordType::SOA)),
        ResponseCode::Refused
    );
    admin(&e.dir, &["zone", "add", "test-zone.net", "--owner", EMAIL]);
    wait_until("the new zone is served", || {
        rcode(&e.srv.dig("test-zone.net.", RecordType::SOA)) == ResponseCode::NoError
    });
    let m = e.srv.dig("test-zone.net.", RecordType::SOA);
    assert!(m.metadata.authoritative);
    assert_eq!(types(&m.answers), [RecordType::SOA]);
    assert_eq!(
        rcode(&e.srv.dig("nothing.test-zone.net.", RecordType::A)),
        ResponseCode::NXDomain
    );
    // A shared zone added live, then used for a hostname.
    admin(&e.dir, &["zone", "add", "live-shared.net", "--shared"]);
    wait_until("the shared zone is served", || {
        rcode(&e.srv.dig("live-shared.net.", RecordType::SOA)) == ResponseCode::NoError
    });
    admin(&e.dir, &["zone", "rm", "test-zone.net"]);
    wait_until("the removed zone is refused", || {
        rcode(&e.srv.dig("test-zone.net.", RecordType::SOA)) == ResponseCode::Refused
    });
    assert_eq!(
        rcode(&e.srv.dig("nothing.test-zone.net.", RecordType::A)),
        ResponseCode::Refused
    );
    // The other zones are untouched.
    assert_eq!(
        rcode(&e.srv.dig("example.org.", RecordType::SOA)),
        ResponseCode::NoError
    );
}

#[test]
fn parallel_queries_during_updates_never_miss() {
    let e = Fixture::hosted("dns-parallel").with_shared(SHARED).start();
    e.add_hostname(json!({"hostname":"busy","zoneDomain":SHARED,"ipv4":"198.51.100.1"}));
    let written: Vec<String> = (1..=40).map(|i| format!("198.51.100.{i}")).collect();
    let done = Arc::new(AtomicBool::new(false));
    let addr = e.srv.dns;
    let http = e.srv.http;
    let token = e.token.clone();
    let updater = {
        let done = done.clone();
        let written = written.clone();
        std::thread::spawn(move || {
            let mut n = 0usize;
            let deadline = Instant::now() + Duration::from_secs(60);
            while !done.load(Ordering::SeqCst) && Instant::now() < deadline && n < 400 {
                let ip = &written[n % written.len()];
                let r = crate::harness::http(
                    http,
                    "GET",
                    &format!("/update?domains=busy&token={token}&ip={ip}"),
                    &[],
                    None,
                );
                assert_eq!((r.status, r.body.as_str()), (200, "OK"));
                n += 1;
            }
            n
        })
    };
    let workers: Vec<_> = (0..20)
        .map(|_| {
            let written = written.clone();
            std::thread::spawn(move || {
                for _ in 0..50 {
                    let m = dns_udp(addr, "busy.dyn.example.net.", RecordType::A);
                    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
                    let a = answers(&m);
                    assert_eq!(a.len(), 1, "{a:?}");
                    assert!(written.contains(&a[0]), "{a:?}");
                }
            })
        })
        .collect();
    let mut failures = 0;
    for w in workers {
        if w.join().is_err() {
            failures += 1;
        }
    }
    done.store(true, Ordering::SeqCst);
    let updates = updater.join().expect("updater");
    assert_eq!(failures, 0, "query threads failed");
    assert!(updates > 0, "the updater ran");
}

#[test]
fn metrics_by_zone_and_rcode_and_queries_count() {
    let e = Fixture::hosted("dns-metrics").with_shared(SHARED).start();
    e.record("www.example.org.", "A", "192.0.2.1", 300);
    const Q: &str = "lucent_dns_queries_total";
    let ok = [("zone", "example.org"), ("rcode", "NOERROR")];
    let nx = [("zone", "example.org"), ("rcode", "NXDOMAIN")];
    let refused = [("zone", ""), ("rcode", "REFUSED")];
    let metric = |text: &str, labels: &[(&str, &str)]| metric_sum(text, Q, labels);
    let before = e.srv.get("/metrics", &[]).body;
    for _ in 0..5 {
        e.srv.dig("www.example.org.", RecordType::A);
    }
    for _ in 0..3 {
        e.srv.dig("nope.example.org.", RecordType::A);
    }
    for _ in 0..2 {
        e.srv.dig("example.com.", RecordType::A);
    }
    dns_tcp(e.srv.dns, "www.example.org.", RecordType::A);
    let r = e.srv.get("/metrics", &[]);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("# TYPE lucent_dns_queries_total counter"));
    assert_eq!(metric(&r.body, &ok) - metric(&before, &ok), 6, "{}", r.body);
    assert_eq!(metric(&r.body, &nx) - metric(&before, &nx), 3);
    assert_eq!(metric(&r.body, &refused) - metric(&before, &refused), 2);

    // queries_count in the LuaDNS API (flushed every 10 s): wait for the flush, then check.
    let total_queries = metric(&r.body, &ok) + metric(&r.body, &nx);
    let mut qc = 0;
    wait_for(
        "queries_count to reach the queries answered",
        Duration::from_secs(15),
        Duration::from_millis(250),
        || {
            let z = e.lua().ok(&format!("/v1/zones/{}", e.zid));
            qc = z["queries_count"].as_u64().unwrap();
            qc >= total_queries
        },
    );
    assert!(qc <= total_queries + 5, "{qc} vs {total_queries}");
}

#[test]
fn rfc1035_4_1_1_header_errors_and_rfc6891_badvers() {
    let e = Fixture::hosted("dns-header-errors")
        .with_shared(SHARED)
        .start();
    e.record("www.example.org.", "A", "192.0.2.1", 300);
    // EDNS version 1: BADVERS (RFC 6891 §6.1.3), with an OPT in the answer.
    let mut q = query_msg("www.example.org.", RecordType::A, Some(1232));
    let mut ed = Edns::new();
    ed.set_max_payload(1232);
    ed.set_version(1);
    q.set_edns(ed);
    let (m, _) = udp(e.srv.dns, &q);
    // 16 is both BADVERS and BADSIG; hickory decodes it as the latter.
    assert_eq!(u16::from(rcode(&m)), 16, "BADVERS");
    assert!(m.edns.is_some());
    assert!(m.answers.is_empty());
    // No question: FORMERR (RFC 9619 §4).
    let mut q = Message::query();
    q.metadata.id = 4242;
    let (m, _) = udp(e.srv.dns, &q);
    assert_eq!(rcode(&m), ResponseCode::FormErr);
    // NOTIFY opcode: lucentd is the primary, so REFUSED (RFC 1996; not NOTIMP).
    let mut q = query_msg("example.org.", RecordType::SOA, None);
    q.metadata.op_code = hickory_proto::op::OpCode::Notify;
    let (m, _) = udp(e.srv.dns, &q);
    assert_eq!(rcode(&m), ResponseCode::Refused);
    // Class CH (version.bind): REFUSED.
    let mut q = Message::query();
    q.metadata.id = 4242;
    let mut qq = Query::query(Name::from_ascii("version.bind.").unwrap(), RecordType::TXT);
    qq.set_query_class(hickory_proto::rr::DNSClass::CH);
    q.add_query(qq);
    let (m, _) = udp(e.srv.dns, &q);
    assert_eq!(rcode(&m), ResponseCode::Refused);
    // The server still answers normally afterwards.
    assert_eq!(
        answers(&e.srv.dig("www.example.org.", RecordType::A)),
        ["192.0.2.1"]
    );
}

#[test]
fn rfc4035_3_1_4_1_ds_at_the_cut_is_answered_by_the_parent() {
    let e = Fixture::hosted("dns-ds").with_shared(SHARED).start();
    e.record("sub.example.org.", "NS", "ns.example.net.", 3600);
    let m = e.srv.dig("sub.example.org.", RecordType::DS);
    assert_eq!(rcode(&m), ResponseCode::NoError);
    assert!(m.metadata.authoritative, "DS at the cut: parent side, AA");
    assert!(m.answers.is_empty());
    assert_eq!(types(&m.authorities), [RecordType::SOA]);
    // No glue for an out-of-zone nameserver.
    let m = e.srv.dig("www.sub.example.org.", RecordType::A);
    assert!(!m.metadata.authoritative);
    assert_eq!(types(&m.authorities), [RecordType::NS]);
    assert!(m
        .additionals
        .iter()
        .all(|r| r.record_type() == RecordType::OPT));
}

#[test]
fn rfc1996_soa_serial_bumped_by_hostname_updates() {
    let e = Fixture::hosted("dns-serial").with_shared(SHARED).start();
    let serial = |z: &str| soa_serial(&e.srv.dig(z, RecordType::SOA));
    let s0 = serial("dyn.example.net.");
    e.add_hostname(json!({"hostname":"s","zoneDomain":SHARED,"ipv4":"203.0.113.1"}));
    let s1 = serial("dyn.example.net.");
    assert!(s1 > s0, "{s1} > {s0}");
    e.update("domains=s&ip=203.0.113.2");
    let s2 = serial("dyn.example.net.");
    assert!(s2 > s1, "{s2} > {s1}");
    // The negative answer's SOA carries the same serial.
    let m = e.srv.dig("none.dyn.example.net.", RecordType::A);
    match &m.authorities[0].data {
        RData::SOA(s) => assert_eq!(s.serial, s2),
        other => panic!("{other:?}"),
    }
    // A no-change update does not need to bump; another zone's serial is untouched.
    let h0 = serial("example.org.");
    e.update("domains=s&ip=203.0.113.3");
    assert_eq!(serial("example.org."), h0);
}
