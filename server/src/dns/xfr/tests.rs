//! Transfers end to end inside the process: a request signed as a secondary signs it, the
//! answer read back from an in-memory stream, every message's TSIG verified as a secondary
//! does (RFC 8945 §5.3.1) and the records parsed by hickory.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};
use tokio::io::AsyncReadExt;

use super::super::tests::{apex_config, fixture, set};
use super::super::tsig::{self, ResponseTsig, TsigKey};
use super::super::{DnsView, ZoneKeys};
use super::*;
use crate::dnssec::{Algorithm, KeyState, SigningKey};
use crate::model::RType;

const SECRET: &str = "KHWCBWOQ9WFgvjHBT0r5O7r+ExUSDWXHRAeb1SH2ehA=";

fn key(name: &str, secret: &str) -> Arc<TsigKey> {
    Arc::new(TsigKey::from_base64(name, "hmac-sha256", secret).unwrap())
}

fn xfr_config(zones: Option<Vec<String>>) -> XfrConfig {
    let k = key("xfr", SECRET);
    XfrConfig {
        keys: vec![
            k.clone(),
            key("other", "q3Uf0RPUQ1C6I8AkLXJUkVrJCmvJ3p7nZDIXsmSgybs="),
        ],
        secondaries: vec![Secondary {
            notify: "127.0.0.1:9".parse().unwrap(),
            key: k,
            zones,
        }],
    }
}

/// A journal kept in memory, as the store would answer.
#[derive(Default)]
struct MemJournal(Mutex<Vec<(u32, u32, Vec<u8>)>>);

impl JournalSource for MemJournal {
    fn changes(&self, _zone: &str, from: u32, to: u32) -> Option<Vec<Vec<u8>>> {
        let rows = self.0.lock().unwrap();
        let start = rows.iter().rposition(|r| r.0 == from)?;
        let mut at = from;
        let mut out = Vec::new();
        for (f, t, c) in &rows[start..] {
            if at == to {
                break;
            }
            if *f != at {
                return None;
            }
            out.push(c.clone());
            at = *t;
        }
        (at == to).then_some(out)
    }
}

/// An AXFR or IXFR request (IXFR with the secondary's SOA serial in the authority section).
fn request(zone: &str, qtype: RecordType, serial: Option<u32>) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.id = 0x4242;
    let name = hickory_proto::rr::Name::from_ascii(format!("{zone}.")).unwrap();
    m.add_query(hickory_proto::op::Query::query(name.clone(), qtype));
    if let Some(s) = serial {
        let soa = hickory_proto::rr::rdata::SOA::new(name.clone(), name.clone(), s, 1, 1, 1, 1);
        m.add_authority(hickory_proto::rr::Record::from_rdata(
            name,
            0,
            RData::SOA(soa),
        ));
    }
    m.to_vec().unwrap()
}

/// Send `req` (signed with `with` when given) and read every message of the answer.
async fn exchange(
    view: &DnsView,
    mut req: Vec<u8>,
    with: Option<Arc<TsigKey>>,
) -> (Vec<Message>, Vec<usize>) {
    let now = crate::clock::unix_now();
    let mut client = with.map(|k| tsig::sign_request(k, &mut req, now).unwrap());
    let (mut ours, mut theirs) = tokio::io::duplex(4096);
    let peer = "127.0.0.1:5300".parse().unwrap();
    let serve = async {
        transfer::answer(view, &req, peer, &mut theirs, Duration::from_secs(5))
            .await
            .unwrap();
        drop(theirs);
    };
    let read = async {
        let mut all = Vec::new();
        ours.read_to_end(&mut all).await.unwrap();
        all
    };
    let ((), bytes) = tokio::join!(serve, read);
    let mut msgs = Vec::new();
    let mut sizes = Vec::new();
    let mut rest = &bytes[..];
    while rest.len() >= 2 {
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let msg = &rest[2..2 + n];
        if let Some(c) = client.as_mut() {
            if msg[3] & 0x0F == 0 {
                assert_eq!(
                    c.verify(msg, now),
                    Ok(ResponseTsig::Signed),
                    "every message is signed"
                );
            }
        }
        msgs.push(Message::from_vec(msg).unwrap());
        sizes.push(n);
        rest = &rest[2 + n..];
    }
    (msgs, sizes)
}

