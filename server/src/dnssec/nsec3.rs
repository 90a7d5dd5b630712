//! NSEC3 (RFC 5155): the hash (§5) with salt and iterations as parameters (lucentd uses RFC 9276's
//! SHA-1, 0 extra iterations, empty salt), base32hex owner labels (RFC 4648 §7), NSEC3 and
//! NSEC3PARAM RDATA, an incrementally maintained chain of hashed owner names that reports which
//! NSEC3 records a change touched, and the per-query minimally covering records for NXDOMAIN.
//! Which names exist (empty non-terminals included, RFC 5155 §7.1) and which types they hold
//! come from the caller; signing the records is `sign.rs`'s and serving them the responder's.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use super::bitmap::TypeBitmap;
use super::{name, Error};

/// SHA-1 digest length, the only NSEC3 hash algorithm (RFC 5155 §11).
pub const HASH_LEN: usize = 20;
/// A hashed owner name.
pub type Hash = [u8; HASH_LEN];
/// NSEC3 hash algorithm 1, SHA-1 (RFC 5155 §11).
pub const ALGORITHM_SHA1: u8 = 1;
/// Flags bit 7 (value 1): Opt-Out (RFC 5155 §3.1.2.1).
pub const FLAG_OPT_OUT: u8 = 1;

/// NSEC3 parameters of a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nsec3Params {
    pub opt_out: bool,
    /// Extra iterations (RFC 9276 §3.1: 0).
    pub iterations: u16,
    /// Salt (RFC 9276 §3.1: empty).
    pub salt: Vec<u8>,
}

impl Nsec3Params {
    /// RFC 9276 §3.1: no opt-out, 0 extra iterations, empty salt.
    pub fn rfc9276() -> Nsec3Params {
        Nsec3Params {
            opt_out: false,
            iterations: 0,
            salt: Vec::new(),
        }
    }

    /// NSEC3PARAM RDATA (RFC 5155 §4.2); its flags field is 0 (§4.1.2, Opt-Out is not in it).
    pub fn param_rdata(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(5 + self.salt.len());
        v.push(ALGORITHM_SHA1);
        v.push(0);
        v.extend_from_slice(&self.iterations.to_be_bytes());
        // A salt is at most 255 octets (RFC 5155 §3.2): longer ones are cut, which
        // `Nsec3Chain::new` refuses beforehand.
        v.push(self.salt.len().min(255) as u8);
        v.extend_from_slice(&self.salt[..self.salt.len().min(255)]);
        v
    }

    fn flags(&self) -> u8 {
        if self.opt_out {
            FLAG_OPT_OUT
        } else {
            0
        }
    }
}

/// The NSEC3 hash of a wire name (RFC 5155 §5): IH(salt, x, 0) = H(x || salt),
/// IH(salt, x, k) = H(IH(salt, x, k-1) || salt), x the name in canonical (lowercase) form.
pub fn hash(owner: &[u8], salt: &[u8], iterations: u16) -> Hash {
    let mut lower = [0u8; name::MAX_NAME_LEN];
    let n = owner.len().min(name::MAX_NAME_LEN);
    for (d, s) in lower.iter_mut().zip(&owner[..n]) {
        *d = s.to_ascii_lowercase();
    }
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(&lower[..n]);
    ctx.update(salt);
    let mut h: Hash = [0; HASH_LEN];
    h.copy_from_slice(ctx.finish().as_ref());
    for _ in 0..iterations {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
        ctx.update(&h);
        ctx.update(salt);
        h.copy_from_slice(ctx.finish().as_ref());
    }
    h
}

const BASE32HEX: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";

/// Base32hex (RFC 4648 §7) of a hash, lowercase, unpadded: 20 octets give exactly 32 characters.
pub fn base32hex(h: &Hash) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, chunk) in h.chunks(5).enumerate() {
        let mut v = 0u64;
        for &b in chunk {
            v = v << 8 | u64::from(b);
        }
        for j in 0..8 {
            out[i * 8 + j] = BASE32HEX[((v >> (35 - 5 * j)) & 31) as usize];
        }
    }
    out
}

