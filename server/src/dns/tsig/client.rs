//! Client side, for messages lucentd sends itself (NOTIFY, and tests that play secondary):
//! signing a request (`sign_request`, RFC 8945 §5.1) and verifying the single or
//! multi-message response (`ClientTsig`, `ResponseTsig`, `ResponseError`, §5.4, §5.3.1).
//!
//! The server side of the same exchange is in `verify.rs`, `sign.rs` and `stream.rs`; the
//! record parsing in `record.rs`, the digests in `mac.rs`.

use std::fmt;
use std::sync::Arc;

use ring::hmac;

use super::key::alg_wire;
use super::mac::{digest_message, digest_prior_mac, digest_timers, digest_variables, mac_matches};
use super::record::{append_tsig, find_tsig, Malformed};
use super::sign::check_header;
use super::{SignError, TsigError, TsigKey, DEFAULT_FUDGE, MAX_UNSIGNED_RUN};

// ---------------------------------------------------------------------------------------------
// Client side (requests lucentd sends: NOTIFY, and tests that play secondary)

/// Sign a request (RFC 8945 §5.1): `msg` is the complete request; the TSIG RR is appended. The
/// returned `ClientTsig` verifies the response(s).
pub fn sign_request(
    key: Arc<TsigKey>,
    msg: &mut Vec<u8>,
    now: u64,
) -> Result<ClientTsig, SignError> {
    check_header(msg)?;
    let original_id = u16::from_be_bytes([msg[0], msg[1]]);
    let alg = alg_wire(key.algorithm);
    let mut ctx = hmac::Context::with_key(&key.hmac);
    digest_message(&mut ctx, msg, msg.len(), original_id, false);
    digest_variables(&mut ctx, &key.name_wire, &alg, now, DEFAULT_FUDGE, 0, &[]);
    let mac = ctx.sign();
    append_tsig(
        msg,
        &key.name_wire,
        &alg,
        now,
        DEFAULT_FUDGE,
        mac.as_ref(),
        original_id,
        0,
        &[],
    );
    Ok(ClientTsig {
        key,
        prior_mac: mac.as_ref().to_vec(),
        running: None,
        unsigned: 0,
    })
}

/// What a response carried, when it verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseTsig {
    /// Signed and verified.
    Signed,
    /// An intermediate message of a multi-message response without TSIG (allowed by RFC 8945
    /// §5.3.1); it is covered by the next signed one.
    Unsigned,
}

/// A response that did not verify (RFC 8945 §5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseError {
    /// Not a DNS message or a malformed TSIG RR.
    Malformed,
    /// No TSIG where one is required: the first message, or after 99 unsigned ones.
    Unsigned,
    /// The TSIG names another key or algorithm.
    WrongKey,
    /// The MAC does not verify, or is truncated (we accept full MACs only, §5.4.4).
    BadSig,
    /// Time Signed outside now ± fudge (§5.4.3).
    BadTime,
    /// The server answered with a TSIG error (§5.4.1–§5.4.4): BADKEY and BADSIG answers are
    /// unsigned, so nothing about them is verified.
    Server(u16),
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::Malformed => f.write_str("malformed response or TSIG record"),
            ResponseError::Unsigned => f.write_str("response is not signed"),
            ResponseError::WrongKey => f.write_str("response signed with another key"),
            ResponseError::BadSig => f.write_str("response MAC does not verify"),
            ResponseError::BadTime => f.write_str("response signed outside the time window"),
            ResponseError::Server(code) => match TsigError::from_code(*code) {
                Some(e) => write!(f, "server answered TSIG error {e}"),
                None => write!(f, "server answered TSIG error {code}"),
            },
        }
    }
}

impl std::error::Error for ResponseError {}

/// Verifies the response(s) to a request we signed, single or multi-message (RFC 8945 §5.4,
/// §5.3.1).
pub struct ClientTsig {
    key: Arc<TsigKey>,
    prior_mac: Vec<u8>,
    /// Digest of prior MAC and unsigned messages since, after the first signed response.
    running: Option<hmac::Context>,
    unsigned: usize,
}

impl fmt::Debug for ClientTsig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTsig")
            .field("key", &self.key.name)
            .field("unsigned", &self.unsigned)
            .finish()
    }
}

impl ClientTsig {
    /// Verify the next response message.
    pub fn verify(&mut self, msg: &[u8], now: u64) -> Result<ResponseTsig, ResponseError> {
        let rr = match find_tsig(msg) {
            Err(Malformed) => return Err(ResponseError::Malformed),
            Ok(None) => {
                let Some(ctx) = self.running.as_mut() else {
                    return Err(ResponseError::Unsigned);
                };
                if self.unsigned >= MAX_UNSIGNED_RUN {
                    return Err(ResponseError::Unsigned);
                }
                ctx.update(msg);
                self.unsigned += 1;
                return Ok(ResponseTsig::Unsigned);
            }
            Ok(Some(rr)) => rr,
        };
        if rr.key_wire != self.key.name_wire || rr.alg_wire != alg_wire(self.key.algorithm) {
            return Err(ResponseError::WrongKey);
        }
        if rr.mac.is_empty() && rr.error != 0 {
            // §5.4.1, §5.4.2: BADKEY / BADSIG answers come unsigned.
            return Err(ResponseError::Server(rr.error));
        }
        if rr.mac.len() != self.key.algorithm.mac_len() {
            return Err(ResponseError::BadSig);
        }
        let mac = match self.running.take() {
            None => {
                let mut ctx = hmac::Context::with_key(&self.key.hmac);
                digest_prior_mac(&mut ctx, &self.prior_mac);
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
                ctx.sign()
            }
            Some(mut ctx) => {
                digest_message(&mut ctx, msg, rr.start, rr.original_id, true);
                digest_timers(&mut ctx, rr.time_signed, rr.fudge);
                ctx.sign()
            }
        };
        if !mac_matches(mac.as_ref(), &rr.mac) {
            return Err(ResponseError::BadSig);
        }
        if rr.error != 0 {
            // A signed error (BADTIME with the server's clock in Other Data, BADTRUNC).
            return Err(ResponseError::Server(rr.error));
        }
        if now.abs_diff(rr.time_signed) > u64::from(rr.fudge) {
            return Err(ResponseError::BadTime);
        }
        self.prior_mac = rr.mac;
        let mut ctx = hmac::Context::with_key(&self.key.hmac);
        digest_prior_mac(&mut ctx, &self.prior_mac);
        self.running = Some(ctx);
        self.unsigned = 0;
        Ok(ResponseTsig::Signed)
    }
}
