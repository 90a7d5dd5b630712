//! Signing a served zone (RFC 4035 §2): each zone's keys bound to its apex, RRSIGs made when an
//! RRset is published (at load and per write, kept in the snapshot beside the RRset), the apex
//! key RRsets (DNSKEY, CDS, CDNSKEY, NSEC3PARAM), the SOA's when a snapshot's SOA is first
//! served (`SoaSig`), and the per-query signatures of denial proofs. The cryptography and
//! record formats are `crate::dnssec`'s; this decides what is signed with which key and when.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, OnceLock};

use foldhash::fast::RandomState;

use crate::dnssec::config::INCEPTION_BACKDATE_SECS;
use crate::dnssec::nsec3::Nsec3Params;
use crate::dnssec::{
    apex_key_sets, rtype, CdsState, Denial, DnssecConfig, KeyState, RrsetSigner, SigningKey,
    Validity, ZoneKey,
};
use crate::model::RType;

/// Signatures as the store keeps them (table `rrsigs`), so a restart (or a second server on the
/// same file) serves them instead of signing the whole zone again: the node key, the type, a
/// digest of what was signed (type, TTL, RDATAs) and the RRSIG RDATAs.
#[derive(Debug, Clone)]
pub struct StoredSig {
    pub key: Vec<u8>,
    pub rtype: u16,
    pub digest: i64,
    pub sigs: Vec<u8>,
}

/// Stored signatures lent one at a time in key order (the store's `ORDER BY owner_key`): a
/// load reads millions of rows and copies each one's RRSIGs into its node, so it borrows them
/// from the row instead of making a `StoredSig` of each.
pub trait SigSource {
    /// The current signature as (node key, type, digest); None at the end.
    fn current(&mut self) -> Option<(&[u8], u16, i64)>;
    /// The current signature's RRSIG RDATAs (read only for those a load keeps; empty at the
    /// end).
    fn sigs(&mut self) -> &[u8];
    /// Go to the next one.
    fn advance(&mut self);
}

/// Owned signatures (tests; `std::iter::empty().peekable()` for none).
impl<I: Iterator<Item = StoredSig>> SigSource for std::iter::Peekable<I> {
    fn current(&mut self) -> Option<(&[u8], u16, i64)> {
        self.peek().map(|s| (&s.key[..], s.rtype, s.digest))
    }
    fn sigs(&mut self) -> &[u8] {
        self.peek().map_or(&[], |s| &s.sigs[..])
    }
    fn advance(&mut self) {
        self.next();
    }
}

/// A change to the stored signatures of zone `zone`, for the store to write.
#[derive(Debug, Clone)]
pub enum SigChange {
    Put {
        zone: Box<str>,
        sig: StoredSig,
    },
    Delete {
        zone: Box<str>,
        key: Vec<u8>,
        rtype: u16,
    },
    /// Many signatures of the zone were made at once (a load): keep all its signatures, read
    /// from what is served (`DnsView::each_zone_signature`).
    Dump {
        zone: Box<str>,
    },
}

