//! RRSIGs over one RRset (RFC 4034 §3, RFC 4035 §2.2): a [`ZoneKey`] (a signing key bound to
//! its zone apex) and an [`RrsetSigner`] holding the scratch buffers, so signing on the write
//! path and at load allocates nothing per RRset once warm. The RRset comes as the store keeps
//! it: RDATAs each preceded by a 16-bit length, names inside uncompressed and lowercase
//! (RFC 4034 §6.2 as RFC 6840 §5.1 trims it). Choosing the validity window (back-dated
//! inception, expiration from `signature_validity_days`), deciding what to re-sign and keeping
//! the RRSIGs with the snapshot are the caller's.

use super::keys::{Algorithm, DigestType, Dnskey, Ds, SigningKey, FLAGS_CSK};
use super::{name, rtype, Error};

/// The RR class the signed data uses: IN (RFC 4034 §6.2 keeps the class as is; lucentd serves IN
/// only).
const CLASS_IN: u16 = 1;

/// A signing key with the zone it signs for: the RRSIG signer name (RFC 4034 §3.1.7), the
/// DNSKEY RDATA and its key tag, computed once.
#[derive(Debug)]
pub struct ZoneKey {
    key: SigningKey,
    apex: Box<[u8]>,
    dnskey: Dnskey,
    dnskey_rdata: Box<[u8]>,
    key_tag: u16,
}

impl ZoneKey {
    /// Binds `key` to the zone whose apex is `apex` (wire form; lowercased here) as a CSK.
    pub fn new(key: SigningKey, apex: &[u8]) -> Result<ZoneKey, Error> {
        ZoneKey::with_flags(key, apex, FLAGS_CSK)
    }

    /// As [`ZoneKey::new`] with other DNSKEY flags (e.g. 256 for a ZSK, or with the REVOKE bit).
    pub fn with_flags(key: SigningKey, apex: &[u8], flags: u16) -> Result<ZoneKey, Error> {
        if !name::is_valid(apex) {
            return Err(Error::BadName);
        }
        let dnskey = key.dnskey(flags);
        let rdata = dnskey.rdata();
        Ok(ZoneKey {
            apex: apex.iter().map(u8::to_ascii_lowercase).collect(),
            key_tag: super::keys::key_tag(&rdata),
            dnskey,
            dnskey_rdata: rdata.into(),
            key,
        })
    }

    pub fn key(&self) -> &SigningKey {
        &self.key
    }
    pub fn apex(&self) -> &[u8] {
        &self.apex
    }
    pub fn algorithm(&self) -> Algorithm {
        self.key.algorithm()
    }
    pub fn key_tag(&self) -> u16 {
        self.key_tag
    }
    pub fn dnskey(&self) -> &Dnskey {
        &self.dnskey
    }
    /// The apex DNSKEY (and CDNSKEY) RDATA.
    pub fn dnskey_rdata(&self) -> &[u8] {
        &self.dnskey_rdata
    }
    /// The DS the parent should hold for this key.
    pub fn ds(&self, digest_type: DigestType) -> Ds {
        self.dnskey.ds(&self.apex, digest_type)
    }
}

/// The signature validity window, RFC 4034 §3.1.5 32-bit times (seconds since 1970 modulo
/// 2^32, compared in serial number arithmetic, RFC 1982).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub inception: u32,
    pub expiration: u32,
}

impl Validity {
    /// From Unix seconds: inception `back` seconds before `now` (clock skew at validators),
    /// expiration `valid` seconds after `now`. Truncation to 32 bits is what RFC 4034 §3.1.5
    /// prescribes.
    pub fn around(now_unix: u64, back: u64, valid: u64) -> Validity {
        Validity {
            inception: now_unix.saturating_sub(back) as u32,
            expiration: now_unix.saturating_add(valid) as u32,
        }
    }
}

/// Scratch buffers for signing; one per thread, reused across RRsets.
#[derive(Debug, Default)]
pub struct RrsetSigner {
    /// The signed data (RFC 4034 §3.1.8.1) being built.
    data: Vec<u8>,
    /// (offset, length) of each RDATA in the input, to sort.
    spans: Vec<(u32, u32)>,
    /// Length-prefixed copy for [`RrsetSigner::sign_list`].
    joined: Vec<u8>,
}

