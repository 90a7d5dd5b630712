//! Test helpers for the DNSSEC module: base64/hex decoding, the store's length-prefixed RDATA
//! form, and an RRSIG check that rebuilds the signed data independently of `sign.rs` (naively,
//! from owned vectors) and verifies it with ring's public-key verification. Test code only.

use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ED25519};

use super::keys::Algorithm;
use super::sign::ZoneKey;

pub fn b64(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    let clean: String = s.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean)
        .unwrap()
}

pub fn hex(s: &str) -> Vec<u8> {
    let clean: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    clean
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// The store's form: each RDATA preceded by its 16-bit length.
pub fn lp(rdatas: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    for r in rdatas {
        v.extend_from_slice(&(r.len() as u16).to_be_bytes());
        v.extend_from_slice(r);
    }
    v
}

/// Does `rrsig` (RRSIG RDATA) verify over the RRset `owner`/`rtype`/IN/`ttl`/`rdatas` under
/// `key`'s public key? The signed data is built here from scratch (RFC 4034 §3.1.8.1): the RRSIG
/// head as found in `rrsig` with the expected fields checked, then each RR with the RDATAs
/// sorted and deduplicated as owned vectors.
pub fn verify_independently(
    key: &ZoneKey,
    owner: &[u8],
    rtype: u16,
    ttl: u32,
    rdatas: &[&[u8]],
    rrsig: &[u8],
) -> bool {
    let signer = key.apex();
    let sig_len = 64;
    if rrsig.len() != 18 + signer.len() + sig_len {
        return false;
    }
    let (head, sig) = rrsig.split_at(18 + signer.len());
    if head[0..2] != rtype.to_be_bytes()
        || head[2] != key.algorithm().number()
        || head[4..8] != ttl.to_be_bytes()
        || head[16..18] != key.key_tag().to_be_bytes()
        || &head[18..] != signer
    {
        return false;
    }
    let mut sorted: Vec<Vec<u8>> = rdatas.iter().map(|r| r.to_vec()).collect();
    sorted.sort();
    sorted.dedup();
    let mut data = head.to_vec();
    for r in &sorted {
        data.extend(owner.iter().map(|b| b.to_ascii_lowercase()));
        data.extend_from_slice(&rtype.to_be_bytes());
        data.extend_from_slice(&1u16.to_be_bytes());
        data.extend_from_slice(&ttl.to_be_bytes());
        data.extend_from_slice(&(r.len() as u16).to_be_bytes());
        data.extend_from_slice(r);
    }
    let public = key.dnskey().public_key.clone();
    match key.algorithm() {
        Algorithm::EcdsaP256Sha256 => {
            let mut point = vec![4u8];
            point.extend_from_slice(&public);
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                .verify(&data, sig)
                .is_ok()
        }
        Algorithm::Ed25519 => UnparsedPublicKey::new(&ED25519, public)
            .verify(&data, sig)
            .is_ok(),
    }
}
