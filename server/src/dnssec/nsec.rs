//! Plain NSEC (RFC 4034 §4): an incrementally maintained chain of owner names in canonical order
//! (RFC 4034 §6.1) with each one's type bitmap, NSEC RDATA, and RFC 4470 "white lies": per-query
//! NSEC records whose owner and next name hug the queried name so closely that they reveal no
//! other name. Which names exist and their types come from the caller (an NSEC chain has no
//! empty non-terminals); signing is `sign.rs`'s and serving the responder's.
//!
//! Keys are stored relative to the apex in an order-preserving encoding (labels rightmost
//! first, a 0x00 octet escaped as 0x00 0x01, each label ended by 0x00 0x00), so the tree
//! compares plain byte strings instead of parsing labels at every comparison.

use std::collections::BTreeMap;
use std::ops::Bound;

use super::bitmap::TypeBitmap;
use super::{name, rtype, Error};

/// Appends NSEC RDATA (RFC 4034 §4.1): the next owner name, uncompressed, and the bitmap.
pub fn nsec_rdata(next: &[u8], bitmap: &TypeBitmap, out: &mut Vec<u8>) {
    out.extend_from_slice(next);
    out.extend_from_slice(bitmap.as_bytes());
}

/// Order-preserving key of the labels of `owner` below `apex` (see the module docs). `owner`
/// must be a lowercase wire name at or below `apex`.
fn encode_key(owner: &[u8], apex: &[u8], out: &mut Vec<u8>) {
    out.clear();
    // Callers checked `owner` ends with `apex`.
    let rel = &owner[..owner.len().saturating_sub(apex.len())];
    let mut starts = [0u8; 128];
    let mut n = 0;
    let mut i = 0usize;
    while i < rel.len() && n < starts.len() {
        // `i < 255` inside a valid name.
        starts[n] = i as u8;
        n += 1;
        i += 1 + usize::from(rel[i]);
    }
    for k in (0..n).rev() {
        let s = usize::from(starts[k]);
        let len = usize::from(rel[s]);
        for &b in &rel[s + 1..s + 1 + len] {
            out.push(b);
            if b == 0 {
                out.push(1);
            }
        }
        out.extend_from_slice(&[0, 0]);
    }
}

