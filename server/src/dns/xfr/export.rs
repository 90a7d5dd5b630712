//! A signed zone's DNSSEC records as text, for `lucentd zone export`: what a full transfer
//! carries beyond the zone's data (the apex key sets, every RRSIG, the denial chain), so the
//! exported file is the signed zone as secondaries get it.

use super::super::signing::owner_wire;
use super::super::zone::RdataIter;
use super::super::DnsView;
use super::chain::{nsec_chain, LiveChain};
use crate::dnssec::{name, rtype, text};
use hickory_proto::serialize::binary::BinEncodable;

/// One record as text: owner (no trailing dot), TTL, type mnemonic, RDATA presentation.
pub type TextRecord = (String, u32, String, String);

fn rdata_text(code: u16, rdata: &[u8]) -> Option<String> {
    let t = match code {
        rtype::RRSIG => text::rrsig_text(rdata),
        rtype::NSEC => text::nsec_text(rdata),
        rtype::NSEC3 => text::nsec3_text(rdata),
        rtype::NSEC3PARAM => text::nsec3param_text(rdata),
        rtype::DNSKEY | rtype::CDNSKEY => text::dnskey_text(rdata),
        rtype::CDS => text::ds_text(rdata),
        _ => return None,
    };
    t.ok()
}

fn push(out: &mut Vec<TextRecord>, owner: &[u8], code: u16, ttl: u32, rdata: &[u8]) {
    match rdata_text(code, rdata) {
        Some(t) => out.push((
            name::to_text(owner).trim_end_matches('.').to_string(),
            ttl,
            text::type_name(code),
            t,
        )),
        None => log::warn!("export: a {} record did not decode", text::type_name(code)),
    }
}

/// Split a wire record made by transfer.rs (uncompressed owner) and push it.
fn push_wire(out: &mut Vec<TextRecord>, rec: &[u8]) {
    let Some(end) = rec.iter().position(|&b| b == 0) else {
        return;
    };
    let (owner, rest) = rec.split_at(end + 1);
    if rest.len() < 10 {
        return;
    }
    let code = u16::from_be_bytes([rest[0], rest[1]]);
    let ttl = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]);
    push(out, owner, code, ttl, &rest[10..]);
}

/// The DNSSEC records of `zone` as served (nothing when it is not served or not signed).
pub fn dnssec_records(view: &DnsView, zone: &str) -> Vec<TextRecord> {
    let mut out = Vec::new();
    let Some(z) = view.zone(zone) else {
        return out;
    };
    let data = z.data.load_full();
    let Some(sec) = &data.sec else {
        return out;
    };
    let apex = z.apex.to_bytes().unwrap_or_default();
    for sig in RdataIter::over(&sec.soa_sig) {
        push(&mut out, &apex, rtype::RRSIG, view.apex.cfg.soa_ttl, sig);
    }
    for set in sec.apex_sets.iter() {
        for rd in RdataIter::over(&set.data) {
            push(&mut out, &apex, set.code, set.ttl, rd);
        }
        for sig in RdataIter::over(&set.sigs) {
            push(&mut out, &apex, rtype::RRSIG, set.ttl, sig);
        }
    }
    for node in data.nodes() {
        let owner = owner_wire(node.key(), &apex);
        for set in node.rrsets() {
            for sig in set.rrsigs() {
                push(&mut out, &owner, rtype::RRSIG, set.ttl, sig);
            }
        }
    }
    let chain = match LiveChain::build(&apex, &data, sec) {
        Some(c) => c.wire_records(),
        None => nsec_chain(&apex, &data, sec),
    };
    for rec in chain {
        push_wire(&mut out, &rec);
    }
    out
}
