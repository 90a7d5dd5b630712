//! DNSSEC in answers (RFC 4035 §3.1) for queries with DO=1 to a signed zone: the RRSIGs kept
//! with each RRset, the apex key RRsets, and denial of existence made per query from
//! minimally covering records (RFC 4470 for NSEC, its NSEC3 analogue in hash space; see
//! `crate::dnssec` on what each reveals), signed on the fly. DO=0 answers get none of it.

use hickory_proto::rr::rdata::NULL;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinDecoder;

use super::lookup::{Answer, Ctx};
use super::signing::{bitmap_for, owner_wire, ZoneSec};
use super::zone::{Found, Node, RdataIter, RrsetRef};
use crate::dnssec::nsec3::{self, SynthRecord};
use crate::dnssec::{nsec, rtype, Denial, TypeBitmap};

/// A record of a type hickory is not built to parse (RRSIG, NSEC3, DNSKEY...), as raw RDATA.
fn raw_record(owner: &Name, code: u16, ttl: u32, rdata: &[u8]) -> Record {
    Record::from_rdata(
        owner.clone(),
        ttl,
        RData::Unknown {
            code: RecordType::from(code),
            rdata: NULL::with(rdata.to_vec()),
        },
    )
}

/// Lowercase wire form of a name, root label included.
fn name_wire(name: &Name) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 1);
    for label in name.iter() {
        out.push(label.len() as u8);
        out.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    out.push(0);
    out
}

fn wire_name(wire: &[u8]) -> Option<Name> {
    use hickory_proto::serialize::binary::BinDecodable;
    Name::read(&mut BinDecoder::new(wire)).ok()
}

