//! NSEC/NSEC3 type bitmaps (RFC 4034 §4.1.2, reused by RFC 5155 §3.2.1): building one from a
//! set of type codes, kept inline for the usual small sets so a chain of a million names does
//! not make a million small heap allocations, and which types a node's bitmap must list
//! besides its own RRsets (RRSIG, NSEC, and at the apex DNSKEY, NSEC3PARAM, CDS, CDNSKEY).
//! Which RRsets a node holds is the caller's knowledge.

use super::rtype;

/// Encoded bitmaps up to this many octets live inline: window 0 up to type 175 (2 + 22).
const INLINE: usize = 24;

/// An encoded type bitmap, exactly the octets that end an NSEC or NSEC3 RDATA.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TypeBitmap(Repr);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl TypeBitmap {
    /// The empty bitmap (an NSEC3 for an empty non-terminal, RFC 5155 §7.1).
    pub const EMPTY: TypeBitmap = TypeBitmap(Repr::Inline {
        len: 0,
        buf: [0; INLINE],
    });

    /// The bitmap of these type codes (any order, duplicates allowed).
    pub fn from_types(types: &[u16]) -> TypeBitmap {
        // One bit per type of 65536: 8 KiB on the stack would be wasteful; sort a small copy.
        let mut sorted: smallsort::Buf = smallsort::Buf::new(types);
        let t = sorted.as_sorted();
        let mut buf = [0u8; 2 + 32];
        let mut out: Vec<u8> = Vec::new();
        let mut inline = [0u8; INLINE];
        let mut inline_len = 0usize;
        let mut spilled = false;
        let mut i = 0;
        while i < t.len() {
            // `t[i] >> 8 <= 255`: the cast is exact.
            let window = (t[i] >> 8) as u8;
            buf.fill(0);
            let mut max = 0usize;
            while i < t.len() && t[i] >> 8 == u16::from(window) {
                let low = usize::from(t[i] & 0xff);
                buf[2 + low / 8] |= 0x80 >> (low % 8);
                max = max.max(low / 8 + 1);
                i += 1;
            }
            buf[0] = window;
            // `max` is 1..=32, the bitmap length octet (RFC 4034 §4.1.2).
            buf[1] = max as u8;
            let block = &buf[..2 + max];
            if !spilled && inline_len + block.len() <= INLINE {
                inline[inline_len..inline_len + block.len()].copy_from_slice(block);
                inline_len += block.len();
            } else {
                if !spilled {
                    out.extend_from_slice(&inline[..inline_len]);
                    spilled = true;
                }
                out.extend_from_slice(block);
            }
        }
        if spilled {
            TypeBitmap(Repr::Heap(out.into_boxed_slice()))
        } else {
            TypeBitmap(Repr::Inline {
                // `inline_len <= INLINE = 24`.
                len: inline_len as u8,
                buf: inline,
            })
        }
    }

    /// The encoded octets.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => &buf[..usize::from(*len)],
            Repr::Heap(b) => b,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }

    /// Does the bitmap list `t`?
    pub fn contains(&self, t: u16) -> bool {
        let mut rest = self.as_bytes();
        while let [window, len, tail @ ..] = rest {
            let len = usize::from(*len);
            let Some(bits) = tail.get(..len) else {
                return false;
            };
            if u16::from(*window) == t >> 8 {
                let low = usize::from(t & 0xff);
                return bits
                    .get(low / 8)
                    .is_some_and(|b| b & (0x80 >> (low % 8)) != 0);
            }
            rest = &tail[len..];
        }
        false
    }

    /// The type codes listed, ascending.
    pub fn types(&self) -> Vec<u16> {
        let mut v = Vec::new();
        let mut rest = self.as_bytes();
        while let [window, len, tail @ ..] = rest {
            let len = usize::from(*len).min(tail.len());
            for (i, b) in tail[..len].iter().enumerate() {
                for bit in 0..8 {
                    if b & (0x80 >> bit) != 0 {
                        v.push(u16::from(*window) << 8 | (i * 8 + bit) as u16);
                    }
                }
            }
            rest = &tail[len..];
        }
        v
    }
}

impl std::fmt::Debug for TypeBitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TypeBitmap").field(&self.types()).finish()
    }
}

/// Sorting a handful of type codes without a heap allocation in the usual case.
mod smallsort {
    pub(super) enum Buf {
        Stack([u16; 16], usize),
        Heap(Vec<u16>),
    }
    impl Buf {
        pub(super) fn new(types: &[u16]) -> Buf {
            if types.len() <= 16 {
                let mut a = [0u16; 16];
                a[..types.len()].copy_from_slice(types);
                Buf::Stack(a, types.len())
            } else {
                Buf::Heap(types.to_vec())
            }
        }
        pub(super) fn as_sorted(&mut self) -> &[u16] {
            let s: &mut [u16] = match self {
                Buf::Stack(a, n) => &mut a[..*n],
                Buf::Heap(v) => v,
            };
            s.sort_unstable();
            let mut w = 0;
            for r in 0..s.len() {
                if w == 0 || s[w - 1] != s[r] {
                    s[w] = s[r];
                    w += 1;
                }
            }
            &s[..w]
        }
    }
}

/// Which denial of existence a zone uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    Nsec,
    Nsec3,
}

