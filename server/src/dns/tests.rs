//! Tests of the DNS view and responder, grouped by the RFC section they check (as hickory's
//! conformance tree is): lookup-level tests call `DnsView::resolve` / `answer_request` on a
//! fixture zone; `wire` starts the real listeners on 127.0.0.1:0 and queries over UDP and TCP.

use std::net::Ipv4Addr;

use hickory_proto::op::{Edns, LowerQuery, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use super::lookup::{answer_request, Answer};
use super::*;
use crate::model::RType;

pub(crate) fn apex_config() -> ApexConfig {
    ApexConfig {
        nameservers: vec!["ns1.example.net".into(), "ns2.example.net".into()],
        rname: "hostmaster.example.net".into(),
        refresh: 7200,
        retry: 900,
        expire: 1_209_600,
        minimum: 300,
        soa_ttl: 3600,
        ns_ttl: 86400,
        dnssec: Default::default(),
    }
}

pub(crate) fn set(name: &str, rtype: RType, contents: &[&str]) -> RrsetChange {
    RrsetChange {
        name: name.into(),
        rtype,
        records: contents
            .iter()
            .map(|c| RecordData {
                ttl: 300,
                content: (*c).into(),
            })
            .collect(),
    }
}

/// `example.org` with one of everything, and `sub.example.org` served beside it.
pub(crate) fn fixture() -> DnsView {
    let view = DnsView::new(apex_config());
    use RType::*;
    view.load_zone(ZoneContent {
        name: "example.org".into(),
        serial: 2024010101,
        rrsets: vec![
            set("example.org", Ns, &["ns1.example.net.", "ns2.example.net."]),
            set("example.org", A, &["192.0.2.1"]),
            set("example.org", Mx, &["10 mail.example.org."]),
            set("example.org", Txt, &["v=spf1 -all"]),
            set("example.org", Caa, &["0 issue \"letsencrypt.org\""]),
            set("www.example.org", A, &["192.0.2.2"]),
            set("www.example.org", Aaaa, &["2001:db8::2"]),
            set("mail.example.org", A, &["192.0.2.3"]),
            set("txtonly.example.org", Txt, &["hello"]),
            set("alias.example.org", Cname, &["www.example.org."]),
            set("chain.example.org", Cname, &["alias.example.org."]),
            set("ext.example.org", Cname, &["target.example.net."]),
            set("dangling.example.org", Cname, &["nothere.example.org."]),
            set("loop1.example.org", Cname, &["loop2.example.org."]),
            set("loop2.example.org", Cname, &["loop1.example.org."]),
            set("tosub.example.org", Cname, &["www.sub.example.org."]),
            set("_acme-challenge.host.example.org", Txt, &["tok-a", "tok-b"]),
            set("*.wild.example.org", A, &["192.0.2.9"]),
            set("*.wild.example.org", Cname, &[]),
            set("sub.wild.example.org", Txt, &["not a wildcard"]),
            set("*.walias.example.org", Cname, &["www.example.org."]),
            set(
                "child.example.org",
                Ns,
                &["ns.child.example.org.", "ns.other.net."],
            ),
            set("ns.child.example.org", A, &["192.0.2.53"]),
            set(
                "_sip._tcp.example.org",
                Srv,
                &["10 5 5060 www.example.org."],
            ),
            set(
                "big.example.org",
                Txt,
                &[
                    &"x".repeat(250),
                    &"y".repeat(250),
                    &"z".repeat(250),
                    &"w".repeat(250),
                ],
            ),
        ],
    });
    view.load_zone(ZoneContent {
        name: "sub.example.org".into(),
        serial: 7,
        rrsets: vec![
            set("sub.example.org", Ns, &["ns1.example.net."]),
            set("sub.example.org", A, &["198.51.100.1"]),
            set("www.sub.example.org", A, &["198.51.100.2"]),
        ],
    });
    view
}

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn q(view: &DnsView, qname: &str, qtype: RecordType) -> Answer {
    view.resolve(&name(qname), qtype)
}

fn a_of(r: &Record) -> Option<Ipv4Addr> {
    match &r.data {
        RData::A(a) => Some(a.0),
        _ => None,
    }
}

fn types(records: &[Record]) -> Vec<RecordType> {
    records.iter().map(Record::record_type).collect()
}

/// NOERROR, authoritative, answer types as given, nothing else.
fn assert_positive(a: &Answer, expected: &[RecordType]) {
    assert_eq!(a.rcode, ResponseCode::NoError);
    assert!(a.authoritative, "AA");
    assert_eq!(types(&a.answers), expected);
    assert!(a.authority.is_empty(), "authority: {:?}", a.authority);
}

/// Negative answer with the SOA in authority and the RFC 2308 §3 TTL.
fn assert_negative(a: &Answer, rcode: ResponseCode) {
    assert_eq!(a.rcode, rcode);
    assert!(a.authoritative, "AA");
    assert!(a.answers.is_empty(), "answers: {:?}", a.answers);
    assert_eq!(types(&a.authority), [RecordType::SOA]);
    assert_eq!(a.authority[0].ttl, 300, "min(SOA TTL 3600, minimum 300)");
}

mod rfc1034_section_4_3_2 {
    use super::*;

    #[test]
    fn exact_match_is_authoritative() {
        let v = fixture();
        let a = q(&v, "www.example.org.", RecordType::A);
        assert_positive(&a, &[RecordType::A]);
        assert_eq!(a_of(&a.answers[0]), Some(Ipv4Addr::new(192, 0, 2, 2)));
        assert_eq!(a.answers[0].ttl, 300);
        assert_eq!(a.zone.as_ref().unwrap().name.as_ref(), "example.org");
    }

    #[test]
    fn lookup_is_case_insensitive_and_keeps_the_query_case() {
        let v = fixture();
        let a = q(&v, "WwW.ExAmPlE.oRg.", RecordType::AAAA);
        assert_positive(&a, &[RecordType::AAAA]);
        assert!(a.answers[0].name.eq_case(&name("WwW.ExAmPlE.oRg.")));
    }

    #[test]
    fn names_outside_served_zones_are_refused() {
        let v = fixture();
        for n in ["example.com.", "org.", ".", "xexample.org."] {
            let a = q(&v, n, RecordType::A);
            assert_eq!(a.rcode, ResponseCode::Refused, "{n}");
            assert!(!a.authoritative);
            assert!(a.zone.is_none());
        }
    }

    #[test]
    fn longest_matching_zone_answers() {
        let v = fixture();
        let a = q(&v, "www.sub.example.org.", RecordType::A);
        assert_positive(&a, &[RecordType::A]);
        assert_eq!(a_of(&a.answers[0]), Some(Ipv4Addr::new(198, 51, 100, 2)));
        let soa = q(&v, "sub.example.org.", RecordType::SOA);
        let RData::SOA(s) = &soa.answers[0].data else {
            panic!()
        };
        assert_eq!(s.serial, 7);
    }

    #[test]
    fn apex_soa_is_synthesised_from_config() {
        let v = fixture();
        let a = q(&v, "example.org.", RecordType::SOA);
        assert_positive(&a, &[RecordType::SOA]);
        let RData::SOA(s) = &a.answers[0].data else {
            panic!()
        };
        assert_eq!(s.mname, name("ns1.example.net."));
        assert_eq!(s.rname, name("hostmaster.example.net."));
        assert_eq!(s.serial, 2024010101);
        assert_eq!(
            (s.refresh, s.retry, s.expire, s.minimum),
            (7200, 900, 1_209_600, 300)
        );
        assert_eq!(a.answers[0].ttl, 3600);
    }

    #[test]
    fn apex_ns_come_from_the_zone_content() {
        let v = fixture();
        let a = q(&v, "example.org.", RecordType::NS);
        assert_positive(&a, &[RecordType::NS, RecordType::NS]);
    }

    #[test]
    fn apex_ns_fall_back_to_config_when_the_store_has_none() {
        let v = DnsView::new(apex_config());
        v.load_zone(ZoneContent {
            name: "bare.test".into(),
            serial: 1,
            rrsets: vec![],
        });
        let a = q(&v, "bare.test.", RecordType::NS);
        assert_positive(&a, &[RecordType::NS, RecordType::NS]);
        assert_eq!(a.answers[0].ttl, 86400);
        assert_negative(&q(&v, "bare.test.", RecordType::A), ResponseCode::NoError);
    }

    #[test]
    fn cname_is_answered_and_chased_in_zone() {
        let v = fixture();
        let a = q(&v, "alias.example.org.", RecordType::A);
        assert_positive(&a, &[RecordType::CNAME, RecordType::A]);
        assert_eq!(a.answers[1].name, name("www.example.org."));
        let a = q(&v, "chain.example.org.", RecordType::AAAA);
        assert_positive(
            &a,
            &[RecordType::CNAME, RecordType::CNAME, RecordType::AAAA],
        );
        // Asking for the CNAME itself does not chase.
        let a = q(&v, "alias.example.org.", RecordType::CNAME);
        assert_positive(&a, &[RecordType::CNAME]);
    }

    #[test]
    fn cname_out_of_zone_is_not_chased() {
        let v = fixture();
        assert_positive(
            &q(&v, "ext.example.org.", RecordType::A),
            &[RecordType::CNAME],
        );
        // Another zone we serve is another zone: the resolver follows it.
        assert_positive(
            &q(&v, "tosub.example.org.", RecordType::A),
            &[RecordType::CNAME],
        );
    }

    #[test]
    fn cname_loops_are_bounded() {
        let v = fixture();
        let a = q(&v, "loop1.example.org.", RecordType::A);
        assert_eq!(a.rcode, ResponseCode::NoError);
        assert!(
            !a.answers.is_empty() && a.answers.len() <= 8,
            "{}",
            a.answers.len()
        );
    }

    #[test]
    fn ns_below_the_apex_is_a_referral_with_glue() {
        let v = fixture();
        for n in [
            "child.example.org.",
            "www.child.example.org.",
            "a.b.child.example.org.",
        ] {
            let a = q(&v, n, RecordType::A);
            assert_eq!(a.rcode, ResponseCode::NoError, "{n}");
            assert!(!a.authoritative, "referrals are not authoritative: {n}");
            assert!(a.answers.is_empty());
            assert_eq!(types(&a.authority), [RecordType::NS, RecordType::NS]);
            assert_eq!(a.authority[0].name, name("child.example.org."));
            assert_eq!(types(&a.additional), [RecordType::A]);
            assert_eq!(a.additional[0].name, name("ns.child.example.org."));
            assert!(a.glue_required);
        }
    }

    #[test]
    fn ds_at_the_cut_is_answered_by_the_parent() {
        // RFC 4035 §3.1.4.1: the parent side is authoritative for DS; we hold none.
        let v = fixture();
        assert_negative(
            &q(&v, "child.example.org.", RecordType::DS),
            ResponseCode::NoError,
        );
    }

    #[test]
    fn additional_section_has_in_zone_targets() {
        let v = fixture();
        let a = q(&v, "example.org.", RecordType::MX);
        assert_positive(&a, &[RecordType::MX]);
        assert_eq!(types(&a.additional), [RecordType::A]);
        assert_eq!(a.additional[0].name, name("mail.example.org."));
        let a = q(&v, "_sip._tcp.example.org.", RecordType::SRV);
        assert_positive(&a, &[RecordType::SRV]);
        assert_eq!(types(&a.additional), [RecordType::A, RecordType::AAAA]);
        // Out-of-zone NS targets get no additional records.
        assert!(q(&v, "example.org.", RecordType::NS).additional.is_empty());
    }

    #[test]
    fn several_txt_values_are_served_together() {
        let v = fixture();
        let a = q(&v, "_acme-challenge.host.example.org.", RecordType::TXT);
        assert_positive(&a, &[RecordType::TXT, RecordType::TXT]);
    }

    #[test]
    fn caa_and_apex_records_coexist() {
        let v = fixture();
        let a = q(&v, "example.org.", RecordType::CAA);
        assert_positive(&a, &[RecordType::CAA]);
        let RData::CAA(caa) = &a.answers[0].data else {
            panic!()
        };
        assert_eq!(caa.value, b"letsencrypt.org");
        assert_positive(&q(&v, "example.org.", RecordType::A), &[RecordType::A]);
    }
}

mod rfc2308 {
    use super::*;

    #[test]
    fn section_2_1_nxdomain_has_soa_in_authority() {
        let v = fixture();
        assert_negative(
            &q(&v, "nope.example.org.", RecordType::A),
            ResponseCode::NXDomain,
        );
        assert_negative(
            &q(&v, "a.b.nope.example.org.", RecordType::TXT),
            ResponseCode::NXDomain,
        );
    }

    #[test]
    fn section_2_2_nodata_has_soa_in_authority() {
        let v = fixture();
        assert_negative(
            &q(&v, "mail.example.org.", RecordType::AAAA),
            ResponseCode::NoError,
        );
        // A at a name holding only TXT.
        assert_negative(
            &q(&v, "txtonly.example.org.", RecordType::A),
            ResponseCode::NoError,
        );
        // SOA below the apex: NODATA, SOA in authority (docs/protocols.md §7, lego's zone probe).
        assert_negative(
            &q(&v, "www.example.org.", RecordType::SOA),
            ResponseCode::NoError,
        );
    }

    #[test]
    fn rfc8020_empty_non_terminals_are_nodata() {
        let v = fixture();
        assert_negative(
            &q(&v, "host.example.org.", RecordType::TXT),
            ResponseCode::NoError,
        );
        assert_negative(
            &q(&v, "host.example.org.", RecordType::SOA),
            ResponseCode::NoError,
        );
        assert_negative(
            &q(&v, "_tcp.example.org.", RecordType::A),
            ResponseCode::NoError,
        );
    }

    #[test]
    fn rfc6604_section_3_rcode_follows_the_chain() {
        let v = fixture();
        let a = q(&v, "dangling.example.org.", RecordType::A);
        assert_eq!(a.rcode, ResponseCode::NXDomain);
        assert_eq!(types(&a.answers), [RecordType::CNAME]);
        assert_eq!(types(&a.authority), [RecordType::SOA]);
    }
}

mod rfc4592 {
    use super::*;

    #[test]
    fn section_3_3_1_wildcard_matches_names_that_do_not_exist() {
        let v = fixture();
        let a = q(&v, "anything.wild.example.org.", RecordType::A);
        assert_positive(&a, &[RecordType::A]);
        assert_eq!(a.answers[0].name, name("anything.wild.example.org."));
        assert_eq!(a_of(&a.answers[0]), Some(Ipv4Addr::new(192, 0, 2, 9)));
        // Deeper names whose closest encloser is wild.example.org match too.
        assert_positive(
            &q(&v, "a.b.wild.example.org.", RecordType::A),
            &[RecordType::A],
        );
        // Other types at a wildcard-matched name: NODATA.
        assert_negative(
            &q(&v, "anything.wild.example.org.", RecordType::MX),
            ResponseCode::NoError,
        );
    }

    #[test]
    fn section_2_2_wildcard_does_not_match_existing_names_or_below_them() {
        let v = fixture();
        let a = q(&v, "sub.wild.example.org.", RecordType::A);
        assert_negative(&a, ResponseCode::NoError);
        // Closest encloser is sub.wild, which has no wildcard.
        assert_negative(
            &q(&v, "x.sub.wild.example.org.", RecordType::A),
            ResponseCode::NXDomain,
        );
        // The parent of the wildcard is an empty non-terminal: NODATA.
        assert_negative(
            &q(&v, "wild.example.org.", RecordType::A),
            ResponseCode::NoError,
        );
    }

    #[test]
    fn wildcard_cname_is_synthesised_and_chased() {
        let v = fixture();
        let a = q(&v, "x.walias.example.org.", RecordType::A);
        assert_positive(&a, &[RecordType::CNAME, RecordType::A]);
        assert_eq!(a.answers[0].name, name("x.walias.example.org."));
    }
}

mod rfc8482 {
    use super::*;

    #[test]
    fn any_is_answered_with_one_rrset() {
        let v = fixture();
        assert_eq!(q(&v, "www.example.org.", RecordType::ANY).answers.len(), 1);
        assert_positive(&q(&v, "example.org.", RecordType::ANY), &[RecordType::SOA]);
        assert_negative(
            &q(&v, "host.example.org.", RecordType::ANY),
            ResponseCode::NoError,
        );
        assert_negative(
            &q(&v, "nope.example.org.", RecordType::ANY),
            ResponseCode::NXDomain,
        );
    }
}

mod rfc1035_section_4_1_1 {
    use super::*;

    fn lq(n: &str, t: RecordType) -> LowerQuery {
        LowerQuery::query(Query::query(name(n), t))
    }

    #[test]
    fn opcodes_other_than_query_are_notimp() {
        let v = fixture();
        let qs = [lq("www.example.org.", RecordType::A)];
        for op in [OpCode::Update, OpCode::Status] {
            let a = answer_request(&v, op, &qs, None);
            assert_eq!(a.rcode, ResponseCode::NotImp, "{op:?}");
        }
        // lucentd is the primary: a NOTIFY sent to it is refused (RFC 1996), not NOTIMP.
        let a = answer_request(&v, OpCode::Notify, &qs, None);
        assert_eq!(a.rcode, ResponseCode::Refused);
    }

    #[test]
    fn question_count_other_than_one_is_formerr() {
        let v = fixture();
        let two = [
            lq("www.example.org.", RecordType::A),
            lq("example.org.", RecordType::A),
        ];
        assert_eq!(
            answer_request(&v, OpCode::Query, &two, None).rcode,
            ResponseCode::FormErr
        );
        assert_eq!(
            answer_request(&v, OpCode::Query, &[], None).rcode,
            ResponseCode::FormErr
        );
    }

    #[test]
    fn zone_transfers_and_other_classes_are_refused() {
        let v = fixture();
        for t in [RecordType::AXFR, RecordType::IXFR] {
            let a = answer_request(&v, OpCode::Query, &[lq("example.org.", t)], None);
            assert_eq!(a.rcode, ResponseCode::Refused);
        }
        let mut ch = Query::query(name("version.bind."), RecordType::TXT);
        ch.set_query_class(DNSClass::CH);
        let a = answer_request(&v, OpCode::Query, &[LowerQuery::query(ch)], None);
        assert_eq!(a.rcode, ResponseCode::Refused);
    }

    #[test]
    fn rfc6891_section_6_1_3_unknown_edns_version_is_badvers() {
        let v = fixture();
        let mut edns = Edns::new();
        edns.set_version(1);
        let a = answer_request(
            &v,
            OpCode::Query,
            &[lq("www.example.org.", RecordType::A)],
            Some(&edns),
        );
        assert_eq!(a.rcode, ResponseCode::BADVERS);
    }
}

/// RFC 3225 §3: the DO bit of the query is copied into the response's OPT.
mod rfc3225_section_3 {
    use super::*;
    use crate::dns::server::response_edns;

    #[test]
    fn the_do_bit_is_echoed() {
        for dok in [false, true] {
            let mut q = Edns::new();
            q.set_max_payload(4096);
            q.set_dnssec_ok(dok);
            let r = response_edns(Some(&q), None).unwrap();
            assert_eq!(r.flags().dnssec_ok, dok);
            assert_eq!(r.max_payload(), 1232);
        }
        assert!(
            response_edns(None, Some("x")).is_none(),
            "no OPT without one asked"
        );
    }

    /// Over the wire on the full path, positive and negative, and on the fast path where it
    /// answers (the fixture's delegation sends it all to the full path; `fast.rs`'s
    /// differential test covers the fast path's DO bit).
    #[tokio::test]
    async fn both_paths_echo_it() {
        use hickory_proto::op::Message;
        use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};
        let v = fixture();
        for name in ["www.example.org.", "nope.example.org."] {
            let mut m = Message::query();
            m.add_query(Query::query(self::name(name), RecordType::A));
            let mut e = Edns::new();
            e.set_dnssec_ok(true);
            m.set_edns(e);
            let q = m.to_bytes().unwrap();
            let mut out = Vec::new();
            let fast = super::super::fast::answer(&v, &q, &mut out);
            let full = super::super::udp::full_for_tests(&v, &q, "127.0.0.1:1".parse().unwrap())
                .await
                .unwrap();
            for bytes in [&full][..].iter().copied().chain(fast.then_some(&out)) {
                let r = Message::from_bytes(bytes).unwrap();
                assert!(r.edns.unwrap().flags().dnssec_ok, "{name}");
            }
        }
    }
}

