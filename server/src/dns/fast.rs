//! The UDP fast path: a positive answer (A, AAAA, TXT, PTR, CAA, or CNAME asked as such) for
//! a name that exists in a zone without delegations, encoded straight from the stored wire
//! RDATA into the response buffer — no message objects, no allocation. Anything else
//! (negative answers, CNAME chasing, wildcards, referrals, additional-section processing,
//! truncation, malformed or unusual queries) returns `false` and takes the full path in
//! `server.rs`, which implements every rule; this path only ever produces the same bytes
//! that path would, minus name compression.

use hickory_proto::op::ResponseCode;

use super::server::{MAX_UDP_PAYLOAD, MIN_UDP_PAYLOAD};
use super::zone::Found;
use super::DnsView;
use crate::model::RType;

/// Answer `req` into `out` if it is the simple case; `false` means "use the full path".
pub(crate) fn answer(view: &DnsView, req: &[u8], out: &mut Vec<u8>) -> bool {
    try_answer(view, req, out).is_some()
}

/// The big-endian u16 at `at`, if the message is that long.
pub(super) fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn try_answer(view: &DnsView, req: &[u8], out: &mut Vec<u8>) -> Option<()> {
    // RFC 1035 §4.1.1 header: a standard query (QR=0, OPCODE=0), one question, no answer or
    // authority records, at most one additional (the OPT).
    let flags = be16(req, 2)?;
    if flags & 0xF800 != 0 {
        return None;
    }
    if be16(req, 4)? != 1 || be16(req, 6)? != 0 || be16(req, 8)? != 0 {
        return None;
    }
    let arcount = be16(req, 10)?;
    if arcount > 1 {
        return None;
    }
    // The question name: uncompressed labels, lowercased into `lower` for lookups.
    let mut lower = [0u8; 256];
    let mut pos = 12;
    let mut len = 0;
    let mut label_starts = [0u8; 128];
    let mut labels = 0;
    loop {
        let l = usize::from(*req.get(pos)?);
        if l == 0 {
            pos += 1;
            break;
        }
        if l > 63 || len + l + 1 > 255 {
            return None;
        }
        let label = req.get(pos + 1..pos + 1 + l)?;
        label_starts[labels] = len as u8;
        labels += 1;
        lower[len] = l as u8;
        for (i, c) in label.iter().enumerate() {
            lower[len + 1 + i] = c.to_ascii_lowercase();
        }
        len += l + 1;
        pos += l + 1;
    }
    let qname_end = pos;
    let qtype = be16(req, pos)?;
    if be16(req, pos + 2)? != 1 {
        return None; // class IN only
    }
    pos += 4;
    // EDNS(0) (RFC 6891 §6.1.2): root owner, type OPT, version 0, nothing after it.
    let mut dnssec_ok = 0;
    let limit = if arcount == 1 {
        if *req.get(pos)? != 0 || be16(req, pos + 1)? != 41 {
            return None;
        }
        let payload = be16(req, pos + 3)?;
        if *req.get(pos + 6)? != 0 {
            return None; // EDNS version > 0: BADVERS on the full path
        }
        // RFC 3225 §3: the DO bit (top bit of the OPT TTL's flags) is copied to the answer.
        dnssec_ok = *req.get(pos + 7)? & 0x80;
        let rdlen = usize::from(be16(req, pos + 9)?);
        if pos + 11 + rdlen != req.len() {
            return None;
        }
        // An NSID request (RFC 5001 §2.1) when we have one to give: the full path adds it.
        if view.server_id.is_some() && asks_nsid(&req[pos + 11..]) {
            return None;
        }
        Some(payload.clamp(MIN_UDP_PAYLOAD, MAX_UDP_PAYLOAD))
    } else {
        if pos != req.len() {
            return None;
        }
        None
    };
    let rtype = match qtype {
        1 => RType::A,
        28 => RType::Aaaa,
        16 => RType::Txt,
        12 => RType::Ptr,
        257 => RType::Caa,
        5 => RType::Cname,
        _ => return None,
    };

    // Longest served zone containing the name (RFC 1034 §4.3.2 step 2).
    let zones = view.zones.load();
    let (zone, first_zone_label) = (0..labels).find_map(|i| {
        let start = usize::from(label_starts[i]);
        zones.get(&lower[start..len]).map(|z| (z.clone(), i))
    })?;
    let data = zone.data.load();
    if data.cuts() > 0 {
        return None; // delegations present: the full path walks the cut rules
    }
    // Key: the labels left of the zone, reversed (see zone.rs).
    let mut key = [0u8; 256];
    let mut klen = 0;
    for i in (0..first_zone_label).rev() {
        let start = usize::from(label_starts[i]);
        let l = usize::from(lower[start]);
        key[klen..klen + l + 1].copy_from_slice(&lower[start..start + l + 1]);
        klen += l + 1;
    }
    let Found::Node(node) = data.find(&view.hasher, &key[..klen]) else {
        return None;
    };
    if rtype != RType::Cname && node.get(RType::Cname).is_some() {
        return None;
    }
    let set = node.get(rtype)?;
    // DO=1 to a signed zone: the RRSIGs stored with the RRset follow it (RFC 4035 §3.1.1).
    let signed = dnssec_ok != 0 && data.sec.is_some();

    // Response: header, the question copied as asked (case preserved), the answers with a
    // compression pointer to the question name (offset 12), then the OPT.
    out.clear();
    out.extend_from_slice(&req[..2]);
    // QR, AA, RD copied; RA clear; CD copied; RCODE 0.
    out.push(0x84 | (req[2] & 0x01));
    out.push(req[3] & 0x10);
    let sigs = if signed { set.rrsigs().count() } else { 0 };
    let count = (set.rdatas().count() + sigs) as u16;
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&u16::from(limit.is_some()).to_be_bytes());
    out.extend_from_slice(&req[12..qname_end + 4]);
    for rd in set.rdatas() {
        out.extend_from_slice(&[0xC0, 0x0C]);
        out.extend_from_slice(&qtype.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&set.ttl.to_be_bytes());
        out.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        out.extend_from_slice(rd);
    }
    if signed {
        for sig in set.rrsigs() {
            out.extend_from_slice(&[0xC0, 0x0C, 0, 46, 0, 1]);
            out.extend_from_slice(&set.ttl.to_be_bytes());
            out.extend_from_slice(&(sig.len() as u16).to_be_bytes());
            out.extend_from_slice(sig);
        }
    }
    if let Some(p) = limit {
        out.extend_from_slice(&[0, 0, 41]);
        out.extend_from_slice(&p.to_be_bytes());
        out.extend_from_slice(&[0, 0, dnssec_ok, 0, 0, 0]);
    }
    // Too large for the client's buffer: the full path decides what to cut (RFC 2181 §9).
    if out.len() > usize::from(limit.unwrap_or(MIN_UDP_PAYLOAD)) {
        return None;
    }
    zone.counters.count(ResponseCode::NoError);
    Some(())
}

