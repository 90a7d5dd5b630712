//! TLS for the agent's HTTP connections: the rustls client configuration and the step of
//! ureq's connector chain that uses it.
//!
//! The crypto provider is ring's primitives, picked by name rather than through
//! `rustls::crypto::ring::default_provider()`, so that what the agent never uses stays out of
//! the binary (~110 KiB): ChaCha20-Poly1305 (every TLS server offers AES-GCM, TLS 1.3 makes
//! TLS_AES_128_GCM_SHA256 mandatory) and the private-key parsing and signing code that only
//! client certificates would need. Certificate verification keeps every algorithm ring's
//! default provider verifies, so any certificate that default accepts is accepted here.
//!
//! The connector ([`connector`]) is ureq's default chain for our case (a CONNECT proxy from
//! the environment, TCP) with our own TLS step instead of ureq's rustls one, through ureq's
//! pluggable transport API (`ureq::unversioned`, outside ureq's semver promise: Cargo.lock pins
//! the version, and an incompatible ureq fails to compile here). ureq's step builds a rustls
//! config per Agent from its own TLS settings, with branches for client certificates, disabled
//! verification, platform and webpki roots that the agent never takes; ours takes one prepared
//! config, shared by a Client's three Agents (~8 KiB smaller binary, one root store in memory
//! instead of one per Agent). The session is the same: TLS 1.3 and 1.2, SNI, rustls's defaults,
//! verification against the given roots; so are the errors and ureq's log lines.

use std::fmt;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rustls::crypto::ring::{cipher_suite as cs, kx_group};
use rustls::crypto::{
    CryptoProvider, GetRandomFailed, KeyProvider, SecureRandom, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::PrivateKeyDer;
use rustls::sign::SigningKey;
use rustls::SignatureScheme as S;
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout,
    TcpConnector, Transport, TransportAdapter,
};
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

/// The rustls configuration of a Client's connections, shared by its Agents.
#[derive(Clone)]
pub struct Settings {
    config: Arc<rustls::ClientConfig>,
    /// Certificates of the PEM bundle taken into the root store and skipped (for ureq's log
    /// line), when roots came from a bundle.
    from_bundle: Option<(usize, usize)>,
}

/// [`provider`], TLS 1.3 and 1.2, trusting `roots` (a PEM bundle; certificates that do not
/// parse are skipped), or with the `bundled-roots` feature and no bundle the compiled-in webpki
/// roots. No bundle and no compiled-in roots trusts nothing (the config always names a bundle
/// for https URLs).
pub fn settings(roots: Option<&[u8]>) -> Settings {
    let mut store = rustls::RootCertStore::empty();
    let from_bundle = match roots {
        Some(pem) => {
            let certs = crate::client::parse_certs(pem);
            Some(store.add_parsable_certificates(certs.iter().map(|c| c.der().into())))
        }
        #[cfg(feature = "bundled-roots")]
        None => {
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            None
        }
        #[cfg(not(feature = "bundled-roots"))]
        None => None,
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .expect("the provider has TLS 1.3 and 1.2 suites")
        .with_root_certificates(store)
        .with_no_client_auth();
    Settings {
        config: Arc::new(config),
        from_bundle,
    }
}

/// The connector chain of an Agent: what ureq's default chain does for the agent's builds (no
/// SOCKS support, rustls), with [`TlsStep`] as its TLS step.
pub fn connector(tls: Settings) -> impl Connector {
    ().chain(NoSocks)
        .chain(ConnectProxyConnector::default())
        .chain(TcpConnector::default())
        .chain(TlsStep {
            tls,
            used: AtomicBool::new(false),
        })
}

/// The first step of ureq's default chain when built without SOCKS support, as ureq has it:
/// when the environment names a SOCKS proxy, warn (same text and log target as ureq's) and let
/// the connection go on without it.
#[derive(Debug)]
struct NoSocks;

impl<In: Transport> Connector<In> for NoSocks {
    type Out = In;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<In>, ureq::Error> {
        use ureq::ProxyProtocol as P;
        if let (None, Some(proxy)) = (&chained, details.config.proxy()) {
            if !matches!(proxy.protocol(), P::Http | P::Https) && proxy.is_from_env() {
                // ureq's text, line break and indentation included.
                log::warn!(
                    target: "ureq::unversioned::transport::no_proxy",
                    "Enable feature socks-proxy to use proxy
                                configured by environment variables"
                );
            }
        }
        Ok(chained)
    }
}

/// The TLS step: for https URLs, a rustls client session over the transport the previous steps
/// opened (TCP, or a tunnel through a CONNECT proxy); other URLs pass through. Its debug lines
/// are ureq's, with ureq's log target, at the same points: the root store on an Agent's first
/// TLS connection (where ureq builds its config), a bad server name, a finished handshake.
struct TlsStep {
    tls: Settings,
    /// Set at the Agent's first TLS connection.
    used: AtomicBool,
}

const LOG_TARGET: &str = "ureq::tls::rustls";

impl fmt::Debug for TlsStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsStep")
    }
}

