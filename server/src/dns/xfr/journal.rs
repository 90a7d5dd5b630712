//! The change journal as the DNS side sees it: encoding one published group's changes to a
//! zone (the RRsets before and after, as served), the reader the store provides
//! (`JournalSource`), and condensing a run of entries into one IXFR difference (RFC 1995 §4:
//! "the server may condense").
//!
//! An entry's bytes are a sequence of items, one per changed RRset:
//! `[key_len u8][node key][type u16]` then the RRset before and after, each as
//! `[ttl u32][len u32][len bytes of 16-bit-length-prefixed RDATAs]` (len 0: absent). Node keys
//! are zone.rs's (the owner's labels under the apex, reversed, length-prefixed).

use std::collections::BTreeMap;

use super::super::zone::{key_for_owner, Found, Rrset};
use super::super::{DnsView, RrsetChange};
use crate::model::RType;

/// The journal as stored (store/journal.rs).
pub trait JournalSource: Send + Sync {
    /// The entries of `zone` leading from serial `from` to serial `to`, in order, each
    /// starting where the previous one ended; `None` when the journal does not hold such a
    /// run (too old, pruned, or a change made outside the journal in between).
    fn changes(&self, zone: &str, from: u32, to: u32) -> Option<Vec<Vec<u8>>>;
}

impl DnsView {
    /// Encode the changes a group is about to publish to `zone` (several changes of one RRset:
    /// the last wins), each with the RRset the view serves now. `None` when the zone is not
    /// served or the view does not stand at serial `before`: the group follows a change this
    /// view has not published (another process's write), and an entry from `before` would
    /// leave that change out.
    pub fn journal_entry(
        &self,
        zone: &str,
        before: u32,
        changes: &[&RrsetChange],
    ) -> Option<Vec<u8>> {
        let z = self.zone(zone)?;
        let data = z.data.load();
        if data.serial != before {
            return None;
        }
        let mut last: BTreeMap<(Vec<u8>, u16), &RrsetChange> = BTreeMap::new();
        for c in changes {
            let key = key_for_owner(&c.name, &z.name)?;
            last.insert((key, c.rtype.code()), c);
        }
        let mut out = Vec::with_capacity(64 * last.len());
        for ((key, code), c) in last {
            let rtype = c.rtype;
            out.push(key.len() as u8);
            out.extend_from_slice(&key);
            out.extend_from_slice(&code.to_be_bytes());
            match data.find(&self.hasher, &key) {
                Found::Node(node) => match node.get(rtype) {
                    Some(set) => push_set(&mut out, set.ttl, set.data),
                    None => push_set(&mut out, 0, &[]),
                },
                _ => push_set(&mut out, 0, &[]),
            }
            match Rrset::encode(&c.name, rtype, &c.records) {
                Some(set) => push_set(&mut out, set.ttl, &set.data),
                None => push_set(&mut out, 0, &[]),
            }
        }
        Some(out)
    }
}

fn push_set(out: &mut Vec<u8>, ttl: u32, data: &[u8]) {
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
}

/// One RRset as an entry holds it: TTL and length-prefixed RDATAs (empty: absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetBytes {
    pub ttl: u32,
    pub data: Vec<u8>,
}

/// One item of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    pub key: Vec<u8>,
    pub rtype: u16,
    pub before: SetBytes,
    pub after: SetBytes,
}

/// The items of one entry; `None` when the bytes are not an entry (a damaged row: the caller
/// falls back to a full transfer).
pub(crate) fn items(mut b: &[u8]) -> Option<Vec<Item>> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (h, t) = (b.get(..n)?, b.get(n..)?);
        *b = t;
        Some(h)
    }
    fn u32_of(b: &mut &[u8]) -> Option<u32> {
        take(b, 4).map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]))
    }
    fn set(b: &mut &[u8]) -> Option<SetBytes> {
        let ttl = u32_of(b)?;
        let len = u32_of(b)? as usize;
        Some(SetBytes {
            ttl,
            data: take(b, len)?.to_vec(),
        })
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let klen = usize::from(take(&mut b, 1)?[0]);
        let key = take(&mut b, klen)?.to_vec();
        let t = take(&mut b, 2)?;
        let rtype = u16::from_be_bytes([t[0], t[1]]);
        let before = set(&mut b)?;
        let after = set(&mut b)?;
        out.push(Item {
            key,
            rtype,
            before,
            after,
        });
    }
    Some(out)
}

