//! Server side, receiving: the TSIG error codes (`TsigError`), verification of a signed
//! request (`verify_request`, RFC 8945 §5.2) and its two outcomes, `ServerTsig` (verified: the
//! key and what the answer's signature needs) and `TsigReject` (the error to answer with).
//!
//! Signing the answer, for either outcome, is in `sign.rs` (single messages) and `stream.rs`
//! (multi-message responses); the record parsing in `record.rs`, the digests in `mac.rs`.

use std::fmt;
use std::sync::Arc;

use ring::hmac;

use super::key::alg_wire;
use super::mac::{digest_message, digest_variables, mac_matches};
use super::record::{find_tsig, wire_to_text, Malformed, TsigRr};
use super::{TsigKey, RCODE_FORMERR, RCODE_NOTAUTH};

/// TSIG error codes (RFC 8945 §3, the TSIG Error field) this module reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsigError {
    /// The TSIG RR could not be interpreted, or is not the last record: answer FORMERR
    /// without a TSIG (RFC 8945 §5.2).
    FormErr,
    /// 16: the MAC does not verify (RFC 8945 §5.2.2).
    BadSig,
    /// 17: unknown key name or algorithm (RFC 8945 §5.2.1).
    BadKey,
    /// 18: Time Signed outside now ± fudge (RFC 8945 §5.2.3).
    BadTime,
    /// 22: the MAC is truncated below what we accept (RFC 8945 §5.2.4).
    BadTrunc,
}

impl TsigError {
    /// The value of the TSIG Error field (0 for FormErr, which has no TSIG answer).
    pub fn code(self) -> u16 {
        match self {
            TsigError::FormErr => 0,
            TsigError::BadSig => 16,
            TsigError::BadKey => 17,
            TsigError::BadTime => 18,
            TsigError::BadTrunc => 22,
        }
    }

    pub(super) fn from_code(code: u16) -> Option<Self> {
        match code {
            16 => Some(TsigError::BadSig),
            17 => Some(TsigError::BadKey),
            18 => Some(TsigError::BadTime),
            22 => Some(TsigError::BadTrunc),
            _ => None,
        }
    }

    /// The message RCODE of the answer: FORMERR for FormErr, NOTAUTH for the others (RFC 8945 §5.2).
    pub fn rcode(self) -> u8 {
        match self {
            TsigError::FormErr => RCODE_FORMERR,
            _ => RCODE_NOTAUTH,
        }
    }
}

impl fmt::Display for TsigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TsigError::FormErr => "FORMERR",
            TsigError::BadSig => "BADSIG",
            TsigError::BadKey => "BADKEY",
            TsigError::BadTime => "BADTIME",
            TsigError::BadTrunc => "BADTRUNC",
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Server side

/// A request whose TSIG verified: the key (for authorisation) and what signing the answer
/// needs (RFC 8945 §4.3.2: the request MAC).
#[derive(Debug, Clone)]
pub struct ServerTsig {
    pub(super) key: Arc<TsigKey>,
    pub(super) request_mac: Vec<u8>,
    pub(super) original_id: u16,
}

/// A signed request that failed verification, with what its answer needs (RFC 8945 §5.2,
/// §5.3.2).
#[derive(Debug, Clone)]
pub struct TsigReject {
    pub(super) error: TsigError,
    /// The request's TSIG, to echo key and algorithm names and (BADTIME) its Time Signed
    /// (boxed: rejections travel in `Err` and should stay small).
    pub(super) rr: Option<Box<TsigRr>>,
    /// The key, when the MAC verified (BADTIME, BADTRUNC answers are signed with it).
    pub(super) key: Option<Arc<TsigKey>>,
}

/// Verify the TSIG of a received request (RFC 8945 §5.2): `Ok(None)` for an unsigned message,
/// `Ok(Some(_))` when key, MAC, time and MAC length are all good, otherwise the rejection to
/// answer with. `lookup` gets the key name (lowercase, no trailing dot) and returns the key
/// the caller knows by that name; a key whose algorithm differs from the request's is BADKEY.
///
/// Checks run in the RFC's order: key (§5.2.1), MAC (§5.2.2), time (§5.2.3), truncation
/// (§5.2.4). A MAC shorter than the larger of 10 octets and half the hash, or longer than the
/// hash, is FORMERR (§5.2.2.1); a shorter MAC that verifies is BADTRUNC, as lucentd's local
/// policy accepts only untruncated MACs. A message with additional records that does not
/// parse as DNS at all (records running past its end, bytes after the last one) is FormErr
/// too, whether or not it carries a TSIG.
pub fn verify_request<F>(msg: &[u8], now: u64, lookup: F) -> Result<Option<ServerTsig>, TsigReject>
where
    F: FnOnce(&str) -> Option<Arc<TsigKey>>,
{
    let reject = |error, rr: Option<&TsigRr>, key: Option<&Arc<TsigKey>>| TsigReject {
        error,
        rr: rr.cloned().map(Box::new),
        key: key.cloned(),
    };
    // Most queries carry no additional record at all: no need to walk them.
    if msg.len() >= 12 && msg[10..12] == [0, 0] {
        return Ok(None);
    }
    let rr = match find_tsig(msg) {
        Ok(Some(rr)) => rr,
        Ok(None) => return Ok(None),
        Err(Malformed) => return Err(reject(TsigError::FormErr, None, None)),
    };
    // §5.2.1: key name and algorithm must both match a key we have.
    let key = match lookup(&wire_to_text(&rr.key_wire)) {
        Some(k) if alg_wire(k.algorithm) == rr.alg_wire => k,
        _ => return Err(reject(TsigError::BadKey, Some(&rr), None)),
    };
    let full = key.algorithm.mac_len();
    // §5.2.2.1: MAC sizes outside [max(10, L/2), L] cannot be checked at all.
    if rr.mac.len() > full || rr.mac.len() < (full / 2).max(10) {
        return Err(reject(TsigError::FormErr, Some(&rr), None));
    }
    // §5.2.2 with the digest of §4.3.1 / §4.3.3.
    let mut ctx = hmac::Context::with_key(&key.hmac);
    digest_message(&mut ctx, msg, rr.start, rr.original_id, true);
    digest_variables(
        &mut ctx,
        &rr.key_wire,
        &rr.alg_wire,
        rr.time_signed,
        rr.fudge,
        rr.error,
        &rr.other,
    );
    if !mac_matches(ctx.sign().as_ref(), &rr.mac) {
        return Err(reject(TsigError::BadSig, Some(&rr), None));
    }
    // §5.2.3: only after the MAC, so an attacker cannot probe our clock.
    if now.abs_diff(rr.time_signed) > u64::from(rr.fudge) {
        return Err(reject(TsigError::BadTime, Some(&rr), Some(&key)));
    }
    // §5.2.4.
    if rr.mac.len() < full {
        return Err(reject(TsigError::BadTrunc, Some(&rr), Some(&key)));
    }
    Ok(Some(ServerTsig {
        key,
        request_mac: rr.mac,
        original_id: rr.original_id,
    }))
}