/// Decodes a 32-character base32hex label (either case) back into a hash.
pub fn from_base32hex(label: &[u8]) -> Option<Hash> {
    if label.len() != 32 {
        return None;
    }
    let mut out: Hash = [0; HASH_LEN];
    for (i, chunk) in label.chunks(8).enumerate() {
        let mut v = 0u64;
        for &c in chunk {
            let d = match c.to_ascii_lowercase() {
                c @ b'0'..=b'9' => c - b'0',
                c @ b'a'..=b'v' => c - b'a' + 10,
                _ => return None,
            };
            v = v << 5 | u64::from(d);
        }
        for j in 0..5 {
            out[i * 5 + j] = (v >> (32 - 8 * j)) as u8;
        }
    }
    Some(out)
}

/// Appends the NSEC3 owner name `base32hex(hash).apex` in wire form to `out`.
pub fn owner_name(h: &Hash, apex: &[u8], out: &mut Vec<u8>) {
    out.push(32);
    out.extend_from_slice(&base32hex(h));
    out.extend_from_slice(apex);
}

/// Appends NSEC3 RDATA (RFC 5155 §3.2) to `out`.
pub fn nsec3_rdata(params: &Nsec3Params, next: &Hash, bitmap: &TypeBitmap, out: &mut Vec<u8>) {
    out.push(ALGORITHM_SHA1);
    out.push(params.flags());
    out.extend_from_slice(&params.iterations.to_be_bytes());
    out.push(params.salt.len().min(255) as u8);
    out.extend_from_slice(&params.salt[..params.salt.len().min(255)]);
    out.push(HASH_LEN as u8);
    out.extend_from_slice(next);
    out.extend_from_slice(bitmap.as_bytes());
}

/// One NSEC3 record of the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nsec3Entry<'a> {
    /// The owner hash.
    pub hash: Hash,
    /// The Next Hashed Owner Name: the following hash, the first after the last.
    pub next: Hash,
    pub bitmap: &'a TypeBitmap,
}

/// Which NSEC3 records a change touched: re-sign `upserted` and `predecessor` (either may be
/// absent), withdraw `removed` and its RRSIG.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Nsec3Change {
    /// A new record, or one whose bitmap changed.
    pub upserted: Option<Hash>,
    /// The record before the inserted or removed one, whose next hash changed.
    pub predecessor: Option<Hash>,
    /// The record that went away.
    pub removed: Option<Hash>,
}

impl Nsec3Change {
    /// The records to (re)build and sign.
    pub fn changed(&self) -> impl Iterator<Item = Hash> + '_ {
        self.upserted.iter().chain(self.predecessor.iter()).copied()
    }
    pub fn is_empty(&self) -> bool {
        self.upserted.is_none() && self.predecessor.is_none() && self.removed.is_none()
    }
}

/// The NSEC3 chain of one zone: hashed owner names in hash order with each one's type bitmap.
/// Every operation is O(log n); nothing is ever rebuilt. Bitmaps are interned (a zone has few
/// distinct type sets), so an entry costs 24 octets plus the tree's overhead.
#[derive(Debug, Clone)]
pub struct Nsec3Chain {
    apex: Box<[u8]>,
    params: Nsec3Params,
    map: BTreeMap<Hash, u32>,
    /// Distinct bitmaps, indexed by the map's values; never shrinks (bounded by the distinct
    /// type sets the zone ever had).
    bitmaps: Vec<TypeBitmap>,
    bitmap_ids: HashMap<TypeBitmap, u32>,
}

impl Nsec3Chain {
    /// An empty chain for the zone at `apex` (wire form).
    pub fn new(apex: &[u8], params: Nsec3Params) -> Result<Nsec3Chain, Error> {
        if !name::is_valid(apex) {
            return Err(Error::BadName);
        }
        if params.salt.len() > 255 {
            return Err(Error::UnsupportedNsec3Param);
        }
        Ok(Nsec3Chain {
            apex: apex.iter().map(u8::to_ascii_lowercase).collect(),
            params,
            map: BTreeMap::new(),
            bitmaps: Vec::new(),
            bitmap_ids: HashMap::new(),
        })
    }