fn records(msgs: &[Message]) -> Vec<hickory_proto::rr::Record> {
    msgs.iter()
        .flat_map(|m| m.answers.iter().cloned())
        .collect()
}

fn soa_serial(r: &hickory_proto::rr::Record) -> Option<u32> {
    match &r.data {
        RData::SOA(s) => Some(s.serial),
        _ => None,
    }
}

#[tokio::test]
async fn axfr_sends_every_record_between_two_soas_signed() {
    let view = fixture().with_xfr(xfr_config(None));
    let (msgs, _) = exchange(
        &view,
        request("example.org", RecordType::AXFR, None),
        Some(key("xfr", SECRET)),
    )
    .await;
    let recs = records(&msgs);
    assert_eq!(soa_serial(&recs[0]), Some(2024010101));
    assert_eq!(soa_serial(recs.last().unwrap()), Some(2024010101));
    assert_eq!(
        recs.iter()
            .filter(|r| r.record_type() == RecordType::SOA)
            .count(),
        2
    );
    // Every RRset of the fixture (its A, MX, TXT x4 of big, glue, ...).
    let has = |n: &str, t: RecordType| {
        recs.iter()
            .any(|r| r.name.to_ascii() == n && r.record_type() == t)
    };
    assert!(has("www.example.org.", RecordType::AAAA));
    assert!(
        has("ns.child.example.org.", RecordType::A),
        "glue goes along"
    );
    assert!(has("*.wild.example.org.", RecordType::A));
    assert!(has("_sip._tcp.example.org.", RecordType::SRV));
    let txt = recs
        .iter()
        .filter(|r| r.name.to_ascii() == "big.example.org.")
        .count();
    assert_eq!(txt, 4);
    assert!(msgs
        .iter()
        .all(|m| m.metadata.authoritative && m.queries.len() == 1));
}

#[tokio::test]
async fn a_large_zone_goes_in_many_bounded_messages() {
    let view = DnsView::new(apex_config()).with_xfr(xfr_config(None));
    let mut rrsets = vec![set("big.test", RType::Ns, &["ns1.example.net."])];
    for i in 0..20_000 {
        rrsets.push(set(&format!("h{i}.big.test"), RType::A, &["192.0.2.1"]));
    }
    view.load_zone_from("big.test", 1, rrsets);
    let (msgs, sizes) = exchange(
        &view,
        request("big.test", RecordType::AXFR, None),
        Some(key("xfr", SECRET)),
    )
    .await;
    assert_eq!(records(&msgs).len(), 20_000 + 1 + 2);
    assert!(msgs.len() > 20, "{} messages", msgs.len());
    assert!(sizes.iter().all(|&n| n <= 17 * 1024), "{sizes:?}");
}

