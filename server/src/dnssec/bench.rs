//! Hand-run micro benchmarks of the DNSSEC core (`#[ignore]`d tests that print rates):
//! RRSIGs per second for ECDSA P-256 and Ed25519 over a typical DDNS RRset, NSEC3 hashes per
//! second with RFC 9276 parameters, and bulk-building an NSEC3 chain. Run with
//! `cargo test --release -p lucent-server --lib dnssec::bench -- --ignored --nocapture`.
//! Test code only; the zone-level figures belong to `bench/`.

use std::time::Instant;

use super::bitmap::TypeBitmap;
use super::keys::{Algorithm, SigningKey};
use super::nsec3::{hash, Nsec3Chain, Nsec3Params};
use super::sign::{RrsetSigner, Validity, ZoneKey};
use super::{name, rtype};

#[test]
#[ignore = "benchmark, run by hand"]
fn signing_and_hashing_rates() {
    let apex = name::from_text("dyn.example.net").unwrap();
    let owner = name::from_text("myhost.dyn.example.net").unwrap();
    let rdatas = [0u8, 4, 192, 0, 2, 1];
    let v = Validity::around(1_800_000_000, 3600, 14 * 86400);
    for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
        let key = ZoneKey::new(SigningKey::generate(alg).unwrap(), &apex).unwrap();
        let mut signer = RrsetSigner::new();
        let mut out = Vec::with_capacity(256);
        let n = 20_000;
        let t = Instant::now();
        let cpu = cpu_ns();
        for _ in 0..n {
            out.clear();
            signer
                .sign(&key, &owner, rtype::A, 60, &rdatas, v, &mut out)
                .unwrap();
        }
        let s = t.elapsed().as_secs_f64();
        let c = (cpu_ns() - cpu) as f64 / 1e9;
        println!(
            "{alg:?}: {:.0} RRSIGs/s wall ({:.1} us each), {:.0} per CPU-second",
            n as f64 / s,
            s / n as f64 * 1e6,
            n as f64 / c
        );
    }
    let n = 1_000_000;
    let t = Instant::now();
    let cpu = cpu_ns();
    let mut acc = 0u8;
    for i in 0..n {
        let host = format!("h{i}");
        let mut w = vec![host.len() as u8];
        w.extend_from_slice(host.as_bytes());
        w.extend_from_slice(&apex);
        acc ^= hash(&w, &[], 0)[0];
    }
    let s = t.elapsed().as_secs_f64();
    let c = (cpu_ns() - cpu) as f64 / 1e9;
    println!(
        "NSEC3 hash (SHA-1, 0 iterations, no salt): {:.0}/s wall, {:.0} per CPU-second, name building included ({acc})",
        n as f64 / s,
        n as f64 / c
    );

    let names: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let host = format!("h{i}");
            let mut w = vec![host.len() as u8];
            w.extend_from_slice(host.as_bytes());
            w.extend_from_slice(&apex);
            w
        })
        .collect();
    let bitmap = TypeBitmap::from_types(&[rtype::A, rtype::AAAA, rtype::RRSIG]);
    let rss_before = rss_kib();
    let t = Instant::now();
    let cpu = cpu_ns();
    let chain = Nsec3Chain::from_names(
        &apex,
        Nsec3Params::rfc9276(),
        names.iter().map(|w| (w.as_slice(), bitmap.clone())),
    )
    .unwrap();
    println!(
        "NSEC3 chain of {} names bulk-built in {:.2} s wall, {:.2} s CPU, RSS +{} KiB",
        chain.len(),
        t.elapsed().as_secs_f64(),
        (cpu_ns() - cpu) as f64 / 1e9,
        rss_kib().saturating_sub(rss_before)
    );
    let mut chain = chain;
    let t = Instant::now();
    let cpu = cpu_ns();
    for w in names.iter().take(100_000) {
        chain.remove(w).unwrap();
        chain.set(w, bitmap.clone()).unwrap();
    }
    println!(
        "NSEC3 chain remove+insert at 1M names: {:.2} us per pair wall, {:.2} us CPU",
        t.elapsed().as_secs_f64() / 100_000.0 * 1e6,
        (cpu_ns() - cpu) as f64 / 100_000.0 / 1e3
    );
}

/// Resident set size from /proc/self/statm (Linux), KiB; 0 elsewhere.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4)
}

/// CPU time of this thread so far, ns (Linux /proc/thread-self/schedstat); 0 elsewhere. The
/// machine is shared, so rates per CPU-second are steadier than wall-clock ones.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
