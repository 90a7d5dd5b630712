//! Zone signing keys: generating a combined signing key (CSK, DNSKEY flags 257) for algorithm
//! 13 (ECDSA P-256/SHA-256, RFC 6605) or 15 (Ed25519, RFC 8080), its PKCS#8 form for storage
//! and back, the DNSKEY RDATA, the key tag (RFC 4034 Appendix B), DS digests of types 2 and 4
//! (RFC 4509, RFC 6605 §3) with their presentation form, and CDS/CDNSKEY with the RFC 8078
//! delete forms. Where the PKCS#8 bytes are stored (SQLite), how they are protected at rest and
//! when a rollover starts or ends belong to the store and the rollover logic, not here.

use std::fmt;

use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

use super::{name, Error};

/// DNSKEY flags of a combined signing key: Zone Key (bit 7) and Secure Entry Point (bit 15),
/// RFC 4034 §2.1.1.
pub const FLAGS_CSK: u16 = 257;
/// The DNSKEY protocol field, always 3 (RFC 4034 §2.1.2).
pub const PROTOCOL: u8 = 3;

/// The signing algorithms lucentd offers (RFC 8624 §3.1: both MUST/RECOMMENDED for signing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// 13, ECDSAP256SHA256 (RFC 6605): the default.
    EcdsaP256Sha256,
    /// 15, ED25519 (RFC 8080).
    Ed25519,
}

impl Algorithm {
    /// The DNSSEC algorithm number.
    pub fn number(self) -> u8 {
        match self {
            Algorithm::EcdsaP256Sha256 => 13,
            Algorithm::Ed25519 => 15,
        }
    }

    pub fn from_number(n: u8) -> Result<Algorithm, Error> {
        match n {
            13 => Ok(Algorithm::EcdsaP256Sha256),
            15 => Ok(Algorithm::Ed25519),
            other => Err(Error::UnsupportedAlgorithm(other)),
        }
    }

    /// The config spelling (SPEC.md "DNSSEC"): `ecdsap256sha256` or `ed25519`.
    pub fn from_config(s: &str) -> Result<Algorithm, Error> {
        match s.to_ascii_lowercase().as_str() {
            "ecdsap256sha256" | "13" => Ok(Algorithm::EcdsaP256Sha256),
            "ed25519" | "15" => Ok(Algorithm::Ed25519),
            _ => Err(Error::UnsupportedAlgorithm(0)),
        }
    }

    /// Length of a signature: 64 for both (RFC 6605 §4: r || s, 32 octets each; RFC 8080 §4).
    pub fn signature_len(self) -> usize {
        64
    }
}