/// RFC 5001 §2.1 (NSID) and RFC 4892 §2 (`id.server`): the configured server id, and nothing
/// when none is configured.
mod rfc5001_section_2_1 {
    use super::*;
    use crate::dns::server::response_edns;
    use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption, NSIDPayload};

    #[test]
    fn nsid_only_when_asked_and_configured() {
        let mut asked = Edns::new();
        asked
            .options_mut()
            .insert(EdnsOption::NSID(NSIDPayload::new(Vec::new()).unwrap()));
        let r = response_edns(Some(&asked), Some("ns-a")).unwrap();
        match r.option(EdnsCode::NSID) {
            Some(EdnsOption::NSID(p)) => assert_eq!(p.as_ref(), b"ns-a"),
            other => panic!("{other:?}"),
        }
        assert!(response_edns(Some(&asked), None)
            .unwrap()
            .option(EdnsCode::NSID)
            .is_none());
        assert!(response_edns(Some(&Edns::new()), Some("ns-a"))
            .unwrap()
            .option(EdnsCode::NSID)
            .is_none());
    }

    fn ch(n: &str, t: RecordType) -> LowerQuery {
        let mut q = Query::query(name(n), t);
        q.set_query_class(DNSClass::CH);
        LowerQuery::query(q)
    }

    #[test]
    fn rfc4892_section_2_id_server_and_hostname_bind() {
        let v = fixture().with_server_id(Some("ns-a.example".into()));
        for n in ["id.server.", "ID.Server.", "hostname.bind."] {
            for t in [RecordType::TXT, RecordType::ANY] {
                let a = answer_request(&v, OpCode::Query, &[ch(n, t)], None);
                assert_eq!(a.rcode, ResponseCode::NoError, "{n} {t}");
                assert!(a.authoritative);
                assert_eq!(a.answers.len(), 1);
                let r = &a.answers[0];
                assert_eq!(r.dns_class, DNSClass::CH);
                assert_eq!(r.data.to_string(), "ns-a.example");
            }
        }
        for q in [
            ch("version.bind.", RecordType::TXT),
            ch("id.server.", RecordType::A),
        ] {
            let a = answer_request(&v, OpCode::Query, &[q], None);
            assert_eq!(a.rcode, ResponseCode::Refused);
        }
        let off = fixture();
        let a = answer_request(
            &off,
            OpCode::Query,
            &[ch("id.server.", RecordType::TXT)],
            None,
        );
        assert_eq!(
            a.rcode,
            ResponseCode::Refused,
            "off when no server_id is set"
        );
    }
}