/// Appends the wire name a key stands for (with the apex) to `out`.
fn decode_key(key: &[u8], apex: &[u8], out: &mut Vec<u8>) {
    // Labels come rightmost first; collect their spans, then write them leftmost first.
    let mut labels: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    let mut start = 0;
    while i + 1 < key.len() {
        if key[i] == 0 {
            if key[i + 1] == 0 {
                labels.push((start, i));
                i += 2;
                start = i;
                continue;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    for &(s, e) in labels.iter().rev() {
        let len_at = out.len();
        out.push(0);
        let mut j = s;
        while j < e {
            out.push(key[j]);
            // An escaped 0x00 is followed by 0x01.
            j += if key[j] == 0 { 2 } else { 1 };
        }
        // A label is at most 63 octets.
        out[len_at] = (out.len() - len_at - 1) as u8;
    }
    out.extend_from_slice(apex);
}

/// One NSEC record of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsecEntry<'a> {
    /// Owner name, wire form.
    pub owner: Vec<u8>,
    /// Next owner name: the following name in canonical order, the apex after the last.
    pub next: Vec<u8>,
    pub bitmap: &'a TypeBitmap,
}

/// Which NSEC records a change touched (owner names, wire form): re-sign `upserted` and
/// `predecessor`, withdraw `removed`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NsecChange {
    pub upserted: Option<Vec<u8>>,
    pub predecessor: Option<Vec<u8>>,
    pub removed: Option<Vec<u8>>,
}

impl NsecChange {
    /// The records to (re)build and sign.
    pub fn changed(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.upserted
            .iter()
            .chain(self.predecessor.iter())
            .map(Vec::as_slice)
    }
    pub fn is_empty(&self) -> bool {
        self.upserted.is_none() && self.predecessor.is_none() && self.removed.is_none()
    }
}

/// The NSEC chain of one zone. O(log n) per operation; nothing is rebuilt.
#[derive(Debug, Clone)]
pub struct NsecChain {
    apex: Box<[u8]>,
    map: BTreeMap<Box<[u8]>, TypeBitmap>,
    /// Scratch for lookups.
    key: Vec<u8>,
}

impl NsecChain {
    pub fn new(apex: &[u8]) -> Result<NsecChain, Error> {
        if !name::is_valid(apex) {
            return Err(Error::BadName);
        }
        Ok(NsecChain {
            apex: apex.iter().map(u8::to_ascii_lowercase).collect(),
            map: BTreeMap::new(),
            key: Vec::with_capacity(2 * name::MAX_NAME_LEN),
        })
    }

    /// A chain built at once from every name of a zone (loading): sorted, then bulk-built.
    pub fn from_names<'a, I>(apex: &[u8], names: I) -> Result<NsecChain, Error>
    where
        I: IntoIterator<Item = (&'a [u8], TypeBitmap)>,
    {
        let mut chain = NsecChain::new(apex)?;
        let mut v: Vec<(Box<[u8]>, TypeBitmap)> = Vec::new();
        let mut lower = Vec::new();
        for (n, bitmap) in names {
            chain.check(n, &mut lower)?;
            encode_key(&lower, &chain.apex, &mut chain.key);
            v.push((chain.key.as_slice().into(), bitmap));
        }
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Box<[u8]>, TypeBitmap)> = Vec::with_capacity(v.len());
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
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Lowercases `owner` into `lower` after checking it is a name in the zone.
    fn check(&self, owner: &[u8], lower: &mut Vec<u8>) -> Result<(), Error> {
        if !name::is_valid(owner) {
            return Err(Error::BadName);
        }
        lower.clear();
        lower.extend(owner.iter().map(u8::to_ascii_lowercase));
        if !name::is_at_or_below(lower, &self.apex) {
            return Err(Error::NotInZone);
        }
        Ok(())
    }

    fn set_key(&mut self, owner: &[u8]) -> Result<(), Error> {
        let mut lower = Vec::with_capacity(owner.len());
        self.check(owner, &mut lower)?;
        let mut key = std::mem::take(&mut self.key);
        encode_key(&lower, &self.apex, &mut key);
        self.key = key;
        Ok(())
    }

    fn name_of(&self, key: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(key.len() + self.apex.len());
        decode_key(key, &self.apex, &mut v);
        v
    }

    /// Adds `owner` with `bitmap` or replaces its bitmap.
    pub fn set(&mut self, owner: &[u8], bitmap: TypeBitmap) -> Result<NsecChange, Error> {
        self.set_key(owner)?;
        if let Some(old) = self.map.get_mut(self.key.as_slice()) {
            if *old == bitmap {
                return Ok(NsecChange::default());
            }
            *old = bitmap;
            return Ok(NsecChange {
                upserted: Some(self.name_of(&self.key)),
                ..NsecChange::default()
            });
        }
        self.map.insert(self.key.as_slice().into(), bitmap);
        let pred = self
            .before(&self.key)
            .filter(|p| p.as_slice() != self.key.as_slice());
        Ok(NsecChange {
            upserted: Some(self.name_of(&self.key)),
            predecessor: pred.map(|p| self.name_of(&p)),
            removed: None,
        })
    }

    /// Removes `owner` (no change if absent).
    pub fn remove(&mut self, owner: &[u8]) -> Result<NsecChange, Error> {
        self.set_key(owner)?;
        if self.map.remove(self.key.as_slice()).is_none() {
            return Ok(NsecChange::default());
        }
        let pred = self.before(&self.key);
        Ok(NsecChange {
            upserted: None,
            predecessor: pred.map(|p| self.name_of(&p)),
            removed: Some(self.name_of(&self.key)),
        })
    }

    fn before(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.map
            .range::<[u8], _>((Bound::Unbounded, Bound::Excluded(key)))
            .next_back()
            .or_else(|| self.map.iter().next_back())
            .map(|(k, _)| k.to_vec())
    }

    fn entry_at<'a>(&'a self, key: &[u8], bitmap: &'a TypeBitmap) -> NsecEntry<'a> {
        let next = self
            .map
            .range::<[u8], _>((Bound::Excluded(key), Bound::Unbounded))
            .next()
            .or_else(|| self.map.iter().next())
            .map(|(k, _)| k.as_ref())
            .unwrap_or(key);
        NsecEntry {
            owner: self.name_of(key),
            next: self.name_of(next),
            bitmap,
        }
    }

    /// The record owned by `owner`, if in the chain.
    pub fn get(&self, owner: &[u8]) -> Result<Option<NsecEntry<'_>>, Error> {
        let mut lower = Vec::with_capacity(owner.len());
        self.check(owner, &mut lower)?;
        let mut key = Vec::with_capacity(2 * owner.len());
        encode_key(&lower, &self.apex, &mut key);
        Ok(self.map.get(key.as_slice()).map(|b| self.entry_at(&key, b)))
    }

    /// The record that matches `owner` or covers it (owner < name < next, the last record
    /// covering everything after it): what an NXDOMAIN from the real chain carries.
    pub fn matching_or_covering(&self, owner: &[u8]) -> Result<Option<NsecEntry<'_>>, Error> {
        let mut lower = Vec::with_capacity(owner.len());
        self.check(owner, &mut lower)?;
        let mut key = Vec::with_capacity(2 * owner.len());
        encode_key(&lower, &self.apex, &mut key);
        let found = self
            .map
            .range::<[u8], _>((Bound::Unbounded, Bound::Included(key.as_slice())))
            .next_back()
            .or_else(|| self.map.iter().next_back());
        Ok(found.map(|(k, b)| self.entry_at(k, b)))
    }

    /// Every record in canonical order.
    pub fn iter(&self) -> impl Iterator<Item = NsecEntry<'_>> + '_ {
        self.map.iter().map(|(k, b)| self.entry_at(k, b))
    }
}