    fn intern(&mut self, bitmap: TypeBitmap) -> u32 {
        if let Some(&id) = self.bitmap_ids.get(&bitmap) {
            return id;
        }
        // More than 2^32 distinct type sets cannot occur: each needs a node of its own, and a
        // zone of 4 billion nodes would not fit in memory anyway.
        let id = u32::try_from(self.bitmaps.len()).unwrap_or(u32::MAX);
        self.bitmaps.push(bitmap.clone());
        self.bitmap_ids.insert(bitmap, id);
        id
    }

    fn bitmap(&self, id: u32) -> &TypeBitmap {
        // Ids come from `intern`, so the lookup always succeeds.
        self.bitmaps.get(id as usize).unwrap_or(&TypeBitmap::EMPTY)
    }

    /// A chain built at once from every name of a zone (loading): hashes, sorts and bulk-builds
    /// the tree (std's `BTreeMap` builds from sorted input in O(n)). A name given twice keeps
    /// its last bitmap.
    pub fn from_names<'a, I>(
        apex: &[u8],
        params: Nsec3Params,
        names: I,
    ) -> Result<Nsec3Chain, Error>
    where
        I: IntoIterator<Item = (&'a [u8], TypeBitmap)>,
    {
        let mut chain = Nsec3Chain::new(apex, params)?;
        let mut v: Vec<(Hash, u32)> = Vec::new();
        for (n, bitmap) in names {
            let h = chain.hash_name(n)?;
            v.push((h, chain.intern(bitmap)));
        }
        // Stable sort, then keep the last of equal hashes.
        v.sort_by_key(|a| a.0);
        let mut out: Vec<(Hash, u32)> = Vec::with_capacity(v.len());
        for e in v {
            match out.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => out.push(e),
            }
        }
        chain.map = out.into_iter().collect();
        Ok(chain)
    }

    pub fn apex(&self) -> &[u8] {
        &self.apex
    }
    pub fn params(&self) -> &Nsec3Params {
        &self.params
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The hash of `owner`, which must be at or below the apex.
    pub fn hash_name(&self, owner: &[u8]) -> Result<Hash, Error> {
        if !name::is_valid(owner) {
            return Err(Error::BadName);
        }
        let mut lower = [0u8; name::MAX_NAME_LEN];
        let lower = &mut lower[..owner.len()];
        for (d, s) in lower.iter_mut().zip(owner) {
            *d = s.to_ascii_lowercase();
        }
        if !name::is_at_or_below(lower, &self.apex) {
            return Err(Error::NotInZone);
        }
        Ok(hash(lower, &self.params.salt, self.params.iterations))
    }

    /// Adds `owner` with `bitmap`, or replaces its bitmap (pass `TypeBitmap::EMPTY` for an empty
    /// non-terminal).
    pub fn set(&mut self, owner: &[u8], bitmap: TypeBitmap) -> Result<Nsec3Change, Error> {
        let h = self.hash_name(owner)?;
        Ok(self.set_hashed(h, bitmap))
    }

    /// As [`Nsec3Chain::set`] with the hash already computed.
    pub fn set_hashed(&mut self, h: Hash, bitmap: TypeBitmap) -> Nsec3Change {
        let id = self.intern(bitmap);
        match self.map.insert(h, id) {
            Some(old) => Nsec3Change {
                upserted: (old != id).then_some(h),
                ..Nsec3Change::default()
            },
            None => Nsec3Change {
                upserted: Some(h),
                predecessor: self.before(&h).filter(|p| *p != h),
                removed: None,
            },
        }
    }

    /// Removes `owner` (no change if it is not in the chain).
    pub fn remove(&mut self, owner: &[u8]) -> Result<Nsec3Change, Error> {
        let h = self.hash_name(owner)?;
        Ok(self.remove_hashed(&h))
    }

    /// As [`Nsec3Chain::remove`] with the hash already computed.
    pub fn remove_hashed(&mut self, h: &Hash) -> Nsec3Change {
        if self.map.remove(h).is_none() {
            return Nsec3Change::default();
        }
        Nsec3Change {
            upserted: None,
            predecessor: self.before(h),
            removed: Some(*h),
        }
    }

    /// The greatest hash below `h`, wrapping to the last.
    fn before(&self, h: &Hash) -> Option<Hash> {
        self.map
            .range(..*h)
            .next_back()
            .or_else(|| self.map.iter().next_back())
            .map(|(k, _)| *k)
    }

    /// The least hash above `h`, wrapping to the first.
    fn after(&self, h: &Hash) -> Option<Hash> {
        self.map
            .range((Bound::Excluded(*h), Bound::Unbounded))
            .next()
            .or_else(|| self.map.iter().next())
            .map(|(k, _)| *k)
    }

    /// The record owned by `h`, if in the chain.
    pub fn get(&self, h: &Hash) -> Option<Nsec3Entry<'_>> {
        let id = *self.map.get(h)?;
        Some(Nsec3Entry {
            hash: *h,
            next: self.after(h).unwrap_or(*h),
            bitmap: self.bitmap(id),
        })
    }

    /// The record that matches `h` or covers it (owner < h < next, wrapping at the end,
    /// RFC 5155 §8.3): what an NXDOMAIN from the real chain carries. `None` for an empty chain.
    pub fn matching_or_covering(&self, h: &Hash) -> Option<Nsec3Entry<'_>> {
        let owner = self
            .map
            .range(..=*h)
            .next_back()
            .or_else(|| self.map.iter().next_back())
            .map(|(k, _)| *k)?;
        self.get(&owner)
    }

    /// Every record in hash order.
    pub fn iter(&self) -> impl Iterator<Item = Nsec3Entry<'_>> + '_ {
        let first = self.map.keys().next().copied();
        let mut nexts = self.map.keys().skip(1).copied();
        self.map.iter().map(move |(h, id)| Nsec3Entry {
            hash: *h,
            next: nexts.next().or(first).unwrap_or(*h),
            bitmap: self.bitmap(*id),
        })
    }

    /// Appends the owner name and the RDATA of `entry` to the two buffers.
    pub fn write(&self, entry: &Nsec3Entry<'_>, owner: &mut Vec<u8>, rdata: &mut Vec<u8>) {
        owner_name(&entry.hash, &self.apex, owner);
        nsec3_rdata(&self.params, &entry.next, entry.bitmap, rdata);
    }
}

