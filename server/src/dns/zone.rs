//! One served zone in memory: RRsets with pre-encoded wire RDATA, grouped into nodes, the nodes
//! spread over copy-on-write shards behind one `ArcSwap`. A reader loads one snapshot (lock-free)
//! and sees the zone and its serial exactly as one writer left it; a writer copies only the
//! shards it touches (plus the shard pointer table), never the whole zone.
//!
//! Node keys are the owner's labels *relative to the apex*, in reverse order, each prefixed by
//! its length (`www.a.zone` -> `\x01a\x03www`). So every name below X has X's key as a prefix,
//! and with the shard picked from the first label under the apex, X and all its descendants
//! share one sorted shard: "does anything exist below X" (empty non-terminals, RFC 4592 closest
//! encloser) is a binary search.
//!
//! A write is built in two steps (`Zone::stage`, then `Zone::install`), so the store can build
//! and sign a group's snapshot while the group's COMMIT runs; a load packs its nodes from one
//! buffer (`Loading`), signing into them as it goes. Hostnames come to a load as the store's
//! values (`HostRow`) and stored signatures are borrowed row by row (`signing::SigSource`), so
//! a million-name start makes no per-record text or copies. Signing itself is `signing.rs`'s.

use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use hickory_proto::rr::Name;
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

use super::signing::{self, SigChange, StoredSig, ZoneSec};
use super::{Counters, RecordData, RrsetChange};
use crate::model::{content, RType};

/// One RRset: type, TTL (one per RRset, RFC 2181 §5.2) and its RDATAs on the wire, each
/// preceded by its 16-bit length, names uncompressed and lowercase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rrset {
    pub rtype: RType,
    pub ttl: u32,
    pub data: Box<[u8]>,
    /// Its RRSIG RDATAs, each preceded by its 16-bit length; empty when the zone is unsigned
    /// (or for RRsets not signed: NS at a delegation, glue).
    pub sigs: Box<[u8]>,
}

impl Rrset {
    /// Each RDATA of the set, as wire bytes.
    #[cfg(test)]
    pub fn rdatas(&self) -> RdataIter<'_> {
        RdataIter { rest: &self.data }
    }

    /// The common DDNS case without a detour through hickory's RData: one A, AAAA or TXT
    /// record, appended straight to `out` in wire form; returns the TTL. `None` (with `out`
    /// unchanged) means "take the general path".
    fn encode_simple(rtype: RType, records: &[RecordData], out: &mut Vec<u8>) -> Option<u32> {
        let [rec] = records else { return None };
        let ttl = if rec.ttl > i32::MAX as u32 {
            0
        } else {
            rec.ttl
        };
        match rtype {
            RType::A => {
                let a: std::net::Ipv4Addr = rec.content.parse().ok()?;
                out.extend_from_slice(&4u16.to_be_bytes());
                out.extend_from_slice(&a.octets());
            }
            RType::Aaaa => {
                let a: std::net::Ipv6Addr = rec.content.parse().ok()?;
                out.extend_from_slice(&16u16.to_be_bytes());
                out.extend_from_slice(&a.octets());
            }
            RType::Txt => {
                let value = content::txt_value(&rec.content);
                if value.len() > content::MAX_TXT_LEN
                    || value.chars().any(|c| c.is_control() && c != '\t')
                {
                    return None;
                }
                let chunks = content::txt_chunks(&value);
                let len: usize = chunks.iter().map(|c| c.len() + 1).sum();
                out.extend_from_slice(&(len as u16).to_be_bytes());
                for c in chunks {
                    out.push(c.len() as u8);
                    out.extend_from_slice(c);
                }
            }
            _ => return None,
        }
        Some(ttl)
    }

    /// Encode a new RRset from normalised contents; `None` when nothing valid is left.
    /// Contents that fail `content::to_rdata` are skipped with a warning: the store validated
    /// them on the way in, so this only guards against stale rows.
    pub fn encode(owner: &str, rtype: RType, records: &[RecordData]) -> Option<Rrset> {
        let mut data = Vec::new();
        let ttl = Self::encode_into(owner, rtype, records, &mut data)?;
        Some(Rrset {
            rtype,
            ttl,
            data: data.into_boxed_slice(),
            sigs: Box::default(),
        })
    }

    /// `encode` appending the length-prefixed RDATAs to `out` (a zone load's one buffer);
    /// returns the RRset's TTL. `out` is left as it was when `None`.
    pub fn encode_into(
        owner: &str,
        rtype: RType,
        records: &[RecordData],
        out: &mut Vec<u8>,
    ) -> Option<u32> {
        if let Some(ttl) = Self::encode_simple(rtype, records, out) {
            return Some(ttl);
        }
        let start = out.len();
        let mut seen: Vec<std::ops::Range<usize>> = Vec::new();
        let mut ttl = u32::MAX;
        let mut buf = Vec::new();
        for rec in records {
            let rdata = match content::to_rdata(rtype, &rec.content) {
                Ok(r) => r,
                Err(e) => {
                    log::warn!("dns: skipping {owner} {rtype} {:?}: {e}", rec.content);
                    continue;
                }
            };
            buf.clear();
            let mut enc = BinEncoder::new(&mut buf);
            enc.set_canonical_form(true);
            if let Err(e) = rdata.emit(&mut enc) {
                log::warn!("dns: skipping {owner} {rtype} {:?}: {e}", rec.content);
                continue;
            }
            // An RRset is a set (RFC 2181 §5): drop duplicate RDATA.
            if seen.iter().any(|r| out[r.clone()] == buf[..]) || buf.len() > usize::from(u16::MAX) {
                continue;
            }
            // RFC 2181 §8: a TTL with the top bit set is treated as zero.
            let rec_ttl = if rec.ttl > i32::MAX as u32 {
                0
            } else {
                rec.ttl
            };
            ttl = ttl.min(rec_ttl);
            out.extend_from_slice(&(buf.len() as u16).to_be_bytes());
            seen.push(out.len()..out.len() + buf.len());
            out.extend_from_slice(&buf);
            // CNAME is a singleton type (RFC 2181 §10.1): keep the first.
            if rtype == RType::Cname {
                break;
            }
        }
        if seen.is_empty() {
            out.truncate(start);
            return None;
        }
        Some(ttl)
    }
}

/// Iterator over the length-prefixed RDATAs of an `Rrset`.
pub(crate) struct RdataIter<'a> {
    rest: &'a [u8],
}

impl<'a> RdataIter<'a> {
    /// Over any list in this form (RDATAs, RRSIGs), each preceded by its 16-bit length.
    pub fn over(list: &'a [u8]) -> RdataIter<'a> {
        RdataIter { rest: list }
    }
}

impl<'a> Iterator for RdataIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let [a, b, rest @ ..] = self.rest else {
            return None;
        };
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        let item = rest.get(..len)?;
        self.rest = &rest[len..];
        Some(item)
    }
}

/// A borrowed RRset inside a `Node`: type, TTL and the length-prefixed wire RDATAs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RrsetRef<'a> {
    pub rtype: RType,
    pub ttl: u32,
    pub data: &'a [u8],
    /// Length-prefixed RRSIG RDATAs (empty when not signed).
    pub sigs: &'a [u8],
}

impl<'a> RrsetRef<'a> {
    /// Each RDATA of the set, as wire bytes.
    pub fn rdatas(&self) -> RdataIter<'a> {
        RdataIter { rest: self.data }
    }

    /// Each RRSIG RDATA covering the set.
    pub fn rrsigs(&self) -> RdataIter<'a> {
        RdataIter { rest: self.sigs }
    }
}

/// Every RRset at one owner name, packed into one allocation (a DDNS zone is mostly tiny
/// nodes, so per-allocation overhead would dominate): `[key_len u8][key]` then, per RRset in
/// type order, `[type u16][ttl u32][len u32][len bytes of length-prefixed RDATAs][siglen u32]
/// [siglen bytes of length-prefixed RRSIG RDATAs]`. Never
/// empty in a stored node. Cloning shares the allocation. `prefix` repeats the key's first
/// bytes inline (see `key_prefix`), so a shard's binary search rarely reads the allocation.
#[derive(Clone)]
pub(crate) struct Node {
    prefix: u64,
    data: Arc<[u8]>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("key", &self.key())
            .field("rrsets", &self.rrsets().collect::<Vec<_>>())
            .finish()
    }
}

impl Node {
    /// Pack `sets` (sorted by type, at least one) under `key` (at most 255 octets: a relative
    /// name is shorter than a whole name, RFC 1035 §3.1).
    #[cfg(test)]
    pub fn new(key: &[u8], sets: &[Rrset]) -> Node {
        Node::pack(
            key,
            sets.iter().map(|s| RrsetRef {
                rtype: s.rtype,
                ttl: s.ttl,
                data: &s.data,
                sigs: &s.sigs,
            }),
        )
    }