impl RrsetSigner {
    pub fn new() -> RrsetSigner {
        RrsetSigner::default()
    }

    /// Signs the RRset `owner`/`rtype`/IN/`ttl` whose RDATAs are `rdatas`, each preceded by its
    /// 16-bit length (the store's form), and appends the RRSIG RDATA to `out`. The RDATAs may
    /// come in any order and with duplicates; they are signed in canonical order, once each
    /// (RFC 4034 §6.3). `owner` may be a wildcard (`*.x`): the Labels field then leaves the `*`
    /// out (RFC 4035 §5.3.2). `ttl` becomes the Original TTL.
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        &mut self,
        key: &ZoneKey,
        owner: &[u8],
        rtype: u16,
        ttl: u32,
        rdatas: &[u8],
        validity: Validity,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        if !name::is_valid(owner) {
            return Err(Error::BadName);
        }
        if rtype == rtype::RRSIG {
            // RRSIGs are not signed (RFC 4035 §2.2).
            return Err(Error::BadRdata);
        }
        // Split and sort the RDATAs (RFC 4034 §6.3: as left-justified octet strings).
        self.spans.clear();
        let mut i = 0usize;
        while i < rdatas.len() {
            let Some(&[a, b]) = rdatas.get(i..i + 2) else {
                return Err(Error::BadRdata);
            };
            let len = usize::from(u16::from_be_bytes([a, b]));
            if rdatas.len() < i + 2 + len {
                return Err(Error::BadRdata);
            }
            // The input is a slice of at most isize::MAX bytes, but RRsets are far below 4 GiB;
            // refuse rather than truncate.
            let off = u32::try_from(i + 2).map_err(|_| Error::BadRdata)?;
            self.spans.push((off, len as u32));
            i += 2 + len;
        }
        if self.spans.is_empty() {
            return Err(Error::BadRdata);
        }
        let slice = |&(o, l): &(u32, u32)| &rdatas[o as usize..o as usize + l as usize];
        if self.spans.len() > 1 {
            self.spans.sort_unstable_by(|x, y| slice(x).cmp(slice(y)));
            self.spans.dedup_by(|x, y| slice(x) == slice(y));
        }

        // RRSIG RDATA without the signature (RFC 4034 §3.1.8.1).
        let data = &mut self.data;
        data.clear();
        data.extend_from_slice(&rtype.to_be_bytes());
        data.push(key.algorithm().number());
        data.push(name::rrsig_labels(owner));
        data.extend_from_slice(&ttl.to_be_bytes());
        data.extend_from_slice(&validity.expiration.to_be_bytes());
        data.extend_from_slice(&validity.inception.to_be_bytes());
        data.extend_from_slice(&key.key_tag.to_be_bytes());
        data.extend_from_slice(&key.apex);
        let header_len = data.len();

        // Each RR in canonical form: owner lowercased (length octets are below 64, so
        // lowercasing the whole wire name touches only label octets), class, original TTL.
        let owner_at = data.len();
        let mut first = true;
        for span in &self.spans {
            if first {
                data.extend(owner.iter().map(u8::to_ascii_lowercase));
                first = false;
            } else {
                data.extend_from_within(owner_at..owner_at + owner.len());
            }
            data.extend_from_slice(&rtype.to_be_bytes());
            data.extend_from_slice(&CLASS_IN.to_be_bytes());
            data.extend_from_slice(&ttl.to_be_bytes());
            data.extend_from_slice(&(span.1 as u16).to_be_bytes());
            data.extend_from_slice(slice(span));
        }
        if !name::is_at_or_below(&data[owner_at..owner_at + owner.len()], &key.apex) {
            return Err(Error::NotInZone);
        }

        let start = out.len();
        out.extend_from_slice(&data[..header_len]);
        if let Err(e) = key.key.sign_into(data, out) {
            out.truncate(start);
            return Err(e);
        }
        Ok(())
    }

    /// As [`RrsetSigner::sign`] with the RDATAs as a list of slices.
    #[allow(clippy::too_many_arguments)]
    pub fn sign_list(
        &mut self,
        key: &ZoneKey,
        owner: &[u8],
        rtype: u16,
        ttl: u32,
        rdatas: &[&[u8]],
        validity: Validity,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let mut joined = std::mem::take(&mut self.joined);
        joined.clear();
        for r in rdatas {
            let len = u16::try_from(r.len()).map_err(|_| Error::BadRdata)?;
            joined.extend_from_slice(&len.to_be_bytes());
            joined.extend_from_slice(r);
        }
        let result = self.sign(key, owner, rtype, ttl, &joined, validity, out);
        self.joined = joined;
        result
    }
}

