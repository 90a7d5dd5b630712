//! Tests of the TSIG module: keys, our server against our client (round trips, every kind
//! of rejection, multi-message streams) and mutated messages, with the shared helpers (keys,
//! queries, answers, a UDP exchange with an external tool).
//!
//! The interoperability tests against real implementations are in the submodules: `bind.rs`
//! (BIND's dig and nsupdate) and `knot.rs` (Knot's kdig and knotd).

use super::key::name_to_wire;
use super::record::{append_tsig, be48, find_tsig, skip_name};
use super::*;
use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

const SECRET: &str = "KHWCBWOQ9WFgvjHBT0r5O7r+ExUSDWXHRAeb1SH2ehA=";
const OTHER_SECRET: &str = "q3Uf0RPUQ1C6I8AkLXJUkVrJCmvJ3p7nZDIXsmSgybs=";
const NOW: u64 = 1_764_000_000;

fn key(alg: &str) -> Arc<TsigKey> {
    Arc::new(TsigKey::from_base64("tsig-key.example", alg, SECRET).unwrap())
}

fn wire_name(name: &str) -> Vec<u8> {
    name_to_wire(name)
}

/// A query for `name`/`qtype` with the given opcode (0 QUERY, 4 NOTIFY, 5 UPDATE).
fn query(id: u16, opcode: u8, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[opcode << 3, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    m.extend(wire_name(name));
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m
}

/// Answer a (signed) query: header and question of the query, QR and AA set, the given
/// RCODE and, for NOERROR queries, one A record 192.0.2.7 for the question name.
fn answer(q: &[u8], rcode: u8, with_a: bool) -> Vec<u8> {
    let qend = skip_name(q, 12).unwrap() + 4;
    let mut m = q[..qend].to_vec();
    m[2] = (q[2] & 0x78) | 0x84; // QR, opcode kept, AA
    m[3] = rcode & 0x0F;
    m[4..12].copy_from_slice(&[0, 1, 0, u8::from(with_a), 0, 0, 0, 0]);
    if with_a {
        m.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7]);
    }
    m
}

fn tool(name: &str) -> &'static str {
    for dir in ["/usr/bin", "/usr/local/bin", "/bin"] {
        let p = format!("{dir}/{name}");
        if std::path::Path::new(&p).exists() {
            return Box::leak(p.into_boxed_str());
        }
    }
    panic!("{name} not found: install Debian's dnsutils (bind9-dnsutils) to run the TSIG interop tests");
}

/// Run `cmd` (which gets `-p PORT` appended by `args`) against a one-socket UDP responder
/// that hands every datagram to `reply` until the command exits; returns its output.
fn udp_exchange(
    build: impl FnOnce(u16) -> Command,
    stdin: impl FnOnce(u16) -> Option<String>,
    mut reply: impl FnMut(&[u8]) -> Option<Vec<u8>>,
) -> (String, bool) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    let mut cmd = build(port);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin(port) {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    let mut buf = [0u8; 65535];
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "client did not finish"
        );
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            if let Some(resp) = reply(&buf[..n]) {
                sock.send_to(&resp, from).unwrap();
            }
        }
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (text, out.status.success())
}

fn dig(alg: &str, secret: &str) -> impl FnOnce(u16) -> Command {
    let y = format!("{alg}:tsig-key.example:{secret}");
    move |port| {
        let mut c = Command::new(tool("dig"));
        c.args(["@127.0.0.1", "-p", &port.to_string(), "-y", &y])
            .args(["www.example.org", "A", "+tries=1", "+time=5"]);
        c
    }
}

/// Verify with our code, answer NOERROR signed (or whatever `on_verified` makes of it).
fn serve_signed(
    q: &[u8],
    keys: &Arc<TsigKey>,
    now: u64,
    seen: &mut Vec<Result<(), TsigError>>,
) -> Vec<u8> {
    match verify_request(q, now, |name| (name == keys.name()).then(|| keys.clone())) {
        Ok(Some(server)) => {
            seen.push(Ok(()));
            let mut r = answer(q, 0, true);
            server.sign_response(&mut r, clock_now()).unwrap();
            r
        }
        Ok(None) => panic!("dig sent an unsigned query"),
        Err(rej) => {
            seen.push(Err(rej.error()));
            let mut r = answer(q, rej.rcode(), false);
            rej.sign_error_response(&mut r, clock_now()).unwrap();
            r
        }
    }
}

