//! Server side, multi-message responses (AXFR, IXFR over TCP): `TsigStream` signs the
//! messages in order, chaining each MAC to the previous one and letting up to 99 messages in a
//! row go unsigned (RFC 8945 §5.3.1).
//!
//! It starts from a verified request (`ServerTsig`, `verify.rs`); the digests are in `mac.rs`,
//! the TSIG RR it appends in `record.rs`, and the client that checks such a stream in
//! `client.rs`.

use std::fmt;
use std::sync::Arc;

use ring::hmac;

use super::key::alg_wire;
use super::mac::{digest_message, digest_prior_mac, digest_timers, digest_variables};
use super::record::{append_tsig, tsig_rr_len};
use super::sign::check_header;
use super::{ServerTsig, SignError, TsigKey, DEFAULT_FUDGE, MAX_UNSIGNED_RUN};

/// Signs the messages of one multi-message response in order (RFC 8945 §5.3.1): the first
/// with the request MAC and all TSIG variables, later ones with the previous MAC, every
/// message sent since it, and the timers only. The transfer loop calls `sign` or `pass` for
/// every message it sends; `next` does the bookkeeping with a fixed signing interval.
pub struct TsigStream {
    key: Arc<TsigKey>,
    original_id: u16,
    /// The MAC the next signature chains from: the request MAC, then our last one.
    prior_mac: Vec<u8>,
    /// Digest of prior MAC and the unsigned messages since, once the first message is signed.
    running: Option<hmac::Context>,
    /// Unsigned messages since the last signed one.
    unsigned: usize,
    /// Sign every `interval`-th message (1..=100) in `next`.
    interval: usize,
    since_signed: usize,
}

impl fmt::Debug for TsigStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigStream")
            .field("key", &self.key.name)
            .field("unsigned", &self.unsigned)
            .field("interval", &self.interval)
            .finish()
    }
}

impl TsigStream {
    pub(super) fn new(server: ServerTsig) -> Self {
        TsigStream {
            key: server.key,
            original_id: server.original_id,
            prior_mac: server.request_mac,
            running: None,
            unsigned: 0,
            interval: 1,
            since_signed: 0,
        }
    }

    /// Let `next` sign only every `n`-th message (clamped to 1..=100) besides the first and
    /// the last. Signing costs one HMAC finalisation and ~100 bytes per message; the hashing
    /// of the message bytes happens either way.
    pub fn with_interval(mut self, n: usize) -> Self {
        self.interval = n.clamp(1, MAX_UNSIGNED_RUN + 1);
        self
    }

    /// Bytes a signed message grows by.
    pub fn tsig_len(&self) -> usize {
        tsig_rr_len(&self.key, 0)
    }

    /// Process the next message of the response: sign it when it is the first, the last
    /// (`last`) or the interval's turn, else digest it unsigned. Returns whether it was signed.
    pub fn next(&mut self, msg: &mut Vec<u8>, last: bool, now: u64) -> Result<bool, SignError> {
        let first = self.running.is_none();
        if first || last || self.since_signed + 1 >= self.interval {
            self.sign(msg, now)?;
            Ok(true)
        } else {
            self.pass(msg)?;
            Ok(false)
        }
    }

    /// Send this message unsigned: it enters the digest of the next signed one. Refused for
    /// the first message and after 99 unsigned ones in a row.
    pub fn pass(&mut self, msg: &[u8]) -> Result<(), SignError> {
        check_header(msg)?;
        let Some(ctx) = self.running.as_mut() else {
            return Err(SignError::MustSign);
        };
        if self.unsigned >= MAX_UNSIGNED_RUN {
            return Err(SignError::MustSign);
        }
        ctx.update(msg);
        self.unsigned += 1;
        self.since_signed += 1;
        Ok(())
    }

    /// Sign this message (appending its TSIG RR).
    pub fn sign(&mut self, msg: &mut Vec<u8>, now: u64) -> Result<(), SignError> {
        check_header(msg)?;
        let alg = alg_wire(self.key.algorithm);
        let mac = match self.running.take() {
            None => {
                // §4.3.2: request MAC, this message, all TSIG variables.
                let mut ctx = hmac::Context::with_key(&self.key.hmac);
                digest_prior_mac(&mut ctx, &self.prior_mac);
                digest_message(&mut ctx, msg, msg.len(), self.original_id, false);
                digest_variables(
                    &mut ctx,
                    &self.key.name_wire,
                    &alg,
                    now,
                    DEFAULT_FUDGE,
                    0,
                    &[],
                );
                ctx.sign()
            }
            Some(mut ctx) => {
                // §5.3.1: prior MAC and unsigned messages (already in `ctx`), this message,
                // the timers.
                digest_message(&mut ctx, msg, msg.len(), self.original_id, false);
                digest_timers(&mut ctx, now, DEFAULT_FUDGE);
                ctx.sign()
            }
        };
        append_tsig(
            msg,
            &self.key.name_wire,
            &alg,
            now,
            DEFAULT_FUDGE,
            mac.as_ref(),
            self.original_id,
            0,
            &[],
        );
        self.prior_mac = mac.as_ref().to_vec();
        let mut ctx = hmac::Context::with_key(&self.key.hmac);
        digest_prior_mac(&mut ctx, &self.prior_mac);
        self.running = Some(ctx);
        self.unsigned = 0;
        self.since_signed = 0;
        Ok(())
    }
}