    /// Pack borrowed RRsets (sorted by type, at least one) under `key` (at most 255 octets: a
    /// relative name is shorter than a whole name, RFC 1035 §3.1).
    pub fn pack<'a>(key: &[u8], sets: impl Iterator<Item = RrsetRef<'a>> + Clone) -> Node {
        let len = 1
            + key.len()
            + sets
                .clone()
                .map(|s| 14 + s.data.len() + s.sigs.len())
                .sum::<usize>();
        // Written straight into the node's one allocation (`Arc::from(Vec)` would allocate
        // twice and copy): a zeroed slice of the right length is one allocation, since
        // `(0..len).map(..)` has a trusted length.
        let mut data: Arc<[u8]> = (0..len).map(|_| 0u8).collect();
        let Some(b) = Arc::get_mut(&mut data) else {
            unreachable!("a new Arc has no other owner")
        };
        b[0] = key.len() as u8;
        b[1..1 + key.len()].copy_from_slice(key);
        let mut at = 1 + key.len();
        let mut put = |bytes: &[u8]| {
            b[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        for s in sets {
            put(&s.rtype.code().to_be_bytes());
            put(&s.ttl.to_be_bytes());
            put(&(s.data.len() as u32).to_be_bytes());
            put(s.data);
            put(&(s.sigs.len() as u32).to_be_bytes());
            put(s.sigs);
        }
        Node {
            prefix: key_prefix(key),
            data,
        }
    }

    pub fn key(&self) -> &[u8] {
        let n = usize::from(self.data[0]);
        &self.data[1..1 + n]
    }

    /// Does this node's key sort before `key` (whose `key_prefix` is `prefix`)?
    fn before(&self, key: &[u8], prefix: u64) -> bool {
        self.prefix < prefix || (self.prefix == prefix && self.key() < key)
    }

    /// The RRsets in type order.
    pub fn rrsets(&self) -> NodeIter<'_> {
        let n = usize::from(self.data[0]);
        NodeIter {
            rest: &self.data[1 + n..],
        }
    }

    pub fn get(&self, rtype: RType) -> Option<RrsetRef<'_>> {
        self.rrsets().find(|r| r.rtype == rtype)
    }

    pub fn first(&self) -> Option<RrsetRef<'_>> {
        self.rrsets().next()
    }
}

/// Iterator over the RRsets packed in a `Node`.
pub(crate) struct NodeIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for NodeIter<'a> {
    type Item = RrsetRef<'a>;

    fn next(&mut self) -> Option<RrsetRef<'a>> {
        let head = self.rest.get(..10)?;
        let code = u16::from_be_bytes([head[0], head[1]]);
        let ttl = u32::from_be_bytes([head[2], head[3], head[4], head[5]]);
        let len = u32::from_be_bytes([head[6], head[7], head[8], head[9]]) as usize;
        let data = self.rest.get(10..10 + len)?;
        let at = 10 + len;
        let s = self.rest.get(at..at + 4)?;
        let slen = u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize;
        let sigs = self.rest.get(at + 4..at + 4 + slen)?;
        self.rest = &self.rest[at + 4 + slen..];
        // Only our own encoder writes nodes, with known types.
        let rtype = RType::from_code(code)?;
        Some(RrsetRef {
            rtype,
            ttl,
            data,
            sigs,
        })
    }
}

