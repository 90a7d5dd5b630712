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
    /// record, encoded straight to wire form. `None` means "take the general path".
    fn encode_simple(rtype: RType, records: &[RecordData]) -> Option<Rrset> {
        let [rec] = records else { return None };
        let ttl = if rec.ttl > i32::MAX as u32 {
            0
        } else {
            rec.ttl
        };
        let data: Vec<u8> = match rtype {
            RType::A => {
                let a: std::net::Ipv4Addr = rec.content.parse().ok()?;
                let mut d = Vec::with_capacity(6);
                d.extend_from_slice(&4u16.to_be_bytes());
                d.extend_from_slice(&a.octets());
                d
            }
            RType::Aaaa => {
                let a: std::net::Ipv6Addr = rec.content.parse().ok()?;
                let mut d = Vec::with_capacity(18);
                d.extend_from_slice(&16u16.to_be_bytes());
                d.extend_from_slice(&a.octets());
                d
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
                let mut d = Vec::with_capacity(2 + len);
                d.extend_from_slice(&(len as u16).to_be_bytes());
                for c in chunks {
                    d.push(c.len() as u8);
                    d.extend_from_slice(c);
                }
                d
            }
            _ => return None,
        };
        Some(Rrset {
            rtype,
            ttl,
            data: data.into_boxed_slice(),
            sigs: Box::default(),
        })
    }

    /// Encode a new RRset from normalised contents; `None` when nothing valid is left.
    /// Contents that fail `content::to_rdata` are skipped with a warning: the store validated
    /// them on the way in, so this only guards against stale rows.
    pub fn encode(owner: &str, rtype: RType, records: &[RecordData]) -> Option<Rrset> {
        if let Some(set) = Self::encode_simple(rtype, records) {
            return Some(set);
        }
        let mut data = Vec::new();
        let mut seen: Vec<Vec<u8>> = Vec::new();
        let mut ttl = u32::MAX;
        for rec in records {
            let rdata = match content::to_rdata(rtype, &rec.content) {
                Ok(r) => r,
                Err(e) => {
                    log::warn!("dns: skipping {owner} {rtype} {:?}: {e}", rec.content);
                    continue;
                }
            };
            let mut buf = Vec::new();
            let mut enc = BinEncoder::new(&mut buf);
            enc.set_canonical_form(true);
            if let Err(e) = rdata.emit(&mut enc) {
                log::warn!("dns: skipping {owner} {rtype} {:?}: {e}", rec.content);
                continue;
            }
            // An RRset is a set (RFC 2181 §5): drop duplicate RDATA.
            if seen.contains(&buf) || buf.len() > usize::from(u16::MAX) {
                continue;
            }
            // RFC 2181 §8: a TTL with the top bit set is treated as zero.
            let rec_ttl = if rec.ttl > i32::MAX as u32 {
                0
            } else {
                rec.ttl
            };
            ttl = ttl.min(rec_ttl);
            data.extend_from_slice(&(buf.len() as u16).to_be_bytes());
            data.extend_from_slice(&buf);
            seen.push(buf);
            // CNAME is a singleton type (RFC 2181 §10.1): keep the first.
            if rtype == RType::Cname {
                break;
            }
        }
        if seen.is_empty() {
            return None;
        }
        Some(Rrset {
            rtype,
            ttl,
            data: data.into_boxed_slice(),
            sigs: Box::default(),
        })
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
    pub fn new(key: &[u8], sets: &[Rrset]) -> Node {
        let len = 1
            + key.len()
            + sets
                .iter()
                .map(|s| 14 + s.data.len() + s.sigs.len())
                .sum::<usize>();
        let mut b = Vec::with_capacity(len);
        b.push(key.len() as u8);
        b.extend_from_slice(key);
        for s in sets {
            b.extend_from_slice(&s.rtype.code().to_be_bytes());
            b.extend_from_slice(&s.ttl.to_be_bytes());
            b.extend_from_slice(&(s.data.len() as u32).to_be_bytes());
            b.extend_from_slice(&s.data);
            b.extend_from_slice(&(s.sigs.len() as u32).to_be_bytes());
            b.extend_from_slice(&s.sigs);
        }
        Node {
            prefix: key_prefix(key),
            data: Arc::from(b),
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

    /// Owned copies of the RRsets (to edit a node).
    fn to_sets(&self) -> Vec<Rrset> {
        self.rrsets()
            .map(|r| Rrset {
                rtype: r.rtype,
                ttl: r.ttl,
                data: r.data.into(),
                sigs: r.sigs.into(),
            })
            .collect()
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
        let count = shard_count_for(nodes.len());
        nodes.sort_by(|a, b| a.key().cmp(b.key()));
        let names = nodes.len();
        let cuts = nodes
            .iter()
            .filter(|n| is_cut(n.key(), n.get(RType::Ns).is_some()))
            .count();
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
        for change in changes {
            if change.rtype == RType::Soa {
                // The SOA is synthesised from the config and the serial.
                continue;
            }
            let Some(key) = key_for_owner(&change.name, zone) else {
                log::warn!(
                    "dns: ignoring {} {}: not in zone {zone}",
                    change.name,
                    change.rtype
                );
                continue;
            };
            apex_changed |= key.is_empty();
            let idx = self.shard_index(hasher, &key);
            let slot = match touched.iter().position(|(i, _)| *i == idx) {
                Some(p) => p,
                None => {
                    touched.push((idx, shards[idx].to_vec()));
                    touched.len() - 1
                }
            };
            let nodes = &mut touched[slot].1;
            let mut new_set = Rrset::encode(&change.name, change.rtype, &change.records);
            // The RRset as served now (earlier changes of this batch included).
            let at = search(nodes, &key);
            let prev: Option<Served> = nodes
                .get(at)
                .filter(|n| n.key() == &key[..])
                .and_then(|n| n.get(change.rtype))
                .map(|r| (r.ttl, r.data.into(), r.sigs.into()));
            if let (Some(signer), Some(set)) = (&signer, new_set.as_mut()) {
                let below_cut = signing::ancestor_keys(&key).any(|a| {
                    matches!(self.find(hasher, a), Found::Node(n) if n.get(RType::Ns).is_some())
                });
                let unchanged = prev.as_ref().filter(|(ttl, data, sigs)| {
                    *ttl == set.ttl && **data == *set.data && !sigs.is_empty()
                });
                if let Some((_, _, sigs)) = unchanged {
                    // Republished as it was (a hostname's other RRsets when one changed):
                    // its signatures still cover it.
                    set.sigs = sigs.clone();
                } else if signing::signs(&key, set.rtype, below_cut) {
                    let owner = signing::owner_wire(&key, &signer.apex);
                    let code = set.rtype.code();
                    set.sigs = signer.sign(&owner, code, set.ttl, &set.data);
                    log.push(SigChange::Put {
                        zone: zone.into(),
                        sig: StoredSig {
                            key: key.clone(),
                            rtype: code,
                            digest: signing::rrset_digest(code, set.ttl, &set.data),
                            sigs: set.sigs.to_vec(),
                        },
                    });
                    if let Some(e) = signing::expiry_of(&set.sigs) {
                        oldest = Some(oldest.map_or(e, |o| signing::earlier(o, e)));
                    }
                }
            }
            if new_set.is_none() && signer.is_some() && prev.is_some() {
                log.push(SigChange::Delete {
                    zone: zone.into(),
                    key: key.clone(),
                    rtype: change.rtype.code(),
                });
            }
            let pos = search(nodes, &key);
            let existing = nodes.get(pos).filter(|n| n.key() == &key[..]).cloned();
            let mut rrsets: Vec<Rrset> = existing.as_ref().map(Node::to_sets).unwrap_or_default();
            let was_cut = existing
                .as_ref()
                .is_some_and(|n| is_cut(n.key(), n.get(RType::Ns).is_some()));
            rrsets.retain(|r| r.rtype != change.rtype);
            if let Some(set) = new_set {
                let at = rrsets.partition_point(|r| r.rtype < set.rtype);
                rrsets.insert(at, set);
            }
            let now_cut = is_cut(&key, rrsets.iter().any(|r| r.rtype == RType::Ns));
            cuts = cuts + usize::from(now_cut) - usize::from(was_cut);
            match (existing.is_some(), rrsets.is_empty()) {
                (true, true) => {
                    nodes.remove(pos);
                    names -= 1;
                }
                (true, false) => nodes[pos] = Node::new(&key, &rrsets),
                (false, false) => {
                    nodes.insert(pos, Node::new(&key, &rrsets));
                    names += 1;
                }
                (false, true) => {}
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
    let owner = owner.strip_suffix('.').unwrap_or(owner);
    if owner.eq_ignore_ascii_case(zone) {
        return Some(Vec::new());
    }
    let rel = owner.strip_suffix(zone)?.strip_suffix('.')?;
    if rel.is_empty() || rel.split('.').any(|l| l.is_empty() || l.len() > 63) {
        return None;
    }
    let lower = rel.to_ascii_lowercase();
    Some(key_from_labels(lower.split('.').map(str::as_bytes)))
}

/// An RRset as served: TTL, RDATAs and RRSIGs.
type Served = (u32, Box<[u8]>, Box<[u8]>);

/// The zone's SOA RDATA (canonical wire form) and TTL for a serial, to sign it.
pub(crate) struct SoaForm {
    pub data: Vec<u8>,
    pub ttl: u32,
}

/// Sign every RRset of a zone being loaded (sorted by key), skipping NS at delegations and
/// what lies below them; the apex key RRsets and the SOA too.
fn sign_all(
    signer: &Arc<signing::Signer>,
    sets: &mut [(Vec<u8>, Rrset)],
    soa: &SoaForm,
    stored: &mut dyn Iterator<Item = StoredSig>,
    log: &mut Vec<SigChange>,
    zone: &str,
) -> Arc<ZoneSec> {
    let mut stored = stored.peekable();
    // The stored signatures of the current key (both streams are in key order).
    let mut here: Vec<StoredSig> = Vec::new();
    let mut here_key: Option<Vec<u8>> = None;
    let mut fresh = 0usize;
    let cuts: std::collections::HashSet<Vec<u8>> = sets
        .iter()
        .filter(|(k, s)| s.rtype == RType::Ns && !k.is_empty())
        .map(|(k, _)| k.clone())
        .collect();
    let mut oldest: Option<u32> = None;
    for (key, set) in sets.iter_mut() {
        let below_cut = !cuts.is_empty() && signing::ancestor_keys(key).any(|a| cuts.contains(a));
        if !signing::signs(key, set.rtype, below_cut) {
            continue;
        }
        if here_key.as_deref() != Some(&key[..]) {
            here.clear();
            while stored.next_if(|s| s.key < *key).is_some() {}
            while let Some(s) = stored.next_if(|s| s.key == *key) {
                here.push(s);
            }
            here_key = Some(key.clone());
        }
        let code = set.rtype.code();
        let digest = signing::rrset_digest(code, set.ttl, &set.data);
        match here
            .iter()
            .find(|s| s.rtype == code && s.digest == digest && signer.reusable(&s.sigs))
        {
            Some(s) => set.sigs = s.sigs.clone().into_boxed_slice(),
            None => {
                let owner = signing::owner_wire(key, &signer.apex);
                set.sigs = signer.sign(&owner, code, set.ttl, &set.data);
                fresh += 1;
            }
        }
        if let Some(e) = signing::expiry_of(&set.sigs) {
            oldest = Some(oldest.map_or(e, |o| signing::earlier(o, e)));
        }
    }
    // Made afresh (a first start, a new key, a refresh): the store keeps the zone's
    // signatures from the snapshot, in chunks, rather than from a copy of each here.
    if fresh > 0 {
        log.push(SigChange::Dump { zone: zone.into() });
    }
    let apex_sets: Arc<[signing::ApexSet]> = signer.apex_rrsets(soa.ttl).into();
    let apex_types: Vec<u16> = sets
        .iter()
        .filter(|(k, _)| k.is_empty())
        .map(|(_, s)| s.rtype.code())
        .collect();
    let cds = apex_sets
        .iter()
        .any(|s| s.code == crate::dnssec::rtype::CDS);
    let cached = signing::apex_proofs(signer, apex_types, cds);
    // The apex key RRsets were signed just now, like the SOA used to be: the earliest of them
    // bounds the snapshot's (the SOA's own RRSIG is made later, so it expires later).
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
        let rrsets = rrsets.into_iter();
        let mut sets: Vec<(Vec<u8>, Rrset)> = Vec::with_capacity(rrsets.size_hint().0);
        for change in rrsets {
            if change.rtype == RType::Soa {
                continue;
            }
            let Some(key) = key_for_owner(&change.name, &self.name) else {
                log::warn!(
                    "dns: ignoring {} {}: not in zone {}",
                    change.name,
                    change.rtype,
                    self.name
                );
                continue;
            };
            if let Some(set) = Rrset::encode(&change.name, change.rtype, &change.records) {
                sets.push((key, set));
            }
        }
        // Sort by key then type; a repeated (key, type) keeps the last one given.
        sets.sort_by(|a, b| (&a.0, a.1.rtype).cmp(&(&b.0, b.1.rtype)));
        let sec = signer.map(|signer| sign_all(&signer, &mut sets, soa, stored, log, &self.name));
        // Exact capacity: at 1M names a doubling Vec would leave megabytes of slack behind.
        let distinct = sets.windows(2).filter(|w| w[0].0 != w[1].0).count() + 1;
        let mut nodes: Vec<Node> = Vec::with_capacity(distinct.min(sets.len()));
        let mut iter = sets.into_iter().peekable();
        while let Some((key, first)) = iter.next() {
            let mut group = vec![first];
            while let Some((_, set)) = iter.next_if(|(k, _)| *k == key) {
                match group.last_mut() {
                    Some(last) if last.rtype == set.rtype => *last = set,
                    _ => group.push(set),
                }
            }
            nodes.push(Node::new(&key, &group));
        }
        let data = ZoneData::build(hasher, serial, nodes, sec);
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
}
