//! The DNSSEC core of issue #15: pure functions and data structures that sign zones, with no
//! I/O, no clock and no knowledge of the store or the responder. It offers
//!
//! - [`keys`]: CSK generation (algorithm 13 ECDSA P-256/SHA-256 by default, 15 Ed25519), PKCS#8
//!   storage form, DNSKEY RDATA, key tag, DS (digest types 2 and 4) in wire and presentation
//!   form, CDS/CDNSKEY and the RFC 8078 delete forms;
//! - [`sign`]: RRSIG RDATA over one RRset given in the store's length-prefixed form, canonical
//!   per RFC 4034 §6, with reusable buffers;
//! - [`nsec3`] and [`nsec`]: the hashed and plain denial chains, maintained incrementally
//!   (O(log n) per name, reporting which records changed), and per-query "minimally covering"
//!   records for NXDOMAIN;
//! - [`bitmap`]: type bitmaps and which DNSSEC types each node lists;
//! - [`name`]: wire-form name helpers (canonical order, labels count);
//! - [`text`]: presentation forms of RRSIG, NSEC, NSEC3 and NSEC3PARAM for `zone export`.
//!
//! What it leaves to the integration: where keys live (SQLite) and when they roll, choosing
//! inception/expiration from the config and the injected clock, which RRsets changed in a
//! write, finding the closest encloser and empty non-terminals (the zone's sorted nodes know),
//! keeping RRSIGs with the snapshot, and putting records into answers.
//!
//! # How the integration is expected to call it
//!
//! - Zone creation / upgrade: `SigningKey::generate(alg)`, store `pkcs8()` (secret) and the
//!   algorithm; at load `SigningKey::from_pkcs8_any` then `ZoneKey::new(key, apex)`. The apex
//!   key RRsets come from [`keys::apex_key_sets`] (old and new keys during a rollover, CDS and
//!   CDNSKEY as [`keys::CdsState`] says); `zone ds` prints `ZoneKey::ds(d).to_text(apex, ttl)`
//!   for `DigestType::ALL`.
//! - Write path, per published group: for each changed RRset, `RrsetSigner::sign` over the
//!   store's length-prefixed RDATAs with a `Validity` from the injected clock; for each node
//!   whose type set changed (or that appeared or vanished, empty non-terminals included, which
//!   the zone's sorted nodes tell), `Nsec3Chain::set`/`remove` (or `NsecChain`) with
//!   [`bitmap::node_bitmap`], then rebuild and sign the records `Nsec3Change::changed` names and
//!   drop `removed`. The SOA (a new serial per group) is signed when an answer or a transfer
//!   first carries it (`dns/signing.rs` `SoaSig`), and the group's signing runs while its
//!   COMMIT waits for the disk (`store/publish.rs` `Stager`).
//! - Load: read the stored RRSIGs (never re-sign a whole zone at start-up, see "Cost") and
//!   build the chain with `Nsec3Chain::from_names`.
//! - Refresh: `RrsigFields::parse(rrsig).needs_refresh(now, refresh)` in the background.
//! - Queries (DO=1): positive answers append the stored RRSIGs; NODATA uses
//!   [`nsec3::minimally_matching`] or [`nsec::minimal_nodata`] with the node's bitmap (the
//!   chain's own record, `get`, would give away the next name or hash); NXDOMAIN uses [`nsec3::nxdomain_proof`] or [`nsec::white_lies`] with
//!   the closest encloser from [`name::closest_encloser`], signing the 2-3 records per query;
//!   a wildcard answer adds `nsec3::minimally_covering` of the next closer name.
//!
//! # What each denial mode reveals
//!
//! Shared DDNS zones hold many users' hostnames; a denial proof should not hand them out.
//!
//! - **NSEC chain** ([`nsec::NsecChain`], RFC 4034 §4): each NSEC names the next existing name,
//!   so anyone can list the whole zone with one query per name ("zone walking"). Fine for a
//!   hosted zone whose owner does not mind; wrong for a shared zone.
//! - **NSEC3 chain** ([`nsec3::Nsec3Chain`], RFC 5155) with RFC 9276 parameters (SHA-1, no extra
//!   iterations, empty salt): the owner names are hashes, but the chain still hands out every
//!   hash, one query per hash, and an unsalted single SHA-1 costs an attacker nothing: a
//!   dictionary of likely hostnames (`home`, `nas`, `pi`, first names...) or all short labels
//!   can be hashed offline at billions per second on a GPU, recovering most of the names of a
//!   DDNS zone. Iterations or salt would not change that much (RFC 9276 §2.4 explains why it
//!   drops them), so NSEC3 alone only slows a casual walker.
//! - **Minimally covering records** ([`nsec::white_lies`], RFC 4470 "white lies", and
//!   [`nsec3::minimally_covering`], its NSEC3 analogue in hash space, PowerDNS's "narrow"
//!   mode): made per query, signed on the fly, each covering only the queried name
//!   (NSEC: its immediate predecessor to its immediate successor; NSEC3: hash-1 to hash+1), so
//!   a denial says nothing about any other name. They reveal nothing beyond the answer to the
//!   question asked (a name exists or not, which a plain query tells anyway); the cost is one
//!   signature per NXDOMAIN answer (rates in the benchmark of this module's tests), which also
//!   makes NXDOMAIN floods cost CPU (response rate limiting bounds that).
//!
//! # Cost
//!
//! `dnssec::bench` on the development machine (2 shared cores, release build): ECDSA P-256
//! about 41,000-44,000 RRSIGs/s (23-24 us each), Ed25519 about 28,000/s (35 us) — the same with
//! ring at the workspace's opt-level "z" or at 3, its hot code being C and assembly; NSEC3
//! hashes (RFC 9276 parameters) about 1.8-2.0 million/s; an NSEC3 chain of 1,000,000 names
//! bulk-built in 0.7 s (about 27 MiB), one remove plus insert in it 2.6 us. Signing a
//! million-name zone from nothing is therefore some 23 s of CPU: RRSIGs must be stored with
//! the records and loaded, never recomputed at start-up; a write costs one signature per changed
//! RRset plus one or two per changed NSEC3/NSEC record.
//!
//! The incremental chains stay useful with minimally covering answers: NODATA answers and the
//! closest-encloser proof of NSEC3 need the record of a name that exists, and `zone export`
//! and zone transfers carry the real chain.