/// The first 8 octets of a key as a big-endian number, zero-padded. If `a < b` they differ in
/// one of those octets (then the prefixes differ the same way), or `a` is a shorter prefix of
/// `b` (its zero padding is not above `b`'s octets), or they differ later (equal prefixes): so
/// `a < b` implies `key_prefix(a) <= key_prefix(b)`, and comparing prefixes first keeps the
/// order while most comparisons never read a node's allocation.
fn key_prefix(key: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = key.len().min(8);
    b[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(b)
}

/// Position of the first node in `nodes` (sorted by key) whose key is not below `key`.
fn search(nodes: &[Node], key: &[u8]) -> usize {
    let prefix = key_prefix(key);
    nodes.partition_point(|n| n.before(key, prefix))
}

/// Sorted by key.
type Shard = Arc<[Node]>;

/// An immutable snapshot of a zone's contents.
pub(crate) struct ZoneData {
    pub serial: u32,
    shards: Box<[Shard]>,
    names: usize,
    /// Nodes below the apex holding NS: delegation points (the UDP fast path needs none).
    cuts: usize,
    /// Signing state when the zone is signed (DNSSEC).
    pub sec: Option<Arc<ZoneSec>>,
}

/// Is this node a delegation point (NS below the apex)?
fn is_cut(key: &[u8], has_ns: bool) -> bool {
    !key.is_empty() && has_ns
}

/// What a key denotes in a snapshot.
pub(crate) enum Found<'a> {
    /// A name holding RRsets.
    Node(&'a Node),
    /// An empty non-terminal: no RRsets, but names exist below (RFC 4592 §2.2.2, RFC 8020).
    Empty,
    /// Nothing at or below this name.
    Missing,
}

/// Hash of the first component of a key: the label right under the apex ("" for the apex).
fn shard_hash(hasher: &impl BuildHasher, key: &[u8]) -> u64 {
    let first = match key.first() {
        Some(&len) => key.get(..1 + usize::from(len)).unwrap_or(key),
        None => key,
    };
    let mut h = hasher.build_hasher();
    h.write(first);
    h.finish()
}

/// Shard count for `names` names: about sqrt(names), a power of two, so a single-RRset write
/// copies O(sqrt n) pointers and one O(sqrt n) shard (10k names: 128 x ~80; 1M: 1024 x ~1k).
fn shard_count_for(names: usize) -> usize {
    let root = (names as f64).sqrt().ceil() as usize;
    root.clamp(1, 1 << 16).next_power_of_two()
}

impl ZoneData {
    pub fn empty(serial: u32) -> Self {
        ZoneData {
            serial,
            shards: vec![Shard::from(Vec::new())].into_boxed_slice(),
            names: 0,
            cuts: 0,
            sec: None,
        }
    }

    /// Every RRset that carries signatures, with its node key (shard by shard).
    pub fn signed_rrsets(&self) -> impl Iterator<Item = (&[u8], RrsetRef<'_>)> + '_ {
        self.shards.iter().flat_map(|shard| {
            shard.iter().flat_map(|node| {
                node.rrsets()
                    .filter(|r| !r.sigs.is_empty())
                    .map(move |r| (node.key(), r))
            })
        })
    }

    /// Every node, shard by shard (zone transfers walk them all; the order is not DNSSEC's).
    pub fn nodes(&self) -> impl Iterator<Item = &Node> + '_ {
        self.shards.iter().flat_map(|shard| shard.iter())
    }

    /// Number of delegation points in the zone.
    pub fn cuts(&self) -> usize {
        self.cuts
    }

    /// Number of names holding RRsets.
    #[cfg(test)]
    pub fn names(&self) -> usize {
        self.names
    }

    fn shard_index(&self, hasher: &impl BuildHasher, key: &[u8]) -> usize {
        // shards.len() is a power of two.
        (shard_hash(hasher, key) as usize) & (self.shards.len() - 1)
    }

    pub fn find(&self, hasher: &impl BuildHasher, key: &[u8]) -> Found<'_> {
        let shard = &self.shards[self.shard_index(hasher, key)];
        let pos = search(shard, key);
        match shard.get(pos) {
            Some(n) if n.key() == key => Found::Node(n),
            Some(n) if n.key().starts_with(key) => Found::Empty,
            _ => Found::Missing,
        }
    }

    /// Build from scratch (zone load or re-shard).
    fn build(
        hasher: &impl BuildHasher,
        serial: u32,
        mut nodes: Vec<Node>,
        sec: Option<Arc<ZoneSec>>,
    ) -> Self {
        nodes.sort_by(|a, b| a.key().cmp(b.key()));
        let cuts = nodes
            .iter()
            .filter(|n| is_cut(n.key(), n.get(RType::Ns).is_some()))
            .count();
        Self::build_sorted(hasher, serial, nodes, cuts, sec)
    }

    /// `build` from nodes already in key order, `cuts` of them delegation points (a load knows
    /// both; at 1,000,000 names the sort and the count were a few percent of the start-up).
    fn build_sorted(
        hasher: &impl BuildHasher,
        serial: u32,
        nodes: Vec<Node>,
        cuts: usize,
        sec: Option<Arc<ZoneSec>>,
    ) -> Self {
        let count = shard_count_for(nodes.len());
        let names = nodes.len();
        // Shard sizes first, so every shard is allocated once at its size: the load's peak
        // memory is what the process keeps (freed heap is rarely returned to the system).
        let idx: Vec<u32> = nodes
            .iter()
            .map(|n| ((shard_hash(hasher, n.key()) as usize) & (count - 1)) as u32)
            .collect();
        let mut sizes = vec![0usize; count];
        for &i in &idx {
            sizes[i as usize] += 1;
        }
        let mut shards: Vec<Vec<Node>> = sizes.iter().map(|&n| Vec::with_capacity(n)).collect();
        for (n, i) in nodes.into_iter().zip(idx) {
            shards[i as usize].push(n);
        }
        ZoneData {
            serial,
            shards: shards.into_iter().map(Shard::from).collect(),
            names,
            cuts,
            sec,
        }
    }

    /// A new snapshot with `changes` applied, copying only the shards they touch.
    fn with_changes(
        &self,
        hasher: &impl BuildHasher,
        zone: &str,
        serial: u32,
        changes: &[RrsetChange],
        soa: &SoaForm,
        log: &mut Vec<SigChange>,
    ) -> ZoneData {
        let signer = self.sec.as_ref().map(|s| s.signer.clone());
        let mut oldest = self.sec.as_ref().map(|s| s.oldest_expiry);
        let mut apex_changed = false;
        let mut shards: Vec<Shard> = self.shards.to_vec();
        // Working copies of touched shards, by index; few per write, so a Vec beats a map.
        let mut touched: Vec<(usize, Vec<Node>)> = Vec::new();
        let mut names = self.names;
        let mut cuts = self.cuts;
        // The changes by owner key, in the order given for each key (the sort is stable): a
        // node is rebuilt (and each RRset signed) once per batch, not once per change.
        let mut keyed: Vec<(Vec<u8>, &RrsetChange)> = Vec::with_capacity(changes.len());
        for change in changes {
            if change.rtype == RType::Soa {
                // The SOA is synthesised from the config and the serial.
                continue;
            }
            match key_for_owner(&change.name, zone) {
                Some(key) => keyed.push((key, change)),
                None => log::warn!(
                    "dns: ignoring {} {}: not in zone {zone}",
                    change.name,
                    change.rtype
                ),
            }
        }
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        for group in keyed.chunk_by(|a, b| a.0 == b.0) {
            let key = &group[0].0[..];
            apex_changed |= key.is_empty();
            let idx = self.shard_index(hasher, key);
            let slot = match touched.iter().position(|(i, _)| *i == idx) {
                Some(p) => p,
                None => {
                    touched.push((idx, shards[idx].to_vec()));
                    touched.len() - 1
                }
            };
            let nodes = &mut touched[slot].1;
            let pos = search(nodes, key);
            let existing = nodes.get(pos).filter(|n| n.key() == key).cloned();
            // The node's RRsets after the changes: the untouched ones as served, each changed
            // type as its last change left it (`None`: deleted).
            let mut sets: Vec<Edit<'_>> = existing
                .iter()
                .flat_map(|n| n.rrsets())
                .map(|r| Edit {
                    rtype: r.rtype,
                    before: Some(r),
                    after: Some(After::Same),
                })
                .collect();
            for (_, change) in group {
                let after = Rrset::encode(&change.name, change.rtype, &change.records)
                    .map(|set| After::New(set.ttl, set.data));
                match sets.iter_mut().find(|e| e.rtype == change.rtype) {
                    Some(e) => e.after = after,
                    None => {
                        let at = sets.partition_point(|e| e.rtype < change.rtype);
                        sets.insert(
                            at,
                            Edit {
                                rtype: change.rtype,
                                before: None,
                                after,
                            },
                        );
                    }
                }
            }
            let below_cut = signer.is_some()
                && signing::ancestor_keys(key).any(|a| {
                    matches!(self.find(hasher, a), Found::Node(n) if n.get(RType::Ns).is_some())
                });
            let mut out: Vec<Kept<'_>> = Vec::with_capacity(sets.len());
            for e in &sets {
                let code = e.rtype.code();
                let (ttl, data): (u32, &[u8]) = match (&e.after, e.before) {
                    (None, before) => {
                        if signer.is_some() && before.is_some() {
                            log.push(SigChange::Delete {
                                zone: zone.into(),
                                key: key.to_vec(),
                                rtype: code,
                            });
                        }
                        continue;
                    }
                    (Some(After::Same), Some(b)) => {
                        out.push((e.rtype, b.ttl, b.data, b.sigs.into()));
                        continue;
                    }
                    (Some(After::Same), None) => continue,
                    (Some(After::New(ttl, data)), _) => (*ttl, data),
                };
                let Some(signer) = &signer else {
                    out.push((e.rtype, ttl, data, Default::default()));
                    continue;
                };
                if let Some(b) = e
                    .before
                    .filter(|b| b.ttl == ttl && b.data == data && !b.sigs.is_empty())
                {
                    // Republished as it was (a hostname's other RRsets when one changed): its
                    // signatures still cover it.
                    out.push((e.rtype, ttl, data, b.sigs.into()));
                    continue;
                }
                if !signing::signs(key, e.rtype, below_cut) {
                    out.push((e.rtype, ttl, data, Default::default()));
                    continue;
                }
                let owner = signing::owner_wire(key, &signer.apex);
                let sigs = signer.sign(&owner, code, ttl, data);
                if let Some(x) = signing::expiry_of(&sigs) {
                    oldest = Some(oldest.map_or(x, |o| signing::earlier(o, x)));
                }
                log.push(SigChange::Put {
                    zone: zone.into(),
                    sig: StoredSig {
                        key: key.to_vec(),
                        rtype: code,
                        digest: signing::rrset_digest(code, ttl, data),
                        sigs: sigs.to_vec(),
                    },
                });
                out.push((e.rtype, ttl, data, sigs.into_vec().into()));
            }
            let was_cut = existing
                .as_ref()
                .is_some_and(|n| is_cut(n.key(), n.get(RType::Ns).is_some()));
            let now_cut = is_cut(key, out.iter().any(|s| s.0 == RType::Ns));
            cuts = cuts + usize::from(now_cut) - usize::from(was_cut);
            let node = (!out.is_empty()).then(|| {
                Node::pack(
                    key,
                    out.iter().map(|(rtype, ttl, data, sigs)| RrsetRef {
                        rtype: *rtype,
                        ttl: *ttl,
                        data,
                        sigs,
                    }),
                )
            });
            match (existing.is_some(), node) {
                (true, None) => {
                    nodes.remove(pos);
                    names -= 1;
                }
                (true, Some(n)) => nodes[pos] = n,
                (false, Some(n)) => {
                    nodes.insert(pos, n);
                    names += 1;
                }
                (false, None) => {}
            }
        }
        for (idx, nodes) in touched {
            shards[idx] = Shard::from(nodes);
        }
        let apex_types = |shards: &[Shard]| -> Vec<u16> {
            let shard = &shards[self.shard_index(hasher, &[])];
            let pos = search(shard, &[]);
            shard
                .get(pos)
                .filter(|n| n.key().is_empty())
                .map(|n| n.rrsets().map(|s| s.rtype.code()).collect())
                .unwrap_or_default()
        };
        // Grow the shard table as the zone grows (amortised like a Vec: each doubling
        // rebuilds once), so writes stay O(sqrt n).
        let sec = self.sec.as_ref().map(|s| {
            // The SOA of the new serial is signed when first served (see `SoaSig`).
            let soa_sig = signing::SoaSig::new(s.signer.clone(), soa.data.clone(), soa.ttl);
            let oldest = oldest.unwrap_or(s.oldest_expiry);
            let cached = if apex_changed {
                let cds = s
                    .apex_sets
                    .iter()
                    .any(|a| a.code == crate::dnssec::rtype::CDS);
                signing::apex_proofs(&s.signer, apex_types(&shards), cds)
            } else {
                s.cached.clone()
            };
            Arc::new(ZoneSec {
                signer: s.signer.clone(),
                apex_sets: s.apex_sets.clone(),
                soa_sig,
                cached,
                oldest_expiry: oldest,
            })
        });
        if shard_count_for(names) > 2 * shards.len() {
            let all: Vec<Node> = shards.iter().flat_map(|s| s.iter().cloned()).collect();
            return ZoneData::build(hasher, serial, all, sec);
        }
        ZoneData {
            serial,
            shards: shards.into_boxed_slice(),
            names,
            cuts,
            sec,
        }
    }
}

/// The key of a relative name given as its labels, leftmost first (`["www", "a"]`).
pub(crate) fn key_from_labels<'a>(
    labels: impl DoubleEndedIterator<Item = &'a [u8]> + Clone,
) -> Vec<u8> {
    // Exact capacity: keys are kept (boxed) for the life of the zone.
    let mut key = Vec::with_capacity(labels.clone().map(|l| l.len() + 1).sum());
    for label in labels.rev() {
        // Labels are at most 63 octets (RFC 1035 §2.3.4), so the length fits in a byte.
        key.push(label.len() as u8);
        key.extend_from_slice(label);
    }
    key
}

/// Key of `owner` (lowercase, no trailing dot) inside `zone`; `None` if it is not in the zone.
pub(crate) fn key_for_owner(owner: &str, zone: &str) -> Option<Vec<u8>> {
    let mut key = Vec::new();
    push_key_for_owner(owner, zone, &mut key).then_some(key)
}