impl<In: Transport> Connector<In> for TlsStep {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        if let Some((added, ignored)) = self.tls.from_bundle {
            if !self.used.swap(true, Ordering::Relaxed) {
                log::debug!(target: LOG_TARGET, "Added {added} and ignored {ignored} root certs");
            }
        }
        let name = match server_name(details.uri) {
            Ok(name) => name,
            Err(e) => {
                log::debug!(target: LOG_TARGET, "rustls invalid dns name: {e}");
                return Err(ureq::Error::Tls("Rustls invalid dns name error"));
            }
        };
        let mut conn = rustls::ClientConnection::new(self.tls.config.clone(), name)?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        sock.set_timeout(remaining(details));
        conn.complete_io(&mut sock)?;
        log::debug!(target: LOG_TARGET, "Wrapped TLS");
        Ok(Some(Either::B(TlsTransport {
            buffers: LazyBuffers::new(
                details.config.input_buffer_size(),
                details.config.output_buffer_size(),
            ),
            stream: rustls::StreamOwned::new(conn, sock),
        })))
    }
}

/// The name the certificate must match (and SNI, for a DNS name): the URL's host, an IPv6
/// literal without its brackets.
fn server_name(
    uri: &ureq::http::Uri,
) -> Result<rustls::pki_types::ServerName<'static>, rustls::pki_types::InvalidDnsNameError> {
    let host = uri.host().unwrap_or_default();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    rustls::pki_types::ServerName::try_from(host).map(|name| name.to_owned())
}

/// The connection stage's timeout, less the time the earlier steps (TCP connect) took since
/// the stage began: the handshake gets what is left of it, not a fresh one.
fn remaining(details: &ConnectionDetails) -> NextTimeout {
    use ureq::unversioned::transport::time::{Duration, Instant};
    let mut timeout = details.timeout;
    if let (Duration::Exact(limit), Instant::Exact(now), Instant::Exact(start)) =
        (timeout.after, (details.current_time)(), details.now)
    {
        timeout.after = Duration::Exact(limit.saturating_sub(now.saturating_duration_since(start)));
    }
    timeout
}

/// An established TLS connection, as a ureq transport.
struct TlsTransport {
    buffers: LazyBuffers,
    stream: rustls::StreamOwned<rustls::ClientConnection, TransportAdapter>,
}

impl fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsTransport")
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        // Passed on unchanged: the transport below applies the per-write limit.
        self.stream.sock.set_timeout(timeout);
        self.stream.write_all(&self.buffers.output()[..amount])?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.sock.set_timeout(timeout);
        let n = self.stream.read(self.buffers.input_append_buf())?;
        self.buffers.input_appended(n);
        Ok(n > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.sock.get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
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

    #[test]
    fn server_names() {
        use rustls::pki_types::ServerName;
        let name = |u: &str| server_name(&u.parse().unwrap()).map_err(|e| e.to_string());
        assert_eq!(
            name("https://ddns.example.org:8443/update"),
            Ok(ServerName::try_from("ddns.example.org").unwrap())
        );
        assert_eq!(
            name("https://[2001:db8::1]/ip"),
            Ok(ServerName::from(
                "2001:db8::1".parse::<std::net::IpAddr>().unwrap()
            ))
        );
        assert_eq!(
            name("https://203.0.113.7/ip"),
            Ok(ServerName::from(
                "203.0.113.7".parse::<std::net::IpAddr>().unwrap()
            ))
        );
        assert_eq!(
            name("https://bad_name!/"),
            Err("invalid dns name".to_string())
        );
    }
}