/// Does an OPT RDATA (RFC 6891 §6.1.2: code, length, data, repeated) carry an NSID option
/// (code 3)? Malformed option lists count as yes, so the full path judges them.
fn asks_nsid(mut opts: &[u8]) -> bool {
    while !opts.is_empty() {
        let (Some(code), Some(len)) = (be16(opts, 0), be16(opts, 2)) else {
            return true;
        };
        if code == 3 {
            return true;
        }
        match opts.get(4 + usize::from(len)..) {
            Some(rest) => opts = rest,
            None => return true,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    //! Differential: wherever the fast path answers, the full path gives the same message
    //! (header flags, rcode, question, answer records, EDNS); where it declines, the full path
    //! still answers.

    use std::net::SocketAddr;

    use hickory_proto::op::{Edns, Message, Query};
    use hickory_proto::rr::{Name, RecordType};
    use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};

    use super::*;
    use crate::dns::tests::{apex_config, set};
    use crate::dns::ZoneContent;

    fn view() -> DnsView {
        let v = DnsView::new(apex_config());
        v.load_zone(ZoneContent {
            name: "example.org".into(),
            serial: 7,
            rrsets: vec![
                set("example.org", RType::Ns, &["ns1.example.net."]),
                set("example.org", RType::A, &["192.0.2.1"]),
                set("www.example.org", RType::A, &["192.0.2.10", "192.0.2.11"]),
                set("www.example.org", RType::Aaaa, &["2001:db8::10"]),
                set("www.example.org", RType::Txt, &["hello world"]),
                set("alias.example.org", RType::Cname, &["www.example.org."]),
                set(
                    "big.example.org",
                    RType::Txt,
                    &[&"x".repeat(250), &"y".repeat(250), &"z".repeat(250)],
                ),
                set("mail.example.org", RType::Mx, &["10 www.example.org."]),
            ],
        });
        v
    }

    fn query(name: &str, t: RecordType, edns: Option<u16>) -> Vec<u8> {
        query_do(name, t, edns, false)
    }

    /// A query with EDNS payload `edns` (if any) and the DO bit set or not.
    fn query_do(name: &str, t: RecordType, edns: Option<u16>, dnssec_ok: bool) -> Vec<u8> {
        let mut m = Message::query();
        m.metadata.id = 4242;
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
        if let Some(p) = edns {
            let mut e = Edns::new();
            e.set_max_payload(p);
            e.set_dnssec_ok(dnssec_ok);
            m.set_edns(e);
        }
        m.to_bytes().unwrap()
    }

    #[tokio::test]
    async fn fast_answers_match_the_full_path() {
        let v = view();
        let peer: SocketAddr = "127.0.0.1:5353".parse().unwrap();
        let mut fast_hits = 0;
        for (name, t) in [
            ("www.example.org.", RecordType::A),
            ("WwW.Example.ORG.", RecordType::A),
            ("www.example.org.", RecordType::AAAA),
            ("www.example.org.", RecordType::TXT),
            ("example.org.", RecordType::A),
            ("alias.example.org.", RecordType::CNAME),
            ("alias.example.org.", RecordType::A),
            ("nope.example.org.", RecordType::A),
            ("www.example.org.", RecordType::MX),
            ("mail.example.org.", RecordType::MX),
            ("example.org.", RecordType::SOA),
            ("example.org.", RecordType::NS),
            ("big.example.org.", RecordType::TXT),
            ("other.test.", RecordType::A),
        ] {
            for (edns, dok) in [
                (None, false),
                (Some(1232), false),
                (Some(1232), true),
                (Some(4096), false),
                (Some(100), true),
            ] {
                let q = query_do(name, t, edns, dok);
                let full = crate::dns::udp::full_for_tests(&v, &q, peer)
                    .await
                    .expect("full path answers");
                let mut out = Vec::new();
                if answer(&v, &q, &mut out) {
                    fast_hits += 1;
                    let a = Message::from_bytes(&out).unwrap();
                    let b = Message::from_bytes(&full).unwrap();
                    assert_eq!(a.metadata, b.metadata, "{name} {t} {edns:?}");
                    assert_eq!(a.queries, b.queries, "{name} {t} {edns:?}");
                    assert_eq!(a.answers, b.answers, "{name} {t} {edns:?}");
                    assert_eq!(a.authorities, b.authorities);
                    assert_eq!(a.additionals, b.additionals);
                    assert_eq!(
                        a.edns.as_ref().map(Edns::max_payload),
                        b.edns.as_ref().map(Edns::max_payload)
                    );
                    // RFC 3225 §3: both copy the DO bit.
                    assert_eq!(
                        a.edns.as_ref().map(|e| e.flags().dnssec_ok),
                        edns.map(|_| dok),
                        "{name} {t} {edns:?} DO={dok}"
                    );
                    assert_eq!(
                        a.edns.as_ref().map(|e| *e.flags()),
                        b.edns.as_ref().map(|e| *e.flags())
                    );
                    assert!(out.len() <= full.len() + 64);
                }
            }
        }
        assert!(fast_hits >= 20, "fast path used {fast_hits} times");
    }

    /// RFC 5001 §2.1: with a server id configured, a query asking for NSID takes the full
    /// path (which adds the option); one that does not stays on the fast path.
    #[tokio::test]
    async fn nsid_requests_take_the_full_path() {
        use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption, NSIDPayload};
        let v = view().with_server_id(Some("ns-a.example".into()));
        let peer: SocketAddr = "127.0.0.1:5353".parse().unwrap();
        let plain = query("www.example.org.", RecordType::A, Some(1232));
        let mut out = Vec::new();
        assert!(answer(&v, &plain, &mut out));
        let mut m = Message::from_bytes(&plain).unwrap();
        let mut e = m.edns.clone().unwrap();
        e.options_mut()
            .insert(EdnsOption::NSID(NSIDPayload::new(Vec::new()).unwrap()));
        m.set_edns(e);
        let asking = m.to_bytes().unwrap();
        assert!(!answer(&v, &asking, &mut out));
        let full = crate::dns::udp::full_for_tests(&v, &asking, peer)
            .await
            .unwrap();
        let r = Message::from_bytes(&full).unwrap();
        match r.edns.unwrap().option(EdnsCode::NSID) {
            Some(EdnsOption::NSID(p)) => assert_eq!(p.as_ref(), b"ns-a.example"),
            other => panic!("no NSID: {other:?}"),
        }
        assert!(!asks_nsid(&[0, 10, 0, 2, 1, 2]));
        assert!(asks_nsid(&[0, 10, 0, 2, 1, 2, 0, 3, 0, 0]));
        assert!(
            asks_nsid(&[0, 10, 0, 9, 1]),
            "malformed: let the full path judge"
        );
    }

    #[test]
    fn declines_what_it_does_not_handle() {
        let v = view();
        let mut out = Vec::new();
        // Negative answers, CNAME chasing, MX (additional section), SOA, truncation.
        for (name, t) in [
            ("nope.example.org.", RecordType::A),
            ("alias.example.org.", RecordType::A),
            ("mail.example.org.", RecordType::MX),
            ("example.org.", RecordType::SOA),
            ("other.test.", RecordType::A),
        ] {
            assert!(
                !answer(&v, &query(name, t, Some(1232)), &mut out),
                "{name} {t}"
            );
        }
        assert!(!answer(
            &v,
            &query("big.example.org.", RecordType::TXT, None),
            &mut out
        ));
        // Garbage and responses.
        assert!(!answer(&v, &[0u8; 5], &mut out));
        let mut resp = query("www.example.org.", RecordType::A, None);
        resp[2] |= 0x80;
        assert!(!answer(&v, &resp, &mut out));
    }
}