/// The fixed fields of an RRSIG RDATA, for deciding when to refresh it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RrsigFields {
    pub type_covered: u16,
    pub algorithm: u8,
    pub labels: u8,
    pub original_ttl: u32,
    pub expiration: u32,
    pub inception: u32,
    pub key_tag: u16,
}

impl RrsigFields {
    /// Reads the fixed 18-octet head of an RRSIG RDATA (RFC 4034 §3.1).
    pub fn parse(rdata: &[u8]) -> Result<RrsigFields, Error> {
        let h: &[u8; 18] = rdata
            .get(..18)
            .and_then(|s| s.try_into().ok())
            .ok_or(Error::BadRdata)?;
        let u32_at = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        Ok(RrsigFields {
            type_covered: u16::from_be_bytes([h[0], h[1]]),
            algorithm: h[2],
            labels: h[3],
            original_ttl: u32_at(4),
            expiration: u32_at(8),
            inception: u32_at(12),
            key_tag: u16::from_be_bytes([h[16], h[17]]),
        })
    }
}

/// Is 32-bit time `a` before `b` in serial number arithmetic (RFC 1982 §3.2, as RFC 4034
/// §3.1.5 asks for RRSIG times)? Equal or exactly 2^31 apart counts as not before.
pub fn serial_lt(a: u32, b: u32) -> bool {
    a != b && b.wrapping_sub(a) < 0x8000_0000
}

