//! Secrets: generation (OS randomness), SHA-256 hashing for storage, constant-time comparison,
//! and the `Secret` newtype whose Debug/Display never show the value.

use sha2::{Digest, Sha256};
use std::fmt;

/// A token, API key or password that must never reach a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// `n` random bytes from the OS.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The OS RNG failing is not recoverable and happens only on a broken system.
    getrandom::fill(&mut b).expect("OS random number generator failed");
    b
}

/// A new update token or API key: 160 random bits as 40 lowercase hex characters. Hex is safe
/// in URLs, Basic-auth passwords and router web forms alike.
pub fn new_token() -> Secret {
    Secret(hex(&random_bytes::<20>()))
}

/// A random id with a prefix, e.g. `host_3f9c…` (80 bits).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", hex(&random_bytes::<10>()))
}

/// What the store keeps of a secret.
pub fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Compare without an early exit, so timing does not tell how many bytes matched.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(D[(x >> 4) as usize] as char);
        s.push(D[(x & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hidden() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 40);
        assert_eq!(format!("{a} {a:?}"), "*** ***");
        assert!(new_id("host_").starts_with("host_"));
    }

    #[test]
    fn hashing_and_compare() {
        assert_eq!(
            hex(&hash("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