/// What kind of node a bitmap describes, for the types that come with signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// The zone apex; `cds` when CDS and CDNSKEY are published (RFC 7344, RFC 8078).
    Apex { cds: bool },
    /// A delegation point (NS, not the apex): its NS RRset is not signed (RFC 4035 §2.2).
    Delegation,
    /// Anything else, an empty non-terminal included (pass no types).
    Other,
}

/// The bitmap for a node holding RRsets of `types` (without the DNSSEC types, which this adds):
/// RRSIG where anything is signed; NSEC itself in an NSEC zone (RFC 4034 §4.1.2); at the apex
/// DNSKEY, NSEC3PARAM in an NSEC3 zone (RFC 5155 §4) and CDS/CDNSKEY when published. An
/// empty non-terminal in an NSEC3 zone gets the empty bitmap (RFC 5155 §7.1); NSEC zones have no
/// NSEC at empty non-terminals, so do not ask for one.
pub fn node_bitmap(types: &[u16], kind: NodeKind, denial: Denial) -> TypeBitmap {
    let mut all: Vec<u16> = Vec::with_capacity(types.len() + 6);
    all.extend_from_slice(types);
    let signed_here = match kind {
        NodeKind::Apex { .. } => true,
        // Only the DS (and the NSEC) of a delegation is signed (RFC 4035 §2.2).
        NodeKind::Delegation => types.contains(&rtype::DS) || denial == Denial::Nsec,
        NodeKind::Other => !types.is_empty() || denial == Denial::Nsec,
    };
    if let NodeKind::Apex { cds } = kind {
        all.push(rtype::DNSKEY);
        if denial == Denial::Nsec3 {
            all.push(rtype::NSEC3PARAM);
        }
        if cds {
            all.push(rtype::CDS);
            all.push(rtype::CDNSKEY);
        }
    }
    if denial == Denial::Nsec {
        all.push(rtype::NSEC);
    }
    if signed_here {
        all.push(rtype::RRSIG);
    }
    TypeBitmap::from_types(&all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4034_section_4_3_example() {
        // RFC 4034 §4.3: "A MX RRSIG NSEC TYPE1234" encodes as below.
        let b = TypeBitmap::from_types(&[1, 15, 46, 47, 1234]);
        assert_eq!(
            b.as_bytes(),
            [
                0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x1b, 0x00, 0x00, 0x00, 0x00,
                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20
            ]
        );
        assert_eq!(b.types(), [1, 15, 46, 47, 1234]);
        assert!(b.contains(1234) && b.contains(15) && !b.contains(16) && !b.contains(65535));
    }

    #[test]
    fn from_types_matches_a_naive_encoder() {
        let mut seed = 0x1234_5678_u32;
        for round in 0..500 {
            let n = (round % 40) as usize;
            let mut types = Vec::new();
            for _ in 0..n {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let t = if seed % 3 == 0 {
                    seed >> 16
                } else {
                    (seed >> 16) % 300
                };
                types.push(t as u16);
            }
            // Naive: one bit per type in a 64 Ki bitset, then every non-empty window.
            let mut bits = vec![false; 65536];
            for &t in &types {
                bits[usize::from(t)] = true;
            }
            let mut want = Vec::new();
            for w in 0..256 {
                let win = &bits[w * 256..w * 256 + 256];
                if let Some(last) = win.iter().rposition(|&b| b) {
                    let len = last / 8 + 1;
                    want.push(w as u8);
                    want.push(len as u8);
                    for o in 0..len {
                        let mut byte = 0u8;
                        for bit in 0..8 {
                            if win[o * 8 + bit] {
                                byte |= 0x80 >> bit;
                            }
                        }
                        want.push(byte);
                    }
                }
            }
            let got = TypeBitmap::from_types(&types);
            assert_eq!(got.as_bytes(), want, "{types:?}");
            let mut sorted = types.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(got.types(), sorted);
        }
        assert!(TypeBitmap::from_types(&[]).is_empty());
        assert_eq!(TypeBitmap::from_types(&[]), TypeBitmap::EMPTY);
    }

    #[test]
    fn node_bitmaps() {
        use rtype::*;
        let apex = node_bitmap(&[SOA, NS], NodeKind::Apex { cds: true }, Denial::Nsec3);
        assert_eq!(
            apex.types(),
            [NS, SOA, RRSIG, DNSKEY, NSEC3PARAM, CDS, CDNSKEY]
        );
        let apex = node_bitmap(&[SOA, NS], NodeKind::Apex { cds: false }, Denial::Nsec);
        assert_eq!(apex.types(), [NS, SOA, RRSIG, NSEC, DNSKEY]);
        let host = node_bitmap(&[A, AAAA], NodeKind::Other, Denial::Nsec3);
        assert_eq!(host.types(), [A, AAAA, RRSIG]);
        assert!(node_bitmap(&[], NodeKind::Other, Denial::Nsec3).is_empty());
        let deleg = node_bitmap(&[NS], NodeKind::Delegation, Denial::Nsec3);
        assert_eq!(deleg.types(), [NS]);
        let deleg = node_bitmap(&[NS, DS], NodeKind::Delegation, Denial::Nsec3);
        assert_eq!(deleg.types(), [NS, DS, RRSIG]);
        let deleg = node_bitmap(&[NS], NodeKind::Delegation, Denial::Nsec);
        assert_eq!(deleg.types(), [NS, RRSIG, NSEC]);
    }
}