fn rr_start(m: &[u8]) -> usize {
    find_tsig(m).unwrap().unwrap().start
}

/// Unix seconds now (without `crate::clock`: `dns/` imports only `model`).
fn clock_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

// ---- keys

#[test]
fn key_from_base64_and_bind_clause() {
    let k = TsigKey::from_base64("XFR.", "HMAC-SHA384.", SECRET).unwrap();
    assert_eq!(k.name(), "xfr");
    assert_eq!(k.algorithm(), Algorithm::HmacSha384);
    assert_eq!(k.secret_base64(), SECRET);
    let dbg = format!("{k:?}");
    assert!(
        dbg.contains("xfr") && !dbg.contains("KHWC") && dbg.contains("***"),
        "{dbg}"
    );

    // What `tsig-keygen -a hmac-sha512 upd.example` prints, with a comment added.
    let text = format!(
        "# generated\nkey \"upd.example\" {{\n\talgorithm hmac-sha512;\n\tsecret \"{SECRET}\";\n}};\n"
    );
    let keys = TsigKey::parse_bind(&text).unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].name(), "upd.example");
    assert_eq!(keys[0].algorithm(), Algorithm::HmacSha512);
    assert_eq!(keys[0].secret_base64(), SECRET);

    assert!(TsigKey::from_base64("k", "hmac-md5", SECRET).is_err());
    assert!(TsigKey::from_base64("k", "hmac-sha256", "not base64!").is_err());
    assert!(TsigKey::from_base64("k", "hmac-sha256", "").is_err());
    assert!(TsigKey::from_base64("a..b", "hmac-sha256", SECRET).is_err());
    assert!(TsigKey::parse_bind("key \"k\" { algorithm hmac-sha256; };").is_err());
    assert!(TsigKey::parse_bind("key \"k\" { secret \"x\" }").is_err());
}

// ---- our client against our server

#[test]
fn request_and_response_round_trip_for_every_algorithm() {
    for alg in ["hmac-sha256", "hmac-sha384", "hmac-sha512"] {
        let k = key(alg);
        let mut q = query(0x1234, 4, "example.org", 6);
        let mut client = sign_request(k.clone(), &mut q, NOW).unwrap();
        assert_eq!(
            u16::from_be_bytes([q[10], q[11]]),
            1,
            "ARCOUNT counts the TSIG"
        );
        let server = verify_request(&q, NOW + 10, |n| {
            (n == "tsig-key.example").then(|| k.clone())
        })
        .unwrap()
        .expect("signed");
        assert_eq!(server.key().name(), "tsig-key.example");
        let mut r = answer(&q[..find_tsig(&q).unwrap().unwrap().start], 0, true);
        r[10..12].copy_from_slice(&[0, 0]);
        let before = r.len();
        server.sign_response(&mut r, NOW + 10).unwrap();
        assert_eq!(r.len() - before, server.tsig_len());
        assert_eq!(
            client.verify(&r, NOW + 20),
            Ok(ResponseTsig::Signed),
            "{alg}"
        );

        // The same response checked by a fresh client with another request MAC fails.
        let mut q2 = query(0x1234, 4, "example.org", 6);
        let mut other = sign_request(k.clone(), &mut q2, NOW + 1).unwrap();
        assert_eq!(other.verify(&r, NOW + 20), Err(ResponseError::BadSig));
    }
}

#[test]
fn unsigned_request_is_none() {
    let q = query(7, 0, "example.org", 1);
    let got = verify_request(&q, NOW, |_| panic!("no lookup for unsigned"));
    assert!(matches!(got, Ok(None)));
}