impl RrsigFields {
    /// Should an RRSIG with these fields be replaced at `now` (Unix seconds truncated to 32
    /// bits), given the config's `signature_refresh_days` as `refresh` seconds? True when less
    /// than `refresh` is left before expiration, or when it is not yet valid or already expired.
    pub fn needs_refresh(&self, now: u32, refresh: u32) -> bool {
        serial_lt(now, self.inception) || !serial_lt(now.wrapping_add(refresh), self.expiration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dnssec::test_util::{b64, lp, verify_independently};

    fn rfc6605_key() -> ZoneKey {
        let key = SigningKey::from_raw_parts(
            Algorithm::EcdsaP256Sha256,
            &b64("GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ="),
            &b64("GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA=="),
        )
        .unwrap();
        ZoneKey::new(key, &name::from_text("example.net").unwrap()).unwrap()
    }

    /// 2010-08-12 10:04:39 and 2010-09-09 10:04:39 UTC (RFC 6605 §6.1).
    const RFC6605_VALIDITY: Validity = Validity {
        inception: 1_281_607_479,
        expiration: 1_284_026_679,
    };

    #[test]
    fn rfc6605_published_signature_verifies_over_our_signed_data() {
        // RFC 6605 §6.1: www.example.net. 3600 IN A 192.0.2.1 signed by key 55648; the
        // published signature is random (ECDSA), so we sign the same RRset, replace our
        // signature by the published one and check it verifies over our RRSIG head and RRset.
        let key = rfc6605_key();
        let owner = name::from_text("www.example.net").unwrap();
        let mut signer = RrsetSigner::new();
        let mut rrsig = Vec::new();
        signer
            .sign(
                &key,
                &owner,
                rtype::A,
                3600,
                &lp(&[&[192, 0, 2, 1]]),
                RFC6605_VALIDITY,
                &mut rrsig,
            )
            .unwrap();
        let f = RrsigFields::parse(&rrsig).unwrap();
        assert_eq!(
            f,
            RrsigFields {
                type_covered: 1,
                algorithm: 13,
                labels: 3,
                original_ttl: 3600,
                expiration: 1_284_026_679,
                inception: 1_281_607_479,
                key_tag: 55648
            }
        );
        let sig_at = rrsig.len() - 64;
        assert_eq!(&rrsig[18..sig_at], name::from_text("example.net").unwrap());
        // Our own signature verifies.
        assert!(verify_independently(
            &key,
            &owner,
            rtype::A,
            3600,
            &[&[192, 0, 2, 1]],
            &rrsig
        ));
        // So does the published one in its place.
        rrsig.truncate(sig_at);
        rrsig.extend_from_slice(&b64(
            "qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw==",
        ));
        assert!(verify_independently(
            &key,
            &owner,
            rtype::A,
            3600,
            &[&[192, 0, 2, 1]],
            &rrsig
        ));
        // Another address does not.
        assert!(!verify_independently(
            &key,
            &owner,
            rtype::A,
            3600,
            &[&[192, 0, 2, 2]],
            &rrsig
        ));
    }

    #[test]
    fn rfc8080_ed25519_signatures_reproduced_byte_for_byte() {
        // RFC 8080 §6.1: example.com. 3600 IN MX 10 mail.example.com., inception
        // 2015-07-29 22:00:00, expiration 2015-08-19 22:00:00. The RFC's RRSIGs carry Labels 3
        // (an erratum: example.com has 2), and its signatures were made over that field, so
        // patch it to reproduce them; Ed25519 is deterministic.
        let mx = [&b"\x00\x0a\x04mail\x07example\x03com\x00"[..]];
        for (private, public, sig) in [
            (
                "ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=",
                "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
                "Edk+IB9KNNWg0HAjm7FazXyrd5m3Rk8zNZbvNpAcM+eysqcUOMIjWoevFkjH5GaMWeG96GUVZu6ECKOQmemHDg==",
            ),
            (
                "DSSF3o0s0f+ElWzj9E/Osxw8hLpk55chkmx0LYN5WiY=",
                "zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xHIEijs=",
                "5LL2obmzdqjWI+Xto5eP5adXt/T5tMhasWvwcyW4L3SzfcRawOle9bodhC+oip9ayUGjY9T/rL4rN3bOuESGDA==",
            ),
        ] {
            let key = SigningKey::from_raw_parts(Algorithm::Ed25519, &b64(private), &b64(public))
                .unwrap();
            let apex = name::from_text("example.com").unwrap();
            let key = ZoneKey::new(key, &apex).unwrap();
            let validity = Validity { inception: 1_438_207_200, expiration: 1_440_021_600 };
            let mut signer = RrsetSigner::new();
            let mut rrsig = Vec::new();
            signer.sign_list(&key, &apex, rtype::MX, 3600, &mx, validity, &mut rrsig).unwrap();
            assert_eq!(rrsig[3], 2, "Labels of example.com");
            assert!(verify_independently(&key, &apex, rtype::MX, 3600, &mx, &rrsig));
            // With the RFC's Labels value, our signed data gives the RFC's signature.
            let mut data = signer.data.clone();
            data[3] = 3;
            let mut ours = Vec::new();
            key.key().sign_into(&data, &mut ours).unwrap();
            assert_eq!(ours, b64(sig));
        }
    }

    #[test]
    fn canonical_order_dedup_case_and_wildcards() {
        for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            let apex = name::from_text("Example.ORG").unwrap();
            let key = ZoneKey::new(SigningKey::generate(alg).unwrap(), &apex).unwrap();
            let mut signer = RrsetSigner::new();
            let v = Validity {
                inception: 1000,
                expiration: 5000,
            };
            let txt: [&[u8]; 4] = [b"\x03zzz", b"\x02zz", b"\x03aaa", b"\x02zz"];
            // Mixed-case owner and shuffled, duplicated RDATA: signed as lowercase, sorted, once.
            let owner = b"\x03WwW\x07ExAmple\x03org\x00";
            let mut rrsig = Vec::new();
            signer
                .sign_list(&key, owner, rtype::TXT, 300, &txt, v, &mut rrsig)
                .unwrap();
            let canonical: [&[u8]; 3] = [b"\x02zz", b"\x03aaa", b"\x03zzz"];
            let lower = name::from_text("www.example.org").unwrap();
            assert!(verify_independently(
                &key,
                &lower,
                rtype::TXT,
                300,
                &canonical,
                &rrsig
            ));
            // Any other TTL, type or set fails.
            assert!(!verify_independently(
                &key,
                &lower,
                rtype::TXT,
                301,
                &canonical,
                &rrsig
            ));
            assert!(!verify_independently(
                &key,
                &lower,
                rtype::SPF,
                300,
                &canonical,
                &rrsig
            ));
            assert!(!verify_independently(
                &key,
                &lower,
                rtype::TXT,
                300,
                &canonical[..2],
                &rrsig
            ));

            // A wildcard owner: Labels leaves out the `*`.
            let wild = name::from_text("*.example.org").unwrap();
            let mut rrsig = Vec::new();
            signer
                .sign(
                    &key,
                    &wild,
                    rtype::A,
                    60,
                    &lp(&[&[10, 0, 0, 1]]),
                    v,
                    &mut rrsig,
                )
                .unwrap();
            assert_eq!(RrsigFields::parse(&rrsig).unwrap().labels, 2);
            assert!(verify_independently(
                &key,
                &wild,
                rtype::A,
                60,
                &[&[10, 0, 0, 1]],
                &rrsig
            ));

            // Out-of-zone owners, malformed input and RRSIG sets are refused, `out` untouched.
            let mut out = vec![7];
            let other = name::from_text("www.example.net").unwrap();
            assert_eq!(
                signer.sign(
                    &key,
                    &other,
                    rtype::A,
                    60,
                    &lp(&[&[1, 2, 3, 4]]),
                    v,
                    &mut out
                ),
                Err(Error::NotInZone)
            );
            assert_eq!(
                signer.sign(&key, &lower, rtype::A, 60, &[0, 5, 1], v, &mut out),
                Err(Error::BadRdata)
            );
            assert_eq!(
                signer.sign(&key, &lower, rtype::A, 60, &[], v, &mut out),
                Err(Error::BadRdata)
            );
            assert_eq!(
                signer.sign(
                    &key,
                    b"\x03www",
                    rtype::A,
                    60,
                    &lp(&[&[1, 2, 3, 4]]),
                    v,
                    &mut out
                ),
                Err(Error::BadName)
            );
            assert_eq!(out, [7]);
        }
    }

    #[test]
    fn shared_across_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<ZoneKey>();
        send_sync::<crate::dnssec::nsec3::Nsec3Chain>();
        send_sync::<crate::dnssec::nsec::NsecChain>();
        fn send<T: Send>() {}
        send::<RrsetSigner>();
    }

