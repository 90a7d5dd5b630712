//! The MAC computation of RFC 8945 §4.3: what goes into the HMAC digest of a message (the
//! message with its TSIG removed, the TSIG variables, the timers, a prior MAC) and the
//! constant-time comparison of a received MAC.
//!
//! This file only feeds `ring::hmac` contexts: finding the TSIG record is in `record.rs`, and
//! the order in which digests are built and checked is up to `verify.rs`, `sign.rs`,
//! `stream.rs` and `client.rs`.

use ring::hmac;

use super::CLASS_ANY;

// ---------------------------------------------------------------------------------------------
// MAC computation (RFC 8945 §4.3)

/// Digest `msg[..end]` as RFC 8945 §4.3.3 says: the message as it was before the TSIG RR was
/// added, i.e. with ARCOUNT one less (when `tsig_removed`) and the Original ID as message ID.
/// Callers have checked that `msg` holds a header (`find_tsig` or `check_header`), so the
/// slicing cannot panic.
pub(super) fn digest_message(
    ctx: &mut hmac::Context,
    msg: &[u8],
    end: usize,
    original_id: u16,
    tsig_removed: bool,
) {
    let mut header = [0u8; 12];
    header.copy_from_slice(&msg[..12]);
    header[..2].copy_from_slice(&original_id.to_be_bytes());
    if tsig_removed {
        let ar = u16::from_be_bytes([header[10], header[11]]).wrapping_sub(1);
        header[10..12].copy_from_slice(&ar.to_be_bytes());
    }
    ctx.update(&header);
    ctx.update(&msg[12..end]);
}

/// The TSIG variables (RFC 8945 §4.3.3): key name, class, TTL, algorithm name (both names in
/// canonical form), Time Signed, Fudge, Error, Other Len, Other Data.
pub(super) fn digest_variables(
    ctx: &mut hmac::Context,
    key_wire: &[u8],
    alg_wire: &[u8],
    time_signed: u64,
    fudge: u16,
    error: u16,
    other: &[u8],
) {
    ctx.update(key_wire);
    ctx.update(&CLASS_ANY.to_be_bytes());
    ctx.update(&0u32.to_be_bytes());
    ctx.update(alg_wire);
    digest_timers(ctx, time_signed, fudge);
    ctx.update(&error.to_be_bytes());
    ctx.update(&(other.len() as u16).to_be_bytes());
    ctx.update(other);
}

/// Time Signed (48 bits) and Fudge: all the TSIG variables later messages of a multi-message
/// response digest (RFC 8945 §5.3.1).
pub(super) fn digest_timers(ctx: &mut hmac::Context, time_signed: u64, fudge: u16) {
    ctx.update(&time_signed.to_be_bytes()[2..]);
    ctx.update(&fudge.to_be_bytes());
}

/// A previous MAC as it enters a digest: MAC Size then MAC (RFC 8945 §4.3.1, §4.3.2, §5.3.1).
pub(super) fn digest_prior_mac(ctx: &mut hmac::Context, mac: &[u8]) {
    ctx.update(&(mac.len() as u16).to_be_bytes());
    ctx.update(mac);
}

/// Constant-time comparison of the first `b.len()` octets of `full` with `b`.
pub(super) fn mac_matches(full: &[u8], b: &[u8]) -> bool {
    if b.is_empty() || b.len() > full.len() {
        return false;
    }
    full.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
