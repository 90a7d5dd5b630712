//! TSIG on ordinary queries (RFC 8945 §5.2, §5.3): secondaries sign the SOA query they send
//! before each refresh, over UDP or TCP, and expect the answer signed with the same key; so
//! do DNS UPDATE clients that look the zone up first. A
//! signed query that fails verification is answered with the TSIG error (NOTAUTH, or FORMERR
//! for a TSIG that cannot be read) and no data.

use super::super::tsig::{self, ServerTsig};
use super::super::DnsView;

/// What the TSIG of a query says.
pub(crate) enum Signed {
    /// No TSIG: answer as usual.
    Unsigned,
    /// Verified: answer, leaving room for the signature, then sign.
    Verified(ServerTsig),
    /// Failed: this is the whole answer.
    Rejected(Vec<u8>),
}

/// Check the TSIG of `query` against the configured keys.
pub(crate) fn check(view: &DnsView, query: &[u8]) -> Signed {
    let now = crate::clock::unix_now();
    let xfr = view.xfr.as_ref();
    // The configured keys, then the users' UPDATE keys: an RFC 2136 client (certbot's plugin)
    // signs the SOA query it finds the zone with, and expects a signed answer.
    let lookup = |name: &str| {
        xfr.and_then(|x| x.cfg.key(name))
            .or_else(|| view.update.get().and_then(|h| h.key(name)))
    };
    match tsig::verify_request(query, now, lookup) {
        Ok(None) => Signed::Unsigned,
        Ok(Some(s)) => Signed::Verified(s),
        Err(reject) => Signed::Rejected(rejection(query, &reject, now, "signed query")),
    }
}

/// The answer to a request whose TSIG failed (RFC 8945 §5.2, §5.3.2): the header and question
/// with NOTAUTH (or FORMERR) and the TSIG error record; logged as `what`.
pub(crate) fn rejection(query: &[u8], reject: &tsig::TsigReject, now: u64, what: &str) -> Vec<u8> {
    log::warn!(
        "dns: {what} rejected: {} (key {:?})",
        reject.error(),
        reject.key_name().unwrap_or_default()
    );
    let mut out = error_answer(query, reject.rcode());
    if let Err(e) = reject.sign_error_response(&mut out, now) {
        log::debug!("dns: TSIG error answer: {e}");
    }
    out
}

/// Sign an answer to a verified query.
pub(crate) fn sign(server: &ServerTsig, answer: &mut Vec<u8>) {
    if let Err(e) = server.sign_response(answer, crate::clock::unix_now()) {
        log::warn!("dns: signing an answer: {e}");
    }
}

/// Offset just past the first question (uncompressed name, type, class).
pub(crate) fn question_end(msg: &[u8]) -> Option<usize> {
    let mut pos = 12;
    loop {
        let l = usize::from(*msg.get(pos)?);
        if l == 0 {
            pos += 1;
            break;
        }
        if l > 63 {
            return None;
        }
        pos += 1 + l;
    }
    (pos + 4 <= msg.len() && msg.get(4..6) == Some(&[0, 1])).then_some(pos + 4)
}

/// A header-only answer (plus the question, when it has one) with `rcode`: ID and opcode
/// copied, QR set, RD copied (RFC 1035 §4.1.1).
pub(crate) fn error_answer(query: &[u8], rcode: u8) -> Vec<u8> {
    let end = question_end(query).unwrap_or(12).min(query.len());
    let mut out = query[..end.max(12).min(query.len())].to_vec();
    out.resize(out.len().max(12), 0);
    out[2] = 0x80 | (query.get(2).copied().unwrap_or(0) & 0x79);
    out[3] = rcode & 0x0F;
    let qd: u16 = if end > 12 { 1 } else { 0 };
    out[4..6].copy_from_slice(&qd.to_be_bytes());
    out[6..12].fill(0);
    out
}