    #[test]
    fn refresh_decision_in_serial_arithmetic() {
        let f = |inception: u32, expiration: u32| RrsigFields {
            type_covered: 1,
            algorithm: 13,
            labels: 2,
            original_ttl: 60,
            expiration,
            inception,
            key_tag: 1,
        };
        let day = 86400;
        let now = 1_800_000_000;
        let v = Validity::around(u64::from(now), 3600, 14 * day as u64);
        let sig = f(v.inception, v.expiration);
        assert!(!sig.needs_refresh(now, 7 * day));
        assert!(!sig.needs_refresh(now + 6 * day, 7 * day));
        assert!(sig.needs_refresh(now + 7 * day, 7 * day));
        assert!(sig.needs_refresh(now + 20 * day, 7 * day), "expired");
        assert!(sig.needs_refresh(now - 2 * 3600, 7 * day), "not yet valid");
        // Across the 2106 wrap of the 32-bit field.
        let now = u32::MAX - day;
        let v = Validity::around(u64::from(now), 3600, 14 * day as u64);
        let sig = f(v.inception, v.expiration);
        assert!(v.expiration < now, "wrapped");
        assert!(!sig.needs_refresh(now, 7 * day));
        assert!(sig.needs_refresh(now.wrapping_add(8 * day), 7 * day));
        assert!(serial_lt(u32::MAX, 5) && !serial_lt(5, u32::MAX) && !serial_lt(7, 7));
    }

    #[test]
    fn validity_around_now() {
        let v = Validity::around(1_700_000_000, 3600, 14 * 86400);
        assert_eq!(v.inception, 1_699_996_400);
        assert_eq!(v.expiration, 1_701_209_600);
        // Past 2106 the fields wrap, as serial arithmetic expects.
        let v = Validity::around(u64::from(u32::MAX) + 10, 0, 0);
        assert_eq!(v.inception, 9);
    }
}
