//! The rustls crypto provider: ring's primitives, picked by name rather than through
//! `rustls::crypto::ring::default_provider()`, so that what the agent never uses stays out of
//! the binary (~110 KiB): ChaCha20-Poly1305 (every TLS server offers AES-GCM, TLS 1.3 makes
//! TLS_AES_128_GCM_SHA256 mandatory) and the private-key parsing and signing code that only
//! client certificates would need. Certificate verification keeps every algorithm ring's
//! default provider verifies, so any certificate that default accepts is accepted here.

use std::sync::Arc;

use rustls::crypto::ring::{cipher_suite as cs, kx_group};
use rustls::crypto::{
    CryptoProvider, GetRandomFailed, KeyProvider, SecureRandom, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::PrivateKeyDer;
use rustls::sign::SigningKey;
use rustls::SignatureScheme as S;
use webpki::ring as alg;

pub fn provider() -> CryptoProvider {
    CryptoProvider {
        cipher_suites: vec![
            cs::TLS13_AES_128_GCM_SHA256,
            cs::TLS13_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ],
        kx_groups: vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1],
        signature_verification_algorithms: SIG_ALGS,
        secure_random: &Random,
        key_provider: &NoClientKeys,
    }
}

/// The verification algorithms and scheme mapping of rustls's ring provider (rustls 0.23).
static SIG_ALGS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        alg::ECDSA_P256_SHA256,
        alg::ECDSA_P256_SHA384,
        alg::ECDSA_P384_SHA256,
        alg::ECDSA_P384_SHA384,
        alg::ED25519,
        alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
        alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
        alg::RSA_PKCS1_2048_8192_SHA256,
        alg::RSA_PKCS1_2048_8192_SHA384,
        alg::RSA_PKCS1_2048_8192_SHA512,
        alg::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
        alg::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
        alg::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    ],
    mapping: &[
        // TLS 1.2 does not tie the curve to the scheme; TLS 1.3 does.
        (
            S::ECDSA_NISTP384_SHA384,
            &[alg::ECDSA_P384_SHA384, alg::ECDSA_P256_SHA384],
        ),
        (
            S::ECDSA_NISTP256_SHA256,
            &[alg::ECDSA_P256_SHA256, alg::ECDSA_P384_SHA256],
        ),
        (S::ED25519, &[alg::ED25519]),
        (
            S::RSA_PSS_SHA512,
            &[alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
        ),
        (
            S::RSA_PSS_SHA384,
            &[alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
        ),
        (
            S::RSA_PSS_SHA256,
            &[alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
        ),
        (S::RSA_PKCS1_SHA512, &[alg::RSA_PKCS1_2048_8192_SHA512]),
        (S::RSA_PKCS1_SHA384, &[alg::RSA_PKCS1_2048_8192_SHA384]),
        (S::RSA_PKCS1_SHA256, &[alg::RSA_PKCS1_2048_8192_SHA256]),
    ],
};

#[derive(Debug)]
struct Random;

impl SecureRandom for Random {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        use ring::rand::SecureRandom as _;
        ring::rand::SystemRandom::new()
            .fill(buf)
            .map_err(|_| GetRandomFailed)
    }
}

/// The agent never presents a client certificate.
#[derive(Debug)]
struct NoClientKeys;

impl KeyProvider for NoClientKeys {
    fn load_private_key(
        &self,
        _key: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn SigningKey>, rustls::Error> {
        Err(rustls::Error::General(
            "client certificates are not supported".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_what_rings_default_provider_verifies() {
        let ring = rustls::crypto::ring::default_provider();
        let ours = provider();
        let (a, b) = (
            &ours.signature_verification_algorithms,
            &ring.signature_verification_algorithms,
        );
        assert_eq!(format!("{:?}", a.all), format!("{:?}", b.all));
        assert_eq!(format!("{:?}", a.mapping), format!("{:?}", b.mapping));
        assert!(ours.fips() == ring.fips());
        // Every suite and group we offer is one ring's default offers.
        for s in &ours.cipher_suites {
            assert!(ring.cipher_suites.contains(s), "{s:?}");
        }
        for g in &ours.kx_groups {
            assert!(ring.kx_groups.iter().any(|r| r.name() == g.name()), "{g:?}");
        }
        let mut buf = [0u8; 32];
        ours.secure_random.fill(&mut buf).expect("random");
        assert_ne!(buf, [0u8; 32]);
    }
}