/// Octets 'A'..='Z' fold to lowercase in canonical order (RFC 4034 §6.2), so a made-up label must
/// not use them: stepping down into that range goes to '@' (0x40), stepping up goes to '['
/// (0x5B), the neighbours of the range in canonical order.
fn step_down(b: u8) -> u8 {
    match b - 1 {
        b'A'..=b'Z' => b'@',
        v => v,
    }
}
fn step_up(b: u8) -> u8 {
    match b + 1 {
        b'A'..=b'Z' => b'[',
        v => v,
    }
}

/// Prepends labels of 0xFF octets to `suffix` until the name is 255 octets long: the greatest
/// name below `suffix` in canonical order (RFC 4470 §3's "maximal" name).
fn fill_below(suffix: &[u8]) -> Vec<u8> {
    let mut labels: Vec<usize> = Vec::new();
    let mut total = suffix.len();
    while total + 2 <= name::MAX_NAME_LEN {
        let len = (name::MAX_NAME_LEN - total - 1).min(name::MAX_LABEL_LEN);
        labels.push(len);
        total += len + 1;
    }
    let mut out = Vec::with_capacity(total);
    // The last label pushed is the leftmost: a descendant of all the others.
    for &len in labels.iter().rev() {
        out.push(len as u8);
        out.extend(std::iter::repeat_n(0xff, len));
    }
    out.extend_from_slice(suffix);
    out
}

/// RFC 4470 §3's predecessor of `owner`: the greatest descendant of the greatest possible left
/// sibling of `owner` (or the parent itself when `owner` is `\000.parent`), so no name can lie
/// strictly between the result and `owner`. `owner` is a lowercase wire name; `None` for the
/// root or a malformed name.
pub fn predecessor(owner: &[u8]) -> Option<Vec<u8>> {
    if !name::is_valid(owner) {
        return None;
    }
    let len = usize::from(*owner.first()?);
    // Not the root, so the label has at least one octet.
    let (&last, _) = owner.get(1..1 + len)?.split_last()?;
    let label = &owner[1..1 + len];
    let parent = &owner[1 + len..];
    Some(predecessor_of(len, label, last, parent))
}

