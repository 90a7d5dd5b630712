//! The denial chain of a signed zone for its secondaries. Answers from lucentd itself prove
//! denial per query with minimally covering records (secure.rs), which need the signing key;
//! a secondary has no key, so a transfer carries a complete NSEC3 (RFC 5155 §7.1) or NSEC
//! (RFC 4034 §4) chain, signed. Note what this gives away: anyone who can transfer the zone
//! (or query a secondary) can walk the chain, hashed for NSEC3. docs/install.md says so.
//!
//! For NSEC3 (the default) the chain is kept (`LiveChain`) once a secondary has transferred
//! the zone: the writer moves it along with every published group (`advance`, a few records
//! re-signed when names come or go), remembering each group's records as they were before,
//! so an IXFR can delete exactly what the secondary holds and add what replaced it. The
//! records and their signatures live only in this process: after a restart the first
//! transfer of a signed zone is a full one.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use super::super::signing::{ancestor_keys, bitmap_for, owner_wire, ZoneSec};
use super::super::zone::{Found, ZoneData};
use super::transfer::record;
use crate::dnssec::nsec3::{self, Hash, Nsec3Chain};
use crate::dnssec::{nsec, rtype, Denial, TypeBitmap};
use crate::model::RType;

const TYPE_RRSIG: u16 = 46;
/// Groups remembered for IXFR (as the store's journal keeps per zone).
const MEMORY: usize = 50_000;

/// A chain record as served: RDATA and its RRSIGs (length-prefixed list).
pub(crate) type ChainRecord = (Box<[u8]>, Box<[u8]>);

/// The names of the chain with their type bitmaps (owner names in wire form), from a snapshot.
fn chain_names(apex: &[u8], data: &ZoneData, sec: &ZoneSec) -> Vec<(Vec<u8>, TypeBitmap)> {
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
    let mut empty: BTreeSet<&[u8]> = BTreeSet::new();
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
    names
}

/// Records of a chain entry as wire records: the NSEC3/NSEC and its RRSIGs.
fn push_records(out: &mut Vec<Vec<u8>>, owner: &[u8], code: u16, ttl: u32, rec: &ChainRecord) {
    out.push(record(owner, code, ttl, &rec.0));
    for sig in super::super::zone::RdataIter::over(&rec.1) {
        out.push(record(owner, TYPE_RRSIG, ttl, sig));
    }
}

/// The whole chain of a snapshot, signed now, as wire records (NSEC zones; NSEC3 zones use
/// `LiveChain`). Empty when it cannot be built (logged).
pub(crate) fn nsec_chain(apex: &[u8], data: &ZoneData, sec: &ZoneSec) -> Vec<Vec<u8>> {
    let signer = &sec.signer;
    let names = chain_names(apex, data, sec);
    let chain = match nsec::NsecChain::from_names(
        apex,
        names.iter().map(|(n, b)| (n.as_slice(), b.clone())),
    ) {
        Ok(c) => c,
        Err(e) => {
            log::error!("xfr: building the NSEC chain: {e}");
            return Vec::new();
        }
    };
    let ttl = signer.proof_ttl;
    let mut out = Vec::with_capacity(2 * names.len());
    let mut rdata = Vec::with_capacity(64);
    for entry in chain.iter() {
        rdata.clear();
        nsec::nsec_rdata(&entry.next, entry.bitmap, &mut rdata);
        let sigs = signer.sign_one(&entry.owner, rtype::NSEC, ttl, &rdata);
        push_records(
            &mut out,
            &entry.owner,
            rtype::NSEC,
            ttl,
            &(rdata.as_slice().into(), sigs),
        );
    }
    out
}

/// What one published group changed in the chain: the records it replaced or removed, as
/// they were (`None`: the record did not exist), and the SOA's RRSIGs before it.
struct Step {
    from: u32,
    to: u32,
    soa_sigs: Box<[u8]>,
    before: Vec<(Hash, Option<ChainRecord>)>,
}

/// The NSEC3 chain of one signed zone as its secondaries hold it, at `serial`.
pub(crate) struct LiveChain {
    pub serial: u32,
    apex: Vec<u8>,
    ttl: u32,
    chain: Nsec3Chain,
    records: HashMap<Hash, ChainRecord>,
    steps: VecDeque<Step>,
}

/// The chain records and SOA signatures an IXFR from some serial deletes.
pub(crate) struct ChainBefore {
    pub soa_sigs: Box<[u8]>,
    pub records: BTreeMap<Hash, Option<ChainRecord>>,
}

impl LiveChain {
    /// The chain of a snapshot, every record signed now. `None` for NSEC zones or when it
    /// cannot be built (logged).
    pub fn build(apex: &[u8], data: &ZoneData, sec: &ZoneSec) -> Option<LiveChain> {
        let signer = &sec.signer;
        if signer.denial != Denial::Nsec3 {
            return None;
        }
        let names = chain_names(apex, data, sec);
        let chain = Nsec3Chain::from_names(
            apex,
            signer.params.clone(),
            names.iter().map(|(n, b)| (n.as_slice(), b.clone())),
        )
        .map_err(|e| log::error!("xfr: building the NSEC3 chain: {e}"))
        .ok()?;
        let mut live = LiveChain {
            serial: data.serial,
            apex: apex.to_vec(),
            ttl: signer.proof_ttl,
            records: HashMap::with_capacity(chain.len()),
            chain,
            steps: VecDeque::new(),
        };
        let hashes: Vec<Hash> = live.chain.iter().map(|e| e.hash).collect();
        for h in hashes {
            live.sign(&h, sec);
        }
        Some(live)
    }

