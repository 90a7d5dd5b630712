//! External check of the DNSSEC core: a small zone (apex SOA/NS/MX/DNSKEY/CDS/CDNSKEY, A, AAAA,
//! TXT, a wildcard, empty non-terminals) is signed with this module's keys, signer and chains,
//! written as an RFC 1035 zone file (RDATA in RFC 3597 generic form, so the file shows exactly
//! the wire bytes we made) and handed to `ldns-verify-zone` (Debian package ldnsutils), once
//! with NSEC3 and once with NSEC, for both algorithms; a zone with one RDATA changed after
//! signing must fail; our NSEC3 chain is compared with ldns-signzone's and our DS with
//! ldns-key2ds's. A minimal UDP responder serving NXDOMAIN answers with the minimally covering
//! proofs (NSEC3 and RFC 4470 NSEC white lies, signed per query) is queried with `delv` (BIND),
//! which must report them fully validated, and not when the wildcard proof is left out. Test
//! code only; the real responder's e2e tests with delv/unbound are the integration's.

use std::path::PathBuf;
use std::process::Command;

use super::bitmap::{node_bitmap, Denial, NodeKind, TypeBitmap};
use super::keys::{cdnskey_rdata, cds_rdata, Algorithm, DigestType, SigningKey};
use super::nsec::{nsec_rdata, NsecChain};
use super::nsec3::{Nsec3Chain, Nsec3Params};
use super::sign::{RrsetSigner, Validity, ZoneKey};
use super::{name, rtype};

struct Rrset {
    owner: Vec<u8>,
    rtype: u16,
    ttl: u32,
    rdatas: Vec<Vec<u8>>,
}

fn n(s: &str) -> Vec<u8> {
    name::from_text(s).unwrap()
}