impl Ctx<'_> {
    /// The snapshot's signing state when this answer should carry DNSSEC records.
    fn sec(&self) -> Option<&ZoneSec> {
        if self.dnssec_ok {
            self.data.sec.as_deref()
        } else {
            None
        }
    }

    /// An RRset into the answer section, with its RRSIGs when asked for.
    pub(super) fn push_answer(&mut self, owner: &Name, set: RrsetRef<'_>) {
        Answer::push(&mut self.out.answers, &mut self.out.size_bound, owner, set);
        if self.sec().is_some() {
            Self::push_rrsigs(&mut self.out.answers, &mut self.out.size_bound, owner, set);
        }
    }

    /// The RRSIGs stored with `set`, owned by `owner` (a wildcard's carry the wildcard's
    /// label count, which tells validators the answer was synthesised).
    pub(super) fn push_rrsigs(
        section: &mut Vec<Record>,
        size: &mut usize,
        owner: &Name,
        set: RrsetRef<'_>,
    ) {
        for sig in set.rrsigs() {
            *size += owner.len() + 12 + sig.len();
            section.push(raw_record(owner, rtype::RRSIG, set.ttl, sig));
        }
    }

    /// The SOA's RRSIG after the SOA just pushed (answer or authority section).
    pub(super) fn push_soa_sig(&mut self, answer: bool, ttl: u32) {
        let Some(sec) = self.sec() else { return };
        let apex = self.zone.apex.clone();
        let sigs: Vec<Record> = RdataIter::over(&sec.soa_sig)
            .map(|sig| raw_record(&apex, rtype::RRSIG, ttl, sig))
            .collect();
        self.out.size_bound += sigs.len() * (apex.len() + 12 + 100);
        let section = if answer {
            &mut self.out.answers
        } else {
            &mut self.out.authority
        };
        section.extend(sigs);
    }

    /// DNSKEY, CDS, CDNSKEY or NSEC3PARAM at the apex of a signed zone (with RRSIGs for DO=1).
    /// False when the zone is unsigned or has no such RRset (then the caller answers NODATA).
    pub(super) fn answer_apex_keys(&mut self, owner: &Name, qtype: RecordType) -> bool {
        let Some(sec) = self.data.sec.as_deref() else {
            return false;
        };
        let code = u16::from(qtype);
        let Some(set) = sec.apex_sets.iter().find(|s| s.code == code) else {
            return false;
        };
        for rd in RdataIter::over(&set.data) {
            self.out.size_bound += owner.len() + 12 + rd.len();
            self.out.answers.push(raw_record(owner, code, set.ttl, rd));
        }
        if self.dnssec_ok {
            for sig in RdataIter::over(&set.sigs) {
                self.out.size_bound += owner.len() + 12 + sig.len();
                self.out
                    .answers
                    .push(raw_record(owner, rtype::RRSIG, set.ttl, sig));
            }
        }
        true
    }

    /// The NSEC/NSEC3 type bitmap of a node (None: an empty non-terminal); the apex adds the
    /// SOA, NS and the key types.
    fn bitmap(&self, sec: &ZoneSec, key_is_apex: bool, node: Option<&Node>) -> TypeBitmap {
        let mut types: Vec<u16> = node
            .map(|n| n.rrsets().map(|s| s.rtype.code()).collect())
            .unwrap_or_default();
        let cds = sec.apex_sets.iter().any(|s| s.code == rtype::CDS);
        bitmap_for(&mut types, key_is_apex, cds, sec.signer.denial)
    }

    /// Records made for this answer into the authority section, each signed now.
    fn push_proofs(&mut self, code: u16, records: &[SynthRecord]) {
        let Some(sec) = self.sec() else { return };
        let (signer, cached) = (sec.signer.clone(), sec.cached.clone());
        let ttl = signer.proof_ttl;
        for r in records {
            let Some(owner) = wire_name(&r.owner) else {
                continue;
            };
            let sigs = match cached
                .iter()
                .find(|c| c.owner == r.owner && c.rdata == r.rdata)
            {
                Some(c) => c.sigs.clone(),
                None => signer.sign_one_cached(&r.owner, code, ttl, &r.rdata),
            };
            self.out.size_bound += owner.len() + 12 + r.rdata.len();
            self.out
                .authority
                .push(raw_record(&owner, code, ttl, &r.rdata));
            for sig in RdataIter::over(&sigs) {
                self.out.size_bound += owner.len() + 12 + sig.len();
                self.out
                    .authority
                    .push(raw_record(&owner, rtype::RRSIG, ttl, sig));
            }
        }
    }

    /// The node at `key` (None for an empty non-terminal) and its bitmap.
    fn bitmap_at(&self, sec: &ZoneSec, key: &[u8]) -> TypeBitmap {
        let data = self.data;
        let node = match data.find(&self.view.hasher, key) {
            Found::Node(n) => Some(n),
            _ => None,
        };
        self.bitmap(sec, key.is_empty(), node)
    }

    /// NXDOMAIN: `qname` does not exist below the closest encloser `ce_key`, nor does the
    /// wildcard there (RFC 5155 §7.2.2, RFC 4035 §3.1.3.2).
    pub(super) fn deny_name(&mut self, qname: &Name, ce_key: &[u8]) {
        let Some(sec) = self.sec() else { return };
        let signer = sec.signer.clone();
        let bitmap = self.bitmap_at(sec, ce_key);
        let ce = owner_wire(ce_key, &signer.apex);
        let q = name_wire(qname);
        let (code, records) = match signer.denial {
            Denial::Nsec3 => (
                rtype::NSEC3,
                nsec3::nxdomain_proof(&signer.apex, &signer.params, &q, &ce, &bitmap)
                    .map(|r| r.to_vec()),
            ),
            Denial::Nsec => (
                rtype::NSEC,
                nsec::white_lies(&signer.apex, &q, &ce, &bitmap),
            ),
        };
        match records {
            Ok(r) => self.push_proofs(code, &r),
            Err(e) => log::warn!("dnssec: no NXDOMAIN proof for {qname}: {e}"),
        }
    }

    /// NODATA at `owner` (node None: an empty non-terminal). When the answer came from a
    /// wildcard, the proof shows the closest encloser, that the name is not there, and that the
    /// wildcard lacks the type (RFC 5155 §7.2.5).
    pub(super) fn deny_type(&mut self, owner: &Name, node: Option<&Node>) {
        let Some(sec) = self.sec() else { return };
        let signer = sec.signer.clone();
        let q = name_wire(owner);
        let is_apex = q == signer.apex;
        let bitmap = self.bitmap(sec, is_apex, node);
        let (p, apex) = (&signer.params, &signer.apex);
        let (code, records) = match (signer.denial, self.wildcard_ce.clone()) {
            (Denial::Nsec3, None) => (
                rtype::NSEC3,
                vec![nsec3::minimally_matching(
                    apex,
                    p,
                    &nsec3::hash(&q, &p.salt, p.iterations),
                    &bitmap,
                )],
            ),
            (Denial::Nsec, None) => match nsec::minimal_nodata(&q, &bitmap) {
                Ok(r) => (rtype::NSEC, vec![r]),
                Err(_) => return,
            },
            (denial, Some(ce_key)) => {
                let ce = owner_wire(&ce_key, apex);
                let mut wildcard = b"\x01*".to_vec();
                wildcard.extend_from_slice(&ce);
                let ce_bitmap = self.bitmap_at(sec, &ce_key);
                match denial {
                    Denial::Nsec3 => {
                        let Ok([m, nc, _]) = nsec3::nxdomain_proof(apex, p, &q, &ce, &ce_bitmap)
                        else {
                            return;
                        };
                        let h = nsec3::hash(&wildcard, &p.salt, p.iterations);
                        let w = nsec3::minimally_matching(apex, p, &h, &bitmap);
                        (rtype::NSEC3, vec![m, nc, w])
                    }
                    Denial::Nsec => {
                        let Ok(mut lies) = nsec::white_lies(apex, &q, &ce, &ce_bitmap) else {
                            return;
                        };
                        lies.truncate(1);
                        if let Ok(w) = nsec::minimal_nodata(&wildcard, &bitmap) {
                            lies.push(w);
                        }
                        (rtype::NSEC, lies)
                    }
                }
            }
        };
        self.push_proofs(code, &records);
    }

    /// A positive answer from the wildcard of `ce_key`: prove the query name's next closer
    /// name does not exist (RFC 5155 §7.2.6, RFC 4035 §3.1.3.3).
    pub(super) fn prove_wildcard_answer(&mut self, qname: &Name, ce_key: &[u8]) {
        let Some(sec) = self.sec() else { return };
        let signer = sec.signer.clone();
        let ce = owner_wire(ce_key, &signer.apex);
        let q = name_wire(qname);
        let (p, apex) = (&signer.params, &signer.apex);
        match signer.denial {
            Denial::Nsec3 => {
                let Some(nc) = crate::dnssec::name::next_closer(&q, &ce) else {
                    return;
                };
                let h = nsec3::hash(nc, &p.salt, p.iterations);
                let r = nsec3::minimally_covering(apex, p, &h);
                self.push_proofs(rtype::NSEC3, &[r]);
            }
            Denial::Nsec => {
                let bitmap = self.bitmap_at(sec, ce_key);
                if let Ok(mut lies) = nsec::white_lies(apex, &q, &ce, &bitmap) {
                    lies.truncate(1);
                    self.push_proofs(rtype::NSEC, &lies);
                }
            }
        }
    }

    /// A referral to a child zone without DS: prove there is no DS (RFC 4035 §3.1.4, RFC 5155
    /// §7.2.7), so validators treat the child as unsigned rather than bogus.
    pub(super) fn prove_unsigned_delegation(&mut self, cut_key: &[u8], node: &Node) {
        let Some(sec) = self.sec() else { return };
        let signer = sec.signer.clone();
        let bitmap = self.bitmap(sec, false, Some(node));
        let cut = owner_wire(cut_key, &signer.apex);
        let p = &signer.params;
        match signer.denial {
            Denial::Nsec3 => {
                let h = nsec3::hash(&cut, &p.salt, p.iterations);
                let r = nsec3::minimally_matching(&signer.apex, p, &h, &bitmap);
                self.push_proofs(rtype::NSEC3, &[r]);
            }
            Denial::Nsec => {
                if let Ok(r) = nsec::minimal_nodata(&cut, &bitmap) {
                    self.push_proofs(rtype::NSEC, &[r]);
                }
            }
        }
    }
}