#[tokio::test]
async fn who_may_transfer() {
    let view = fixture().with_xfr(xfr_config(Some(vec!["sub.example.org".into()])));
    let rcode = |m: &[Message]| m[0].metadata.response_code;
    // Unsigned: REFUSED, nothing else.
    let (m, _) = exchange(
        &view,
        request("sub.example.org", RecordType::AXFR, None),
        None,
    )
    .await;
    assert_eq!((m.len(), rcode(&m)), (1, ResponseCode::Refused));
    assert!(m[0].answers.is_empty());
    // An unknown key: NOTAUTH with BADKEY (RFC 8945 §5.2.1).
    let (m, _) = exchange(
        &view,
        request("sub.example.org", RecordType::AXFR, None),
        Some(key("nobody", SECRET)),
    )
    .await;
    assert_eq!(rcode(&m), ResponseCode::NotAuth);
    assert!(m[0].answers.is_empty());
    // The right name with a wrong secret: NOTAUTH (BADSIG).
    let (m, _) = exchange(
        &view,
        request("sub.example.org", RecordType::AXFR, None),
        Some(key("xfr", "q3Uf0RPUQ1C6I8AkLXJUkVrJCmvJ3p7nZDIXsmSgybs=")),
    )
    .await;
    assert_eq!(rcode(&m), ResponseCode::NotAuth);
    // A good key that no secondary of this zone uses: REFUSED.
    let (m, _) = exchange(
        &view,
        request("sub.example.org", RecordType::AXFR, None),
        Some(key("other", "q3Uf0RPUQ1C6I8AkLXJUkVrJCmvJ3p7nZDIXsmSgybs=")),
    )
    .await;
    assert_eq!(rcode(&m), ResponseCode::Refused);
    // The key, but a zone its secondary does not follow: REFUSED.
    let (m, _) = exchange(
        &view,
        request("example.org", RecordType::AXFR, None),
        Some(key("xfr", SECRET)),
    )
    .await;
    assert_eq!(rcode(&m), ResponseCode::Refused);
    // A name that is not a zone apex: NOTAUTH.
    let (m, _) = exchange(
        &view,
        request("www.sub.example.org", RecordType::AXFR, None),
        Some(key("xfr", SECRET)),
    )
    .await;
    assert_eq!(rcode(&m), ResponseCode::NotAuth);
    // The zone it follows: the data.
    let (m, _) = exchange(
        &view,
        request("sub.example.org", RecordType::AXFR, None),
        Some(key("xfr", SECRET)),
    )
    .await;
    assert_eq!(rcode(&m), ResponseCode::NoError);
    assert_eq!(records(&m).len(), 5);
}

#[tokio::test]
async fn ixfr_from_the_journal_condensed_else_the_whole_zone() {
    let view = fixture().with_xfr(xfr_config(None));
    let journal = Arc::new(MemJournal::default());
    view.set_journal(journal.clone());
    let k = Some(key("xfr", SECRET));
    // Up to date (and ahead): the SOA alone.
    let (m, _) = exchange(
        &view,
        request("example.org", RecordType::IXFR, Some(2024010101)),
        k.clone(),
    )
    .await;
    assert_eq!(records(&m).len(), 1);
    // Two groups, journaled as the store does before publishing them.
    let mut serial = 2024010101u32;
    for (addr, txt) in [("192.0.2.77", "one"), ("192.0.2.78", "two")] {
        let changes = [
            set("www.example.org", RType::A, &[addr]),
            set("new.example.org", RType::Txt, &[txt]),
        ];
        let refs: Vec<&crate::model::RrsetChange> = changes.iter().collect();
        let (from, blob) = view.journal_entry("example.org", &refs).unwrap();
        assert_eq!(from, serial);
        journal.0.lock().unwrap().push((serial, serial + 1, blob));
        view.apply("example.org", serial + 1, changes.to_vec());
        serial += 1;
    }
    // No entry for a zone not served.
    assert!(view.journal_entry("nowhere.example", &[]).is_none());
    let (m, _) = exchange(
        &view,
        request("example.org", RecordType::IXFR, Some(2024010101)),
        k.clone(),
    )
    .await;
    let recs = records(&m);
    let text: Vec<String> = recs
        .iter()
        .map(|r| format!("{} {} {}", r.name, r.record_type(), r.data))
        .collect();
    // new SOA, old SOA, deleted, new SOA, added, new SOA (RFC 1995 §4).
    assert_eq!(soa_serial(&recs[0]), Some(serial));
    assert_eq!(soa_serial(&recs[1]), Some(2024010101));
    assert_eq!(text[2], "www.example.org. A 192.0.2.2", "{text:#?}");
    assert_eq!(soa_serial(&recs[3]), Some(serial));
    assert_eq!(text[4], "new.example.org. TXT two");
    assert_eq!(text[5], "www.example.org. A 192.0.2.78");
    assert_eq!(soa_serial(&recs[6]), Some(serial));
    assert_eq!(
        recs.len(),
        7,
        "the intermediate values never show: {text:#?}"
    );
    // Older than the journal: the whole zone, AXFR-style.
    let (m, _) = exchange(
        &view,
        request("example.org", RecordType::IXFR, Some(2000)),
        k,
    )
    .await;
    let recs = records(&m);
    assert!(recs.len() > 20);
    assert_eq!(soa_serial(&recs[0]), Some(serial));
    assert_ne!(soa_serial(&recs[1]), Some(2000));
}

