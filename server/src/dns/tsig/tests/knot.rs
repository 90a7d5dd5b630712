//! Interoperability tests against Knot (Debian knot-dnsutils, knot): kdig as a second,
//! independent client of our server side, and knotd as a real server for our client side
//! (`sign_request`, `ClientTsig`).
//!
//! The shared helpers are in `tests/mod.rs`; the AXFR server helper comes from `bind.rs`.

use super::bind::axfr_with;
use super::bind::corrupt_mac;
use super::*;
use crate::dns::tsig::record::be16;

// ---- against Knot's kdig (Debian knot-dnsutils): a second, independent implementation

fn kdig(alg: &str, secret: &str) -> impl FnOnce(u16) -> Command {
    let y = format!("{alg}:tsig-key.example:{secret}");
    move |port| {
        let mut c = Command::new(tool("kdig"));
        c.args(["@127.0.0.1", "-p", &port.to_string(), "-y", &y])
            .args(["www.example.org", "A", "+retry=0", "+timeout=5"]);
        c
    }
}

#[test]
fn kdig_verifies_our_signed_answers_and_notices_corruption() {
    for alg in ["hmac-sha256", "hmac-sha384", "hmac-sha512"] {
        let k = key(alg);
        for corrupt in [false, true] {
            let mut seen = Vec::new();
            let (out, _) = udp_exchange(
                kdig(alg, SECRET),
                |_| None,
                |q| {
                    let mut r = serve_signed(q, &k, clock_now(), &mut seen);
                    if corrupt {
                        corrupt_mac(&mut r);
                    }
                    Some(r)
                },
            );
            assert_eq!(seen, [Ok(())], "{out}");
            assert!(out.contains("192.0.2.7"), "{out}");
            let warned = out.contains("WARNING") || out.contains("failed");
            assert_eq!(warned, corrupt, "{alg}, corrupt: {corrupt}\n{out}");
        }
    }
}

#[test]
fn kdig_with_wrong_secret_gets_badsig() {
    let k = key("hmac-sha256");
    let mut seen = Vec::new();
    let (out, _) = udp_exchange(
        kdig("hmac-sha256", OTHER_SECRET),
        |_| None,
        |q| Some(serve_signed(q, &k, clock_now(), &mut seen)),
    );
    assert_eq!(seen, [Err(TsigError::BadSig)], "{out}");
    // kdig shows the extended RCODE (NOTAUTH + TSIG error) as the status.
    assert!(
        out.contains("status: BADSIG") && out.contains("300 0 "),
        "{out}"
    );
}

#[test]
fn kdig_verifies_our_multi_message_axfr() {
    let kdig_axfr = |port: u16| {
        let mut c = Command::new(tool("kdig"));
        c.args(["@127.0.0.1", "-p", &port.to_string()])
            .args(["-y", &format!("hmac-sha256:tsig-key.example:{SECRET}")])
            .args(["example.org", "AXFR", "+retry=0", "+timeout=5"]);
        c
    };
    let out = axfr_with(kdig_axfr, 8, |_, _| {});
    assert!(out.contains("h7-4.example.org."), "{out}");
    assert!(!out.contains("WARNING") && !out.contains("failed"), "{out}");
    // kdig 3.2 checks the TSIG of the first message of a transfer only (a later corrupted
    // MAC passes it; dig checks them all, see dig_notices_a_changed_unsigned_axfr_message):
    // the first one then.
    let out = axfr_with(kdig_axfr, 8, |i, m| {
        if i == 0 {
            corrupt_mac(m);
        }
    });
    assert!(out.contains("failed to verify TSIG"), "{out}");
}

// ---- our client side (sign_request, ClientTsig) against a real server: Knot's knotd

/// knotd on loopback serving example.org (3,000 names, so an AXFR takes several messages)
/// as a secondary whose primary is unreachable, transfer and NOTIFY allowed with our key.
struct Knotd {
    child: std::process::Child,
    dir: std::path::PathBuf,
    port: u16,
}

impl Drop for Knotd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    // Free for UDP and TCP at the time of asking; knotd binds it right after.
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn start_knotd() -> Knotd {
    let dir = std::env::temp_dir().join(format!("lucent-knotd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut zone = String::from("$ORIGIN example.org.\n$TTL 300\n@ SOA ns1 hm 7 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n");
    for i in 0..3000 {
        zone.push_str(&format!("host-{i} A 192.0.2.{}\n", i % 250));
    }
    std::fs::write(dir.join("example.org.zone"), zone).unwrap();
    let port = free_port();
    let d = dir.display();
    let conf = format!(
        "server:\n  rundir: \"{d}\"\n  listen: 127.0.0.1@{port}\n\
         database:\n  storage: \"{d}\"\n\
         key:\n  - id: tsig-key.example\n    algorithm: hmac-sha256\n    secret: {SECRET}\n\
         remote:\n  - id: primary\n    address: 127.0.0.1@1\n    key: tsig-key.example\n\
         acl:\n  - id: xfr\n    key: tsig-key.example\n    action: [transfer, notify]\n\
         log:\n  - target: stderr\n    any: info\n\
         zone:\n  - domain: example.org\n    storage: \"{d}\"\n    file: example.org.zone\n    master: primary\n    acl: xfr\n"
    );
    std::fs::write(dir.join("knot.conf"), conf).unwrap();
    let child = Command::new(tool_sbin("knotd"))
        .arg("-c")
        .arg(dir.join("knot.conf"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("knot.log")).unwrap())
        .spawn()
        .unwrap();
    Knotd { child, dir, port }
}

fn tool_sbin(name: &str) -> String {
    let p = format!("/usr/sbin/{name}");
    assert!(
        std::path::Path::new(&p).exists(),
        "{name} not found: install Debian's knot to run this test"
    );
    p
}

/// Send a signed UDP request to knotd, retrying while it starts; the answer and our verdict.
fn knot_udp(
    k: &Knotd,
    key: &Arc<TsigKey>,
    request: &[u8],
) -> (Vec<u8>, Result<ResponseTsig, ResponseError>) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 65535];
    for _ in 0..50 {
        let mut q = request.to_vec();
        let mut client = sign_request(key.clone(), &mut q, clock_now()).unwrap();
        sock.send_to(&q, ("127.0.0.1", k.port)).unwrap();
        if let Ok(n) = sock.recv(&mut buf) {
            let r = buf[..n].to_vec();
            let verdict = client.verify(&r, clock_now());
            return (r, verdict);
        }
    }
    panic!(
        "knotd did not answer: {}",
        std::fs::read_to_string(k.dir.join("knot.log")).unwrap_or_default()
    );
}