/// `h - 1` and `h + 1` in 160-bit arithmetic, wrapping.
fn neighbours(h: &Hash) -> (Hash, Hash) {
    let mut lo = *h;
    for b in lo.iter_mut().rev() {
        let (v, borrow) = b.overflowing_sub(1);
        *b = v;
        if !borrow {
            break;
        }
    }
    let mut hi = *h;
    for b in hi.iter_mut().rev() {
        let (v, carry) = b.overflowing_add(1);
        *b = v;
        if !carry {
            break;
        }
    }
    (lo, hi)
}

/// A record made for one answer, to be signed on the fly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthRecord {
    /// Owner name, wire form.
    pub owner: Vec<u8>,
    /// RDATA, wire form.
    pub rdata: Vec<u8>,
}

/// The minimally covering NSEC3 for a hash: owner `h - 1`, next `h + 1`, no types. It covers `h`
/// and no other possible hash, so it gives nothing away (module docs).
pub fn minimally_covering(apex: &[u8], params: &Nsec3Params, h: &Hash) -> SynthRecord {
    let (lo, hi) = neighbours(h);
    let mut owner = Vec::with_capacity(33 + apex.len());
    owner_name(&lo, apex, &mut owner);
    let mut rdata = Vec::with_capacity(26 + params.salt.len());
    nsec3_rdata(params, &hi, &TypeBitmap::EMPTY, &mut rdata);
    SynthRecord { owner, rdata }
}

/// The NSEC3 matching an existing name's hash with next `h + 1` and the name's real bitmap:
/// the closest-encloser proof without revealing the chain's next hash.
pub fn minimally_matching(
    apex: &[u8],
    params: &Nsec3Params,
    h: &Hash,
    bitmap: &TypeBitmap,
) -> SynthRecord {
    let (_, hi) = neighbours(h);
    let mut owner = Vec::with_capacity(33 + apex.len());
    owner_name(h, apex, &mut owner);
    let mut rdata = Vec::with_capacity(26 + params.salt.len() + bitmap.as_bytes().len());
    nsec3_rdata(params, &hi, bitmap, &mut rdata);
    SynthRecord { owner, rdata }
}