#[tokio::test]
async fn a_signed_zone_goes_with_signatures_and_a_whole_nsec3_chain() {
    let view = DnsView::new(apex_config()).with_xfr(xfr_config(None));
    let keys = ZoneKeys {
        keys: vec![(
            SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap(),
            KeyState::Active,
        )],
        delete_cds: false,
    };
    let rrsets = vec![
        set("s.test", RType::Ns, &["ns1.example.net."]),
        set("www.s.test", RType::A, &["192.0.2.1"]),
        set("a.b.c.s.test", RType::Txt, &["deep"]),
        set("child.s.test", RType::Ns, &["ns.child.s.test."]),
        set("ns.child.s.test", RType::A, &["192.0.2.53"]),
    ];
    view.load_zone_signed(
        "s.test",
        9,
        Some(keys),
        &mut std::iter::empty().peekable(),
        rrsets,
        &mut std::iter::empty(),
    );
    let (m, _) = exchange(
        &view,
        request("s.test", RecordType::IXFR, Some(1)),
        Some(key("xfr", SECRET)),
    )
    .await;
    let recs = records(&m);
    let count = |t: RecordType| recs.iter().filter(|r| r.record_type() == t).count();
    assert_eq!(count(RecordType::DNSKEY), 1);
    assert_eq!(count(RecordType::NSEC3PARAM), 1);
    // Names: apex, www, a.b.c, child (a delegation), and the empty non-terminals b.c and c;
    // the glue below the cut has none (RFC 5155 §7.1).
    assert_eq!(count(RecordType::NSEC3), 6);
    // hickory is built without its DNSSEC types: an RRSIG's covered type is its first two
    // RDATA octets (RFC 4034 §3.1).
    let sigs = |t: RecordType| {
        recs.iter()
            .filter(|r| r.record_type() == RecordType::RRSIG)
            .filter(|r| {
                let b = hickory_proto::serialize::binary::BinEncodable::to_bytes(&r.data).unwrap();
                u16::from_be_bytes([b[0], b[1]]) == u16::from(t)
            })
            .count()
    };
    assert_eq!(sigs(RecordType::NSEC3), 6);
    assert_eq!(sigs(RecordType::A), 1, "www is signed; the glue is not");
    assert_eq!(sigs(RecordType::SOA), 1);
    assert_eq!(sigs(RecordType::NS), 1, "only the apex NS is signed");
}

/// The records of a message list as comparable wire records (owner lowercase, uncompressed).
fn wire_set(msgs: &[Message]) -> std::collections::BTreeSet<Vec<u8>> {
    use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
    records(msgs)
        .iter()
        .map(|r| {
            let mut b = Vec::new();
            let mut e = BinEncoder::new(&mut b);
            e.set_canonical_form(true);
            r.emit(&mut e).unwrap();
            b
        })
        .collect()
}