/// FNV-1a (64-bit) over an RRset's type, TTL and RDATAs: tells whether a stored signature
/// still covers what is served (a stale one only costs a signature: it is never served).
pub fn rrset_digest(rtype: u16, ttl: u32, data: &[u8]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in rtype
        .to_be_bytes()
        .iter()
        .chain(ttl.to_be_bytes().iter())
        .chain(data.iter())
    {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h as i64
}

/// A zone's keys as the store hands them to the view.
pub struct ZoneKeys {
    pub keys: Vec<(SigningKey, KeyState)>,
    /// Publish the RFC 8078 delete CDS/CDNSKEY (the zone is being switched off).
    pub delete_cds: bool,
}

thread_local! {
    /// Scratch buffers of the signer, one per thread (writers and query workers).
    static SCRATCH: RefCell<RrsetSigner> = RefCell::new(RrsetSigner::new());
}

/// One zone's signing state.
pub(crate) struct Signer {
    /// Lowercase wire form of the apex, root label included.
    pub apex: Vec<u8>,
    /// Signs every RRset.
    active: ZoneKey,
    /// The other published keys (a rollover's incoming or retiring key): in the DNSKEY RRset
    /// and signing it, so resolvers holding either DS validate.
    others: Vec<ZoneKey>,
    /// The key whose DS the parent should hold (CDS/CDNSKEY), or None with `delete_cds`.
    wanted: usize,
    delete_cds: bool,
    pub denial: Denial,
    pub params: Nsec3Params,
    /// TTL of denial records: the negative TTL, min(SOA TTL, SOA MINIMUM) (RFC 9077 §3.3).
    pub proof_ttl: u32,
    cfg: DnssecConfig,
    clock: fn() -> u64,
    /// Signatures of records made per query, reused while fresh.
    cache: SigCache,
}

/// Shards of the signature cache (picked by the key's hash), and entries per shard.
const CACHE_SHARDS: usize = 64;
const CACHE_PER_SHARD: usize = 128;

/// Signatures over records made for single answers (NXDOMAIN and NODATA proofs), keyed by the
/// exact record signed (type, owner, RDATA): a signature covers only those bytes, so reusing
/// one for the same record is as good as making it again. Denial records depend on the query
/// name, so without this every NXDOMAIN costs a signature (~25 us); resolvers and monitors
/// asking for the same missing names again (and again after their negative TTL) find it here.
/// PowerDNS keeps a signature cache for the same reason. Bounded: 64 x 128 entries of about
/// 200 octets (~1.6 MiB when full); a full shard drops one entry per insert. Entries are reused
/// for at most a quarter of the validity period, so a served signature always has three
/// quarters of it left.
struct SigCache {
    shards: Vec<Mutex<CacheShard>>,
    hasher: RandomState,
}

/// Record signed -> (its RRSIG RDATAs, when they were made).
type CacheShard = HashMap<Box<[u8]>, (Box<[u8]>, u64), RandomState>;

impl SigCache {
    fn new() -> SigCache {
        SigCache {
            shards: (0..CACHE_SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::default(),
        }
    }

    fn shard(&self, key: &[u8]) -> &Mutex<CacheShard> {
        let i = self.hasher.hash_one(key) as usize % CACHE_SHARDS;
        &self.shards[i]
    }

    fn get(&self, key: &[u8], now: u64, max_age: u64) -> Option<Box<[u8]>> {
        let shard = self.shard(key).lock().unwrap_or_else(|e| e.into_inner());
        let (sigs, made) = shard.get(key)?;
        (now.saturating_sub(*made) < max_age).then(|| sigs.clone())
    }

    fn put(&self, key: Box<[u8]>, sigs: Box<[u8]>, now: u64) {
        let mut shard = self.shard(&key).lock().unwrap_or_else(|e| e.into_inner());
        if shard.len() >= CACHE_PER_SHARD && !shard.contains_key(&key) {
            if let Some(old) = shard.keys().next().cloned() {
                shard.remove(&old);
            }
        }
        shard.insert(key, (sigs, now));
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key_tag", &self.active.key_tag())
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Bind the keys to zone `name` (lowercase, no trailing dot). None, with a warning, when no
    /// key can sign.
    pub fn new(
        name: &str,
        keys: ZoneKeys,
        cfg: DnssecConfig,
        proof_ttl: u32,
        clock: fn() -> u64,
    ) -> Option<Signer> {
        let apex = crate::dnssec::name::from_text(&format!("{name}.")).ok()?;
        let mut active = None;
        let mut others = Vec::new();
        let mut incoming = None;
        for (key, state) in keys.keys {
            let zk = match ZoneKey::new(key, &apex) {
                Ok(k) => k,
                Err(e) => {
                    log::warn!("dnssec: zone {name}: {e}");
                    continue;
                }
            };
            match state {
                KeyState::Active if active.is_none() => active = Some(zk),
                KeyState::Incoming => {
                    incoming = Some(others.len());
                    others.push(zk);
                }
                _ => others.push(zk),
            }
        }
        let Some(active) = active.or_else(|| (!others.is_empty()).then(|| others.remove(0))) else {
            log::warn!("dnssec: zone {name} has no usable key; served unsigned");
            return None;
        };
        Some(Signer {
            apex,
            active,
            // 0 = the active key; i + 1 = others[i].
            wanted: incoming.map_or(0, |i| i + 1),
            others,
            delete_cds: keys.delete_cds,
            denial: cfg.denial,
            params: Nsec3Params::rfc9276(),
            proof_ttl,
            cfg,
            clock,
            cache: SigCache::new(),
        })
    }

    pub fn now(&self) -> u64 {
        (self.clock)()
    }

    pub fn config(&self) -> &DnssecConfig {
        &self.cfg
    }

    /// Can stored RRSIGs be served as they are at `now` (Unix seconds; a load reads the clock
    /// once): made by the active key, already valid, and further from expiry than the refresh
    /// time?
    pub fn reusable_at(&self, sigs: &[u8], now: u64) -> bool {
        let now = now as u32;
        let tag = self.active.key_tag().to_be_bytes();
        let alg = self.active.algorithm().number();
        let mut any = false;
        let mut rest = sigs;
        while let [a, b, tail @ ..] = rest {
            let len = usize::from(u16::from_be_bytes([*a, *b]));
            let Some(sig) = tail.get(..len) else {
                return false;
            };
            rest = &tail[len..];
            // type(2) alg(1) labels(1) ttl(4) expiration(4) inception(4) key tag(2).
            let Some(f) = sig.get(..18) else { return false };
            let exp = u32::from_be_bytes([f[8], f[9], f[10], f[11]]);
            let inc = u32::from_be_bytes([f[12], f[13], f[14], f[15]]);
            let left = exp.wrapping_sub(now) as i32;
            if f[2] != alg
                || f[16..18] != tag
                || i64::from(left) <= self.cfg.refresh_secs as i64
                || crate::dnssec::serial_lt(now, inc)
            {
                return false;
            }
            any = true;
        }
        any
    }

    /// The expiration a signature made now gets.
    pub fn fresh_expiry(&self) -> u32 {
        self.validity().expiration
    }

    fn validity(&self) -> Validity {
        Validity::around(self.now(), INCEPTION_BACKDATE_SECS, self.cfg.validity_secs)
    }

    /// The RRSIG RDATAs (length-prefixed) of one RRset, signed with the active key; empty (with
    /// an error logged) if signing fails.
    pub fn sign(&self, owner: &[u8], rtype: u16, ttl: u32, rdatas: &[u8]) -> Box<[u8]> {
        self.sign_with(&[&self.active], owner, rtype, ttl, rdatas)
    }

    fn sign_with(
        &self,
        keys: &[&ZoneKey],
        owner: &[u8],
        rtype: u16,
        ttl: u32,
        rdatas: &[u8],
    ) -> Box<[u8]> {
        let validity = self.validity();
        SCRATCH.with(|s| {
            let mut signer = s.borrow_mut();
            let mut out = Vec::with_capacity(keys.len() * (2 + 18 + self.apex.len() + 64));
            let mut sig = Vec::with_capacity(18 + self.apex.len() + 64);
            for key in keys {
                sig.clear();
                match signer.sign(key, owner, rtype, ttl, rdatas, validity, &mut sig) {
                    Ok(()) => {
                        out.extend_from_slice(&(sig.len() as u16).to_be_bytes());
                        out.extend_from_slice(&sig);
                    }
                    Err(e) => log::error!("dnssec: signing type {rtype}: {e}"),
                }
            }
            out.into_boxed_slice()
        })
    }

    /// One record made for a single answer (an NSEC3 or NSEC proof), signed now.
    pub fn sign_one(&self, owner: &[u8], rtype: u16, ttl: u32, rdata: &[u8]) -> Box<[u8]> {
        let mut joined = Vec::with_capacity(2 + rdata.len());
        joined.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        joined.extend_from_slice(rdata);
        self.sign(owner, rtype, ttl, &joined)
    }

    /// `sign_one` through the signature cache (see [`SigCache`]).
    pub fn sign_one_cached(&self, owner: &[u8], rtype: u16, ttl: u32, rdata: &[u8]) -> Box<[u8]> {
        let mut key = Vec::with_capacity(6 + owner.len() + rdata.len());
        key.extend_from_slice(&rtype.to_be_bytes());
        key.extend_from_slice(&ttl.to_be_bytes());
        key.extend_from_slice(owner);
        key.extend_from_slice(rdata);
        let now = self.now();
        let max_age = self.cfg.validity_secs / 4;
        if let Some(sigs) = self.cache.get(&key, now, max_age) {
            return sigs;
        }
        let sigs = self.sign_one(owner, rtype, ttl, rdata);
        if !sigs.is_empty() {
            self.cache.put(key.into_boxed_slice(), sigs.clone(), now);
        }
        sigs
    }

    /// The apex RRsets signing brings: DNSKEY (every published key, signed by each), CDS and
    /// CDNSKEY (the DS the parent should hold, or the RFC 8078 delete form), NSEC3PARAM in an
    /// NSEC3 zone. `ttl` is the zone's SOA TTL.
    pub fn apex_rrsets(&self, ttl: u32) -> Vec<ApexSet> {
        let mut all: Vec<&ZoneKey> = vec![&self.active];
        all.extend(self.others.iter());
        let dnskeys: Vec<&crate::dnssec::Dnskey> = all.iter().map(|k| k.dnskey()).collect();
        let wanted = [dnskeys[self.wanted.min(dnskeys.len() - 1)]];
        let cds = if self.delete_cds {
            CdsState::Delete
        } else {
            CdsState::Publish(&wanted)
        };
        let sets = apex_key_sets(&dnskeys, &self.apex, cds);
        let mut out = Vec::with_capacity(4);
        let mut push = |code: u16, ttl: u32, data: Vec<u8>, sigs: Box<[u8]>| {
            if !data.is_empty() {
                out.push(ApexSet {
                    code,
                    ttl,
                    data: data.into_boxed_slice(),
                    sigs,
                });
            }
        };
        let dnskey_sigs = self.sign_with(&all, &self.apex, rtype::DNSKEY, ttl, &sets.dnskey);
        push(rtype::DNSKEY, ttl, sets.dnskey, dnskey_sigs);
        // CDS/CDNSKEY are signed like the DNSKEY RRset, by every published key (RFC 7344
        // §4.1: "signed with a key that is represented in both the current DNSKEY and DS").
        let cds_sigs = self.sign_with(&all, &self.apex, rtype::CDS, ttl, &sets.cds);
        push(rtype::CDS, ttl, sets.cds, cds_sigs);
        let cdnskey_sigs = self.sign_with(&all, &self.apex, rtype::CDNSKEY, ttl, &sets.cdnskey);
        push(rtype::CDNSKEY, ttl, sets.cdnskey, cdnskey_sigs);
        if self.denial == Denial::Nsec3 {
            let p = self.params.param_rdata();
            let mut data = Vec::with_capacity(2 + p.len());
            data.extend_from_slice(&(p.len() as u16).to_be_bytes());
            data.extend_from_slice(&p);
            // TTL 0, as BIND and Knot publish it: only authoritative servers read it (RFC 5155
            // §4), and the RRSIG's Original TTL must match the record's (RFC 4034 §3.1.4).
            let sigs = self.sign(&self.apex, rtype::NSEC3PARAM, 0, &data);
            push(rtype::NSEC3PARAM, 0, data, sigs);
        }
        out
    }
}

/// An apex RRset of a type the APIs do not take (DNSKEY, CDS, CDNSKEY, NSEC3PARAM).
#[derive(Debug)]
pub(crate) struct ApexSet {
    pub code: u16,
    pub ttl: u32,
    pub data: Box<[u8]>,
    pub sigs: Box<[u8]>,
}

/// The signing state of one snapshot: the signer, its apex RRsets and the SOA's RRSIG for the
/// snapshot's serial (the SOA is made from the config, so each published group has its own).
#[derive(Debug)]
pub(crate) struct ZoneSec {
    pub signer: Arc<Signer>,
    pub apex_sets: Arc<[ApexSet]>,
    pub soa_sig: SoaSig,
    /// Proof records that do not depend on the query name, signed once per snapshot.
    pub cached: Arc<[CachedProof]>,
    /// The earliest expiration (RFC 1982 time) of the signatures kept in the snapshot: the
    /// zone is re-signed when it comes within `signature_refresh_days`.
    pub oldest_expiry: u32,
}

/// The RRSIG over one snapshot's SOA, made when an answer or a transfer first carries it.
///
/// Every published write group bumps the serial, so every group has a new SOA to sign: signed
/// at publication, that was one signature per group on the write path (a quarter of the
/// signing work with four writers per group), for serials most of which no DO=1 answer ever
/// shows (between two groups a resolver rarely asks for the SOA or a denial). RFC 4035 §2.2
/// asks that every authoritative RRset be signed when served, not when it was made; so the
/// first answer (or AXFR/IXFR) that needs it signs it, once per snapshot, and later ones reuse
/// it. Derefs to the length-prefixed RRSIG RDATAs, like the other `sigs` fields.
pub(crate) struct SoaSig {
    signer: Arc<Signer>,
    /// The SOA's canonical RDATA (length-prefixed) for this serial, and the SOA TTL.
    data: Box<[u8]>,
    ttl: u32,
    sigs: OnceLock<Box<[u8]>>,
}

impl SoaSig {
    pub fn new(signer: Arc<Signer>, data: Vec<u8>, ttl: u32) -> SoaSig {
        SoaSig {
            signer,
            data: data.into_boxed_slice(),
            ttl,
            sigs: OnceLock::new(),
        }
    }
}

impl std::ops::Deref for SoaSig {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.sigs.get_or_init(|| {
            let s = &self.signer;
            s.sign(&s.apex, RType::Soa.code(), self.ttl, &self.data)
        })
    }
}

impl std::fmt::Debug for SoaSig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoaSig")
            .field("signed", &self.sigs.get().is_some())
            .finish_non_exhaustive()
    }
}

