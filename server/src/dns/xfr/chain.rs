//! The denial chain of a signed zone for its secondaries. Answers from lucentd itself prove
//! denial per query with minimally covering records (secure.rs), which need the signing key;
//! a secondary has no key, so a transfer carries a complete NSEC3 (RFC 5155 §7.1) or NSEC
//! (RFC 4034 §4) chain, built from the snapshot being transferred and signed as it is sent.
//! Note what this gives away: anyone who can transfer the zone (or query a secondary) can walk
//! the chain, hashed for NSEC3. docs/install.md says so.

use std::collections::HashSet;

use super::super::signing::{ancestor_keys, bitmap_for, owner_wire, ZoneSec};
use super::super::zone::ZoneData;
use super::transfer::record;
use crate::dnssec::{nsec, nsec3, rtype, Denial, TypeBitmap};
use crate::model::RType;

const TYPE_RRSIG: u16 = 46;

/// Every record of the chain with its RRSIGs, as wire records (owner uncompressed), in chain
/// order. Empty when the chain cannot be built (logged).
pub(crate) fn denial_chain(apex: &[u8], data: &ZoneData, sec: &ZoneSec) -> Vec<Vec<u8>> {
    let signer = &sec.signer;
    let cds = sec.apex_sets.iter().any(|s| s.code == rtype::CDS);
    // Delegation points: names below them are not authoritative and stay out of the chain.
    let cuts: HashSet<&[u8]> = data
        .nodes()
        .filter(|n| !n.key().is_empty() && n.get(RType::Ns).is_some())
        .map(|n| n.key())
        .collect();
    let below_cut = |key: &[u8]| ancestor_keys(key).any(|a| cuts.contains(a));
    let present: HashSet<&[u8]> = data.nodes().map(|n| n.key()).collect();
    let mut names: Vec<(Vec<u8>, TypeBitmap)> = Vec::new();
    let mut empty: HashSet<&[u8]> = HashSet::new();
    for node in data.nodes() {
        let key = node.key();
        if below_cut(key) {
            continue;
        }
        let mut types: Vec<u16> = node.rrsets().map(|s| s.rtype.code()).collect();
        let bitmap = bitmap_for(&mut types, key.is_empty(), cds, signer.denial);
        names.push((owner_wire(key, apex), bitmap));
        // Empty non-terminals get NSEC3 records with an empty bitmap (RFC 5155 §7.1); NSEC
        // chains skip them (RFC 4034 §4.1.1 links names that own RRsets).
        if signer.denial == Denial::Nsec3 {
            for a in ancestor_keys(key) {
                if !present.contains(a) {
                    empty.insert(a);
                }
            }
        }
    }
    if !present.contains(&[][..]) {
        let bitmap = bitmap_for(&mut Vec::new(), true, cds, signer.denial);
        names.push((apex.to_vec(), bitmap));
    }
    for key in empty {
        names.push((owner_wire(key, apex), TypeBitmap::EMPTY));
    }
    let ttl = signer.proof_ttl;
    let mut out = Vec::with_capacity(2 * names.len());
    let mut owner = Vec::with_capacity(64);
    let mut rdata = Vec::with_capacity(64);
    let mut push = |owner: &[u8], code: u16, rdata: &[u8]| {
        let sigs = signer.sign_one(owner, code, ttl, rdata);
        out.push(record(owner, code, ttl, rdata));
        for sig in super::super::zone::RdataIter::over(&sigs) {
            out.push(record(owner, TYPE_RRSIG, ttl, sig));
        }
    };
    match signer.denial {
        Denial::Nsec3 => {
            let chain = nsec3::Nsec3Chain::from_names(
                apex,
                signer.params.clone(),
                names.iter().map(|(n, b)| (n.as_slice(), b.clone())),
            );
            let chain = match chain {
                Ok(c) => c,
                Err(e) => {
                    log::error!("xfr: building the NSEC3 chain: {e}");
                    return Vec::new();
                }
            };
            for entry in chain.iter() {
                owner.clear();
                rdata.clear();
                chain.write(&entry, &mut owner, &mut rdata);
                push(&owner, rtype::NSEC3, &rdata);
            }
        }
        Denial::Nsec => {
            let chain = nsec::NsecChain::from_names(
                apex,
                names.iter().map(|(n, b)| (n.as_slice(), b.clone())),
            );
            let chain = match chain {
                Ok(c) => c,
                Err(e) => {
                    log::error!("xfr: building the NSEC chain: {e}");
                    return Vec::new();
                }
            };
            for entry in chain.iter() {
                rdata.clear();
                nsec::nsec_rdata(&entry.next, entry.bitmap, &mut rdata);
                push(&entry.owner, rtype::NSEC, &rdata);
            }
        }
    }
    out
}