fn predecessor_of(len: usize, label: &[u8], last: u8, parent: &[u8]) -> Vec<u8> {
    if last == 0 {
        // Drop the trailing 0x00: `label'` sorts before `label'\000`, and so does everything
        // below `label'.parent`; the greatest of those is the filled name.
        if len == 1 {
            return parent.to_vec();
        }
        let mut shorter = Vec::with_capacity(parent.len() + len);
        shorter.push((len - 1) as u8);
        shorter.extend_from_slice(&label[..len - 1]);
        shorter.extend_from_slice(parent);
        return fill_below(&shorter);
    }
    // Decrement the last octet and pad the label with 0xFF up to what the name allows: the
    // greatest sibling below `label`; then its greatest descendant.
    let room = name::MAX_NAME_LEN - parent.len() - 1;
    let new_len = room.min(name::MAX_LABEL_LEN);
    let mut sib = Vec::with_capacity(name::MAX_NAME_LEN);
    sib.push(new_len as u8);
    sib.extend_from_slice(&label[..len - 1]);
    sib.push(step_down(last));
    sib.extend(std::iter::repeat_n(0xff, new_len - len));
    sib.extend_from_slice(parent);
    fill_below(&sib)
}

/// The least sibling name above `owner` (RFC 4470 §3): `label\000.parent` when it fits,
/// otherwise the label's last octet below 0xFF stepped up and the rest cut (if every octet is
/// 0xFF, the parent's successor). Everything between `owner` and the result is below `owner`.
/// `None` only if `owner` is the last possible name (all 0xFF up to the root).
pub fn successor(owner: &[u8]) -> Option<Vec<u8>> {
    let len = usize::from(*owner.first()?);
    if len == 0 {
        return None;
    }
    let label = &owner[1..1 + len];
    let parent = &owner[1 + len..];
    if len < name::MAX_LABEL_LEN && owner.len() < name::MAX_NAME_LEN {
        let mut v = Vec::with_capacity(owner.len() + 1);
        v.push((len + 1) as u8);
        v.extend_from_slice(label);
        v.push(0);
        v.extend_from_slice(parent);
        return Some(v);
    }
    match label.iter().rposition(|&b| b != 0xff) {
        Some(i) => {
            let mut v = Vec::with_capacity(owner.len());
            v.push((i + 1) as u8);
            v.extend_from_slice(&label[..i]);
            v.push(step_up(label[i]));
            v.extend_from_slice(parent);
            Some(v)
        }
        None => successor(parent),
    }
}

/// A per-query NSEC record (RFC 4470), to be signed on the fly.
pub type SynthNsec = super::nsec3::SynthRecord;

/// The NXDOMAIN proof for `qname` (RFC 4035 §3.1.3.2) made of white lies (RFC 4470): one NSEC
/// covering the next closer name (the qname cut to one label below the closest encloser `ce`,
/// so validators that derive the closest encloser from the covering NSEC's owner and next name
/// find `ce`) and one covering the wildcard `*.ce`, each from just below to just above the
/// name; types NSEC and RRSIG. Where the predecessor is `ce` itself (a next closer label of a
/// single 0x00), that record carries `ce_bitmap`, `ce`'s real NSEC bitmap. Finding `ce` is the
/// caller's.
pub fn white_lies(
    apex: &[u8],
    qname: &[u8],
    ce: &[u8],
    ce_bitmap: &TypeBitmap,
) -> Result<Vec<SynthNsec>, Error> {
    if !name::is_valid(qname) || !name::is_valid(ce) || !name::is_valid(apex) {
        return Err(Error::BadName);
    }
    let lower: Vec<u8> = qname.iter().map(u8::to_ascii_lowercase).collect();
    let ce: Vec<u8> = ce.iter().map(u8::to_ascii_lowercase).collect();
    if !name::is_at_or_below(&ce, apex) || lower == ce || !name::is_at_or_below(&lower, &ce) {
        return Err(Error::NotInZone);
    }
    let next_closer = name::next_closer(&lower, &ce).ok_or(Error::NotInZone)?;
    let mut wildcard = Vec::with_capacity(ce.len() + 2);
    wildcard.extend_from_slice(b"\x01*");
    wildcard.extend_from_slice(&ce);
    let lie_bitmap = TypeBitmap::from_types(&[rtype::NSEC, rtype::RRSIG]);
    let mut out: Vec<SynthNsec> = Vec::with_capacity(2);
    for covered in [next_closer, wildcard.as_slice()] {
        // `covered` is a valid name below the apex, never the root.
        let Some(owner) = predecessor(covered) else {
            return Err(Error::BadName);
        };
        let next = successor(covered).unwrap_or_else(|| apex.to_vec());
        let bitmap = if owner == ce { ce_bitmap } else { &lie_bitmap };
        let mut rdata = Vec::with_capacity(next.len() + 8);
        nsec_rdata(&next, bitmap, &mut rdata);
        let rec = SynthNsec { owner, rdata };
        if !out.contains(&rec) {
            out.push(rec);
        }
    }
    Ok(out)
}