enum Pair {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A private signing key. `Debug` shows the algorithm and public key tag only, never the key.
pub struct SigningKey {
    algorithm: Algorithm,
    pair: Pair,
    /// PKCS#8 (RFC 5958) DER, what the store keeps.
    pkcs8: Box<[u8]>,
    /// The DNSKEY public key field: x || y for P-256 (RFC 6605 §4), the 32-octet key for
    /// Ed25519 (RFC 8080 §3).
    public: Box<[u8]>,
    rng: SystemRandom,
}

impl SigningKey {
    /// A new random key.
    pub fn generate(algorithm: Algorithm) -> Result<SigningKey, Error> {
        let rng = SystemRandom::new();
        let doc = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            }
            Algorithm::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng),
        }
        .map_err(|_| Error::Crypto)?;
        SigningKey::from_pkcs8(algorithm, doc.as_ref())
    }

    /// Loads a key stored with [`SigningKey::pkcs8`].
    pub fn from_pkcs8(algorithm: Algorithm, pkcs8: &[u8]) -> Result<SigningKey, Error> {
        let rng = SystemRandom::new();
        let (pair, public) = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
                    .map_err(|_| Error::BadKey("not a PKCS#8 key of this algorithm"))?;
                // ring gives the SEC1 uncompressed point 0x04 || x || y; DNSKEY drops the 0x04
                // (RFC 6605 §4).
                let public = match pair.public_key().as_ref() {
                    [4, xy @ ..] if xy.len() == 64 => Box::<[u8]>::from(xy),
                    _ => return Err(Error::BadKey("unexpected P-256 public key form")),
                };
                (Pair::Ecdsa(pair), public)
            }
            Algorithm::Ed25519 => {
                let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
                    .map_err(|_| Error::BadKey("not a PKCS#8 key of this algorithm"))?;
                let public = Box::<[u8]>::from(pair.public_key().as_ref());
                (Pair::Ed25519(pair), public)
            }
        };
        Ok(SigningKey {
            algorithm,
            pair,
            pkcs8: pkcs8.into(),
            public,
            rng,
        })
    }

    /// Loads a stored PKCS#8 key of either algorithm, telling them apart by the key itself.
    pub fn from_pkcs8_any(pkcs8: &[u8]) -> Result<SigningKey, Error> {
        SigningKey::from_pkcs8(Algorithm::EcdsaP256Sha256, pkcs8)
            .or_else(|_| SigningKey::from_pkcs8(Algorithm::Ed25519, pkcs8))
    }

    /// A key from its raw parts, as BIND's `Private-key-format` files hold them (the
    /// `PrivateKey:` field: the P-256 scalar or the Ed25519 seed, 32 octets) and the DNSKEY
    /// public key field, which must match. For importing keys and for the RFC examples.
    pub fn from_raw_parts(
        algorithm: Algorithm,
        private: &[u8],
        public: &[u8],
    ) -> Result<SigningKey, Error> {
        if private.len() != 32 {
            return Err(Error::BadKey("private key must be 32 octets"));
        }
        let pkcs8 = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                if public.len() != 64 {
                    return Err(Error::BadKey("P-256 public key must be 64 octets"));
                }
                let mut point = [0u8; 65];
                point[0] = 4;
                point[1..].copy_from_slice(public);
                p256_pkcs8(private, &point)
            }
            Algorithm::Ed25519 => {
                if public.len() != 32 {
                    return Err(Error::BadKey("Ed25519 public key must be 32 octets"));
                }
                ed25519_pkcs8(private, public)
            }
        };
        let key = SigningKey::from_pkcs8(algorithm, &pkcs8)?;
        // ring checks a P-256 pair for consistency; an Ed25519 seed is checked here.
        if *key.public != *public {
            return Err(Error::BadKey("public key does not match the private key"));
        }
        Ok(key)
    }

    /// The PKCS#8 DER to store. Secret: never log it nor put it in an API answer.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The DNSKEY public key field.
    pub fn public_key(&self) -> &[u8] {
        &self.public
    }

    /// The DNSKEY for this key with these flags (normally [`FLAGS_CSK`]).
    pub fn dnskey(&self, flags: u16) -> Dnskey {
        Dnskey {
            flags,
            protocol: PROTOCOL,
            algorithm: self.algorithm.number(),
            public_key: self.public.to_vec(),
        }
    }

    /// Signs `data` and appends the 64-octet signature to `out`. ECDSA signatures are r || s
    /// (RFC 6605 §4), which ring's FIXED encoding gives.
    pub fn sign_into(&self, data: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        match &self.pair {
            Pair::Ecdsa(p) => {
                let sig = p.sign(&self.rng, data).map_err(|_| Error::Crypto)?;
                out.extend_from_slice(sig.as_ref());
            }
            Pair::Ed25519(p) => out.extend_from_slice(p.sign(data).as_ref()),
        }
        Ok(())
    }
}

impl Drop for SigningKey {
    fn drop(&mut self) {
        // Best effort: clear our copy of the secret (ring's own copy is ring's business).
        self.pkcs8.fill(0);
        std::hint::black_box(&self.pkcs8);
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .field("key_tag", &self.dnskey(FLAGS_CSK).key_tag())
            .field("private", &"<redacted>")
            .finish()
    }
}

/// PKCS#8 v1 for a P-256 key as ring writes it (RFC 5915 ECPrivateKey with the public key).
fn p256_pkcs8(private: &[u8], point: &[u8; 65]) -> Vec<u8> {
    const HEAD: [u8; 36] = [
        0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
        0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x6d, 0x30,
        0x6b, 0x02, 0x01, 0x01, 0x04, 0x20,
    ];
    const MID: [u8; 5] = [0xa1, 0x44, 0x03, 0x42, 0x00];
    let mut v = Vec::with_capacity(138);
    v.extend_from_slice(&HEAD);
    v.extend_from_slice(private);
    v.extend_from_slice(&MID);
    v.extend_from_slice(point);
    v
}