/// `key_for_owner` appended to `out` (unchanged, and false, when `owner` is not in `zone`).
fn push_key_for_owner(owner: &str, zone: &str, out: &mut Vec<u8>) -> bool {
    let owner = owner.strip_suffix('.').unwrap_or(owner);
    if owner.eq_ignore_ascii_case(zone) {
        return true;
    }
    match owner.strip_suffix(zone).and_then(|r| r.strip_suffix('.')) {
        Some(rel) if !rel.is_empty() => push_key_for_relative(rel, out),
        _ => false,
    }
}

/// As `push_key_for_owner` for a name given relative to the zone ('' is the apex).
fn push_key_for_relative(rel: &str, out: &mut Vec<u8>) -> bool {
    if rel.is_empty() {
        return true;
    }
    if rel.split('.').any(|l| l.is_empty() || l.len() > 63) {
        return false;
    }
    // Exact: a length octet per label where the text has a dot, plus one.
    out.reserve(rel.len() + 1);
    for label in rel.rsplit('.') {
        // Labels are at most 63 octets (checked above), so the length fits in a byte.
        out.push(label.len() as u8);
        out.extend(label.bytes().map(|b| b.to_ascii_lowercase()));
    }
    true
}

/// One type of a node being changed (`ZoneData::with_changes`): as served now, and after.
struct Edit<'a> {
    rtype: RType,
    before: Option<RrsetRef<'a>>,
    /// `None`: deleted.
    after: Option<After>,
}

/// An RRset of a changed node: type, TTL, RDATAs and RRSIGs (made now, or as served).
type Kept<'a> = (RType, u32, &'a [u8], std::borrow::Cow<'a, [u8]>);

/// An RRset after a batch of changes.
enum After {
    /// Untouched.
    Same,
    /// TTL and length-prefixed RDATAs.
    New(u32, Box<[u8]>),
}

/// The zone's SOA RDATA (canonical wire form) and TTL for a serial, to sign it.
pub(crate) struct SoaForm {
    pub data: Vec<u8>,
    pub ttl: u32,
}

/// The RRsets of `runs` (runs with one key, in the order given) in type order, each type
/// once: where a type is given twice, the last one given.
fn same_key_sets(sets: &[LoadSet], runs: &[LoadRun], out: &mut Vec<LoadSet>) {
    out.clear();
    for r in runs {
        out.extend_from_slice(&sets[r.first as usize..(r.first + r.len) as usize]);
    }
    // Stable: of one type, the last given stays last.
    out.sort_by_key(|s| s.rtype);
    let mut kept = 0;
    for i in 0..out.len() {
        if out.get(i + 1).is_none_or(|n| n.rtype != out[i].rtype) {
            out[kept] = out[i];
            kept += 1;
        }
    }
    out.truncate(kept);
}

/// One RRset of a zone being loaded: where its key and RDATAs lie in the load's buffer.
#[derive(Clone, Copy)]
struct LoadSet {
    key: usize,
    data: usize,
    key_len: u32,
    data_len: u32,
    ttl: u32,
    rtype: RType,
}

/// Consecutive RRsets of a load with one key, in type order, each type once (a hostname's A,
/// TXT and AAAA; a record RRset alone): the load sorts these, not the RRsets, so at 1,000,000
/// names it moves 2 million 16-octet entries instead of 4 million RRsets.
#[derive(Clone, Copy)]
struct LoadRun {
    /// `key_prefix` of the key: the sort compares this first and reads the buffer only on a
    /// tie (most keys of a DDNS zone fit in it).
    prefix: u64,
    first: u32,
    len: u32,
}

/// A zone being loaded: every RRset's key and RDATAs in one buffer, with an index over them.
///
/// A load used to hold each RRset as a key `Vec`, an RDATA `Box` and (signed) an RRSIG `Box`,
/// all freed once packed into nodes: at 1,000,000 names that was 12 million small
/// allocations, and at 10,000 signed names the holes they left between the nodes stayed in
/// the process (glibc returns only the top of its heap). Here the load's working data is two
/// large allocations, which glibc maps and unmaps on their own (above `mmap_threshold`, which
/// `lucentd serve` sets to 1 MiB), signatures are made straight into the node being packed,
/// and the nodes are the only small allocations left behind.
struct Loading {
    buf: Vec<u8>,
    sets: Vec<LoadSet>,
    runs: Vec<LoadRun>,
}

/// A hostname as the store keeps it (`hostnames` row): label relative to the zone ('' for
/// the apex), TTL and values. Loaded as `model::hostname::host_rrsets` describes it: A, AAAA
/// and TXT at the name, and the TXT again at `*.name` unless the label is '' or starts with
/// '_'.
#[derive(Debug, Clone, Copy)]
pub struct HostRow<'a> {
    pub label: &'a str,
    pub ttl: u32,
    pub ipv4: Option<std::net::Ipv4Addr>,
    pub ipv6: Option<std::net::Ipv6Addr>,
    pub txt: Option<&'a str>,
}

/// Hostnames lent to a load one at a time (the store's rows are read in place: no `String`
/// per label and TXT at 1,000,000 names).
pub trait HostSource {
    fn next_host(&mut self) -> Option<HostRow<'_>>;
}

/// None (zones loaded from RRsets alone).
impl HostSource for std::iter::Empty<HostRow<'_>> {
    fn next_host(&mut self) -> Option<HostRow<'_>> {
        None
    }
}

/// Owned rows (tests).
impl<'a> HostSource for std::vec::IntoIter<HostRow<'a>> {
    fn next_host(&mut self) -> Option<HostRow<'_>> {
        self.next()
    }
}

impl Loading {
    /// Add a hostname's RRsets without making text records of its values first (at 1M names
    /// that was a dozen allocations and a parse of each address written out as text).
    fn push_host(&mut self, h: HostRow<'_>) {
        let key = self.buf.len();
        if !push_key_for_relative(h.label, &mut self.buf) {
            log::warn!("dns: ignoring hostname {:?}: not a valid name", h.label);
            self.buf.truncate(key);
            return;
        }
        let key_len = self.buf.len() - key;
        let run = self.sets.len();
        // RFC 2181 §8: a TTL with the top bit set is treated as zero (as `encode_simple`).
        let ttl = if h.ttl > i32::MAX as u32 { 0 } else { h.ttl };
        let push = |l: &mut Loading, rtype: RType, rdata: &[u8]| {
            let data = l.buf.len();
            l.buf.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            l.buf.extend_from_slice(rdata);
            l.push_set(key, key_len, rtype, ttl, data);
        };
        // In `RType` order (A, AAAA, TXT): the run is sorted as it is pushed.
        if let Some(a) = h.ipv4 {
            push(self, RType::A, &a.octets());
        }
        if let Some(a) = h.ipv6 {
            push(self, RType::Aaaa, &a.octets());
        }
        // The stored value is the TXT's text (`txt_content` quotes it for the API and
        // `encode_into` unquotes it again): its character-strings are written as they are,
        // with `encode_into`'s checks.
        let txt = h.txt.filter(|t| {
            t.len() <= content::MAX_TXT_LEN && !t.chars().any(|c| c.is_control() && c != '\t')
        });
        let txt = txt.map(|t| {
            let data = self.buf.len();
            let chunks = content::txt_chunks(t);
            let len: usize = chunks.iter().map(|c| c.len() + 1).sum();
            self.buf.extend_from_slice(&(len as u16).to_be_bytes());
            for c in chunks {
                self.buf.push(c.len() as u8);
                self.buf.extend_from_slice(c);
            }
            self.push_set(key, key_len, RType::Txt, ttl, data);
            (data, self.buf.len() - data, ttl)
        });
        self.end_run(run);
        let Some((data, data_len, ttl)) = txt else {
            return;
        };
        if h.label.is_empty() || h.label.starts_with('_') {
            return;
        }
        // `*.label`: the same key with one more label, the same RDATA.
        let wild = self.buf.len();
        self.buf.extend_from_within(key..key + key_len);
        self.buf.extend_from_slice(b"\x01*");
        let wild_data = self.buf.len();
        self.buf.extend_from_within(data..data + data_len);
        let run = self.sets.len();
        self.push_set(wild, wild_data - wild, RType::Txt, ttl, wild_data);
        self.end_run(run);
    }

    /// Index the RRset whose key and RDATAs were just written to `buf` at `key` and `data`.
    fn push_set(&mut self, key: usize, key_len: usize, rtype: RType, ttl: u32, data: usize) {
        let data_len = self.buf.len() - data;
        self.sets.push(LoadSet {
            key,
            data,
            key_len: key_len as u32,
            data_len: u32::try_from(data_len).expect("an RRset's RDATAs fit a DNS message"),
            ttl,
            rtype,
        });
    }