mod view {
    use super::*;

    #[test]
    fn apply_replaces_rrsets_and_sets_the_serial() {
        let v = fixture();
        v.apply(
            "example.org",
            2024010102,
            vec![
                set("www.example.org", RType::A, &["192.0.2.200"]),
                set("txtonly.example.org", RType::Txt, &[]),
                set("new.example.org", RType::Txt, &["fresh"]),
            ],
        );
        let a = q(&v, "www.example.org.", RecordType::A);
        assert_eq!(a_of(&a.answers[0]), Some(Ipv4Addr::new(192, 0, 2, 200)));
        assert_positive(
            &q(&v, "www.example.org.", RecordType::AAAA),
            &[RecordType::AAAA],
        );
        let gone = q(&v, "txtonly.example.org.", RecordType::TXT);
        assert_negative(&gone, ResponseCode::NXDomain);
        let RData::SOA(s) = &gone.authority[0].data else {
            panic!()
        };
        assert_eq!(s.serial, 2024010102);
        assert_positive(
            &q(&v, "new.example.org.", RecordType::TXT),
            &[RecordType::TXT],
        );
        // Unknown zones and names outside the zone are ignored.
        v.apply(
            "nothere.test",
            1,
            vec![set("a.nothere.test", RType::A, &["192.0.2.1"])],
        );
        v.apply(
            "example.org",
            3,
            vec![set("www.example.com", RType::A, &["192.0.2.1"])],
        );
        assert_eq!(
            q(&v, "www.example.com.", RecordType::A).rcode,
            ResponseCode::Refused
        );
    }