/// PKCS#8 v2 (RFC 5958 OneAsymmetricKey, the public key as `[1] IMPLICIT BIT STRING`) for
/// Ed25519 (RFC 8410), the form ring generates.
fn ed25519_pkcs8(seed: &[u8], public: &[u8]) -> Vec<u8> {
    const HEAD: [u8; 16] = [
        0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    const MID: [u8; 3] = [0x81, 0x21, 0x00];
    let mut v = Vec::with_capacity(83);
    v.extend_from_slice(&HEAD);
    v.extend_from_slice(seed);
    v.extend_from_slice(&MID);
    v.extend_from_slice(public);
    v
}

/// A DNSKEY (or CDNSKEY, same RDATA: RFC 7344 §3.2) record's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dnskey {
    pub flags: u16,
    pub protocol: u8,
    pub algorithm: u8,
    pub public_key: Vec<u8>,
}

impl Dnskey {
    /// RDATA wire form (RFC 4034 §2.1).
    pub fn rdata(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(4 + self.public_key.len());
        v.extend_from_slice(&self.flags.to_be_bytes());
        v.push(self.protocol);
        v.push(self.algorithm);
        v.extend_from_slice(&self.public_key);
        v
    }

    /// The key tag (RFC 4034 Appendix B).
    pub fn key_tag(&self) -> u16 {
        key_tag(&self.rdata())
    }

    /// The DS of this key at `owner` (the zone apex, wire form).
    pub fn ds(&self, owner: &[u8], digest_type: DigestType) -> Ds {
        let rdata = self.rdata();
        Ds {
            key_tag: key_tag(&rdata),
            algorithm: self.algorithm,
            digest_type: digest_type.number(),
            digest: ds_digest(owner, &rdata, digest_type),
        }
    }

    /// `NAME. TTL IN DNSKEY FLAGS 3 ALG BASE64`.
    pub fn to_text(&self, owner: &[u8], ttl: u32) -> String {
        use base64::Engine as _;
        format!(
            "{} {ttl} IN DNSKEY {} {} {} {}",
            name::to_text(owner),
            self.flags,
            self.protocol,
            self.algorithm,
            base64::engine::general_purpose::STANDARD.encode(&self.public_key)
        )
    }
}

/// The key tag of a DNSKEY RDATA (RFC 4034 Appendix B; algorithm 1 is not supported here and
/// not special-cased).
pub fn key_tag(dnskey_rdata: &[u8]) -> u16 {
    let mut ac: u32 = 0;
    for (i, &b) in dnskey_rdata.iter().enumerate() {
        ac += if i & 1 == 0 {
            u32::from(b) << 8
        } else {
            u32::from(b)
        };
    }
    ac += (ac >> 16) & 0xffff;
    (ac & 0xffff) as u16
}

/// DS digest types lucentd publishes (RFC 4509: SHA-256, mandatory; RFC 6605 §3: SHA-384).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestType {
    Sha256,
    Sha384,
}

impl DigestType {
    pub fn number(self) -> u8 {
        match self {
            DigestType::Sha256 => 2,
            DigestType::Sha384 => 4,
        }
    }
    /// Both, in the order `zone ds` prints them.
    pub const ALL: [DigestType; 2] = [DigestType::Sha256, DigestType::Sha384];
}

/// The DS digest: hash(owner name in canonical form | DNSKEY RDATA) (RFC 4034 §5.1.4).
pub fn ds_digest(owner: &[u8], dnskey_rdata: &[u8], digest_type: DigestType) -> Vec<u8> {
    let alg = match digest_type {
        DigestType::Sha256 => &ring::digest::SHA256,
        DigestType::Sha384 => &ring::digest::SHA384,
    };
    let mut ctx = ring::digest::Context::new(alg);
    let lower: Vec<u8> = owner.iter().map(u8::to_ascii_lowercase).collect();
    ctx.update(&lower);
    ctx.update(dnskey_rdata);
    ctx.finish().as_ref().to_vec()
}

/// A DS (or CDS, same RDATA: RFC 7344 §3.1) record's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ds {
    pub key_tag: u16,
    pub algorithm: u8,
    pub digest_type: u8,
    pub digest: Vec<u8>,
}

impl Ds {
    /// RDATA wire form (RFC 4034 §5.1).
    pub fn rdata(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(4 + self.digest.len());
        v.extend_from_slice(&self.key_tag.to_be_bytes());
        v.push(self.algorithm);
        v.push(self.digest_type);
        v.extend_from_slice(&self.digest);
        v
    }