/// A denial record made and signed ahead of queries: for a name that does not exist right
/// below the apex (most NXDOMAIN answers of a DDNS zone), the NSEC3 matching the apex and the
/// one covering `*.apex` (NSEC: the white lie covering `*.apex`) are the same for every query
/// name, so such an answer signs one record per query (the next closer name's) instead of
/// three.
#[derive(Debug)]
pub(crate) struct CachedProof {
    pub owner: Vec<u8>,
    pub rdata: Vec<u8>,
    pub sigs: Box<[u8]>,
}

/// The NSEC/NSEC3 type bitmap of a node holding RRsets of `types` (RFC 4034 §4.1.2, RFC 5155
/// §3.2.1): the apex adds SOA and NS (made from the config) and the key types; a node with NS
/// below the apex is a delegation.
pub(crate) fn bitmap_for(
    types: &mut Vec<u16>,
    is_apex: bool,
    cds: bool,
    denial: Denial,
) -> crate::dnssec::TypeBitmap {
    use crate::dnssec::NodeKind;
    let ns = RType::Ns.code();
    let kind = if is_apex {
        types.push(RType::Soa.code());
        if !types.contains(&ns) {
            types.push(ns);
        }
        NodeKind::Apex { cds }
    } else if types.contains(&ns) {
        NodeKind::Delegation
    } else {
        NodeKind::Other
    };
    types.sort_unstable();
    types.dedup();
    crate::dnssec::node_bitmap(types, kind, denial)
}