    /// Close the run of RRsets pushed since `first` (nothing when none was).
    fn end_run(&mut self, first: usize) {
        let len = self.sets.len() - first;
        if len == 0 {
            return;
        }
        let set = &self.sets[first];
        self.runs.push(LoadRun {
            prefix: key_prefix(&self.buf[set.key..set.key + set.key_len as usize]),
            first: u32::try_from(first).expect("fewer than 2^32 RRsets in a zone"),
            len: len as u32,
        });
    }

    fn run_key(&self, r: &LoadRun) -> &[u8] {
        self.key(&self.sets[r.first as usize])
    }

    fn key(&self, s: &LoadSet) -> &[u8] {
        &self.buf[s.key..s.key + s.key_len as usize]
    }
    fn data(&self, s: &LoadSet) -> &[u8] {
        &self.buf[s.data..s.data + s.data_len as usize]
    }
}

/// The signing side of a load: stored signatures matched to the RRsets (both in key order)
/// or, where none fits, new ones made.
struct LoadSigning<'a, 's> {
    signer: &'a Arc<signing::Signer>,
    stored: &'a mut (dyn signing::SigSource + 's),
    /// The stored signatures of the current key: (type, digest, where its RRSIGs lie in
    /// `here_sigs`).
    here: Vec<(u16, i64, std::ops::Range<usize>)>,
    here_sigs: Vec<u8>,
    /// The key `here` is for (valid when `here_valid`).
    here_key: Vec<u8>,
    here_valid: bool,
    /// Delegation points (NS below the apex): their NS and what lies below are not signed.
    cuts: std::collections::HashSet<Vec<u8>>,
    /// Signatures made (not taken from the store).
    fresh: usize,
    /// The signer's clock, read once for the whole load.
    now: u64,
    oldest: Option<u32>,
}

impl LoadSigning<'_, '_> {
    /// Append the RRSIGs of one RRset to `out` (nothing for an RRset not signed).
    fn sigs_into(&mut self, key: &[u8], rtype: RType, ttl: u32, data: &[u8], out: &mut Vec<u8>) {
        let below_cut =
            !self.cuts.is_empty() && signing::ancestor_keys(key).any(|a| self.cuts.contains(a));
        if !signing::signs(key, rtype, below_cut) {
            return;
        }
        if !self.here_valid || self.here_key != key {
            self.here.clear();
            self.here_sigs.clear();
            while let Some((k, t, digest)) = self.stored.current() {
                match k.cmp(key) {
                    std::cmp::Ordering::Less => {}
                    std::cmp::Ordering::Equal => {
                        let at = self.here_sigs.len();
                        self.here_sigs.extend_from_slice(self.stored.sigs());
                        self.here.push((t, digest, at..self.here_sigs.len()));
                    }
                    std::cmp::Ordering::Greater => break,
                }
                self.stored.advance();
            }
            self.here_key.clear();
            self.here_key.extend_from_slice(key);
            self.here_valid = true;
        }
        let code = rtype.code();
        let digest = signing::rrset_digest(code, ttl, data);
        let start = out.len();
        let (signer, now) = (self.signer, self.now);
        let here_sigs = &self.here_sigs;
        match self.here.iter().find(|(t, d, at)| {
            *t == code && *d == digest && signer.reusable_at(&here_sigs[at.clone()], now)
        }) {
            Some((.., at)) => out.extend_from_slice(&here_sigs[at.clone()]),
            None => {
                let owner = signing::owner_wire(key, &signer.apex);
                out.extend_from_slice(&signer.sign(&owner, code, ttl, data));
                self.fresh += 1;
            }
        }
        if let Some(e) = signing::expiry_of(&out[start..]) {
            self.oldest = Some(self.oldest.map_or(e, |o| signing::earlier(o, e)));
        }
    }

    /// The snapshot's signing state, once every RRset is signed: the apex key RRsets and the
    /// proofs shared by NXDOMAIN answers signed now, the SOA's RRSIG when first served.
    fn finish(
        self,
        apex_types: Vec<u16>,
        soa: &SoaForm,
        log: &mut Vec<SigChange>,
        zone: &str,
    ) -> Arc<ZoneSec> {
        let signer = self.signer;
        // Made afresh (a first start, a new key, a refresh): the store keeps the zone's
        // signatures from the snapshot, in chunks, rather than from a copy of each here.
        if self.fresh > 0 {
            log.push(SigChange::Dump { zone: zone.into() });
        }
        let apex_sets: Arc<[signing::ApexSet]> = signer.apex_rrsets(soa.ttl).into();
        let cds = apex_sets
            .iter()
            .any(|s| s.code == crate::dnssec::rtype::CDS);
        let cached = signing::apex_proofs(signer, apex_types, cds);
        // The apex key RRsets were signed just now, like the SOA used to be: the earliest of
        // them bounds the snapshot's (the SOA's own RRSIG is made later, so expires later).
        let mut oldest = self.oldest;
        for e in apex_sets.iter().filter_map(|a| signing::expiry_of(&a.sigs)) {
            oldest = Some(oldest.map_or(e, |o| signing::earlier(o, e)));
        }
        Arc::new(ZoneSec {
            signer: signer.clone(),
            apex_sets,
            soa_sig: signing::SoaSig::new(signer.clone(), soa.data.clone(), soa.ttl),
            cached,
            oldest_expiry: oldest.unwrap_or_else(|| signer.fresh_expiry()),
        })
    }
}

/// One served zone.
pub(crate) struct Zone {
    /// Lowercase apex as an fqdn.
    pub apex: Name,
    /// Lowercase apex without trailing dot, as the store names it.
    pub name: Box<str>,
    pub data: ArcSwap<ZoneData>,
    /// Serialises writers; readers never take it.
    write: Mutex<()>,
    pub counters: Arc<Counters>,
}

impl Zone {
    pub fn new(apex: Name, name: &str, data: ZoneData, counters: Arc<Counters>) -> Self {
        Zone {
            apex,
            name: name.into(),
            data: ArcSwap::from_pointee(data),
            write: Mutex::new(()),
            counters,
        }
    }

    /// Replace the whole contents; with a signer, every RRset signed (or its stored
    /// signatures reused), the signatures made appended to `log`.
    #[cfg(test)]
    #[allow(clippy::too_many_arguments)]
    pub fn load(
        &self,
        hasher: &impl BuildHasher,
        serial: u32,
        rrsets: impl IntoIterator<Item = RrsetChange>,
        signer: Option<Arc<signing::Signer>>,
        soa: &SoaForm,
        stored: &mut dyn Iterator<Item = StoredSig>,
        log: &mut Vec<SigChange>,
    ) {
        let mut no_hosts = std::iter::empty::<HostRow>();
        let (rrsets, hosts) = (rrsets.into_iter(), &mut no_hosts);
        let stored = &mut stored.peekable();
        self.load_with_hosts(hasher, serial, rrsets, hosts, signer, soa, stored, log);
    }