/// A condensed difference: the records to delete and to add, each as (node key, type, TTL,
/// RDATA).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Difference {
    pub deleted: Vec<(Vec<u8>, u16, u32, Vec<u8>)>,
    pub added: Vec<(Vec<u8>, u16, u32, Vec<u8>)>,
}

fn rdatas(data: &[u8]) -> Vec<&[u8]> {
    super::super::zone::RdataIter::over(data).collect()
}

/// Condense entries (in order) into one difference: per RRset, what it was before the first
/// entry touching it against what it is after the last. Unchanged RRsets drop out; within a
/// changed one only the RDATAs that differ are deleted or added, unless the TTL changed (then
/// the whole set is replaced, as RFC 2181 §5.2 wants one TTL per RRset).
pub(crate) fn condense(entries: &[Vec<u8>]) -> Option<Difference> {
    let mut sets: BTreeMap<(Vec<u8>, u16), (SetBytes, SetBytes)> = BTreeMap::new();
    for e in entries {
        for it in items(e)? {
            match sets.get_mut(&(it.key.clone(), it.rtype)) {
                Some(slot) => slot.1 = it.after,
                None => {
                    sets.insert((it.key, it.rtype), (it.before, it.after));
                }
            }
        }
    }
    let mut d = Difference::default();
    for ((key, rtype), (before, after)) in sets {
        if before == after || RType::from_code(rtype).is_none() {
            continue;
        }
        let (old, new) = (rdatas(&before.data), rdatas(&after.data));
        let whole = before.ttl != after.ttl;
        for r in &old {
            if whole || !new.contains(r) {
                d.deleted.push((key.clone(), rtype, before.ttl, r.to_vec()));
            }
        }
        for r in &new {
            if whole || !old.contains(r) {
                d.added.push((key.clone(), rtype, after.ttl, r.to_vec()));
            }
        }
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An RRset as a test writes it: TTL and RDATAs.
    type Set<'a> = (u32, &'a [&'a [u8]]);

    fn entry(items: &[(&[u8], u16, Set, Set)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (key, t, (bt, b), (at, a)) in items {
            out.push(key.len() as u8);
            out.extend_from_slice(key);
            out.extend_from_slice(&t.to_be_bytes());
            for (ttl, rds) in [(bt, b), (at, a)] {
                let mut data = Vec::new();
                for r in rds.iter() {
                    data.extend_from_slice(&(r.len() as u16).to_be_bytes());
                    data.extend_from_slice(r);
                }
                push_set(&mut out, *ttl, &data);
            }
        }
        out
    }

    #[test]
    fn entries_round_trip_and_condense_to_first_before_and_last_after() {
        let a = b"\x01a".as_slice();
        let e1 = entry(&[(a, 1, (60, &[&[1, 1, 1, 1]]), (60, &[&[2, 2, 2, 2]]))]);
        let e2 = entry(&[
            (a, 1, (60, &[&[2, 2, 2, 2]]), (60, &[&[3, 3, 3, 3]])),
            (b"\x01b", 16, (0, &[]), (300, &[b"\x02hi"])),
        ]);
        let parsed = items(&e1).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].key, a);
        let d = condense(&[e1.clone(), e2]).unwrap();
        // 1.1.1.1 -> 3.3.3.3 (the intermediate 2.2.2.2 never shows), and a new TXT.
        assert_eq!(d.deleted, vec![(a.to_vec(), 1, 60, vec![1, 1, 1, 1])]);
        assert_eq!(
            d.added,
            vec![
                (a.to_vec(), 1, 60, vec![3, 3, 3, 3]),
                (b"\x01b".to_vec(), 16, 300, b"\x02hi".to_vec())
            ]
        );
        // Changed and changed back: nothing to transfer.
        let back = entry(&[(a, 1, (60, &[&[2, 2, 2, 2]]), (60, &[&[1, 1, 1, 1]]))]);
        assert_eq!(condense(&[e1, back]).unwrap(), Difference::default());
        // A TTL change replaces the whole set.
        let ttl = entry(&[(a, 1, (60, &[&[1, 1, 1, 1]]), (120, &[&[1, 1, 1, 1]]))]);
        let d = condense(&[ttl]).unwrap();
        assert_eq!(d.deleted.len(), 1);
        assert_eq!(d.added, vec![(a.to_vec(), 1, 120, vec![1, 1, 1, 1])]);
        // Damaged bytes are refused, not guessed at.
        assert!(items(&[3, b'a']).is_none());
        assert!(condense(&[vec![1, b'a', 0]]).is_none());
    }
}