/// Records of type `rtype` in the answer section of a message.
fn count_answers(m: &[u8], rtype: u16) -> usize {
    let mut pos = 12;
    for _ in 0..be16(m, 4).unwrap() {
        pos = skip_name(m, pos).unwrap() + 4;
    }
    let mut n = 0;
    for _ in 0..be16(m, 6).unwrap() {
        pos = skip_name(m, pos).unwrap();
        if be16(m, pos).unwrap() == rtype {
            n += 1;
        }
        pos += 10 + usize::from(be16(m, pos + 8).unwrap());
    }
    n
}

#[test]
fn knotd_verifies_our_requests_and_we_verify_its_answers() {
    let knot = start_knotd();
    let k = key("hmac-sha256");

    // A signed SOA query (what a secondary sends before a refresh).
    let (r, verdict) = knot_udp(&knot, &k, &query(0x5151, 0, "example.org", 6));
    assert_eq!(verdict, Ok(ResponseTsig::Signed));
    assert_eq!(r[3] & 0x0F, 0, "NOERROR");
    assert_eq!(count_answers(&r, 6), 1);

    // A signed NOTIFY (what lucentd sends to its secondaries, RFC 1996 §3.7: AA set).
    let mut notify = query(0x4242, 4, "example.org", 6);
    notify[2] |= 0x04;
    let (r, verdict) = knot_udp(&knot, &k, &notify);
    assert_eq!(verdict, Ok(ResponseTsig::Signed));
    assert_eq!(
        ((r[2] >> 3) & 0x0F, r[3] & 0x0F),
        (4, 0),
        "NOTIFY answered NOERROR"
    );

    // Signed with the wrong secret: knotd answers NOTAUTH with an unsigned BADSIG.
    let wrong =
        Arc::new(TsigKey::from_base64("tsig-key.example", "hmac-sha256", OTHER_SECRET).unwrap());
    let (r, verdict) = knot_udp(&knot, &wrong, &query(0x5152, 0, "example.org", 6));
    assert_eq!(verdict, Err(ResponseError::Server(16)));
    assert_eq!(r[3] & 0x0F, RCODE_NOTAUTH);

    // A signed AXFR over TCP: every message verified in order by one ClientTsig.
    let mut q = query(0x7777, 0, "example.org", 252);
    let mut client = sign_request(k.clone(), &mut q, clock_now()).unwrap();
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", knot.port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    conn.write_all(&framed).unwrap();
    let (mut soas, mut a, mut messages, mut signed) = (0, 0, 0, 0);
    while soas < 2 {
        let mut len = [0u8; 2];
        conn.read_exact(&mut len).unwrap();
        let mut m = vec![0u8; usize::from(u16::from_be_bytes(len))];
        conn.read_exact(&mut m).unwrap();
        messages += 1;
        match client.verify(&m, clock_now()) {
            Ok(ResponseTsig::Signed) => signed += 1,
            Ok(ResponseTsig::Unsigned) => {}
            Err(e) => panic!("message {messages}: {e}"),
        }
        soas += count_answers(&m, 6);
        a += count_answers(&m, 1);
    }
    assert_eq!(a, 3001);
    assert!(
        messages >= 2,
        "3,000 names take more than one message: {messages}"
    );
    assert!(signed >= 2, "first and last signed");

    // The same stream with one byte changed in the second message fails to verify.
    let mut q = query(0x7778, 0, "example.org", 252);
    let mut client = sign_request(k.clone(), &mut q, clock_now()).unwrap();
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", knot.port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    conn.write_all(&framed).unwrap();
    let mut results = Vec::new();
    for i in 0..messages {
        let mut len = [0u8; 2];
        conn.read_exact(&mut len).unwrap();
        let mut m = vec![0u8; usize::from(u16::from_be_bytes(len))];
        conn.read_exact(&mut m).unwrap();
        if i == 1 {
            m[40] ^= 1;
        }
        results.push(client.verify(&m, clock_now()));
    }
    assert!(
        results.iter().any(|r| r == &Err(ResponseError::BadSig)),
        "{results:?}"
    );
}