    #[test]
    fn load_zone_replaces_whole_and_remove_zone_stops_answers() {
        let v = fixture();
        v.load_zone(ZoneContent {
            name: "example.org".into(),
            serial: 9,
            rrsets: vec![set("only.example.org", RType::A, &["192.0.2.77"])],
        });
        assert_negative(
            &q(&v, "www.example.org.", RecordType::A),
            ResponseCode::NXDomain,
        );
        assert_positive(&q(&v, "only.example.org.", RecordType::A), &[RecordType::A]);
        v.remove_zone("example.org");
        assert_eq!(
            q(&v, "only.example.org.", RecordType::A).rcode,
            ResponseCode::Refused
        );
        // The sub-zone is unaffected.
        assert_positive(
            &q(&v, "www.sub.example.org.", RecordType::A),
            &[RecordType::A],
        );
    }

    #[test]
    fn counters_and_metrics() {
        let v = fixture();
        let z = v.zone("example.org").unwrap();
        z.counters.count(ResponseCode::NoError);
        z.counters.count(ResponseCode::NXDomain);
        v.other.count(ResponseCode::Refused);
        let counts = v.query_counts();
        assert_eq!(
            counts,
            [
                ("example.org".to_string(), 2),
                ("sub.example.org".to_string(), 0)
            ]
        );
        let mut out = String::new();
        v.render_metrics(&mut out);
        assert!(
            out.contains("# TYPE lucent_dns_queries_total counter\n"),
            "{out}"
        );
        assert!(
            out.contains("lucent_dns_queries_total{zone=\"example.org\",rcode=\"NOERROR\"} 1\n")
        );
        assert!(
            out.contains("lucent_dns_queries_total{zone=\"example.org\",rcode=\"NXDOMAIN\"} 1\n")
        );
        assert!(out
            .contains("lucent_dns_queries_total{zone=\"sub.example.org\",rcode=\"NOERROR\"} 0\n"));
        assert!(out.contains("lucent_dns_queries_total{zone=\"\",rcode=\"REFUSED\"} 1\n"));
    }