    /// The digest in uppercase hex, as RFC 4034 §5.3 prints it.
    pub fn digest_hex(&self) -> String {
        hex_upper(&self.digest)
    }

    /// `NAME. TTL IN DS TAG ALG DIGTYPE HEX` (SPEC.md `zone ds`; RFC 4034 §5.3).
    pub fn to_text(&self, owner: &[u8], ttl: u32) -> String {
        format!(
            "{} {ttl} IN DS {} {} {} {}",
            name::to_text(owner),
            self.key_tag,
            self.algorithm,
            self.digest_type,
            self.digest_hex()
        )
    }
}

pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// CDS RDATA for a key (RFC 7344 §3.1: the DS the parent should publish).
pub fn cds_rdata(dnskey: &Dnskey, apex: &[u8], digest_type: DigestType) -> Vec<u8> {
    dnskey.ds(apex, digest_type).rdata()
}

/// CDNSKEY RDATA for a key (RFC 7344 §3.2: the DNSKEY RDATA itself).
pub fn cdnskey_rdata(dnskey: &Dnskey) -> Vec<u8> {
    dnskey.rdata()
}

/// `CDS 0 0 0 00`: "remove all DS" (RFC 8078 §4), published before signing is switched off.
pub const CDS_DELETE_RDATA: [u8; 5] = [0, 0, 0, 0, 0];
/// `CDNSKEY 0 3 0 AA==`: the same for CDNSKEY (RFC 8078 §4).
pub const CDNSKEY_DELETE_RDATA: [u8; 5] = [0, 0, 3, 0, 0];

/// What the apex says about DS changes (RFC 7344, RFC 8078).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CdsState<'a> {
    /// No CDS/CDNSKEY (steady state).
    Off,
    /// CDS (digest types 2 and 4) and CDNSKEY for these keys: the DS set the parent should
    /// hold, e.g. the new key during a rollover (RFC 7344 §4).
    Publish(&'a [&'a Dnskey]),
    /// The RFC 8078 §4 delete records, before signing is switched off.
    Delete,
}

/// The apex key RRsets in the store's form (each RDATA preceded by its 16-bit length): DNSKEY
/// for every published key (during a rollover old and new), and CDS/CDNSKEY as `cds` says
/// (empty when `Off`). Sign the DNSKEY RRset with every active key; the CDS and CDNSKEY RRsets
/// like any other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApexKeySets {
    pub dnskey: Vec<u8>,
    pub cds: Vec<u8>,
    pub cdnskey: Vec<u8>,
}