#[test]
fn every_flipped_bit_is_badsig() {
    let k = key("hmac-sha256");
    let mut q = query(99, 0, "www.example.org", 1);
    sign_request(k.clone(), &mut q, NOW).unwrap();
    let tsig_start = find_tsig(&q).unwrap().unwrap().start;
    // Every byte of the message part and of the MAC (the TSIG fields are checked apart).
    for i in (2..tsig_start).chain(q.len() - 38..q.len() - 6) {
        let mut bad = q.clone();
        bad[i] ^= 0x20;
        let got = verify_request(&bad, NOW, |_| Some(k.clone()));
        match got {
            Err(rej) => assert!(
                matches!(
                    rej.error(),
                    TsigError::BadSig | TsigError::FormErr | TsigError::BadKey
                ),
                "byte {i}: {:?}",
                rej.error()
            ),
            Ok(_) => panic!("byte {i} flipped and still verified"),
        }
    }
    // Flipping the ID only changes nothing: the MAC covers the Original ID (RFC 8945 §4.3.3).
    let mut forwarded = q.clone();
    forwarded[0] ^= 0xFF;
    assert!(matches!(
        verify_request(&forwarded, NOW, |_| Some(k.clone())),
        Ok(Some(_))
    ));
    assert!(matches!(
        verify_request(&q, NOW, |_| Some(k.clone())),
        Ok(Some(_))
    ));
}

#[test]
fn badkey_for_unknown_name_or_other_algorithm() {
    let k = key("hmac-sha256");
    let mut q = query(1, 0, "example.org", 6);
    sign_request(k.clone(), &mut q, NOW).unwrap();
    let rej = verify_request(&q, NOW, |_| None).unwrap_err();
    assert_eq!(rej.error(), TsigError::BadKey);
    assert_eq!(rej.rcode(), RCODE_NOTAUTH);
    assert_eq!(rej.key_name().as_deref(), Some("tsig-key.example"));
    let rej = verify_request(&q, NOW, |_| Some(key("hmac-sha512"))).unwrap_err();
    assert_eq!(rej.error(), TsigError::BadKey);

    // The answer carries an unsigned TSIG (MAC size 0) with BADKEY (RFC 8945 §5.3.2).
    let mut client = sign_request(k.clone(), &mut query(1, 0, "example.org", 6), NOW).unwrap();
    let mut r = answer(
        &q[..find_tsig(&q).unwrap().unwrap().start],
        RCODE_NOTAUTH,
        false,
    );
    r[10..12].copy_from_slice(&[0, 0]);
    let before = r.len();
    rej.sign_error_response(&mut r, NOW).unwrap();
    assert_eq!(r.len() - before, rej.tsig_len());
    let rr = find_tsig(&r).unwrap().unwrap();
    assert!(rr.mac.is_empty());
    assert_eq!(rr.error, 17);
    assert_eq!(client.verify(&r, NOW), Err(ResponseError::Server(17)));
}

#[test]
fn badtime_outside_fudge_and_signed_answer() {
    let k = key("hmac-sha256");
    let mut q = query(5, 0, "example.org", 6);
    let mut client = sign_request(k.clone(), &mut q, NOW).unwrap();
    // Inside the fudge at both ends.
    for now in [NOW - 300, NOW + 300] {
        assert!(matches!(
            verify_request(&q, now, |_| Some(k.clone())),
            Ok(Some(_))
        ));
    }
    for now in [NOW - 301, NOW + 301] {
        let rej = verify_request(&q, now, |_| Some(k.clone())).unwrap_err();
        assert_eq!(rej.error(), TsigError::BadTime);
    }
    let rej = verify_request(&q, NOW + 1000, |_| Some(k.clone())).unwrap_err();
    let mut r = answer(
        &q[..find_tsig(&q).unwrap().unwrap().start],
        RCODE_NOTAUTH,
        false,
    );
    r[10..12].copy_from_slice(&[0, 0]);
    rej.sign_error_response(&mut r, NOW + 1000).unwrap();
    let rr = find_tsig(&r).unwrap().unwrap();
    assert_eq!(
        rr.time_signed, NOW,
        "BADTIME echoes the request's Time Signed"
    );
    assert_eq!(
        be48(&rr.other, 0).unwrap(),
        NOW + 1000,
        "and our clock in Other Data"
    );
    assert_eq!(rr.error, 18);
    // Signed: our client verifies the MAC and then reports the server's error.
    assert_eq!(client.verify(&r, NOW), Err(ResponseError::Server(18)));
}

