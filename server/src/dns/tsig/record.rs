//! The TSIG RR on the wire (RFC 8945 §4.2): walking a message to find its TSIG record and
//! parsing it (`find_tsig`, `TsigRr`), the name helpers that reading needs, and building a TSIG
//! RR onto a message (`append_tsig`, `tsig_rr_len`).
//!
//! Nothing here computes or checks a MAC: the digests are in `mac.rs`, and what to do with a
//! record that was found (verify, answer, chain) is in `verify.rs`, `sign.rs`, `stream.rs` and
//! `client.rs`.

use super::{TsigKey, CLASS_ANY, TYPE_TSIG};

// ---------------------------------------------------------------------------------------------
// Wire parsing

/// A message that is not well-formed DNS, or whose TSIG RR is malformed.
#[derive(Debug)]
pub(super) struct Malformed;

pub(super) type Wire<T> = Result<T, Malformed>;

pub(super) fn be16(msg: &[u8], pos: usize) -> Wire<u16> {
    match msg.get(pos..pos + 2) {
        Some(b) => Ok(u16::from_be_bytes([b[0], b[1]])),
        None => Err(Malformed),
    }
}

pub(super) fn be48(msg: &[u8], pos: usize) -> Wire<u64> {
    let b = msg.get(pos..pos + 6).ok_or(Malformed)?;
    Ok(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
}

/// Read a possibly compressed name (RFC 1035 §4.1.4): the name lowercased in canonical wire
/// form and the position after it in the message.
pub(super) fn read_name(msg: &[u8], mut pos: usize) -> Wire<(Vec<u8>, usize)> {
    let mut wire = Vec::new();
    let mut end = None;
    let mut jumps = 0;
    loop {
        let len = *msg.get(pos).ok_or(Malformed)? as usize;
        match len & 0xC0 {
            0x00 if len == 0 => {
                wire.push(0);
                if wire.len() > 255 {
                    return Err(Malformed);
                }
                return Ok((wire, end.unwrap_or(pos + 1)));
            }
            0x00 => {
                let label = msg.get(pos + 1..pos + 1 + len).ok_or(Malformed)?;
                wire.push(len as u8);
                wire.extend(label.iter().map(u8::to_ascii_lowercase));
                if wire.len() > 255 {
                    return Err(Malformed);
                }
                pos += 1 + len;
            }
            0xC0 => {
                let low = *msg.get(pos + 1).ok_or(Malformed)? as usize;
                end.get_or_insert(pos + 2);
                jumps += 1;
                // 128 pointers cannot be needed by a name of at most 255 octets: a loop.
                if jumps > 128 {
                    return Err(Malformed);
                }
                pos = ((len & 0x3F) << 8) | low;
            }
            _ => return Err(Malformed),
        }
    }
}

/// Position after a possibly compressed name.
pub(super) fn skip_name(msg: &[u8], mut pos: usize) -> Wire<usize> {
    loop {
        let len = *msg.get(pos).ok_or(Malformed)? as usize;
        match len & 0xC0 {
            0x00 if len == 0 => return Ok(pos + 1),
            0x00 => pos += 1 + len,
            0xC0 if pos + 2 <= msg.len() => return Ok(pos + 2),
            _ => return Err(Malformed),
        }
    }
}

/// Wire name (canonical) to text: lowercase, no trailing dot, unusual octets as `\DDD`.
pub(super) fn wire_to_text(wire: &[u8]) -> String {
    let mut out = String::new();
    let mut pos = 0;
    while let Some(&len) = wire.get(pos) {
        if len == 0 {
            break;
        }
        if !out.is_empty() {
            out.push('.');
        }
        for &b in wire.get(pos + 1..pos + 1 + len as usize).unwrap_or(&[]) {
            if b.is_ascii_graphic() && b != b'.' && b != b'\\' && b != b'"' {
                out.push(b as char);
            } else {
                out.push_str(&format!("\\{b:03}"));
            }
        }
        pos += 1 + len as usize;
    }
    out
}

/// The TSIG RR of a message, as found by `find_tsig`.
#[derive(Debug, Clone)]
pub(super) struct TsigRr {
    /// Offset of the RR (its owner name) in the message: the MAC covers `msg[..start]`.
    pub(super) start: usize,
    /// Key name, canonical wire form.
    pub(super) key_wire: Vec<u8>,
    /// Algorithm name, canonical wire form.
    pub(super) alg_wire: Vec<u8>,
    pub(super) time_signed: u64,
    pub(super) fudge: u16,
    pub(super) mac: Vec<u8>,
    pub(super) original_id: u16,
    pub(super) error: u16,
    pub(super) other: Vec<u8>,
}

/// Walk the whole message and return its TSIG RR, if any. A TSIG RR anywhere but as the last
/// additional record, with a class other than ANY or TTL other than 0, or a message with
/// bytes after its last record, is malformed (RFC 8945 §4.2, §5.2).
pub(super) fn find_tsig(msg: &[u8]) -> Wire<Option<TsigRr>> {
    if msg.len() < 12 {
        return Err(Malformed);
    }
    let qd = be16(msg, 4)?;
    let total_rrs = usize::from(be16(msg, 6)?) + usize::from(be16(msg, 8)?);
    let ar = usize::from(be16(msg, 10)?);
    let mut pos = 12;
    for _ in 0..qd {
        pos = skip_name(msg, pos)? + 4;
    }
    let count = total_rrs + ar;
    for i in 0..count {
        let start = pos;
        pos = skip_name(msg, pos)?;
        let rtype = be16(msg, pos)?;
        let rdlen = usize::from(be16(msg, pos + 8)?);
        let rdata = pos + 10;
        let next = rdata + rdlen;
        if next > msg.len() {
            return Err(Malformed);
        }
        if rtype == TYPE_TSIG {
            if i + 1 != count || i < total_rrs || next != msg.len() {
                return Err(Malformed);
            }
            let class = be16(msg, pos + 2)?;
            let ttl = msg.get(pos + 4..pos + 8).ok_or(Malformed)?;
            if class != CLASS_ANY || ttl != [0, 0, 0, 0] {
                return Err(Malformed);
            }
            let (key_wire, _) = read_name(msg, start)?;
            return parse_tsig_rdata(&msg[..next], rdata, start, key_wire).map(Some);
        }
        pos = next;
    }
    if pos != msg.len() {
        return Err(Malformed);
    }
    Ok(None)
}

pub(super) fn parse_tsig_rdata(
    msg: &[u8],
    rdata: usize,
    start: usize,
    key_wire: Vec<u8>,
) -> Wire<TsigRr> {
    // RFC 8945 §4.2: the algorithm name MUST NOT be compressed.
    let mut pos = rdata;
    let mut alg_wire = Vec::new();
    loop {
        let len = *msg.get(pos).ok_or(Malformed)? as usize;
        if len & 0xC0 != 0 {
            return Err(Malformed);
        }
        let label = msg.get(pos..pos + 1 + len).ok_or(Malformed)?;
        alg_wire.extend(label.iter().map(u8::to_ascii_lowercase));
        pos += 1 + len;
        if len == 0 {
            break;
        }
    }
    let time_signed = be48(msg, pos)?;
    let fudge = be16(msg, pos + 6)?;
    let mac_size = usize::from(be16(msg, pos + 8)?);
    let mac = msg
        .get(pos + 10..pos + 10 + mac_size)
        .ok_or(Malformed)?
        .to_vec();
    pos += 10 + mac_size;
    let original_id = be16(msg, pos)?;
    let error = be16(msg, pos + 2)?;
    let other_len = usize::from(be16(msg, pos + 4)?);
    let other = msg
        .get(pos + 6..pos + 6 + other_len)
        .ok_or(Malformed)?
        .to_vec();
    if pos + 6 + other_len != msg.len() {
        return Err(Malformed);
    }
    Ok(TsigRr {
        start,
        key_wire,
        alg_wire,
        time_signed,
        fudge,
        mac,
        original_id,
        error,
        other,
    })
}

/// Append a TSIG RR to `msg` and increment ARCOUNT (RFC 8945 §4.2). `msg` holds a header
/// (checked by every caller).
#[allow(clippy::too_many_arguments)]
pub(super) fn append_tsig(
    msg: &mut Vec<u8>,
    key_wire: &[u8],
    alg_wire: &[u8],
    time_signed: u64,
    fudge: u16,
    mac: &[u8],
    original_id: u16,
    error: u16,
    other: &[u8],
) {
    let rdlen = alg_wire.len() + 6 + 2 + 2 + mac.len() + 2 + 2 + 2 + other.len();
    msg.extend_from_slice(key_wire);
    msg.extend_from_slice(&TYPE_TSIG.to_be_bytes());
    msg.extend_from_slice(&CLASS_ANY.to_be_bytes());
    msg.extend_from_slice(&0u32.to_be_bytes());
    msg.extend_from_slice(&(rdlen as u16).to_be_bytes());
    msg.extend_from_slice(alg_wire);
    msg.extend_from_slice(&time_signed.to_be_bytes()[2..]);
    msg.extend_from_slice(&fudge.to_be_bytes());
    msg.extend_from_slice(&(mac.len() as u16).to_be_bytes());
    msg.extend_from_slice(mac);
    msg.extend_from_slice(&original_id.to_be_bytes());
    msg.extend_from_slice(&error.to_be_bytes());
    msg.extend_from_slice(&(other.len() as u16).to_be_bytes());
    msg.extend_from_slice(other);
    let ar = u16::from_be_bytes([msg[10], msg[11]]).wrapping_add(1);
    msg[10..12].copy_from_slice(&ar.to_be_bytes());
}

/// Bytes a TSIG RR adds for this key with a full MAC and `other_len` octets of Other Data.
pub(super) fn tsig_rr_len(key: &TsigKey, other_len: usize) -> usize {
    let alg_wire_len = key.algorithm.name().len() + 2;
    key.name_wire.len() + 10 + alg_wire_len + 10 + key.algorithm.mac_len() + 6 + other_len
}