    #[test]
    fn ten_thousand_hostnames_stay_compact() {
        let v = DnsView::new(apex_config());
        let rrsets = (0..10_000u32)
            .map(|i| {
                set(
                    &format!("host{i}.ddns.test"),
                    RType::A,
                    &[&format!("10.{}.{}.1", i / 256, i % 256)],
                )
            })
            .collect();
        v.load_zone(ZoneContent {
            name: "ddns.test".into(),
            serial: 1,
            rrsets,
        });
        let a = q(&v, "host9999.ddns.test.", RecordType::A);
        assert_eq!(a_of(&a.answers[0]), Some(Ipv4Addr::new(10, 39, 15, 1)));
        v.apply(
            "ddns.test",
            2,
            vec![set("host5.ddns.test", RType::Txt, &["note"])],
        );
        assert_positive(
            &q(&v, "host5.ddns.test.", RecordType::TXT),
            &[RecordType::TXT],
        );
        assert_positive(&q(&v, "host5.ddns.test.", RecordType::A), &[RecordType::A]);
    }
}

mod wire;

/// Resident memory of the view at 10k hostnames (A + AAAA + TXT each). Run with
/// `cargo test -p lucent-server rss_at_10k -- --ignored --nocapture`; Linux only.
#[test]
#[ignore]
fn rss_at_10k_hostnames() {
    fn rss_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
    let v = DnsView::new(apex_config());
    let mut rrsets = Vec::new();
    for i in 0..10_000u32 {
        let host = format!("host{i}.ddns.test");
        rrsets.push(set(
            &host,
            RType::A,
            &[&format!("10.{}.{}.1", i / 256, i % 256)],
        ));
        rrsets.push(set(&host, RType::Aaaa, &[&format!("2001:db8::{i:x}")]));
        rrsets.push(set(&host, RType::Txt, &["a short note"]));
    }
    // Measured from here: the input is freed inside load_zone, so the delta is the view plus
    // whatever the allocator keeps.
    let before = rss_kib();
    v.load_zone(ZoneContent {
        name: "ddns.test".into(),
        serial: 1,
        rrsets,
    });
    let after = rss_kib();
    println!(
        "view RSS delta at 10k hostnames: {} KiB",
        after.saturating_sub(before)
    );
    assert_positive(
        &q(&v, "host1.ddns.test.", RecordType::TXT),
        &[RecordType::TXT],
    );
}

