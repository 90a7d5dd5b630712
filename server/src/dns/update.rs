//! DNS UPDATE (RFC 2136) on the wire: the TSIG check (RFC 8945; only the per-user keys of
//! `lucentd user tsig` sign updates), decoding the zone, prerequisite and update sections into
//! `model::update` types, and the answer: the header and zone section with the RCODE, signed
//! with the request's key. What an update means (who may change what, the prerequisites, the
//! changes themselves) is the domain layer's, reached through the `UpdateHandler` the server
//! installs; it answers once the change is durable and published.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use hickory_proto::op::Message;
use hickory_proto::rr::{RData, Record, RecordType};

use super::tsig::{self, TsigKey};
use super::xfr::signed::{error_answer, rejection};
use super::DnsView;
use crate::model::update::{class, rcode, UpdateRequest, UpdateRr};

/// What the DNS side needs from above to answer an UPDATE.
pub trait UpdateHandler: Send + Sync {
    /// The live UPDATE key of that name (lowercase, no trailing dot), if any.
    fn key(&self, name: &str) -> Option<Arc<TsigKey>>;
    /// Apply an update signed with key `key` (verified) from `from`; resolves to the RCODE.
    fn apply(
        &self,
        key: String,
        req: UpdateRequest,
        from: IpAddr,
    ) -> Pin<Box<dyn Future<Output = u8> + Send>>;
}

/// Answer one UPDATE message (opcode 5).
pub(crate) async fn answer(view: &DnsView, pkt: &[u8], peer: SocketAddr) -> Vec<u8> {
    let now = crate::clock::unix_now();
    let handler = view.update.get();
    let verified = tsig::verify_request(pkt, now, |name| handler.and_then(|h| h.key(name)));
    let server = match verified {
        Ok(Some(s)) => s,
        Ok(None) => {
            log::info!("update: unsigned UPDATE from {peer} refused");
            return error_answer(pkt, rcode::REFUSED);
        }
        Err(reject) => return rejection(pkt, &reject, now, &format!("UPDATE from {peer}")),
    };
    let code = match (decode(pkt), handler) {
        (Err(code), _) => code,
        (Ok(req), Some(h)) => {
            h.apply(server.key().name().to_string(), req, peer.ip())
                .await
        }
        (Ok(_), None) => rcode::REFUSED,
    };
    let mut out = error_answer(pkt, code);
    // The zone section is copied (RFC 2136 §3.8); the other sections stay empty.
    super::xfr::signed::sign(&server, &mut out);
    out
}

/// Decode an UPDATE (RFC 2136 §2): one zone of type SOA, the prerequisites (answer section)
/// and the updates (authority section). The error is the RCODE to answer with.
pub fn decode(pkt: &[u8]) -> Result<UpdateRequest, u8> {
    let msg = Message::from_vec(pkt).map_err(|_| rcode::FORMERR)?;
    // §3.1.1: exactly one zone, of type SOA.
    let [zone] = msg.queries.as_slice() else {
        return Err(rcode::FORMERR);
    };
    if zone.query_type() != RecordType::SOA {
        return Err(rcode::FORMERR);
    }
    if u16::from(zone.query_class()) != class::IN {
        return Err(rcode::NOTAUTH);
    }
    let name = |n: &hickory_proto::rr::Name| {
        n.to_lowercase()
            .to_ascii()
            .trim_end_matches('.')
            .to_string()
    };
    let rr = |r: &Record| UpdateRr {
        name: name(&r.name),
        rtype: u16::from(r.record_type()),
        class: u16::from(r.dns_class),
        ttl: r.ttl,
        content: content_of(&r.data),
    };
    Ok(UpdateRequest {
        zone: name(zone.name()),
        prereqs: msg.answers.iter().map(rr).collect(),
        updates: msg.authorities.iter().map(rr).collect(),
    })
}

/// The API's content form of an RDATA (`None`: empty RDATA).
fn content_of(d: &RData) -> Option<Result<String, String>> {
    Some(Ok(match d {
        RData::Update0(_) => return None,
        // The API keeps one TXT value; several character-strings are one value together
        // (RFC 7208 §3.3 reads SPF the same way).
        RData::TXT(t) => {
            let bytes: Vec<u8> = t.txt_data.iter().flat_map(|s| s.iter().copied()).collect();
            match String::from_utf8(bytes) {
                Ok(s) => crate::model::content::txt_content(s),
                Err(_) => return Some(Err("TXT that is not UTF-8".into())),
            }
        }
        RData::A(_)
        | RData::AAAA(_)
        | RData::CNAME(_)
        | RData::MX(_)
        | RData::NS(_)
        | RData::PTR(_)
        | RData::SRV(_)
        | RData::CAA(_)
        | RData::SOA(_) => d.to_string(),
        other => {
            return Some(Err(format!(
                "records of type {} cannot be changed here",
                other.record_type()
            )))
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{OpCode, Query};
    use hickory_proto::rr::rdata::{A, TXT};
    use hickory_proto::rr::{DNSClass, Name};

    fn msg() -> Message {
        let mut m = Message::query();
        m.metadata.op_code = OpCode::Update;
        m.add_query(Query::query(
            Name::from_ascii("Example.ORG.").unwrap(),
            RecordType::SOA,
        ));
        m
    }

    #[test]
    fn sections_decode_into_prerequisites_and_updates() {
        let mut m = msg();
        let mut p = Record::update0(
            Name::from_ascii("www.example.org.").unwrap(),
            0,
            RecordType::A,
        );
        p.dns_class = DNSClass::ANY;
        m.add_answer(p);
        let add = Record::from_rdata(
            Name::from_ascii("www.example.org.").unwrap(),
            300,
            RData::A(A::new(192, 0, 2, 1)),
        );
        m.add_authority(add);
        let txt = Record::from_rdata(
            Name::from_ascii("t.example.org.").unwrap(),
            60,
            RData::TXT(TXT::new(vec!["a b".into(), "c".into()])),
        );
        m.add_authority(txt);
        let req = decode(&m.to_vec().unwrap()).unwrap();
        assert_eq!(req.zone, "example.org");
        assert_eq!(req.prereqs.len(), 1);
        assert_eq!(
            (req.prereqs[0].class, req.prereqs[0].rtype),
            (class::ANY, 1)
        );
        assert_eq!(req.prereqs[0].content, None);
        assert_eq!(req.updates[0].content, Some(Ok("192.0.2.1".into())));
        assert_eq!((req.updates[0].class, req.updates[0].ttl), (class::IN, 300));
        assert_eq!(req.updates[1].content, Some(Ok("a bc".into())));
    }

    #[test]
    fn a_zone_section_that_is_not_one_soa_is_formerr() {
        let mut m = msg();
        m.queries[0] = Query::query(Name::from_ascii("example.org.").unwrap(), RecordType::A);
        assert_eq!(decode(&m.to_vec().unwrap()), Err(rcode::FORMERR));
        let mut m = msg();
        m.add_query(Query::query(
            Name::from_ascii("example.net.").unwrap(),
            RecordType::SOA,
        ));
        assert_eq!(decode(&m.to_vec().unwrap()), Err(rcode::FORMERR));
        assert_eq!(decode(&[0, 1, 0x28, 0]), Err(rcode::FORMERR));
    }
}