    /// `load` with hostnames given as their stored values besides the RRsets: each is
    /// encoded straight into the load's buffer (`push_host`), as `host_rrsets` would make it.
    #[allow(clippy::too_many_arguments)]
    pub fn load_with_hosts(
        &self,
        hasher: &impl BuildHasher,
        serial: u32,
        rrsets: impl IntoIterator<Item = RrsetChange>,
        hosts: &mut dyn HostSource,
        signer: Option<Arc<signing::Signer>>,
        soa: &SoaForm,
        stored: &mut dyn signing::SigSource,
        log: &mut Vec<SigChange>,
    ) {
        let rrsets = rrsets.into_iter();
        let mut l = Loading {
            buf: Vec::new(),
            sets: Vec::with_capacity(rrsets.size_hint().0),
            runs: Vec::with_capacity(rrsets.size_hint().0),
        };
        for change in rrsets {
            if change.rtype == RType::Soa {
                continue;
            }
            let key = l.buf.len();
            if !push_key_for_owner(&change.name, &self.name, &mut l.buf) {
                log::warn!(
                    "dns: ignoring {} {}: not in zone {}",
                    change.name,
                    change.rtype,
                    self.name
                );
                continue;
            }
            let data = l.buf.len();
            match Rrset::encode_into(&change.name, change.rtype, &change.records, &mut l.buf) {
                Some(ttl) => {
                    let run = l.sets.len();
                    l.push_set(key, data - key, change.rtype, ttl, data);
                    l.end_run(run);
                }
                None => l.buf.truncate(key),
            }
        }
        while let Some(host) = hosts.next_host() {
            l.push_host(host);
        }
        // Runs by key; runs with one key stay in the order given (ties go by position), so
        // where two give the same (key, type) the last one given is kept (`same_key_sets`).
        {
            let Loading { buf, sets, runs } = &mut l;
            let key = |r: &LoadRun| {
                let s = &sets[r.first as usize];
                &buf[s.key..s.key + s.key_len as usize]
            };
            runs.sort_unstable_by(|a, b| {
                // Equal prefixes: keys of at most 8 octets are equal iff their lengths are
                // (the prefix pads with zeros, and a shorter key sorts first).
                a.prefix
                    .cmp(&b.prefix)
                    .then_with(|| {
                        let (ka, kb) = (key(a), key(b));
                        match ka.len().max(kb.len()) {
                            0..=8 => ka.len().cmp(&kb.len()),
                            _ => ka.cmp(kb),
                        }
                    })
                    .then(a.first.cmp(&b.first))
            });
        }
        let mut signing = signer.as_ref().map(|signer| LoadSigning {
            signer,
            stored,
            here: Vec::new(),
            here_sigs: Vec::new(),
            here_key: Vec::new(),
            here_valid: false,
            cuts: l
                .sets
                .iter()
                .filter(|s| s.rtype == RType::Ns && s.key_len > 0)
                .map(|s| l.key(s).to_vec())
                .collect(),
            fresh: 0,
            now: signer.now(),
            oldest: None,
        });
        // Exact capacity: at 1M names a doubling Vec would leave megabytes of slack behind.
        let distinct = l
            .runs
            .windows(2)
            .filter(|w| l.run_key(&w[0]) != l.run_key(&w[1]))
            .count()
            + 1;
        let mut nodes: Vec<Node> = Vec::with_capacity(distinct.min(l.runs.len()));
        let mut apex_types: Vec<u16> = Vec::new();
        let mut cuts = 0;
        // One node's RRSIGs, and where each RRset's lie in it.
        let mut sigs: Vec<u8> = Vec::new();
        let mut spans: Vec<(usize, usize)> = Vec::new();
        let mut merged: Vec<LoadSet> = Vec::new();
        for runs in l.runs.chunk_by(|a, b| l.run_key(a) == l.run_key(b)) {
            let group: &[LoadSet] = match runs {
                [r] => &l.sets[r.first as usize..(r.first + r.len) as usize],
                _ => {
                    same_key_sets(&l.sets, runs, &mut merged);
                    &merged
                }
            };
            let key = l.key(&group[0]);
            sigs.clear();
            spans.clear();
            for s in group {
                let start = sigs.len();
                if let Some(signing) = signing.as_mut() {
                    signing.sigs_into(key, s.rtype, s.ttl, l.data(s), &mut sigs);
                }
                spans.push((start, sigs.len()));
                if key.is_empty() {
                    apex_types.push(s.rtype.code());
                } else if s.rtype == RType::Ns {
                    cuts += 1;
                }
            }
            let refs = group.iter().zip(&spans).map(|(s, &(a, b))| RrsetRef {
                rtype: s.rtype,
                ttl: s.ttl,
                data: l.data(s),
                sigs: &sigs[a..b],
            });
            nodes.push(Node::pack(key, refs));
        }
        drop(l);
        let sec = signing.map(|signing| signing.finish(apex_types, soa, log, &self.name));
        let data = ZoneData::build_sorted(hasher, serial, nodes, cuts, sec);
        let _w = self.write.lock().unwrap_or_else(|e| e.into_inner());
        self.data.store(Arc::new(data));
    }

    /// Replace some RRsets and set the serial, atomically for readers.
    #[cfg(test)]
    pub fn apply(
        &self,
        hasher: &impl BuildHasher,
        serial: u32,
        changes: Vec<RrsetChange>,
        soa: &SoaForm,
        log: &mut Vec<SigChange>,
    ) {
        let staged = self.stage(hasher, serial, &changes, soa);
        log.extend(self.install(hasher, staged, serial, &changes, soa));
    }

    /// The snapshot `changes` make of the one served now, built and signed but not served
    /// (`install` serves it). Takes no lock: a write group stages its changes while its COMMIT
    /// is still running (`store/commit.rs`).
    pub fn stage(
        &self,
        hasher: &impl BuildHasher,
        serial: u32,
        changes: &[RrsetChange],
        soa: &SoaForm,
    ) -> Staged {
        let base = self.data.load_full();
        let mut log = Vec::new();
        let next = base.with_changes(hasher, &self.name, serial, changes, soa, &mut log);
        Staged {
            base,
            next: Arc::new(next),
            log,
        }
    }

    /// Serve a staged snapshot, atomically for readers, and return the signature changes it
    /// made. Should another writer have replaced the snapshot it was staged from (a zone
    /// reload in between), `changes` are applied again to the one served now.
    pub fn install(
        &self,
        hasher: &impl BuildHasher,
        staged: Staged,
        serial: u32,
        changes: &[RrsetChange],
        soa: &SoaForm,
    ) -> Vec<SigChange> {
        let _w = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let cur = self.data.load_full();
        if Arc::ptr_eq(&cur, &staged.base) {
            self.data.store(staged.next);
            return staged.log;
        }
        let mut log = Vec::new();
        let next = cur.with_changes(hasher, &self.name, serial, changes, soa, &mut log);
        self.data.store(Arc::new(next));
        log
    }
}

/// A zone's next snapshot, made by `Zone::stage` from `base`, with the signature changes its
/// signing made.
pub(crate) struct Staged {
    base: Arc<ZoneData>,
    next: Arc<ZoneData>,
    log: Vec<SigChange>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SOA form of an unsigned zone (not used: nothing is signed).
    fn unsigned() -> SoaForm {
        SoaForm {
            data: Vec::new(),
            ttl: 0,
        }
    }
    use std::collections::hash_map::RandomState;

    fn rec(content: &str) -> RecordData {
        RecordData {
            ttl: 300,
            content: content.into(),
        }
    }

    fn change(name: &str, rtype: RType, contents: &[&str]) -> RrsetChange {
        RrsetChange {
            name: name.into(),
            rtype,
            records: contents.iter().map(|c| rec(c)).collect(),
        }
    }

    #[test]
    fn keys_reverse_relative_labels() {
        assert_eq!(key_for_owner("example.org", "example.org"), Some(vec![]));
        assert_eq!(
            key_for_owner("www.a.example.org", "example.org"),
            Some(b"\x01a\x03www".to_vec())
        );
        assert_eq!(key_for_owner("wwwexample.org", "example.org"), None);
        assert_eq!(key_for_owner("example.net", "example.org"), None);
    }

    #[test]
    fn prefix_search_matches_a_plain_binary_search() {
        // Keys that share 8-octet prefixes, are prefixes of each other, hold zero octets and
        // 0xff, in sorted order: `search` must agree with a search on whole keys everywhere.
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for a in [
            &b""[..],
            b"\x01a",
            b"\x07abcdefg",
            b"\x08abcdefgh",
            b"\x01\x00",
            b"\x01\xff",
        ] {
            for b in [
                &b""[..],
                b"\x01b",
                b"\x03\x00\x00\x00",
                b"\x02zz",
                b"\x01\xff",
            ] {
                let mut k = a.to_vec();
                k.extend_from_slice(b);
                keys.push(k);
            }
        }
        keys.sort();
        keys.dedup();
        let set = Rrset::encode("x", RType::A, &[rec("192.0.2.1")]).unwrap();
        let nodes: Vec<Node> = keys
            .iter()
            .map(|k| Node::new(k, std::slice::from_ref(&set)))
            .collect();
        let mut probes = keys.clone();
        for k in &keys {
            let mut longer = k.clone();
            longer.push(0);
            probes.push(longer);
            if let Some((_, short)) = k.split_last() {
                probes.push(short.to_vec());
            }
        }
        for p in &probes {
            let want = keys.partition_point(|k| k < p);
            assert_eq!(search(&nodes, p), want, "probe {p:?}");
        }
    }

    #[test]
    fn rrset_encoding_dedups_and_takes_min_ttl() {
        let set = Rrset::encode(
            "x",
            RType::A,
            &[
                RecordData {
                    ttl: 600,
                    content: "192.0.2.1".into(),
                },
                RecordData {
                    ttl: 60,
                    content: "192.0.2.2".into(),
                },
                RecordData {
                    ttl: 60,
                    content: "192.0.2.1".into(),
                },
                RecordData {
                    ttl: 60,
                    content: "bogus".into(),
                },
            ],
        )
        .unwrap();
        assert_eq!(set.ttl, 60);
        let rdatas: Vec<&[u8]> = set.rdatas().collect();
        assert_eq!(rdatas, [&[192, 0, 2, 1][..], &[192, 0, 2, 2][..]]);
        assert!(Rrset::encode("x", RType::A, &[rec("bogus")]).is_none());
        let top = Rrset::encode(
            "x",
            RType::A,
            &[RecordData {
                ttl: u32::MAX,
                content: "192.0.2.1".into(),
            }],
        );
        assert_eq!(top.unwrap().ttl, 0);
    }

