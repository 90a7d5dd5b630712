//! Server side, answering: signing a single response to a verified request
//! (`ServerTsig::sign_response`, RFC 8945 §4.3.2) and the TSIG RR of an error answer
//! (`TsigReject::sign_error_response`, §5.3.2), with the signing error type (`SignError`) and
//! the header check every signer shares.
//!
//! Verification of the request is in `verify.rs`; multi-message responses are signed by
//! `TsigStream` in `stream.rs`, which `sign_response` also uses for its single message.

use std::fmt;
use std::sync::Arc;

use ring::hmac;

use super::mac::{digest_message, digest_prior_mac, digest_variables};
use super::record::{append_tsig, tsig_rr_len, wire_to_text};
use super::{ServerTsig, TsigError, TsigKey, TsigReject, TsigStream, DEFAULT_FUDGE};

/// Messages shorter than a header cannot be signed; everything else here needs one.
pub(super) fn check_header(msg: &[u8]) -> Result<(), SignError> {
    if msg.len() < 12 {
        Err(SignError::NotAMessage)
    } else {
        Ok(())
    }
}

/// A message could not be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignError {
    /// Shorter than a DNS header.
    NotAMessage,
    /// The first message and the last of a multi-message response, and every 100th, must be
    /// signed (RFC 8945 §5.3.1).
    MustSign,
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignError::NotAMessage => "not a DNS message (shorter than a header)",
            SignError::MustSign => "this message of the response must be signed (RFC 8945 5.3.1)",
        })
    }
}

impl std::error::Error for SignError {}

impl ServerTsig {
    /// The key that signed the request.
    pub fn key(&self) -> &Arc<TsigKey> {
        &self.key
    }

    /// Bytes the TSIG RR adds to a response: leave this much room under the UDP payload size.
    pub fn tsig_len(&self) -> usize {
        tsig_rr_len(&self.key, 0)
    }

    /// Sign a single-message response (RFC 8945 §4.3.2, §5.3): `response` is the complete
    /// answer without TSIG; the TSIG RR is appended and ARCOUNT incremented.
    pub fn sign_response(&self, response: &mut Vec<u8>, now: u64) -> Result<(), SignError> {
        let mut stream = TsigStream::new(self.clone());
        stream.sign(response, now)
    }

    /// The signer for a multi-message response (AXFR, IXFR over TCP, RFC 8945 §5.3.1).
    pub fn into_stream(self) -> TsigStream {
        TsigStream::new(self)
    }
}

impl TsigReject {
    pub fn error(&self) -> TsigError {
        self.error
    }

    /// RCODE for the answer's header: FORMERR or NOTAUTH.
    pub fn rcode(&self) -> u8 {
        self.error.rcode()
    }

    /// The key name the request named, when it could be read (for logs).
    pub fn key_name(&self) -> Option<String> {
        self.rr.as_ref().map(|rr| wire_to_text(&rr.key_wire))
    }

    /// Bytes `sign_error_response` adds (0 for FORMERR).
    pub fn tsig_len(&self) -> usize {
        match (&self.rr, self.error) {
            (None, _) | (_, TsigError::FormErr) => 0,
            (Some(rr), e) => {
                let signed = self.key.as_ref().map_or(0, |k| k.algorithm.mac_len());
                let other = if e == TsigError::BadTime { 6 } else { 0 };
                rr.key_wire.len() + 10 + rr.alg_wire.len() + 10 + signed + 6 + other
            }
        }
    }

    /// Append the TSIG RR an error answer carries (RFC 8945 §5.3.2): none for FORMERR; for
    /// BADKEY and BADSIG an unsigned one (MAC Size 0) naming the request's key and algorithm;
    /// for BADTIME one signed with the key, the request's Time Signed and our time in Other
    /// Data (§5.2.3); for BADTRUNC one signed with the key. `response` is the answer with
    /// the header RCODE already set (see `rcode`).
    pub fn sign_error_response(&self, response: &mut Vec<u8>, now: u64) -> Result<(), SignError> {
        check_header(response)?;
        let Some(rr) = &self.rr else { return Ok(()) };
        if self.error == TsigError::FormErr {
            return Ok(());
        }
        let code = self.error.code();
        match &self.key {
            None => {
                append_tsig(
                    response,
                    &rr.key_wire,
                    &rr.alg_wire,
                    now,
                    DEFAULT_FUDGE,
                    &[],
                    rr.original_id,
                    code,
                    &[],
                );
            }
            Some(key) => {
                let (time, other) = if self.error == TsigError::BadTime {
                    (rr.time_signed, now.to_be_bytes()[2..].to_vec())
                } else {
                    (now, Vec::new())
                };
                let mut ctx = hmac::Context::with_key(&key.hmac);
                digest_prior_mac(&mut ctx, &rr.mac);
                digest_message(&mut ctx, response, response.len(), rr.original_id, false);
                digest_variables(
                    &mut ctx,
                    &key.name_wire,
                    &rr.alg_wire,
                    time,
                    DEFAULT_FUDGE,
                    code,
                    &other,
                );
                let mac = ctx.sign();
                append_tsig(
                    response,
                    &key.name_wire,
                    &rr.alg_wire,
                    time,
                    DEFAULT_FUDGE,
                    mac.as_ref(),
                    rr.original_id,
                    code,
                    &other,
                );
            }
        }
        Ok(())
    }
}