/// A first start keeps every signature the load made (`Store::dump_signatures`): the batches
/// handed over walk the snapshot once, cover every signed RRset exactly once, hold at most
/// `batch` each, and a batch left untouched (the zone is gone from the store) ends the walk.
#[test]
fn each_zone_signature_hands_every_signature_over_once_in_batches() {
    use crate::dnssec::{Algorithm, KeyState, SigningKey};
    let view = DnsView::new(apex_config());
    let keys = ZoneKeys {
        keys: vec![(
            SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap(),
            KeyState::Active,
        )],
        delete_cds: false,
    };
    let rrsets: Vec<RrsetChange> = (0..10)
        .flat_map(|i| {
            [
                set(&format!("h{i}.s.test"), RType::A, &["192.0.2.1"]),
                set(&format!("h{i}.s.test"), RType::Txt, &["t"]),
            ]
        })
        .chain([set("s.test", RType::Ns, &["ns1.example.net."])])
        .collect();
    let none = &mut std::iter::empty().peekable();
    view.load_zone_signed(
        "s.test",
        1,
        Some(keys),
        none,
        rrsets,
        &mut std::iter::empty(),
    );
    let mut seen: Vec<(Vec<u8>, u16)> = Vec::new();
    let mut sizes = Vec::new();
    let n = view
        .each_zone_signature("s.test", 3, |batch| {
            let before = seen.len();
            for (key, rtype, _, sigs) in batch {
                assert!(!sigs.is_empty());
                seen.push((key.to_vec(), rtype));
            }
            sizes.push(seen.len() - before);
            Ok::<(), ()>(())
        })
        .unwrap()
        .unwrap();
    // 20 hostname RRsets and the apex NS (DNSKEY and the rest are apex sets made apart).
    assert_eq!(n, seen.len());
    assert!(n >= 21, "{n}");
    assert!(
        sizes.iter().all(|&s| s <= 3) && sizes.len() == n.div_ceil(3),
        "{sizes:?}"
    );
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "each once");
    let mut calls = 0;
    let taken = view.each_zone_signature("s.test", 3, |_| {
        calls += 1;
        Ok::<(), ()>(())
    });
    assert_eq!((taken, calls), (Some(Ok(0)), 1));
    assert!(view
        .each_zone_signature("unsigned.test", 3, |_| Ok::<(), ()>(()))
        .is_none());
}