fn type_name(t: u16) -> String {
    match t {
        rtype::A => "A".into(),
        rtype::NS => "NS".into(),
        rtype::SOA => "SOA".into(),
        rtype::MX => "MX".into(),
        rtype::TXT => "TXT".into(),
        rtype::AAAA => "AAAA".into(),
        rtype::RRSIG => "RRSIG".into(),
        rtype::NSEC => "NSEC".into(),
        rtype::DNSKEY => "DNSKEY".into(),
        rtype::NSEC3 => "NSEC3".into(),
        rtype::NSEC3PARAM => "NSEC3PARAM".into(),
        rtype::CDS => "CDS".into(),
        rtype::CDNSKEY => "CDNSKEY".into(),
        other => format!("TYPE{other}"),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The unsigned zone: (owner, type, TTL, RDATAs), names lowercase and uncompressed.
fn unsigned_zone(apex: &[u8], key: &ZoneKey) -> Vec<Rrset> {
    let rel = |s: &str| {
        let mut v = n(s);
        v.pop();
        v.extend_from_slice(apex);
        v
    };
    let mut soa = rel("ns1");
    soa.extend(rel("hostmaster"));
    for v in [2026120301u32, 3600, 600, 604800, 300] {
        soa.extend(v.to_be_bytes());
    }
    let mut mx = vec![0, 10];
    mx.extend(rel("mail"));
    let mut txt = vec![11];
    txt.extend(b"hello world");
    let mut txt2 = vec![3];
    txt2.extend(b"two");
    let rr = |owner: Vec<u8>, t: u16, rdatas: Vec<Vec<u8>>| Rrset {
        owner,
        rtype: t,
        ttl: 300,
        rdatas,
    };
    vec![
        rr(apex.to_vec(), rtype::SOA, vec![soa]),
        rr(apex.to_vec(), rtype::NS, vec![rel("ns1")]),
        rr(apex.to_vec(), rtype::MX, vec![mx]),
        rr(
            apex.to_vec(),
            rtype::DNSKEY,
            vec![key.dnskey_rdata().to_vec()],
        ),
        rr(
            apex.to_vec(),
            rtype::CDS,
            DigestType::ALL
                .iter()
                .map(|&d| cds_rdata(key.dnskey(), apex, d))
                .collect(),
        ),
        rr(
            apex.to_vec(),
            rtype::CDNSKEY,
            vec![cdnskey_rdata(key.dnskey())],
        ),
        rr(rel("ns1"), rtype::A, vec![vec![192, 0, 2, 53]]),
        rr(rel("mail"), rtype::A, vec![vec![192, 0, 2, 25]]),
        // Two addresses, given out of order and once duplicated.
        rr(
            rel("www"),
            rtype::A,
            vec![vec![192, 0, 2, 2], vec![192, 0, 2, 1], vec![192, 0, 2, 2]],
        ),
        rr(
            rel("www"),
            rtype::AAAA,
            vec![vec![
                0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
            ]],
        ),
        rr(rel("Txt"), rtype::TXT, vec![txt, txt2]),
        // A wildcard whose parent `wild` is an empty non-terminal.
        rr(rel("*.wild"), rtype::A, vec![vec![192, 0, 2, 7]]),
        // A host below an empty non-terminal two levels deep.
        rr(rel("deep.er.ent"), rtype::A, vec![vec![192, 0, 2, 9]]),
    ]
}

type Nodes = std::collections::BTreeMap<Vec<u8>, Vec<u16>>;

/// Each owner name with its types, and the empty non-terminals between names and the apex
/// (with no types). DNSKEY and CDS/CDNSKEY are left out: `node_bitmap` adds them at the apex.
fn zone_nodes(zone: &[Rrset], apex: &[u8]) -> Nodes {
    let mut nodes = Nodes::new();
    for set in zone {
        let owner: Vec<u8> = set.owner.iter().map(u8::to_ascii_lowercase).collect();
        let mut p = name::parent(&owner).map(<[u8]>::to_vec);
        while let Some(q) = p {
            if q.len() < apex.len() || q == apex {
                break;
            }
            nodes.entry(q.clone()).or_default();
            p = name::parent(&q).map(<[u8]>::to_vec);
        }
        if ![rtype::DNSKEY, rtype::CDS, rtype::CDNSKEY].contains(&set.rtype) {
            nodes.entry(owner).or_default().push(set.rtype);
        }
    }
    nodes
}

fn node_kind(owner: &[u8], apex: &[u8]) -> NodeKind {
    if owner == apex {
        NodeKind::Apex { cds: true }
    } else {
        NodeKind::Other
    }
}

/// The NSEC3 chain of the nodes, built one name at a time as writes would, leaving `skip` out.
fn nsec3_chain(nodes: &Nodes, apex: &[u8], skip: Option<&[u8]>) -> Nsec3Chain {
    let mut chain = Nsec3Chain::new(apex, Nsec3Params::rfc9276()).unwrap();
    for (owner, types) in nodes {
        if Some(owner.as_slice()) == skip {
            continue;
        }
        let bitmap = if types.is_empty() && owner != apex {
            TypeBitmap::EMPTY
        } else {
            node_bitmap(types, node_kind(owner, apex), Denial::Nsec3)
        };
        chain.set(owner, bitmap).unwrap();
    }
    chain
}

/// What to break after signing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tamper {
    Nothing,
    /// Change one address of `www` after it was signed.
    Rdata,
    /// Leave `www` out of the denial chain (its neighbours then link past it).
    DropName,
}

/// Signs the zone with `denial` and returns the zone file text.
/// With `presentation`, RRSIG, NSEC, NSEC3 and NSEC3PARAM are written by `text.rs` instead of in
/// generic form, so ldns also checks our presentation forms.
fn signed_zone_file(alg: Algorithm, denial: Denial, tamper: Tamper, presentation: bool) -> String {
    let apex = n("lucent-test.example");
    let key = ZoneKey::new(SigningKey::generate(alg).unwrap(), &apex).unwrap();
    let mut zone = unsigned_zone(&apex, &key);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let validity = Validity::around(now, 3600, 14 * 86400);
    let soa_minimum = 300;

    let nodes = zone_nodes(&zone, &apex);
    let kind = |owner: &[u8]| node_kind(owner, &apex);

    match denial {
        Denial::Nsec3 => {
            let params = Nsec3Params::rfc9276();
            zone.push(Rrset {
                owner: apex.clone(),
                rtype: rtype::NSEC3PARAM,
                ttl: 0,
                rdatas: vec![params.param_rdata()],
            });
            let skip = (tamper == Tamper::DropName).then(|| n("www.lucent-test.example"));
            let chain = nsec3_chain(&nodes, &apex, skip.as_deref());
            for e in chain.iter() {
                let (mut owner, mut rdata) = (Vec::new(), Vec::new());
                chain.write(&e, &mut owner, &mut rdata);
                zone.push(Rrset {
                    owner,
                    rtype: rtype::NSEC3,
                    ttl: soa_minimum,
                    rdatas: vec![rdata],
                });
            }
        }
        Denial::Nsec => {
            let mut chain = NsecChain::new(&apex).unwrap();
            for (owner, types) in &nodes {
                if types.is_empty() {
                    continue; // no NSEC at empty non-terminals
                }
                chain
                    .set(owner, node_bitmap(types, kind(owner), Denial::Nsec))
                    .unwrap();
            }
            for e in chain.iter() {
                let mut rdata = Vec::new();
                nsec_rdata(&e.next, e.bitmap, &mut rdata);
                zone.push(Rrset {
                    owner: e.owner.clone(),
                    rtype: rtype::NSEC,
                    ttl: soa_minimum,
                    rdatas: vec![rdata],
                });
            }
        }
    }

    let mut signer = RrsetSigner::new();
    let mut text = String::new();
    let mut prefixed = Vec::new();
    for set in &zone {
        prefixed.clear();
        for r in &set.rdatas {
            prefixed.extend((r.len() as u16).to_be_bytes());
            prefixed.extend(r);
        }
        let mut rrsig = Vec::new();
        signer
            .sign(
                &key, &set.owner, set.rtype, set.ttl, &prefixed, validity, &mut rrsig,
            )
            .unwrap();
        let owner = name::to_text(&set.owner);
        let mut rdatas = set.rdatas.clone();
        rdatas.sort();
        rdatas.dedup();
        for r in &rdatas {
            let mut r = r.clone();
            if tamper == Tamper::Rdata
                && set.rtype == rtype::A
                && owner.starts_with("www.")
                && r[3] == 1
            {
                r[3] = 99;
            }
            text.push_str(&record_line(&owner, set.ttl, set.rtype, &r, presentation));
        }
        text.push_str(&record_line(
            &owner,
            set.ttl,
            rtype::RRSIG,
            &rrsig,
            presentation,
        ));
    }
    text
}

fn record_line(owner: &str, ttl: u32, t: u16, rdata: &[u8], presentation: bool) -> String {
    let shown = match t {
        _ if !presentation => None,
        rtype::RRSIG => Some(super::text::rrsig_text(rdata).unwrap()),
        rtype::NSEC => Some(super::text::nsec_text(rdata).unwrap()),
        rtype::NSEC3 => Some(super::text::nsec3_text(rdata).unwrap()),
        rtype::NSEC3PARAM => Some(super::text::nsec3param_text(rdata).unwrap()),
        _ => None,
    };
    let shown = shown.unwrap_or_else(|| format!("\\# {} {}", rdata.len(), hex(rdata)));
    format!("{owner} {ttl} IN {} {shown}\n", type_name(t))
}

fn ldns_verify(text: &str, tag: &str) -> (bool, String) {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("lucent-dnssec-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("zone");
    std::fs::write(&path, text).unwrap();
    let out = Command::new("ldns-verify-zone")
        .arg(&path)
        .output()
        .expect("ldns-verify-zone (Debian package ldnsutils) must be installed");
    let _ = std::fs::remove_dir_all(&dir);
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}

#[test]
fn signed_zone_validates_with_ldns_verify_zone() {
    for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
        for (denial, presentation) in [
            (Denial::Nsec3, false),
            (Denial::Nsec, false),
            (Denial::Nsec3, true),
            (Denial::Nsec, true),
        ] {
            let text = signed_zone_file(alg, denial, Tamper::Nothing, presentation);
            if presentation {
                assert!(text.contains(" IN RRSIG SOA 13 ") || text.contains(" IN RRSIG SOA 15 "));
            }
            let tag = format!("{}-{denial:?}-{presentation}", alg.number());
            let (ok, report) = ldns_verify(&text, &tag);
            assert!(
                ok,
                "{alg:?} {denial:?}: ldns-verify-zone failed:\n{report}\n{text}"
            );
            assert!(report.contains("Zone is verified and complete"), "{report}");
        }
    }
}

#[test]
fn tampered_rdata_fails_ldns_verify_zone() {
    for denial in [Denial::Nsec3, Denial::Nsec] {
        let text = signed_zone_file(Algorithm::EcdsaP256Sha256, denial, Tamper::Rdata, true);
        assert!(
            text.contains("c0000263"),
            "the tampered address is in the file"
        );
        let (ok, report) = ldns_verify(&text, &format!("tampered-{denial:?}"));
        assert!(!ok, "{denial:?}: a tampered zone verified:\n{report}");
    }
}

#[test]
fn nsec3_chain_missing_a_name_fails_ldns_verify_zone() {
    // Shows the external check looks at the chain too, so the passing test above vouches for
    // ours. (ldns-verify-zone does not notice a missing empty non-terminal; the comparison
    // with ldns-signzone's own chain does.)
    let text = signed_zone_file(Algorithm::Ed25519, Denial::Nsec3, Tamper::DropName, false);
    let (ok, report) = ldns_verify(&text, "no-www");
    assert!(!ok, "a chain missing a name verified:\n{report}");
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lucent-dnssec-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(dir: &std::path::Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} (Debian package ldnsutils): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Whitespace-separated fields, lowercase, one string per line.
fn normalise(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .map(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        })
        .filter(|l| !l.is_empty())
        .collect();
    v.sort();
    v
}

#[test]
fn nsec3_chain_matches_the_one_ldns_signzone_builds() {
    // ldns-signzone makes its own NSEC3 chain (RFC 9276 parameters: -a 1 -t 0 -s '') from the
    // unsigned zone, empty non-terminals included: hashes, order, next hashes and type bitmaps
    // must all equal ours.
    let apex = n("lucent-test.example");
    let key = ZoneKey::new(
        SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap(),
        &apex,
    )
    .unwrap();
    let zone = unsigned_zone(&apex, &key);
    let dir = temp_dir("signzone");
    let mut text = String::new();
    for set in &zone {
        for r in &set.rdatas {
            text.push_str(&format!(
                "{} {} IN {} \\# {} {}\n",
                name::to_text(&set.owner),
                set.ttl,
                type_name(set.rtype),
                r.len(),
                hex(r)
            ));
        }
    }
    std::fs::write(dir.join("zone"), &text).unwrap();
    let base = run(
        &dir,
        "ldns-keygen",
        &["-a", "ECDSAP256SHA256", "-k", "lucent-test.example"],
    );
    let signed = run(
        &dir,
        "ldns-signzone",
        &[
            "-n",
            "-a",
            "1",
            "-t",
            "0",
            "-s",
            "",
            "-f",
            "-",
            "zone",
            base.trim(),
        ],
    );
    let _ = std::fs::remove_dir_all(&dir);
    let theirs: Vec<String> = signed
        .lines()
        .filter(|l| l.split_whitespace().nth(3) == Some("NSEC3"))
        .map(|l| {
            // owner TTL IN NSEC3 alg flags iterations salt next types...
            let f: Vec<&str> = l.split_whitespace().collect();
            let mut rest = vec![f[0], f[4], f[5], f[6], f[7], f[8]];
            rest.extend(&f[9..]);
            rest.join(" ")
        })
        .collect();
    let chain = nsec3_chain(&zone_nodes(&zone, &apex), &apex, None);
    let ours: Vec<String> = chain
        .iter()
        .map(|e| {
            let mut owner = Vec::new();
            super::nsec3::owner_name(&e.hash, &apex, &mut owner);
            let mut line = format!(
                "{} 1 0 0 - {}",
                name::to_text(&owner),
                std::str::from_utf8(&super::nsec3::base32hex(&e.next)).unwrap()
            );
            for t in e.bitmap.types() {
                line.push(' ');
                line.push_str(&type_name(t));
            }
            line
        })
        .collect();
    assert_eq!(chain.len(), 10, "7 owners and 3 empty non-terminals");
    assert_eq!(normalise(&ours.join("\n")), normalise(&theirs.join("\n")));
}

#[test]
fn ds_matches_ldns_key2ds() {
    for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
        let apex = n("lucent-test.example");
        let key = ZoneKey::new(SigningKey::generate(alg).unwrap(), &apex).unwrap();
        let dir = temp_dir(&format!("key2ds-{}", alg.number()));
        std::fs::write(dir.join("k.key"), key.dnskey().to_text(&apex, 3600) + "\n").unwrap();
        for (flag, digest) in [("-2", DigestType::Sha256), ("-4", DigestType::Sha384)] {
            let theirs = run(&dir, "ldns-key2ds", &["-n", flag, "k.key"]);
            let ours = key.ds(digest).to_text(&apex, 3600);
            assert_eq!(normalise(&ours), normalise(&theirs), "{alg:?} {digest:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A one-zone authoritative responder for `delv`: DNSKEY and SOA at the apex (signed at start),
/// NXDOMAIN for everything else with the minimally covering proof of `denial`, made and signed
/// per query as the integration will. `broken` leaves the wildcard proof out. Runs until the
/// socket is dropped by the test ending (the thread stops on its read timeout).
fn serve_nxdomain(
    denial: Denial,
    broken: bool,
) -> (
    std::net::SocketAddr,
    ZoneKey,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use std::net::UdpSocket;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let apex = n("lucent-test.example");
    let key = ZoneKey::new(
        SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap(),
        &apex,
    )
    .unwrap();
    let anchor = ZoneKey::new(
        SigningKey::from_pkcs8_any(key.key().pkcs8()).unwrap(),
        &apex,
    )
    .unwrap();
    let zone = unsigned_zone(&apex, &key);
    let nodes = zone_nodes(&zone, &apex);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let addr = socket.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    std::thread::spawn(move || {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let validity = Validity::around(now, 3600, 14 * 86400);
        let mut signer = RrsetSigner::new();
        // (owner, type, TTL, RDATAs) -> the records plus their RRSIG, in wire form.
        let mut signed = |owner: &[u8], t: u16, rdatas: &[Vec<u8>], out: &mut Vec<u8>| -> u16 {
            let list: Vec<&[u8]> = rdatas.iter().map(Vec::as_slice).collect();
            let mut rrsig = Vec::new();
            signer
                .sign_list(&key, owner, t, 300, &list, validity, &mut rrsig)
                .unwrap();
            // The owner once, then compressed (RFC 1035 §4.1.4).
            let at = out.len() as u16;
            for (i, r) in rdatas
                .iter()
                .map(Vec::as_slice)
                .chain([rrsig.as_slice()])
                .enumerate()
            {
                if i == 0 {
                    out.extend_from_slice(owner);
                } else {
                    out.extend((0xc000 | at).to_be_bytes());
                }
                let rt = if std::ptr::eq(r, rrsig.as_slice()) {
                    rtype::RRSIG
                } else {
                    t
                };
                out.extend(rt.to_be_bytes());
                out.extend(1u16.to_be_bytes());
                out.extend(300u32.to_be_bytes());
                out.extend((r.len() as u16).to_be_bytes());
                out.extend_from_slice(r);
            }
            rdatas.len() as u16 + 1
        };
        let set = |t: u16| {
            zone.iter()
                .find(|s| s.owner == apex && s.rtype == t)
                .unwrap()
                .rdatas
                .clone()
        };
        let (dnskey, soa) = (set(rtype::DNSKEY), set(rtype::SOA));
        let exists = |q: &[u8]| nodes.keys().any(|k| name::is_at_or_below(k, q));
        let mut buf = [0u8; 1500];
        while !stop2.load(Ordering::Relaxed) {
            let Ok((len, peer)) = socket.recv_from(&mut buf) else {
                continue;
            };
            let q = &buf[..len];
            let qend = 12
                + super::name::labels(&q[12..])
                    .map(|l| l.len() + 1)
                    .sum::<usize>()
                + 1;
            let qname: Vec<u8> = q[12..qend].iter().map(u8::to_ascii_lowercase).collect();
            let qtype = u16::from_be_bytes([q[qend], q[qend + 1]]);
            let mut resp = Vec::with_capacity(1232);
            resp.extend_from_slice(&q[..12]);
            resp.extend_from_slice(&q[12..qend + 4]);
            let (mut an, mut ns, mut rcode) = (0u16, 0u16, 0u16);
            if qname == apex && qtype == rtype::DNSKEY {
                an = signed(&apex, rtype::DNSKEY, &dnskey, &mut resp);
            } else if qname == apex && qtype == rtype::SOA {
                an = signed(&apex, rtype::SOA, &soa, &mut resp);
            } else if nodes.get(&qname).is_some_and(|t| !t.contains(&qtype)) && qname != apex {
                // NODATA (RFC 4035 §3.1.3.1) with a minimally covering record.
                ns = signed(&apex, rtype::SOA, &soa, &mut resp);
                let types = &nodes[&qname];
                let (owner, t, rdata) = match denial {
                    Denial::Nsec3 => {
                        let bitmap = node_bitmap(types, NodeKind::Other, Denial::Nsec3);
                        let h = super::nsec3::hash(&qname, &[], 0);
                        let r = super::nsec3::minimally_matching(
                            &apex,
                            &Nsec3Params::rfc9276(),
                            &h,
                            &bitmap,
                        );
                        (r.owner, rtype::NSEC3, r.rdata)
                    }
                    Denial::Nsec => {
                        let bitmap = node_bitmap(types, NodeKind::Other, Denial::Nsec);
                        let r = super::nsec::minimal_nodata(&qname, &bitmap).unwrap();
                        (r.owner, rtype::NSEC, r.rdata)
                    }
                };
                if !broken {
                    ns += signed(&owner, t, &[rdata], &mut resp);
                }
            } else if exists(&qname) || !name::is_at_or_below(&qname, &apex) {
                rcode = 5; // not needed by the test: REFUSED
            } else {
                rcode = 3;
                ns = signed(&apex, rtype::SOA, &soa, &mut resp);
                let ce = name::closest_encloser(&qname, &apex, exists).unwrap();
                let types = nodes.get(ce).cloned().unwrap_or_default();
                let proofs: Vec<(Vec<u8>, u16, Vec<u8>)> = match denial {
                    Denial::Nsec3 => {
                        let bitmap = if types.is_empty() && ce != apex.as_slice() {
                            TypeBitmap::EMPTY
                        } else {
                            node_bitmap(&types, node_kind(ce, &apex), Denial::Nsec3)
                        };
                        let p = super::nsec3::nxdomain_proof(
                            &apex,
                            &Nsec3Params::rfc9276(),
                            &qname,
                            ce,
                            &bitmap,
                        )
                        .unwrap();
                        p.into_iter()
                            .map(|r| (r.owner, rtype::NSEC3, r.rdata))
                            .collect()
                    }
                    Denial::Nsec => {
                        let bitmap = node_bitmap(&types, node_kind(ce, &apex), Denial::Nsec);
                        let p = super::nsec::white_lies(&apex, &qname, ce, &bitmap).unwrap();
                        p.into_iter()
                            .map(|r| (r.owner, rtype::NSEC, r.rdata))
                            .collect()
                    }
                };
                let keep = if broken {
                    proofs.len() - 1
                } else {
                    proofs.len()
                };
                for (owner, t, rdata) in proofs.into_iter().take(keep) {
                    ns += signed(&owner, t, &[rdata], &mut resp);
                }
            }
            let flags = 0x8400 | (u16::from_be_bytes([q[2], q[3]]) & 0x0100) | rcode;
            resp[2..4].copy_from_slice(&flags.to_be_bytes());
            for (i, c) in [1, an, ns, 1].into_iter().enumerate() {
                resp[4 + 2 * i..6 + 2 * i].copy_from_slice(&c.to_be_bytes());
            }
            // OPT: 1232-octet UDP payload, DO set (RFC 6891, RFC 3225).
            resp.extend([0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
            if resp.len() > 1232 {
                resp.truncate(qend + 4);
                resp[2] |= 0x02; // TC: delv retries over TCP, which this test does not serve
            }
            let _ = socket.send_to(&resp, peer);
        }
    });
    (addr, anchor, stop)
}

fn delv(addr: std::net::SocketAddr, anchor: &ZoneKey, qname: &str, qtype: &str) -> String {
    let dir = temp_dir(&format!("delv-{}", addr.port()));
    let d = anchor.dnskey();
    use base64::Engine as _;
    let conf = format!(
        "trust-anchors {{ \"lucent-test.example.\" static-key {} {} {} \"{}\"; }};\n",
        d.flags,
        d.protocol,
        d.algorithm,
        base64::engine::general_purpose::STANDARD.encode(&d.public_key)
    );
    std::fs::write(dir.join("anchor.conf"), conf).unwrap();
    let out = Command::new("delv")
        .current_dir(&dir)
        .args([
            &format!("@{}", addr.ip()),
            "-p",
            &addr.port().to_string(),
            "-a",
            "anchor.conf",
            "+root=lucent-test.example",
            qname,
            qtype,
        ])
        .output()
        .expect("delv (Debian package bind9-dnsutils)");
    let _ = std::fs::remove_dir_all(&dir);
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn delv_validates_minimally_covering_nxdomain_proofs() {
    for denial in [Denial::Nsec3, Denial::Nsec] {
        let (addr, anchor, stop) = serve_nxdomain(denial, false);
        for q in [
            "nothere.lucent-test.example",
            "x.y.er.ent.lucent-test.example",
            // The NSEC predecessor of `\000.apex` is the apex itself, with its real bitmap.
            "\\000.lucent-test.example",
        ] {
            let report = delv(addr, &anchor, q, "A");
            assert!(
                report.contains("fully validated"),
                "{denial:?} {q}:\n{report}"
            );
            assert!(report.contains("NXDOMAIN"), "{denial:?} {q}:\n{report}");
        }
        // NODATA: www has A and AAAA, not TXT.
        let report = delv(addr, &anchor, "www.lucent-test.example", "TXT");
        assert!(
            report.contains("fully validated"),
            "{denial:?} NODATA:\n{report}"
        );
        assert!(report.contains("NXRRSET"), "{denial:?} NODATA:\n{report}");
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let (addr, anchor, stop) = serve_nxdomain(denial, true);
        let report = delv(addr, &anchor, "www.lucent-test.example", "TXT");
        assert!(
            !report.contains("fully validated"),
            "{denial:?} NODATA without proof:\n{report}"
        );
        let report = delv(addr, &anchor, "nothere.lucent-test.example", "A");
        assert!(
            !report.contains("fully validated"),
            "{denial:?} broken proof:\n{report}"
        );
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