/// The proofs every NXDOMAIN right below the apex shares (see [`CachedProof`]), signed now.
/// `apex_types` are the types of the apex node's RRsets.
pub(crate) fn apex_proofs(
    signer: &Signer,
    mut apex_types: Vec<u16>,
    cds: bool,
) -> Arc<[CachedProof]> {
    use crate::dnssec::{nsec, nsec3};
    let bitmap = bitmap_for(&mut apex_types, true, cds, signer.denial);
    // Any name one label below the apex gives the same apex and wildcard records.
    let mut probe = b"\x01x".to_vec();
    probe.extend_from_slice(&signer.apex);
    let (code, records) = match signer.denial {
        Denial::Nsec3 => {
            match nsec3::nxdomain_proof(&signer.apex, &signer.params, &probe, &signer.apex, &bitmap)
            {
                Ok([m, _, w]) => (rtype::NSEC3, vec![m, w]),
                Err(_) => return Arc::new([]),
            }
        }
        Denial::Nsec => match nsec::white_lies(&signer.apex, &probe, &signer.apex, &bitmap) {
            Ok(mut lies) if lies.len() == 2 => (rtype::NSEC, vec![lies.remove(1)]),
            _ => return Arc::new([]),
        },
    };
    let ttl = signer.proof_ttl;
    records
        .into_iter()
        .map(|r| CachedProof {
            sigs: signer.sign_one(&r.owner, code, ttl, &r.rdata),
            owner: r.owner,
            rdata: r.rdata,
        })
        .collect()
}