pub fn apex_key_sets(published: &[&Dnskey], apex: &[u8], cds: CdsState<'_>) -> ApexKeySets {
    fn push(out: &mut Vec<u8>, rdata: &[u8]) {
        // DNSKEY/DS RDATA of the algorithms here are far below 64 KiB.
        out.extend_from_slice(&(rdata.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
        out.extend_from_slice(rdata);
    }
    let mut sets = ApexKeySets::default();
    for k in published {
        push(&mut sets.dnskey, &k.rdata());
    }
    match cds {
        CdsState::Off => {}
        CdsState::Publish(keys) => {
            for k in keys {
                for d in DigestType::ALL {
                    push(&mut sets.cds, &cds_rdata(k, apex, d));
                }
                push(&mut sets.cdnskey, &cdnskey_rdata(k));
            }
        }
        CdsState::Delete => {
            push(&mut sets.cds, &CDS_DELETE_RDATA);
            push(&mut sets.cdnskey, &CDNSKEY_DELETE_RDATA);
        }
    }
    sets
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dnssec::test_util::{b64, hex};

    #[test]
    fn rfc6605_p256_example_key_dnskey_tag_and_ds() {
        // RFC 6605 §6.1.
        let key = SigningKey::from_raw_parts(
            Algorithm::EcdsaP256Sha256,
            &b64("GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ="),
            &b64("GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA=="),
        )
        .unwrap();
        let dnskey = key.dnskey(FLAGS_CSK);
        assert_eq!(dnskey.key_tag(), 55648);
        let apex = name::from_text("example.net.").unwrap();
        let ds = dnskey.ds(&apex, DigestType::Sha256);
        assert_eq!(
            ds.digest,
            hex("b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17")
        );
        assert_eq!(
            ds.to_text(&apex, 3600),
            "example.net. 3600 IN DS 55648 13 2 \
             B4C8C1FE2E7477127B27115656AD6256F424625BF5C1E2770CE6D6E37DF61D17"
        );
        assert_eq!(
            dnskey.to_text(&apex, 3600),
            "example.net. 3600 IN DNSKEY 257 3 13 \
             GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA=="
        );
        // A wrong public half is refused.
        let mut other = b64("GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==");
        other[5] ^= 1;
        assert!(SigningKey::from_raw_parts(
            Algorithm::EcdsaP256Sha256,
            &b64("GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ="),
            &other
        )
        .is_err());
    }

    #[test]
    fn rfc6605_p384_dnskey_tag_and_sha384_ds() {
        // RFC 6605 §6.2: the key tag and the SHA-384 DS are computed from the DNSKEY RDATA
        // alone, whatever the algorithm, so this checks digest type 4.
        let dnskey = Dnskey {
            flags: 257,
            protocol: 3,
            algorithm: 14,
            public_key: b64(
                "xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40",
            ),
        };
        assert_eq!(dnskey.key_tag(), 10771);
        let apex = name::from_text("example.net").unwrap();
        let ds = dnskey.ds(&apex, DigestType::Sha384);
        assert_eq!(ds.digest_type, 4);
        assert_eq!(
            ds.digest,
            hex("72d7b62976ce06438e9c0bf319013cf801f09ecc84b8d7e9495f27e305c6a9b0563a9b5f4d288405c3008a946df983d6")
        );
    }

    #[test]
    fn rfc8080_ed25519_keys_tags_and_ds() {
        // RFC 8080 §6.1, both examples.
        for (private, public, tag, digest) in [
            (
                "ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=",
                "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
                3613,
                "3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b",
            ),
            (
                "DSSF3o0s0f+ElWzj9E/Osxw8hLpk55chkmx0LYN5WiY=",
                "zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xHIEijs=",
                35217,
                "401781b934e392de492ec77ae2e15d70f6575a1c0bc59c5275c04ebe80c6614c",
            ),
        ] {
            let key = SigningKey::from_raw_parts(Algorithm::Ed25519, &b64(private), &b64(public))
                .unwrap();
            let dnskey = key.dnskey(FLAGS_CSK);
            assert_eq!(dnskey.key_tag(), tag);
            let apex = name::from_text("example.com").unwrap();
            assert_eq!(dnskey.ds(&apex, DigestType::Sha256).digest, hex(digest));
        }
    }

    #[test]
    fn generated_keys_round_trip_through_pkcs8() {
        for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            let key = SigningKey::generate(alg).unwrap();
            let again = SigningKey::from_pkcs8(alg, key.pkcs8()).unwrap();
            assert_eq!(again.public_key(), key.public_key());
            let any = SigningKey::from_pkcs8_any(key.pkcs8()).unwrap();
            assert_eq!((any.algorithm(), any.public_key()), (alg, key.public_key()));
            assert_eq!(key.dnskey(FLAGS_CSK).rdata()[..4], [1, 1, 3, alg.number()]);
            // Signing with the reloaded key verifies under the original public key.
            let mut sig = Vec::new();
            again.sign_into(b"data", &mut sig).unwrap();
            assert_eq!(sig.len(), 64);
            let verify_alg: &dyn ring::signature::VerificationAlgorithm = match alg {
                Algorithm::EcdsaP256Sha256 => &ring::signature::ECDSA_P256_SHA256_FIXED,
                Algorithm::Ed25519 => &ring::signature::ED25519,
            };
            let mut public = key.public_key().to_vec();
            if alg == Algorithm::EcdsaP256Sha256 {
                public.insert(0, 4);
            }
            ring::signature::UnparsedPublicKey::new(verify_alg, &public)
                .verify(b"data", &sig)
                .unwrap();
            // The wrong algorithm refuses the bytes.
            let other = match alg {
                Algorithm::EcdsaP256Sha256 => Algorithm::Ed25519,
                Algorithm::Ed25519 => Algorithm::EcdsaP256Sha256,
            };
            assert!(SigningKey::from_pkcs8(other, key.pkcs8()).is_err());
            assert!(SigningKey::from_pkcs8(alg, &key.pkcs8()[1..]).is_err());
            assert!(SigningKey::from_pkcs8_any(&key.pkcs8()[1..]).is_err());
        }
    }

    #[test]
    fn our_pkcs8_templates_are_the_ones_ring_writes() {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let d = doc.as_ref();
        assert_eq!(d.len(), 138);
        let point: [u8; 65] = d[73..].try_into().unwrap();
        assert_eq!(p256_pkcs8(&d[36..68], &point), d);
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let d = doc.as_ref();
        assert_eq!(d.len(), 83);
        assert_eq!(ed25519_pkcs8(&d[16..48], &d[51..]), d);
    }

    #[test]
    fn debug_never_prints_the_private_key() {
        let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
        let dbg = format!("{key:?}");
        assert!(dbg.contains("<redacted>"), "{dbg}");
        // Neither the PKCS#8 bytes nor the seed appear in any common rendering.
        let seed = &key.pkcs8()[16..48];
        assert!(!dbg.contains(&hex_upper(seed)));
        assert!(!dbg.contains(&hex_upper(seed).to_lowercase()));
        assert!(!dbg.contains(&format!("{:?}", &seed[..8])[1..20]));
        let p = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        assert!(!format!("{p:?}").contains(&format!("{:?}", &p.pkcs8()[36..44])[1..20]));
    }

    #[test]
    fn key_tag_of_rfc4034_example() {
        // RFC 4034 §5.4: the DS example for dskey.example.com has key tag 60485 over this
        // DNSKEY (algorithm 5, flags 256).
        let dnskey = Dnskey {
            flags: 256,
            protocol: 3,
            algorithm: 5,
            public_key: b64(
                "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==",
            ),
        };
        assert_eq!(dnskey.key_tag(), 60485);
        let ds = dnskey.ds(
            &name::from_text("dskey.example.com").unwrap(),
            DigestType::Sha256,
        );
        assert_eq!(ds.key_tag, 60485);
    }

    #[test]
    fn apex_key_sets_for_steady_state_rollover_and_delete() {
        let apex = name::from_text("example.org").unwrap();
        let old = SigningKey::generate(Algorithm::EcdsaP256Sha256)
            .unwrap()
            .dnskey(FLAGS_CSK);
        let new = SigningKey::generate(Algorithm::EcdsaP256Sha256)
            .unwrap()
            .dnskey(FLAGS_CSK);
        let split = |lp: &[u8]| -> Vec<Vec<u8>> {
            let mut v = Vec::new();
            let mut rest = lp;
            while let [a, b, tail @ ..] = rest {
                let len = usize::from(u16::from_be_bytes([*a, *b]));
                v.push(tail[..len].to_vec());
                rest = &tail[len..];
            }
            v
        };
        let steady = apex_key_sets(&[&old], &apex, CdsState::Off);
        assert_eq!(split(&steady.dnskey), [old.rdata()]);
        assert!(steady.cds.is_empty() && steady.cdnskey.is_empty());
        let roll = apex_key_sets(&[&old, &new], &apex, CdsState::Publish(&[&new]));
        assert_eq!(split(&roll.dnskey), [old.rdata(), new.rdata()]);
        assert_eq!(
            split(&roll.cds),
            [
                new.ds(&apex, DigestType::Sha256).rdata(),
                new.ds(&apex, DigestType::Sha384).rdata()
            ]
        );
        assert_eq!(split(&roll.cdnskey), [new.rdata()]);
        let off = apex_key_sets(&[&old], &apex, CdsState::Delete);
        assert_eq!(split(&off.cds), [CDS_DELETE_RDATA.to_vec()]);
        assert_eq!(split(&off.cdnskey), [CDNSKEY_DELETE_RDATA.to_vec()]);
    }

    #[test]
    fn cds_cdnskey_and_delete_forms() {
        let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let dnskey = key.dnskey(FLAGS_CSK);
        let apex = name::from_text("example.org").unwrap();
        assert_eq!(cdnskey_rdata(&dnskey), dnskey.rdata());
        let cds = cds_rdata(&dnskey, &apex, DigestType::Sha384);
        assert_eq!(cds.len(), 4 + 48);
        assert_eq!(
            cds[..4],
            [(dnskey.key_tag() >> 8) as u8, dnskey.key_tag() as u8, 13, 4]
        );
        // RFC 8078 §4 presentation `CDS 0 0 0 00` and `CDNSKEY 0 3 0 AA==`.
        assert_eq!(CDS_DELETE_RDATA, [0, 0, 0, 0, 0]);
        assert_eq!(CDNSKEY_DELETE_RDATA[..4], [0, 0, 3, 0]);
        assert_eq!(CDNSKEY_DELETE_RDATA[4..], b64("AA=="));
    }
}