#[tokio::test]
async fn a_signed_zone_ixfr_turns_the_old_copy_into_the_new_one() {
    let view = DnsView::new(apex_config()).with_xfr(xfr_config(None));
    let journal = Arc::new(MemJournal::default());
    view.set_journal(journal.clone());
    let keys = ZoneKeys {
        keys: vec![(
            SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap(),
            KeyState::Active,
        )],
        delete_cds: false,
    };
    let mut rrsets = vec![set("s.test", RType::Ns, &["ns1.example.net."])];
    for i in 0..50 {
        rrsets.push(set(&format!("h{i}.s.test"), RType::A, &["192.0.2.1"]));
    }
    view.load_zone_signed(
        "s.test",
        100,
        Some(keys),
        &mut std::iter::empty().peekable(),
        rrsets,
        &mut std::iter::empty(),
    );
    let k = Some(key("xfr", SECRET));
    // The secondary's first copy (this keeps the chain).
    let (m, _) = exchange(&view, request("s.test", RecordType::AXFR, None), k.clone()).await;
    let mut copy = wire_set(&m);
    // Groups that change an address, add names (one two labels deep: an empty non-terminal
    // appears), and remove one.
    let groups: Vec<Vec<crate::model::RrsetChange>> = vec![
        vec![set("h1.s.test", RType::A, &["192.0.2.99"])],
        vec![
            set("new.s.test", RType::Txt, &["hello"]),
            set("a.deep.s.test", RType::A, &["192.0.2.5"]),
        ],
        vec![
            set("h2.s.test", RType::A, &[]),
            set("h3.s.test", RType::Aaaa, &["2001:db8::3"]),
        ],
    ];
    for (serial, g) in (100u32..).zip(groups) {
        let refs: Vec<&crate::model::RrsetChange> = g.iter().collect();
        let (_, blob) = view.journal_entry("s.test", &refs).unwrap();
        journal.0.lock().unwrap().push((serial, serial + 1, blob));
        view.apply("s.test", serial + 1, g);
    }
    let (m, _) = exchange(
        &view,
        request("s.test", RecordType::IXFR, Some(100)),
        k.clone(),
    )
    .await;
    let recs = records(&m);
    assert_eq!(
        soa_serial(&recs[1]),
        Some(100),
        "a difference, not the whole zone"
    );
    // Apply it as a secondary does: delete up to the second new SOA, then add.
    let as_wire = |r: &hickory_proto::rr::Record| {
        use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
        let mut b = Vec::new();
        let mut e = BinEncoder::new(&mut b);
        e.set_canonical_form(true);
        r.emit(&mut e).unwrap();
        b
    };
    let soas: Vec<usize> = recs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.record_type() == RecordType::SOA)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(soas.len(), 4, "one condensed difference");
    // The old SOA (first of the deletions) goes, the new one comes in.
    for r in &recs[soas[1]..soas[2]] {
        assert!(
            copy.remove(&as_wire(r)),
            "deleting what the copy does not hold: {r}"
        );
    }
    for r in &recs[soas[2] + 1..soas[3]] {
        assert!(copy.insert(as_wire(r)), "adding what the copy holds: {r}");
    }
    copy.insert(as_wire(&recs[0]));
    // The patched copy equals a fresh full transfer at the new serial.
    let (m, _) = exchange(&view, request("s.test", RecordType::AXFR, None), k).await;
    let fresh = wire_set(&m);
    assert_eq!(copy, fresh);
    // And the kept chain is the chain a fresh build makes (signatures aside).
    let z = view.zone("s.test").unwrap();
    let data = z.data.load_full();
    let apex = hickory_proto::serialize::binary::BinEncodable::to_bytes(&z.apex).unwrap();
    let built = chain::LiveChain::build(&apex, &data, data.sec.as_ref().unwrap()).unwrap();
    let nsec3_only = |v: Vec<Vec<u8>>| -> std::collections::BTreeSet<Vec<u8>> {
        v.into_iter()
            .filter(|r| {
                let at = r.iter().position(|&b| b == 0).unwrap() + 1;
                r[at..at + 2] == [0, 50]
            })
            .collect()
    };
    let live: std::collections::BTreeSet<Vec<u8>> = fresh
        .iter()
        .filter(|r| {
            let at = r.iter().position(|&b| b == 0).unwrap() + 1;
            r[at..at + 2] == [0, 50]
        })
        .cloned()
        .collect();
    assert_eq!(live, nsec3_only(built.wire_records()));
    // h0..h49, new, a.deep and deep (an empty non-terminal), less h2; plus the apex.
    assert_eq!(live.len(), 50 + 3 - 1 + 1);
}