/// Expiration of the first RRSIG in a length-prefixed list (all were made together).
pub(crate) fn expiry_of(sigs: &[u8]) -> Option<u32> {
    // [len u16] then RRSIG RDATA: type(2) alg(1) labels(1) ttl(4) expiration(4).
    let e = sigs.get(10..14)?;
    Some(u32::from_be_bytes([e[0], e[1], e[2], e[3]]))
}

/// The earlier of two RRSIG times, in RFC 1982 serial arithmetic (RFC 4034 §3.1.5).
pub(crate) fn earlier(a: u32, b: u32) -> u32 {
    if crate::dnssec::serial_lt(b, a) {
        b
    } else {
        a
    }
}

/// Wire owner name of a node key (reversed relative labels, see zone.rs) under `apex` (wire,
/// with the root label).
pub(crate) fn owner_wire(key: &[u8], apex: &[u8]) -> Vec<u8> {
    let mut labels: Vec<&[u8]> = Vec::new();
    let mut i = 0;
    while i < key.len() {
        let l = usize::from(key[i]);
        labels.push(&key[i..(i + 1 + l).min(key.len())]);
        i += 1 + l;
    }
    let mut out = Vec::with_capacity(key.len() + apex.len());
    for l in labels.iter().rev() {
        out.extend_from_slice(l);
    }
    out.extend_from_slice(apex);
    out
}