pub mod bitmap;
pub mod config;
pub mod keys;
pub mod name;
pub mod nsec;
pub mod nsec3;
pub mod sign;
pub mod text;

#[cfg(test)]
mod bench;
#[cfg(test)]
mod test_util;
#[cfg(test)]
mod zone_tests;

pub use bitmap::{node_bitmap, Denial, NodeKind, TypeBitmap};
pub use config::{DnssecConfig, KeyState};
pub use keys::{
    apex_key_sets, Algorithm, ApexKeySets, CdsState, DigestType, Dnskey, Ds, SigningKey,
};
pub use sign::{serial_lt, RrsetSigner, RrsigFields, Validity, ZoneKey};

use std::fmt;

/// RR type codes this module needs (IANA "Resource Record (RR) TYPEs").
pub mod rtype {
    pub const A: u16 = 1;
    pub const NS: u16 = 2;
    pub const CNAME: u16 = 5;
    pub const SOA: u16 = 6;
    pub const MX: u16 = 15;
    pub const TXT: u16 = 16;
    pub const AAAA: u16 = 28;
    pub const SRV: u16 = 33;
    pub const DS: u16 = 43;
    pub const RRSIG: u16 = 46;
    pub const NSEC: u16 = 47;
    pub const DNSKEY: u16 = 48;
    pub const NSEC3: u16 = 50;
    pub const NSEC3PARAM: u16 = 51;
    pub const CDS: u16 = 59;
    pub const CDNSKEY: u16 = 60;
    pub const SPF: u16 = 99;
    pub const CAA: u16 = 257;
}

/// What can go wrong in this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A name is not a well-formed wire (or presentation) name.
    BadName,
    /// Malformed RDATA or RRset input.
    BadRdata,
    /// An owner name outside the zone of the key or chain.
    NotInZone,
    /// A key that cannot be used, with ring's (or our) reason. Never holds key material.
    BadKey(&'static str),
    UnsupportedAlgorithm(u8),
    /// NSEC3 parameters this module does not produce (hash algorithm other than SHA-1).
    UnsupportedNsec3Param,
    /// The system random source or the signer failed.
    Crypto,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadName => f.write_str("malformed domain name"),
            Error::BadRdata => f.write_str("malformed RDATA"),
            Error::NotInZone => f.write_str("name outside the zone"),
            Error::BadKey(why) => write!(f, "unusable DNSSEC key: {why}"),
            Error::UnsupportedAlgorithm(n) => write!(f, "unsupported DNSSEC algorithm {n}"),
            Error::UnsupportedNsec3Param => f.write_str("unsupported NSEC3 parameters"),
            Error::Crypto => f.write_str("cryptographic operation failed"),
        }
    }
}

impl std::error::Error for Error {}