#[test]
fn truncated_mac_badtrunc_and_short_mac_formerr() {
    let k = key("hmac-sha256");
    let mut q = query(5, 0, "example.org", 6);
    sign_request(k.clone(), &mut q, NOW).unwrap();
    let rr = find_tsig(&q).unwrap().unwrap();
    let with_mac = |len: usize| {
        let mut m = q[..rr.start].to_vec();
        m[10..12].copy_from_slice(&[0, 0]);
        append_tsig(
            &mut m,
            &rr.key_wire,
            &rr.alg_wire,
            NOW,
            300,
            &rr.mac[..len],
            5,
            0,
            &[],
        );
        m
    };
    assert_eq!(
        verify_request(&with_mac(16), NOW, |_| Some(k.clone()))
            .unwrap_err()
            .error(),
        TsigError::BadTrunc
    );
    assert_eq!(
        verify_request(&with_mac(15), NOW, |_| Some(k.clone()))
            .unwrap_err()
            .error(),
        TsigError::FormErr
    );
    assert!(matches!(
        verify_request(&with_mac(32), NOW, |_| Some(k.clone())),
        Ok(Some(_))
    ));
}

#[test]
fn tsig_must_be_last_and_well_formed() {
    let k = key("hmac-sha256");
    let mut q = query(5, 0, "example.org", 6);
    sign_request(k.clone(), &mut q, NOW).unwrap();
    // A record after the TSIG.
    let mut after = q.clone();
    after[11] += 1;
    after.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
    let rej = verify_request(&after, NOW, |_| Some(k.clone())).unwrap_err();
    assert_eq!(rej.error(), TsigError::FormErr);
    assert_eq!(rej.rcode(), RCODE_FORMERR);
    assert_eq!(rej.tsig_len(), 0);
    // Trailing garbage, truncated message.
    let mut trailing = q.clone();
    trailing.push(0);
    assert_eq!(
        verify_request(&trailing, NOW, |_| Some(k.clone()))
            .unwrap_err()
            .error(),
        TsigError::FormErr
    );
    for cut in [5, 12, q.len() - 1] {
        assert_eq!(
            verify_request(&q[..cut], NOW, |_| Some(k.clone()))
                .unwrap_err()
                .error(),
            TsigError::FormErr
        );
    }
    // A TSIG owner name that points at itself must not hang: FORMERR.
    let mut looped = q[..rr_start(&q)].to_vec();
    let p = looped.len();
    looped.extend_from_slice(&[0xC0 | (p >> 8) as u8, p as u8]);
    looped.extend_from_slice(&q[rr_start(&q) + wire_name("tsig-key.example").len()..]);
    assert_eq!(
        verify_request(&looped, NOW, |_| Some(k.clone()))
            .unwrap_err()
            .error(),
        TsigError::FormErr
    );
    // The same RR with a proper pointer to a name elsewhere would be readable: the test
    // above fails for the loop, not for the pointer.
    let mut pointed = q[..rr_start(&q)].to_vec();
    pointed.extend_from_slice(&[0xC0, 12]);
    pointed.extend_from_slice(&q[rr_start(&q) + wire_name("tsig-key.example").len()..]);
    let rej = verify_request(&pointed, NOW, |_| None).unwrap_err();
    assert_eq!(rej.error(), TsigError::BadKey);
    assert_eq!(rej.key_name().as_deref(), Some("example.org"));
}

#[test]
fn stream_signs_first_last_and_every_interval_and_client_follows() {
    let k = key("hmac-sha512");
    let q0 = query(0xBEEF, 0, "example.org", 252);
    let mut q = q0.clone();
    let mut client = sign_request(k.clone(), &mut q, NOW).unwrap();
    let server = verify_request(&q, NOW, |_| Some(k.clone()))
        .unwrap()
        .unwrap();
    let mut stream = server.into_stream().with_interval(3);
    let mut msgs = Vec::new();
    let mut signed = Vec::new();
    for i in 0..10u8 {
        let mut m = answer(&query(0xBEEF, 0, "example.org", 252), 0, true);
        let n = m.len();
        m[n - 1] = i; // distinct A addresses
        signed.push(stream.next(&mut m, i == 9, NOW).unwrap());
        msgs.push(m);
    }
    assert_eq!(
        signed,
        [true, false, false, true, false, false, true, false, false, true]
    );
    for (i, m) in msgs.iter().enumerate() {
        let want = if signed[i] {
            ResponseTsig::Signed
        } else {
            ResponseTsig::Unsigned
        };
        assert_eq!(client.verify(m, NOW), Ok(want), "message {i}");
    }

    // A changed unsigned message is caught by the next signature.
    // (Same request, same time: the same request MAC.)
    let mut client = sign_request(k.clone(), &mut q0.clone(), NOW).unwrap();
    let mut tampered = msgs.clone();
    let n = tampered[1].len();
    tampered[1][n - 1] ^= 0x40;
    assert_eq!(client.verify(&tampered[0], NOW), Ok(ResponseTsig::Signed));
    assert_eq!(client.verify(&tampered[1], NOW), Ok(ResponseTsig::Unsigned));
    assert_eq!(client.verify(&tampered[2], NOW), Ok(ResponseTsig::Unsigned));
    assert_eq!(client.verify(&tampered[3], NOW), Err(ResponseError::BadSig));
}

