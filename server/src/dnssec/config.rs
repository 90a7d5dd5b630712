//! The `[dnssec]` settings as the rest of the server uses them (SPEC.md "DNSSEC").

use super::{Algorithm, Denial};

/// How zones are signed. `enabled` is the default for new zones (and for zones older than
/// DNSSEC support, on the first start); `zone dnssec` switches one zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnssecConfig {
    pub enabled: bool,
    pub algorithm: Algorithm,
    pub denial: Denial,
    /// Signatures are valid this long after they are made (seconds).
    pub validity_secs: u64,
    /// Re-sign (and bump the serial) when less than this is left (seconds).
    pub refresh_secs: u64,
}

/// Inception is back-dated by this much, for validators whose clocks run behind (BIND and Knot
/// do the same, by an hour or more).
pub const INCEPTION_BACKDATE_SECS: u64 = 3600;

impl Default for DnssecConfig {
    fn default() -> Self {
        DnssecConfig {
            enabled: true,
            algorithm: Algorithm::EcdsaP256Sha256,
            denial: Denial::Nsec3,
            validity_secs: 14 * 86400,
            refresh_secs: 7 * 86400,
        }
    }
}

/// A key's part in signing (a CSK: one key per zone, two during a rollover).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Signs every RRset.
    Active,
    /// Published in a rollover: signs the DNSKEY RRset; CDS/CDNSKEY ask the parent for its DS.
    Incoming,
    /// Replaced: still published (and signing the DNSKEY RRset) until it is retired.
    Retiring,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Active => "active",
            KeyState::Incoming => "incoming",
            KeyState::Retiring => "retiring",
        }
    }
    pub fn parse(s: &str) -> KeyState {
        match s {
            "incoming" => KeyState::Incoming,
            "retiring" => KeyState::Retiring,
            _ => KeyState::Active,
        }
    }
}
