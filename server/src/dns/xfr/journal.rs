//! The change journal as the DNS side sees it: encoding one published group's changes to a
//! zone (each changed RRset as it was served before the group, with its RRSIGs when the zone
//! is signed), the reader the store provides (`JournalSource`), and condensing a run of
//! entries (RFC 1995 §4: "the server may condense"): per RRset, its state before the first
//! entry that touched it. The state after is the snapshot being transferred, so a condensed
//! IXFR never shows intermediate values.
//!
//! An entry's bytes are a sequence of items, one per changed RRset:
//! `[key_len u8][node key][type u16][ttl u32][len u32][RDATAs][sig_len u32][RRSIGs]`, RDATAs and
//! RRSIG RDATAs each preceded by their 16-bit length (len 0: the RRset did not exist). Node
//! keys are zone.rs's (the owner's labels under the apex, reversed, length-prefixed).

use std::collections::BTreeMap;

use super::super::zone::{key_for_owner, Found};
use super::super::{DnsView, RrsetChange};

/// The journal as stored (store/journal.rs).
pub trait JournalSource: Send + Sync {
    /// The entries of `zone` leading from serial `from` to serial `to`, in order, each
    /// starting where the previous one ended; `None` when the journal does not hold such a
    /// run (too old, pruned, or a change made outside the journal in between).
    fn changes(&self, zone: &str, from: u32, to: u32) -> Option<Vec<Vec<u8>>>;
}

impl DnsView {
    /// Encode the RRsets a group is about to change in `zone`, each as the view serves it now,
    /// and the serial it serves (where the entry starts). `None` when the zone is not served.
    /// The caller makes sure the view stands where the store does (no other process's change
    /// is waiting to be loaded), or the entry would leave that change out.
    pub fn journal_entry(&self, zone: &str, changes: &[&RrsetChange]) -> Option<(u32, Vec<u8>)> {
        let z = self.zone(zone)?;
        let data = z.data.load();
        let mut touched: BTreeMap<(Vec<u8>, u16), ()> = BTreeMap::new();
        for c in changes {
            touched.insert((key_for_owner(&c.name, &z.name)?, c.rtype.code()), ());
        }
        let mut out = Vec::with_capacity(64 * touched.len());
        for (key, code) in touched.into_keys() {
            out.push(key.len() as u8);
            out.extend_from_slice(&key);
            out.extend_from_slice(&code.to_be_bytes());
            let set = match data.find(&self.hasher, &key) {
                Found::Node(node) => node.rrsets().find(|s| s.rtype.code() == code),
                _ => None,
            };
            match set {
                Some(s) => push_state(&mut out, s.ttl, s.data, s.sigs),
                None => push_state(&mut out, 0, &[], &[]),
            }
        }
        Some((data.serial, out))
    }
}

fn push_state(out: &mut Vec<u8>, ttl: u32, data: &[u8], sigs: &[u8]) {
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&(sigs.len() as u32).to_be_bytes());
    out.extend_from_slice(sigs);
}

/// An RRset as an entry holds it: TTL, RDATAs and RRSIGs (both length-prefixed lists; empty
/// data: absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct State {
    pub ttl: u32,
    pub data: Vec<u8>,
    pub sigs: Vec<u8>,
}

/// Per (node key, type): the state before the first of `entries` that touched it. `None` when
/// an entry's bytes are not an entry (a damaged row: the caller falls back to a full transfer).
pub(crate) fn first_states(entries: &[Vec<u8>]) -> Option<BTreeMap<(Vec<u8>, u16), State>> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (h, t) = (b.get(..n)?, b.get(n..)?);
        *b = t;
        Some(h)
    }
    fn u32_of(b: &mut &[u8]) -> Option<u32> {
        take(b, 4).map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]))
    }
    let mut out = BTreeMap::new();
    for e in entries {
        let mut b = &e[..];
        while !b.is_empty() {
            let klen = usize::from(take(&mut b, 1)?[0]);
            let key = take(&mut b, klen)?.to_vec();
            let t = take(&mut b, 2)?;
            let rtype = u16::from_be_bytes([t[0], t[1]]);
            let ttl = u32_of(&mut b)?;
            let len = u32_of(&mut b)? as usize;
            let data = take(&mut b, len)?.to_vec();
            let slen = u32_of(&mut b)? as usize;
            let sigs = take(&mut b, slen)?.to_vec();
            out.entry((key, rtype)).or_insert(State { ttl, data, sigs });
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(out: &mut Vec<u8>, key: &[u8], t: u16, ttl: u32, rdatas: &[&[u8]], sigs: &[u8]) {
        out.push(key.len() as u8);
        out.extend_from_slice(key);
        out.extend_from_slice(&t.to_be_bytes());
        let mut data = Vec::new();
        for r in rdatas {
            data.extend_from_slice(&(r.len() as u16).to_be_bytes());
            data.extend_from_slice(r);
        }
        push_state(out, ttl, &data, sigs);
    }

    #[test]
    fn the_first_state_of_each_rrset_wins_and_damage_is_refused() {
        let mut e1 = Vec::new();
        item(&mut e1, b"\x01a", 1, 60, &[&[1, 1, 1, 1]], b"\x00\x01s");
        let mut e2 = Vec::new();
        item(&mut e2, b"\x01a", 1, 60, &[&[2, 2, 2, 2]], b"");
        item(&mut e2, b"\x01b", 16, 0, &[], b"");
        let first = first_states(&[e1, e2]).unwrap();
        assert_eq!(first.len(), 2);
        let a = &first[&(b"\x01a".to_vec(), 1)];
        assert_eq!(
            (a.ttl, &a.data[..], &a.sigs[..]),
            (60, &[0, 4, 1, 1, 1, 1][..], &b"\x00\x01s"[..])
        );
        assert!(first[&(b"\x01b".to_vec(), 16)].data.is_empty());
        assert!(first_states(&[vec![3, b'a']]).is_none());
        assert!(first_states(&[vec![1, b'a', 0, 1, 0, 0, 0, 60, 0, 0, 0, 9]]).is_none());
    }
}