    /// Hostnames loaded from their stored values (`HostRow`) give exactly the RRsets that
    /// `host_rrsets` describes, loaded as text records.
    #[test]
    fn hosts_load_as_their_text_rrsets_would() {
        use crate::model::hostname::{fqdn, host_rrsets};
        let rows = [
            (
                "h1",
                Some("192.0.2.1"),
                Some("2001:db8::1"),
                Some("plain text"),
                60,
            ),
            ("H2", Some("192.0.2.2"), None, None, 300),
            ("_svc", None, None, Some("svc"), 60),
            ("", None, Some("2001:db8::2"), Some("apex"), 60),
            (
                "a.b",
                None,
                Some("::ffff:192.0.2.9"),
                Some("\"quoted\" and \\"),
                60,
            ),
            (
                "long",
                Some("192.0.2.3"),
                None,
                Some(&*"x".repeat(600)),
                u32::MAX,
            ),
            ("ctl", None, None, Some("bell\u{7}"), 60),
            ("tab", None, None, Some("a\tb"), 60),
            ("qq", None, None, Some("\"x\" \"y\""), 60),
            ("sp", None, None, Some(" \"q\" "), 60),
            ("big", Some("192.0.2.5"), None, Some(&*"y".repeat(4001)), 60),
            ("bad..x", Some("192.0.2.4"), None, Some("t"), 60),
        ];
        let rows: Vec<HostRow> = rows
            .iter()
            .map(|&(label, v4, v6, txt, ttl)| HostRow {
                label,
                ttl,
                ipv4: v4.map(|a| a.parse().unwrap()),
                ipv6: v6.map(|a| a.parse().unwrap()),
                txt,
            })
            .collect();
        // A record at a hostname's name: the hostname, given after it, wins (as before).
        let records = || {
            vec![
                change("example.org", RType::Ns, &["ns1.example.net."]),
                change("h1.example.org", RType::A, &["198.51.100.1"]),
                change("mx.example.org", RType::Mx, &["10 mail.example.net."]),
            ]
        };
        let served = |z: &Zone| {
            let d = z.data.load();
            let mut out: Vec<(Vec<u8>, u16, u32, Vec<u8>)> = d
                .nodes()
                .flat_map(|n| {
                    n.rrsets()
                        .map(|r| (n.key().to_vec(), r.rtype.code(), r.ttl, r.data.to_vec()))
                        .collect::<Vec<_>>()
                })
                .collect();
            out.sort();
            out
        };
        let h = RandomState::new();
        let zone = || {
            Zone::new(
                Name::from_ascii("example.org.").unwrap(),
                "example.org",
                ZoneData::empty(1),
                Arc::default(),
            )
        };
        let as_text = zone();
        let text: Vec<RrsetChange> = rows
            .iter()
            .flat_map(|r| {
                let name = fqdn(r.label, "example.org");
                let (txt, l) = (r.txt, r.label);
                host_rrsets(&name, l, r.ttl, r.ipv4, r.ipv6, txt)
            })
            .filter(|rr| !rr.records.is_empty())
            .collect();
        let mut none = std::iter::empty();
        let all = records().into_iter().chain(text);
        as_text.load(&h, 1, all, None, &unsigned(), &mut none, &mut Vec::new());
        let as_rows = zone();
        let mut hosts = rows.into_iter();
        let (soa, log) = (&unsigned(), &mut Vec::new());
        let none = &mut std::iter::empty().peekable();
        as_rows.load_with_hosts(&h, 1, records(), &mut hosts, None, soa, none, log);
        let want = served(&as_text);
        assert_eq!(served(&as_rows), want);
        // Each node's RRsets in type order, each type once (a record and a hostname at one
        // name, h1 and the apex, merged).
        for n in as_rows.data.load().nodes() {
            let types: Vec<RType> = n.rrsets().map(|r| r.rtype).collect();
            assert!(
                types.windows(2).all(|w| w[0] < w[1]),
                "{:?}: {types:?}",
                n.key()
            );
        }
        // The cases above are all there: h1's A from the hostname, wildcards for h1 and a.b
        // only, the long TXT split, the TTL with its top bit set served as 0, no bad..x.
        let has = |key: &[u8], t: RType| want.iter().any(|w| w.0 == key && w.1 == t.code());
        assert!(want.contains(&(
            b"\x02h1".to_vec(),
            1,
            60,
            b"\x00\x04\xc0\x00\x02\x01".to_vec()
        )));
        assert!(has(b"\x02h1\x01*", RType::Txt) && has(b"\x01b\x01a\x01*", RType::Txt));
        assert!(has(b"\x02h2", RType::A) && !has(b"\x02h2\x01*", RType::Txt));
        assert!(has(b"\x04_svc", RType::Txt) && !has(b"\x04_svc\x01*", RType::Txt));
        assert!(has(b"", RType::Aaaa) && !has(b"\x01*", RType::Txt));
        assert!(want
            .iter()
            .any(|w| w.0 == b"\x04long" && w.1 == 16 && w.2 == 0));
        assert!(!want.iter().any(|w| w.0.ends_with(b"\x03bad")));
        // A tab is kept, other control characters and an over-long TXT are not served (the
        // hostname's A still is); text that looks quoted is served as stored.
        assert!(has(b"\x03tab", RType::Txt) && !has(b"\x03ctl", RType::Txt));
        assert!(has(b"\x03big", RType::A) && !has(b"\x03big", RType::Txt));
        let txt_of = |key: &[u8]| {
            want.iter()
                .find(|w| w.0 == key && w.1 == 16)
                .unwrap()
                .3
                .clone()
        };
        assert_eq!(txt_of(b"\x02qq"), b"\x00\x08\x07\"x\" \"y\"");
        assert_eq!(txt_of(b"\x02sp"), b"\x00\x06\x05 \"q\" ");
    }

    #[test]
    fn find_nodes_and_empty_non_terminals() {
        let h = RandomState::new();
        let z = Zone::new(
            Name::from_ascii("example.org.").unwrap(),
            "example.org",
            ZoneData::empty(1),
            Arc::default(),
        );
        z.load(
            &h,
            1,
            vec![
                change("example.org", RType::Ns, &["ns1.example.net."]),
                change("_acme-challenge.x.example.org", RType::Txt, &["tok"]),
            ],
            None,
            &unsigned(),
            &mut std::iter::empty(),
            &mut Vec::new(),
        );
        let d = z.data.load();
        assert!(matches!(d.find(&h, b""), Found::Node(_)));
        assert!(matches!(d.find(&h, b"\x01x"), Found::Empty));
        assert!(matches!(
            d.find(&h, b"\x01x\x0f_acme-challenge"),
            Found::Node(_)
        ));
        assert!(matches!(d.find(&h, b"\x01y"), Found::Missing));
        assert!(matches!(d.find(&h, b"\x01x\x01y"), Found::Missing));
    }

    #[test]
    fn apply_replaces_deletes_and_grows_shards() {
        let h = RandomState::new();
        let z = Zone::new(
            Name::from_ascii("z.test.").unwrap(),
            "z.test",
            ZoneData::empty(1),
            Arc::default(),
        );
        z.load(
            &h,
            1,
            vec![],
            None,
            &unsigned(),
            &mut std::iter::empty(),
            &mut Vec::new(),
        );
        for i in 0..5000u32 {
            let ip = format!("10.0.{}.{}", i / 256, i % 256);
            z.apply(
                &h,
                i + 2,
                vec![change(&format!("h{i}.z.test"), RType::A, &[&ip])],
                &unsigned(),
                &mut Vec::new(),
            );
        }
        let d = z.data.load_full();
        assert_eq!(d.names(), 5000);
        assert_eq!(d.serial, 5001);
        assert!(d.shards.len() >= 64, "{} shards", d.shards.len());
        let Found::Node(n) = d.find(&h, b"\x05h4999") else {
            panic!()
        };
        assert_eq!(
            n.get(RType::A).unwrap().rdatas().next().unwrap(),
            [10, 0, 19, 135]
        );
        // Delete one, change another, add a TXT beside an A.
        z.apply(
            &h,
            9000,
            vec![
                change("h1.z.test", RType::A, &[]),
                change("h2.z.test", RType::A, &["192.0.2.9"]),
                change("h3.z.test", RType::Txt, &["hello"]),
            ],
            &unsigned(),
            &mut Vec::new(),
        );
        let d2 = z.data.load();
        assert_eq!(d2.names(), 4999);
        assert!(matches!(d2.find(&h, b"\x02h1"), Found::Missing));
        let Found::Node(n) = d2.find(&h, b"\x02h3") else {
            panic!()
        };
        assert_eq!(n.rrsets().count(), 2);
        // The old snapshot is untouched.
        assert!(matches!(d.find(&h, b"\x02h1"), Found::Node(_)));
    }