/// The proper ancestors of a node key below the apex (each a prefix at a label boundary),
/// nearest the apex first.
pub(crate) fn ancestor_keys(key: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut i = 0;
    std::iter::from_fn(move || {
        let l = usize::from(*key.get(i)?);
        i += 1 + l;
        (i < key.len()).then(|| &key[..i])
    })
}

/// Is this RRset signed (RFC 4035 §2.2): everything but NS at a delegation point and what lies
/// below a cut (glue)?
pub(crate) fn signs(key: &[u8], rtype: RType, below_cut: bool) -> bool {
    !below_cut && (rtype != RType::Ns || key.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_and_ancestors_of_a_key() {
        let apex = crate::dnssec::name::from_text("zone.test.").unwrap();
        // `www.a.zone.test` is keyed `\x01a\x03www`.
        let key = b"\x01a\x03www";
        assert_eq!(owner_wire(key, &apex), b"\x03www\x01a\x04zone\x04test\x00");
        assert_eq!(owner_wire(b"", &apex), apex);
        let anc: Vec<&[u8]> = ancestor_keys(key).collect();
        assert_eq!(anc, vec![&b"\x01a"[..]]);
        assert_eq!(ancestor_keys(b"\x01a").count(), 0);
    }

    #[test]
    fn earlier_is_rfc1982() {
        assert_eq!(earlier(10, 20), 10);
        assert_eq!(earlier(u32::MAX - 5, 3), u32::MAX - 5);
    }
}