#[test]
fn stream_refuses_unsigned_first_and_long_runs() {
    let k = key("hmac-sha256");
    let mut q = query(1, 0, "example.org", 252);
    sign_request(k.clone(), &mut q, NOW).unwrap();
    let mut stream = verify_request(&q, NOW, |_| Some(k.clone()))
        .unwrap()
        .unwrap()
        .into_stream();
    let m = answer(&query(1, 0, "example.org", 252), 0, true);
    assert_eq!(stream.pass(&m), Err(SignError::MustSign));
    stream.sign(&mut m.clone(), NOW).unwrap();
    for _ in 0..MAX_UNSIGNED_RUN {
        stream.pass(&m).unwrap();
    }
    assert_eq!(stream.pass(&m), Err(SignError::MustSign));
    let mut stream = verify_request(&q, NOW, |_| Some(k.clone()))
        .unwrap()
        .unwrap()
        .into_stream()
        .with_interval(1000);
    let mut count_unsigned = 0;
    for i in 0..250 {
        if !stream.next(&mut m.clone(), i == 249, NOW).unwrap() {
            count_unsigned += 1;
        }
    }
    assert_eq!(count_unsigned, 250 - 4, "signed: 0, 100, 200, 249");
}

/// xorshift64*: a fixed pseudo-random sequence for the mutation tests.
fn rng(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

#[test]
fn mutated_messages_never_panic_and_never_verify() {
    let k = key("hmac-sha384");
    let mut q = answer(&query(0x0101, 0, "www.example.org", 1), 0, true);
    let mut client = sign_request(k.clone(), &mut q, NOW).unwrap();
    let server = verify_request(&q, NOW, |_| Some(k.clone()))
        .unwrap()
        .unwrap();
    let mut r = answer(&query(0x0101, 0, "www.example.org", 1), 0, true);
    server.sign_response(&mut r, NOW).unwrap();
    assert_eq!(client.verify(&r, NOW), Ok(ResponseTsig::Signed));

    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for round in 0..20_000 {
        let mut m = if round % 2 == 0 { q.clone() } else { r.clone() };
        for _ in 0..=(rng(&mut state) % 3) {
            let i = (rng(&mut state) as usize) % m.len();
            m[i] = rng(&mut state) as u8;
        }
        if rng(&mut state) % 8 == 0 {
            let cut = (rng(&mut state) as usize) % m.len();
            m.truncate(cut);
        }
        let original = if round % 2 == 0 { &q } else { &r };
        // Only the ID (the Original ID is what the MAC covers) and the letter case in the
        // TSIG RR (names digested in canonical form) may change without breaking the MAC.
        let tsig_start = find_tsig(original).unwrap().unwrap().start;
        let harmless = m.len() == original.len()
            && m.iter()
                .zip(original.iter())
                .enumerate()
                .all(|(i, (a, b))| {
                    a == b || i < 2 || (i >= tsig_start && a.eq_ignore_ascii_case(b))
                });
        if let Ok(Some(_)) = verify_request(&m, NOW, |_| Some(k.clone())) {
            assert!(harmless, "round {round}: a mutated request verified");
        }
        // A client in the state of the one that sent `q` (same request, same time).
        let mut same = answer(&query(0x0101, 0, "www.example.org", 1), 0, true);
        let mut c = sign_request(k.clone(), &mut same, NOW).unwrap();
        if let Ok(ResponseTsig::Signed) = c.verify(&m, NOW) {
            assert!(harmless, "round {round}: a mutated response verified");
        }
    }
}

mod bind;
mod knot;