/// The NXDOMAIN proof of RFC 5155 §7.2.2 made of minimally covering records: the closest
/// encloser `ce` matched (with its bitmap `ce_bitmap`), the next closer name covered and the
/// wildcard `*.ce` covered. `qname` must be below `ce`, `ce` at or below the apex; finding the
/// closest encloser is the caller's (the zone's sorted nodes answer it). The caller may swap the
/// first record for the chain's pre-signed one (one signature less per answer, one real next
/// hash given away).
pub fn nxdomain_proof(
    apex: &[u8],
    params: &Nsec3Params,
    qname: &[u8],
    ce: &[u8],
    ce_bitmap: &TypeBitmap,
) -> Result<[SynthRecord; 3], Error> {
    if !name::is_valid(qname) || !name::is_valid(ce) {
        return Err(Error::BadName);
    }
    let lower: Vec<u8> = qname.iter().map(u8::to_ascii_lowercase).collect();
    let ce: Vec<u8> = ce.iter().map(u8::to_ascii_lowercase).collect();
    if !name::is_at_or_below(&ce, apex) || lower == ce || !name::is_at_or_below(&lower, &ce) {
        return Err(Error::NotInZone);
    }
    // The next closer name: qname cut to one label more than the closest encloser.
    let next_closer = name::next_closer(&lower, &ce).ok_or(Error::NotInZone)?;
    let mut wildcard = Vec::with_capacity(ce.len() + 2);
    wildcard.extend_from_slice(b"\x01*");
    wildcard.extend_from_slice(&ce);
    let (salt, it) = (&params.salt, params.iterations);
    Ok([
        minimally_matching(apex, params, &hash(&ce, salt, it), ce_bitmap),
        minimally_covering(apex, params, &hash(next_closer, salt, it)),
        minimally_covering(apex, params, &hash(&wildcard, salt, it)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dnssec::rtype;

    fn n(s: &str) -> Vec<u8> {
        name::from_text(s).unwrap()
    }

    #[test]
    fn rfc5155_appendix_a_hashes() {
        // RFC 5155 Appendix A: SHA-1, salt aabbccdd, 12 extra iterations.
        let salt = [0xaa, 0xbb, 0xcc, 0xdd];
        for (owner, want) in [
            ("example", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"),
            ("a.example", "35mthgpgcu1qg68fab165klnsnk3dpvl"),
            ("ai.example", "gjeqe526plbf1g8mklp59enfd789njgi"),
            ("ns1.example", "2t7b4g4vsa5smi47k61mv5bv1a22bojr"),
            ("ns2.example", "q04jkcevqvmu85r014c7dkba38o0ji5r"),
            ("w.example", "k8udemvp1j2f7eg6jebps17vp3n8i58h"),
            ("*.w.example", "r53bq7cc2uvmubfu5ocmm6pers9tk9en"),
            ("x.w.example", "b4um86eghhds6nea196smvmlo4ors995"),
            ("y.w.example", "ji6neoaepv8b5o6k4ev33abha8ht9fgc"),
            ("x.y.w.example", "2vptu5timamqttgl4luu9kg21e0aor3s"),
            ("xx.example", "t644ebqk9bibcna874givr6joj62mlhv"),
            ("Xx.EXAMPLE", "t644ebqk9bibcna874givr6joj62mlhv"),
        ] {
            let h = hash(&n(owner), &salt, 12);
            assert_eq!(
                std::str::from_utf8(&base32hex(&h)).unwrap(),
                want,
                "{owner}"
            );
            assert_eq!(from_base32hex(want.as_bytes()), Some(h));
            assert_eq!(from_base32hex(want.to_uppercase().as_bytes()), Some(h));
        }
        assert_eq!(from_base32hex(b"0p9mhaveqvm6t7vbl5lop2u3t2rp3to"), None);
        assert_eq!(from_base32hex(b"0p9mhaveqvm6t7vbl5lop2u3t2rp3toz"), None);
    }

    #[test]
    fn rfc9276_parameters_hash() {
        // `com` with no salt and 0 iterations, as the TLD publishes it (BIND's nsec3hash
        // test checks the same value).
        let h = hash(&n("com"), &[], 0);
        assert_eq!(&base32hex(&h), b"ck0pojmg874ljref7efn8430qvit8bsm");
        let p = Nsec3Params::rfc9276();
        assert_eq!(p.param_rdata(), [1, 0, 0, 0, 0]);
        let opt = Nsec3Params {
            opt_out: true,
            iterations: 12,
            salt: vec![0xaa, 0xbb, 0xcc, 0xdd],
        };
        // NSEC3PARAM flags stay 0 (RFC 5155 §4.1.2).
        assert_eq!(opt.param_rdata(), [1, 0, 0, 12, 4, 0xaa, 0xbb, 0xcc, 0xdd]);
        let mut rdata = Vec::new();
        let bitmap = TypeBitmap::from_types(&[rtype::A, rtype::RRSIG]);
        nsec3_rdata(&opt, &h, &bitmap, &mut rdata);
        let mut want = vec![1, 1, 0, 12, 4, 0xaa, 0xbb, 0xcc, 0xdd, 20];
        want.extend_from_slice(&h);
        want.extend_from_slice(bitmap.as_bytes());
        assert_eq!(rdata, want);
    }

    /// The chain as records, rebuilt from scratch: hash -> (next, bitmap).
    fn brute(names: &BTreeMap<Vec<u8>, TypeBitmap>) -> BTreeMap<Hash, (Hash, TypeBitmap)> {
        let mut hashed: Vec<(Hash, TypeBitmap)> = names
            .iter()
            .map(|(k, b)| (hash(k, &[], 0), b.clone()))
            .collect();
        hashed.sort_by_key(|a| a.0);
        let mut out = BTreeMap::new();
        for i in 0..hashed.len() {
            let next = hashed[(i + 1) % hashed.len()].0;
            out.insert(hashed[i].0, (next, hashed[i].1.clone()));
        }
        out
    }

    fn records(chain: &Nsec3Chain) -> BTreeMap<Hash, (Hash, TypeBitmap)> {
        chain
            .iter()
            .map(|e| (e.hash, (e.next, e.bitmap.clone())))
            .collect()
    }

    #[test]
    fn incremental_chain_matches_a_sorted_rebuild_and_reports_every_change() {
        let apex = n("dyn.example");
        let mut chain = Nsec3Chain::new(&apex, Nsec3Params::rfc9276()).unwrap();
        let mut names: BTreeMap<Vec<u8>, TypeBitmap> = BTreeMap::new();
        let bitmaps = [
            TypeBitmap::EMPTY,
            TypeBitmap::from_types(&[rtype::A, rtype::RRSIG]),
            TypeBitmap::from_types(&[rtype::A, rtype::AAAA, rtype::RRSIG]),
        ];
        let mut seed = 7u64;
        let mut before = records(&chain);
        for step in 0..3000 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let host = format!("h{}.dyn.example", (seed >> 33) % 150);
            let owner = n(&host);
            let change = if (seed >> 20) % 3 == 0 {
                names.remove(&owner);
                chain.remove(&owner).unwrap()
            } else {
                let b = bitmaps[((seed >> 40) % 3) as usize].clone();
                names.insert(owner.clone(), b.clone());
                chain.set(&owner, b).unwrap()
            };
            let after = records(&chain);
            assert_eq!(after, brute(&names), "step {step}");
            assert_eq!(chain.len(), names.len());
            // Every record that differs is reported, and nothing else.
            let mut differing: Vec<Hash> = after
                .iter()
                .filter(|(h, r)| before.get(*h) != Some(*r))
                .map(|(h, _)| *h)
                .collect();
            differing.sort();
            let mut reported: Vec<Hash> = change.changed().collect();
            reported.sort();
            reported.dedup();
            assert_eq!(reported, differing, "step {step}");
            let gone: Vec<Hash> = before
                .keys()
                .filter(|h| !after.contains_key(*h))
                .copied()
                .collect();
            assert_eq!(
                change.removed.into_iter().collect::<Vec<_>>(),
                gone,
                "step {step}"
            );
            before = after;
        }
        // Bulk loading gives the same chain.
        let bulk = Nsec3Chain::from_names(
            &apex,
            Nsec3Params::rfc9276(),
            names.iter().map(|(k, b)| (k.as_slice(), b.clone())),
        )
        .unwrap();
        assert_eq!(records(&bulk), records(&chain));
    }

    #[test]
    fn covering_lookup_and_bounds() {
        let apex = n("example");
        let mut chain = Nsec3Chain::new(&apex, Nsec3Params::rfc9276()).unwrap();
        assert!(chain.matching_or_covering(&[0; 20]).is_none());
        assert_eq!(
            chain
                .set(&n("www.example"), TypeBitmap::EMPTY)
                .unwrap()
                .predecessor,
            None
        );
        let only = chain.hash_name(&n("www.example")).unwrap();
        assert_eq!(chain.get(&only).unwrap().next, only);
        chain.set(&n("example"), TypeBitmap::EMPTY).unwrap();
        for name_ in ["a.example", "b.example", "zz.example", "q.www.example"] {
            let h = chain.hash_name(&n(name_)).unwrap();
            let e = chain.matching_or_covering(&h).unwrap();
            let covers = if e.hash < e.next {
                e.hash < h && h < e.next
            } else {
                h > e.hash || h < e.next
            };
            assert!(covers, "{name_}");
        }
        let e = chain.matching_or_covering(&only).unwrap();
        assert_eq!(e.hash, only);
        assert_eq!(
            chain.set(&n("www.example.net"), TypeBitmap::EMPTY),
            Err(Error::NotInZone)
        );
        assert_eq!(
            chain.remove(&n("nothere.example")).unwrap(),
            Nsec3Change::default()
        );
        // Same bitmap again: nothing to re-sign.
        assert!(chain
            .set(&n("example"), TypeBitmap::EMPTY)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn minimally_covering_records() {
        let apex = n("example");
        let p = Nsec3Params::rfc9276();
        assert_eq!(
            neighbours(&[0; 20]),
            ([0xff; 20], {
                let mut one = [0; 20];
                one[19] = 1;
                one
            })
        );
        let mut h = [7u8; 20];
        h[19] = 0;
        let (lo, hi) = neighbours(&h);
        assert_eq!(lo[18..], [6, 0xff]);
        assert_eq!(hi[18..], [7, 1]);

        let ce_bitmap = TypeBitmap::from_types(&[rtype::SOA, rtype::NS, rtype::RRSIG]);
        let proof = nxdomain_proof(&apex, &p, &n("a.b.example"), &apex, &ce_bitmap).unwrap();
        let hce = hash(&apex, &[], 0);
        let hnc = hash(&n("b.example"), &[], 0);
        let hwc = hash(&n("*.example"), &[], 0);
        let owner_hash = |r: &SynthRecord| from_base32hex(&r.owner[1..33]).unwrap();
        let next_hash = |r: &SynthRecord| -> Hash { r.rdata[6..26].try_into().unwrap() };
        assert_eq!(owner_hash(&proof[0]), hce);
        assert_eq!(next_hash(&proof[0]), neighbours(&hce).1);
        assert_eq!(&proof[0].rdata[26..], ce_bitmap.as_bytes());
        assert_eq!(owner_hash(&proof[1]), neighbours(&hnc).0);
        assert_eq!(next_hash(&proof[1]), neighbours(&hnc).1);
        assert_eq!(owner_hash(&proof[2]), neighbours(&hwc).0);
        assert_eq!(proof[2].rdata.len(), 26, "no types");
        assert!(proof.iter().all(|r| r.owner.ends_with(&apex)));
        assert_eq!(
            nxdomain_proof(&apex, &p, &apex, &apex, &ce_bitmap),
            Err(Error::NotInZone)
        );
    }
}