/// The NODATA proof for an existing `owner` (RFC 4035 §3.1.3.1) as a minimally covering NSEC:
/// `owner`'s real bitmap and, as next name, its immediate successor `\000.owner` (or the next
/// sibling when `owner` is too long to have descendants), so unlike the chain's record it names
/// no other host.
pub fn minimal_nodata(owner: &[u8], bitmap: &TypeBitmap) -> Result<SynthNsec, Error> {
    if !name::is_valid(owner) {
        return Err(Error::BadName);
    }
    let lower: Vec<u8> = owner.iter().map(u8::to_ascii_lowercase).collect();
    let next = if lower.len() + 2 <= name::MAX_NAME_LEN {
        let mut v = Vec::with_capacity(lower.len() + 2);
        v.extend_from_slice(&[1, 0]);
        v.extend_from_slice(&lower);
        v
    } else {
        successor(&lower).ok_or(Error::BadName)?
    };
    let mut rdata = Vec::with_capacity(next.len() + bitmap.as_bytes().len());
    nsec_rdata(&next, bitmap, &mut rdata);
    Ok(SynthNsec {
        owner: lower,
        rdata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    fn n(s: &str) -> Vec<u8> {
        name::from_text(s).unwrap()
    }

    #[test]
    fn keys_preserve_canonical_order_and_decode() {
        let apex = n("example");
        let names: Vec<Vec<u8>> = [
            "example",
            "a.example",
            "yljkjljk.a.example",
            "z.a.example",
            "zabc.a.example",
            "z.example",
            "\\000.z.example",
            "\\000\\000.z.example",
            "\\001.z.example",
            "*.z.example",
            "a\\000.z.example",
            "\\200.z.example",
        ]
        .iter()
        .map(|s| n(s))
        .collect();
        let keys: Vec<Vec<u8>> = names
            .iter()
            .map(|w| {
                let mut k = Vec::new();
                encode_key(w, &apex, &mut k);
                k
            })
            .collect();
        for i in 0..names.len() {
            let mut back = Vec::new();
            decode_key(&keys[i], &apex, &mut back);
            assert_eq!(back, names[i]);
            for j in 0..names.len() {
                assert_eq!(
                    keys[i].cmp(&keys[j]),
                    name::canonical_cmp(&names[i], &names[j])
                );
            }
        }
    }

    /// Random names below `apex` with labels from a small alphabet that includes the awkward
    /// octets (0x00, 0xFF, '*', letters around the uppercase range).
    fn random_name(seed: &mut u64, apex: &str) -> Vec<u8> {
        const ALPHA: &[u8] = b"\x00\x01*-09@[`az\x7f\xfe\xff";
        let mut next = || {
            *seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (*seed >> 33) as usize
        };
        let mut w = Vec::new();
        for _ in 0..1 + next() % 3 {
            let len = 1 + next() % 3;
            w.push(len as u8);
            for _ in 0..len {
                w.push(ALPHA[next() % ALPHA.len()]);
            }
        }
        w.extend_from_slice(&n(apex));
        w
    }

    fn brute(names: &BTreeMap<Vec<u8>, TypeBitmap>) -> Vec<(Vec<u8>, Vec<u8>, TypeBitmap)> {
        let mut v: Vec<(&Vec<u8>, &TypeBitmap)> = names.iter().collect();
        v.sort_by(|a, b| name::canonical_cmp(a.0, b.0));
        (0..v.len())
            .map(|i| {
                (
                    v[i].0.clone(),
                    v[(i + 1) % v.len()].0.clone(),
                    v[i].1.clone(),
                )
            })
            .collect()
    }

    fn records(c: &NsecChain) -> Vec<(Vec<u8>, Vec<u8>, TypeBitmap)> {
        c.iter()
            .map(|e| (e.owner, e.next, e.bitmap.clone()))
            .collect()
    }

    #[test]
    fn incremental_chain_matches_a_sorted_rebuild_and_reports_every_change() {
        let apex = n("example");
        let mut chain = NsecChain::new(&apex).unwrap();
        let mut names: BTreeMap<Vec<u8>, TypeBitmap> = BTreeMap::new();
        let b1 = TypeBitmap::from_types(&[rtype::A, rtype::RRSIG, rtype::NSEC]);
        let b2 = TypeBitmap::from_types(&[rtype::TXT, rtype::RRSIG, rtype::NSEC]);
        let mut seed = 99u64;
        let mut pool = Vec::new();
        for _ in 0..120 {
            pool.push(random_name(&mut seed, "example"));
        }
        pool.push(apex.clone());
        let mut before = records(&chain);
        for step in 0..3000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let owner = pool[(seed >> 33) as usize % pool.len()].clone();
            let change = if (seed >> 20) % 3 == 0 {
                names.remove(&owner);
                chain.remove(&owner).unwrap()
            } else {
                let b = if (seed >> 40) % 2 == 0 {
                    b1.clone()
                } else {
                    b2.clone()
                };
                names.insert(owner.clone(), b.clone());
                chain.set(&owner, b).unwrap()
            };
            let after = records(&chain);
            assert_eq!(after, brute(&names), "step {step}");
            let old: BTreeMap<&Vec<u8>, (&Vec<u8>, &TypeBitmap)> =
                before.iter().map(|(o, nx, b)| (o, (nx, b))).collect();
            let mut differing: Vec<Vec<u8>> = after
                .iter()
                .filter(|(o, nx, b)| old.get(o) != Some(&(nx, b)))
                .map(|(o, _, _)| o.clone())
                .collect();
            differing.sort();
            let mut reported: Vec<Vec<u8>> = change.changed().map(<[u8]>::to_vec).collect();
            reported.sort();
            reported.dedup();
            assert_eq!(reported, differing, "step {step}");
            before = after;
        }
        let bulk =
            NsecChain::from_names(&apex, names.iter().map(|(k, b)| (k.as_slice(), b.clone())))
                .unwrap();
        assert_eq!(records(&bulk), records(&chain));
        // Lookups.
        for owner in &pool {
            let e = chain.matching_or_covering(owner).unwrap().unwrap();
            if names.contains_key(owner) {
                assert_eq!(&e.owner, owner);
                assert_eq!(chain.get(owner).unwrap().unwrap(), e);
            } else {
                assert_eq!(chain.get(owner).unwrap(), None);
                let after_owner = name::canonical_cmp(&e.owner, owner) == Ordering::Less;
                let before_next = name::canonical_cmp(owner, &e.next) == Ordering::Less;
                let wraps = name::canonical_cmp(&e.next, &e.owner) != Ordering::Greater;
                assert!((after_owner && (before_next || wraps)) || (wraps && before_next));
            }
        }
        assert_eq!(chain.set(&n("x.example.net"), b1), Err(Error::NotInZone));
    }

    /// The longest common ancestor of two names, as validators compute a closest encloser
    /// from a covering NSEC.
    fn common(a: &[u8], b: &[u8]) -> Vec<u8> {
        let mut x = a;
        loop {
            if name::is_at_or_below(b, x) {
                return x.to_vec();
            }
            x = name::parent(x).unwrap();
        }
    }

    #[test]
    fn white_lies_cover_only_the_question() {
        let apex = n("example");
        let mut seed = 5u64;
        let mut zone: Vec<Vec<u8>> = vec![apex.clone()];
        for _ in 0..200 {
            zone.push(random_name(&mut seed, "example"));
        }
        // Every ancestor of a name exists (as a name or empty non-terminal).
        let exists = |q: &[u8], zone: &[Vec<u8>]| zone.iter().any(|z| name::is_at_or_below(z, q));
        let ce_bitmap = TypeBitmap::from_types(&[rtype::A, rtype::NSEC, rtype::RRSIG]);
        let lt = |a: &[u8], b: &[u8]| name::canonical_cmp(a, b) == Ordering::Less;
        let mut checked = 0;
        for _ in 0..5000 {
            let q = random_name(&mut seed, "example");
            if exists(&q, &zone) {
                continue;
            }
            let mut ce: &[u8] = &q;
            while !exists(ce, &zone) {
                ce = name::parent(ce).unwrap();
            }
            let mut wildcard = b"\x01*".to_vec();
            wildcard.extend_from_slice(ce);
            if exists(&wildcard, &zone) {
                continue; // a wildcard answer (or its NODATA), not an NXDOMAIN
            }
            let lies = white_lies(&apex, &q, ce, &ce_bitmap).unwrap();
            assert!(!lies.is_empty() && lies.len() <= 2);
            let mut covered = [false, false];
            for lie in &lies {
                assert!(name::is_valid(&lie.owner), "{}", name::to_text(&lie.owner));
                let next_len = {
                    let mut i = 0;
                    while lie.rdata[i] != 0 {
                        i += 1 + usize::from(lie.rdata[i]);
                    }
                    i + 1
                };
                let next = &lie.rdata[..next_len];
                assert!(name::is_valid(next));
                assert!(lt(&lie.owner, next));
                // Nothing in the zone lies strictly between owner and next.
                for z in &zone {
                    assert!(
                        !(lt(&lie.owner, z) && lt(z, next)),
                        "{} < {} < {}",
                        name::to_text(&lie.owner),
                        name::to_text(z),
                        name::to_text(next)
                    );
                }
                if lt(&lie.owner, &q) && lt(&q, next) {
                    covered[0] = true;
                    // Validators derive the closest encloser from the covering NSEC.
                    let c1 = common(&lie.owner, &q);
                    let c2 = common(next, &q);
                    let derived = if c1.len() > c2.len() { c1 } else { c2 };
                    assert_eq!(derived, ce, "q {}", name::to_text(&q));
                }
                if lt(&lie.owner, &wildcard) && lt(&wildcard, next) {
                    covered[1] = true;
                }
                if lie.owner == ce {
                    assert!(lie.rdata.ends_with(ce_bitmap.as_bytes()));
                }
            }
            assert_eq!(covered, [true, true], "q {}", name::to_text(&q));
            checked += 1;
        }
        assert!(checked > 1000, "{checked}");
    }

    #[test]
    fn minimal_nodata_records() {
        let b = TypeBitmap::from_types(&[rtype::A, rtype::RRSIG, rtype::NSEC]);
        let r = minimal_nodata(&n("WWW.example"), &b).unwrap();
        assert_eq!(r.owner, n("www.example"));
        let mut want = n("\\000.www.example");
        want.extend_from_slice(b.as_bytes());
        assert_eq!(r.rdata, want);
        assert!(minimal_nodata(b"\x03www", &b).is_err());
    }

    #[test]
    fn predecessor_and_successor_edges() {
        assert_eq!(predecessor(b"\x00"), None);
        let p = predecessor(&n("b.example")).unwrap();
        assert_eq!(p.len(), 255);
        let mut sib = vec![63, b'a'];
        sib.extend([0xff; 62]);
        sib.extend_from_slice(&n("example"));
        assert!(p.ends_with(&sib));
        assert_eq!(predecessor(&n("\\000.example")).unwrap(), n("example"));
        // Uppercase octets are never made.
        let p = predecessor(&n("\\091.example")).unwrap(); // '['
        assert!(name::labels(&p).any(|l| l.contains(&b'@')));
        assert_eq!(successor(&n("a.example")).unwrap(), n("a\\000.example"));
        let long = n(&format!("{}.example", "a".repeat(63)));
        assert_eq!(
            successor(&long).unwrap(),
            n(&format!("{}b.example", "a".repeat(62)))
        );
        let at = n(&format!("{}\\064.example", "a".repeat(62)));
        assert_eq!(
            successor(&at).unwrap(),
            n(&format!("{}[.example", "a".repeat(62)))
        );
    }
}