    /// (Re)make the record of `h` from the chain and sign it.
    fn sign(&mut self, h: &Hash, sec: &ZoneSec) {
        let Some(entry) = self.chain.get(h) else {
            self.records.remove(h);
            return;
        };
        let (mut owner, mut rdata) = (Vec::with_capacity(64), Vec::with_capacity(64));
        self.chain.write(&entry, &mut owner, &mut rdata);
        let sigs = sec.signer.sign_one(&owner, rtype::NSEC3, self.ttl, &rdata);
        self.records.insert(*h, (rdata.into(), sigs));
    }

    fn owner(&self, h: &Hash) -> Vec<u8> {
        let mut o = Vec::with_capacity(self.apex.len() + 33);
        nsec3::owner_name(h, &self.apex, &mut o);
        o
    }

    /// Every record with its signatures, in hash order, as wire records.
    pub fn wire_records(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(2 * self.records.len());
        for e in self.chain.iter() {
            if let Some(rec) = self.records.get(&e.hash) {
                push_records(&mut out, &self.owner(&e.hash), rtype::NSEC3, self.ttl, rec);
            }
        }
        out
    }

    /// Wire records of the record owned by `h`, or of `rec` (its state at some serial).
    pub fn wire_of(&self, h: &Hash, rec: Option<&ChainRecord>) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if let Some(rec) = rec {
            push_records(&mut out, &self.owner(h), rtype::NSEC3, self.ttl, rec);
        }
        out
    }

    pub fn current(&self, h: &Hash) -> Option<&ChainRecord> {
        self.records.get(h)
    }

    /// Follow one published group from `before` to `after` (the snapshots around it), whose
    /// changed RRsets are at node `keys`. False when the chain cannot follow (it does not
    /// stand at `before`, or a delegation is involved, whose occluded names would need a
    /// rebuild): the caller drops it and the next transfer is a full one.
    pub fn advance(
        &mut self,
        hasher: &impl std::hash::BuildHasher,
        before: &ZoneData,
        after: &ZoneData,
        keys: &[Vec<u8>],
    ) -> bool {
        let (Some(sec_before), Some(sec)) = (&before.sec, &after.sec) else {
            return false;
        };
        if self.serial != before.serial {
            return false;
        }
        let cds = sec.apex_sets.iter().any(|s| s.code == rtype::CDS);
        // Each changed name and its ancestors (which may become or stop being empty
        // non-terminals).
        let mut names: BTreeSet<&[u8]> = BTreeSet::new();
        for k in keys {
            names.insert(k);
            names.extend(ancestor_keys(k));
        }
        let is_cut = |d: &ZoneData, key: &[u8]| {
            !key.is_empty()
                && matches!(d.find(hasher, key), Found::Node(n) if n.get(RType::Ns).is_some())
        };
        if (before.cuts() > 0 || after.cuts() > 0)
            && names.iter().any(|k| is_cut(before, k) || is_cut(after, k))
        {
            return false;
        }
        let mut step = Step {
            from: before.serial,
            to: after.serial,
            soa_sigs: Box::from(&*sec_before.soa_sig),
            before: Vec::new(),
        };
        let mut seen: HashSet<Hash> = HashSet::new();
        for key in names {
            let owner = owner_wire(key, &self.apex);
            let Ok(h) = self.chain.hash_name(&owner) else {
                return false;
            };
            let change = match after.find(hasher, key) {
                Found::Node(node) => {
                    let mut types: Vec<u16> = node.rrsets().map(|s| s.rtype.code()).collect();
                    let bitmap = bitmap_for(&mut types, key.is_empty(), cds, Denial::Nsec3);
                    self.chain.set_hashed(h, bitmap)
                }
                Found::Empty => self.chain.set_hashed(h, TypeBitmap::EMPTY),
                Found::Missing => self.chain.remove_hashed(&h),
            };
            for c in change.changed().chain(change.removed) {
                if seen.insert(c) {
                    step.before.push((c, self.records.get(&c).cloned()));
                }
            }
            if let Some(r) = change.removed {
                self.records.remove(&r);
            }
            for c in change.changed() {
                self.sign(&c, sec);
            }
        }
        self.serial = after.serial;
        self.steps.push_back(step);
        while self.steps.len() > MEMORY {
            self.steps.pop_front();
        }
        true
    }

    /// What an IXFR from `from` to this chain's serial deletes: per chain record touched since,
    /// its state at `from`, and the SOA signatures at `from`. `None` when the remembered steps
    /// do not lead from `from` to here.
    pub fn since(&self, from: u32) -> Option<ChainBefore> {
        let start = self.steps.iter().rposition(|s| s.from == from)?;
        let mut at = from;
        let mut records: BTreeMap<Hash, Option<ChainRecord>> = BTreeMap::new();
        for s in self.steps.iter().skip(start) {
            if s.from != at {
                return None;
            }
            for (h, rec) in &s.before {
                records.entry(*h).or_insert_with(|| rec.clone());
            }
            at = s.to;
        }
        (at == self.serial).then(|| ChainBefore {
            soa_sigs: self.steps[start].soa_sigs.clone(),
            records,
        })
    }
}