    /// A load sorts by 8-octet key prefix first: names sharing long prefixes, prefixes of each
    /// other and repeated RRsets (the last given wins) come out in key order, each findable.
    #[test]
    fn a_load_sorts_keys_sharing_long_prefixes() {
        let h = RandomState::new();
        let z = Zone::new(
            Name::from_ascii("z.test.").unwrap(),
            "z.test",
            ZoneData::empty(1),
            Arc::default(),
        );
        let names = [
            "abcdefgh",
            "abcdefg",
            "abcdefghi",
            "abcdefgh1",
            "abcdefgh2",
            "x.abcdefgh",
            "a",
            "b.a",
            "a.b.a",
            "abcdefgi",
            "zzzzzzzzzzzz",
            "*.abcdefgh",
        ];
        let mut rrsets: Vec<RrsetChange> = Vec::new();
        // Given in reverse, each twice: the second (10.0.1.i) must win.
        for round in 0..2 {
            for (i, n) in names.iter().enumerate().rev() {
                let ip = format!("10.0.{round}.{i}");
                rrsets.push(change(&format!("{n}.z.test"), RType::A, &[&ip]));
                rrsets.push(change(&format!("{n}.z.test"), RType::Txt, &[n]));
            }
        }
        z.load(
            &h,
            1,
            rrsets,
            None,
            &unsigned(),
            &mut std::iter::empty(),
            &mut Vec::new(),
        );
        let d = z.data.load();
        assert_eq!(d.names(), names.len());
        for shard in d.shards.iter() {
            assert!(shard.windows(2).all(|w| w[0].key() < w[1].key()));
        }
        for (i, n) in names.iter().enumerate() {
            let key = key_for_owner(&format!("{n}.z.test"), "z.test").unwrap();
            let Found::Node(node) = d.find(&h, &key) else {
                panic!("{n}")
            };
            assert_eq!(node.get(RType::A).unwrap().data, [0, 4, 10, 0, 1, i as u8]);
            assert_eq!(node.rrsets().count(), 2);
        }
    }

    fn signer_for(zone: &str) -> Arc<signing::Signer> {
        use crate::dnssec::{Algorithm, DnssecConfig, KeyState, SigningKey};
        let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let keys = signing::ZoneKeys {
            keys: vec![(key, KeyState::Active)],
            delete_cds: false,
        };
        let clock = || 1_800_000_000;
        Arc::new(signing::Signer::new(zone, keys, DnssecConfig::default(), 60, clock).unwrap())
    }

    fn soa(serial: u32) -> SoaForm {
        let mut data = vec![0, 24];
        data.extend_from_slice(&[0; 4]);
        data.extend_from_slice(&serial.to_be_bytes());
        data.extend_from_slice(&[0; 16]);
        SoaForm { data, ttl: 60 }
    }

    /// The RRSIGs served with `rtype` at `key`.
    fn sigs_of(z: &Zone, h: &RandomState, key: &[u8], rtype: RType) -> Vec<u8> {
        let d = z.data.load();
        let Found::Node(n) = d.find(h, key) else {
            panic!("no node {key:?}")
        };
        n.get(rtype).unwrap().sigs.to_vec()
    }

    fn host(name: &str, ip: &str, txt: &str) -> Vec<RrsetChange> {
        vec![
            change(name, RType::A, &[ip]),
            change(name, RType::Txt, &[txt]),
        ]
    }

    /// RFC 4035 §2.2: every authoritative RRset of a loaded zone is signed; a load keeps the
    /// last of a repeated RRset; a second load with the signatures the first one made (as the
    /// store keeps them) signs nothing anew; the SOA's RRSIG is made when first asked for.
    #[test]
    fn rfc4035_2_2_a_load_signs_once_and_reuses_stored_signatures() {
        let h = RandomState::new();
        let signer = signer_for("z.test");
        let z = Zone::new(
            Name::from_ascii("z.test.").unwrap(),
            "z.test",
            ZoneData::empty(1),
            Arc::default(),
        );
        let mut rrsets = vec![change("z.test", RType::Ns, &["ns1.example.net."])];
        for i in 0..50 {
            rrsets.extend(host(&format!("h{i}.z.test"), "192.0.2.1", "x"));
        }
        // Repeated: the last one given wins.
        rrsets.push(change("h7.z.test", RType::A, &["192.0.2.77"]));
        let mut log = Vec::new();
        let rrsets2 = rrsets.clone();
        z.load(
            &h,
            1,
            rrsets,
            Some(signer.clone()),
            &soa(1),
            &mut std::iter::empty(),
            &mut log,
        );
        assert!(matches!(&log[..], [SigChange::Dump { .. }]), "{log:?}");
        let d = z.data.load_full();
        assert_eq!(d.names(), 51);
        let Found::Node(n) = d.find(&h, b"\x02h7") else {
            panic!()
        };
        assert_eq!(n.get(RType::A).unwrap().data, [0, 4, 192, 0, 2, 77]);
        let signed: Vec<StoredSig> = d
            .signed_rrsets()
            .map(|(key, set)| StoredSig {
                key: key.to_vec(),
                rtype: set.rtype.code(),
                digest: signing::rrset_digest(set.rtype.code(), set.ttl, set.data),
                sigs: set.sigs.to_vec(),
            })
            .collect();
        // Apex NS plus A and TXT of each host; each one RRSIG by the active key.
        assert_eq!(signed.len(), 101);
        assert!(signed.iter().all(|s| RdataIter::over(&s.sigs).count() == 1));
        // The SOA is not signed until served; then once per snapshot.
        let sec = d.sec.as_ref().unwrap();
        assert!(format!("{:?}", sec.soa_sig).contains("signed: false"));
        let soa_sigs = sec.soa_sig.to_vec();
        assert_eq!(RdataIter::over(&soa_sigs).count(), 1);
        assert_eq!(&*sec.soa_sig, &soa_sigs[..]);

        // Second load, stored signatures in key order (the store's ORDER BY owner_key).
        let mut stored = signed.clone();
        stored.sort_by(|a, b| a.key.cmp(&b.key));
        let mut log = Vec::new();
        z.load(
            &h,
            2,
            rrsets2,
            Some(signer),
            &soa(2),
            &mut stored.into_iter(),
            &mut log,
        );
        assert!(log.is_empty(), "nothing signed anew: {log:?}");
        let d2 = z.data.load_full();
        for s in &signed {
            let rtype = RType::from_code(s.rtype).unwrap();
            assert_eq!(sigs_of(&z, &h, &s.key, rtype), s.sigs, "{:?}", s.key);
        }
        assert_eq!(d2.serial, 2);
    }

    /// A batch of changes re-signs only what changed (once per RRset however many changes
    /// hit it), keeps the signatures of what was republished unchanged, and logs a deletion
    /// for an RRset that existed.
    #[test]
    fn rfc4035_2_2_changes_re_sign_only_what_changed() {
        let h = RandomState::new();
        let signer = signer_for("z.test");
        let z = Zone::new(
            Name::from_ascii("z.test.").unwrap(),
            "z.test",
            ZoneData::empty(1),
            Arc::default(),
        );
        let mut rrsets = host("h1.z.test", "192.0.2.1", "one");
        rrsets.extend(host("h2.z.test", "192.0.2.2", "two"));
        z.load(
            &h,
            1,
            rrsets,
            Some(signer),
            &soa(1),
            &mut std::iter::empty(),
            &mut Vec::new(),
        );
        let a1 = sigs_of(&z, &h, b"\x02h1", RType::A);
        let txt1 = sigs_of(&z, &h, b"\x02h1", RType::Txt);
        let mut log = Vec::new();
        // h1: A changed twice in the batch, TXT republished as it was; h2: TXT deleted.
        let mut batch = host("h1.z.test", "192.0.2.10", "one");
        batch.push(change("h1.z.test", RType::A, &["192.0.2.11"]));
        batch.push(change("h2.z.test", RType::Txt, &[]));
        z.apply(&h, 2, batch, &soa(2), &mut log);
        let puts: Vec<(&[u8], u16)> = log
            .iter()
            .filter_map(|c| match c {
                SigChange::Put { sig, .. } => Some((&sig.key[..], sig.rtype)),
                _ => None,
            })
            .collect();
        assert_eq!(puts, [(&b"\x02h1"[..], RType::A.code())]);
        assert!(log.iter().any(|c| matches!(c,
            SigChange::Delete { key, rtype, .. } if key == b"\x02h2" && *rtype == RType::Txt.code())));
        assert_eq!(log.len(), 2);
        let d = z.data.load();
        let Found::Node(n) = d.find(&h, b"\x02h1") else {
            panic!()
        };
        assert_eq!(n.get(RType::A).unwrap().data, [0, 4, 192, 0, 2, 11]);
        assert_ne!(sigs_of(&z, &h, b"\x02h1", RType::A), a1);
        assert_eq!(sigs_of(&z, &h, b"\x02h1", RType::Txt), txt1);
        let Found::Node(n2) = d.find(&h, b"\x02h2") else {
            panic!()
        };
        assert!(n2.get(RType::Txt).is_none());
        assert_eq!(d.names(), 2);
    }
}
