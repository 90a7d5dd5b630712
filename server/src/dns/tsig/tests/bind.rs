//! Interoperability tests against BIND's tools (Debian dnsutils): dig verifying our signed
//! answers and errors, nsupdate's signed updates, and multi-message AXFR over TCP checked by
//! dig, with the AXFR server helper (`axfr_with`) that `knot.rs` reuses.
//!
//! The shared helpers (keys, queries, the UDP exchange) are in `tests/mod.rs`; Knot's tools in
//! `knot.rs`.

use super::*;

// ---- against BIND's dig and nsupdate (Debian dnsutils)

#[test]
fn dig_verifies_our_signed_answers() {
    for alg in ["hmac-sha256", "hmac-sha384", "hmac-sha512"] {
        let k = key(alg);
        let mut seen = Vec::new();
        let (out, ok) = udp_exchange(
            dig(alg, SECRET),
            |_| None,
            |q| Some(serve_signed(q, &k, clock_now(), &mut seen)),
        );
        assert!(ok, "{out}");
        assert_eq!(seen, [Ok(())], "{out}");
        assert!(out.contains("192.0.2.7"), "{out}");
        let tsig_line = out
            .lines()
            .find(|l| l.contains("ANY\tTSIG\t"))
            .unwrap_or_else(|| panic!("{out}"));
        assert!(
            tsig_line.contains(&format!("{alg}.")) && tsig_line.contains("NOERROR"),
            "{out}"
        );
        assert!(
            !out.contains("Couldn't verify") && !out.contains("failure"),
            "{out}"
        );
    }
}

#[test]
fn dig_with_an_upper_case_key_name() {
    // Key names compare case-insensitively and enter the MAC in lower case (RFC 8945
    // §4.3.3): dig's "TSIG-Key.Example" is our "tsig-key.example".
    let k = key("hmac-sha256");
    let mut seen = Vec::new();
    let y = format!("hmac-sha256:TSIG-Key.Example:{SECRET}");
    let (out, ok) = udp_exchange(
        |port| {
            let mut c = Command::new(tool("dig"));
            c.args(["@127.0.0.1", "-p", &port.to_string(), "-y", &y])
                .args(["www.example.org", "A", "+tries=1", "+time=5"]);
            c
        },
        |_| None,
        |q| Some(serve_signed(q, &k, clock_now(), &mut seen)),
    );
    assert!(ok, "{out}");
    assert_eq!(seen, [Ok(())], "{out}");
    assert!(!out.contains("Couldn't verify"), "{out}");
}

#[test]
fn dig_notices_a_corrupted_mac() {
    let k = key("hmac-sha256");
    let mut seen = Vec::new();
    let (out, _) = udp_exchange(
        dig("hmac-sha256", SECRET),
        |_| None,
        |q| {
            let mut r = serve_signed(q, &k, clock_now(), &mut seen);
            let n = r.len();
            r[n - 10] ^= 1; // last MAC byte (Original ID, Error, Other Len follow)
            Some(r)
        },
    );
    assert_eq!(seen, [Ok(())]);
    assert!(out.contains("Couldn't verify signature"), "{out}");
}

#[test]
fn dig_with_wrong_secret_gets_badsig() {
    let k = key("hmac-sha256");
    let mut seen = Vec::new();
    let (out, _) = udp_exchange(
        dig("hmac-sha256", OTHER_SECRET),
        |_| None,
        |q| Some(serve_signed(q, &k, clock_now(), &mut seen)),
    );
    assert_eq!(seen, [Err(TsigError::BadSig)], "{out}");
    assert!(out.contains("NOTAUTH") && out.contains("BADSIG"), "{out}");
    assert!(!out.contains("192.0.2.7"), "{out}");
}

#[test]
fn dig_with_unknown_key_gets_badkey() {
    let k = Arc::new(TsigKey::from_base64("other-key", "hmac-sha256", SECRET).unwrap());
    let mut seen = Vec::new();
    let (out, _) = udp_exchange(
        dig("hmac-sha256", SECRET),
        |_| None,
        |q| Some(serve_signed(q, &k, clock_now(), &mut seen)),
    );
    assert_eq!(seen, [Err(TsigError::BadKey)], "{out}");
    assert!(out.contains("NOTAUTH") && out.contains("BADKEY"), "{out}");
}

/// Flip a bit of the MAC in a signed answer.
pub(super) fn corrupt_mac(r: &mut [u8]) {
    let mac = find_tsig(r).unwrap().unwrap().mac;
    let at = r.windows(mac.len()).rposition(|w| w == mac).unwrap();
    r[at] ^= 1;
}

/// dig's verdict on our signed error answer to its request, and on the same answer with
/// its MAC corrupted: the first must be the TSIG error, the second a verify failure, so
/// dig really checked the MAC before it looked at the error.
fn dig_on_signed_error(alg: &str, skew: u64, want: TsigError) -> (String, String) {
    let k = key("hmac-sha256");
    let mut outs = Vec::new();
    for corrupt in [false, true] {
        let mut seen = Vec::new();
        let (out, _) = udp_exchange(
            dig(alg, SECRET),
            |_| None,
            |q| {
                let mut r = serve_signed(q, &k, clock_now() + skew, &mut seen);
                if corrupt {
                    corrupt_mac(&mut r);
                }
                Some(r)
            },
        );
        assert_eq!(seen, [Err(want)], "{out}");
        assert!(
            out.contains(&want.to_string()) && out.contains("NOTAUTH"),
            "{out}"
        );
        outs.push(out);
    }
    let corrupted = outs.pop().unwrap_or_default();
    (outs.pop().unwrap_or_default(), corrupted)
}

#[test]
fn dig_verifies_our_signed_badtime_answer() {
    // Our clock 20 minutes ahead of dig's: dig verifies the MAC, then reports the skew.
    let (good, corrupted) = dig_on_signed_error("hmac-sha256", 1200, TsigError::BadTime);
    assert!(good.contains("clocks are unsynchronized"), "{good}");
    assert!(!good.contains("verify failure"), "{good}");
    assert!(corrupted.contains("tsig verify failure"), "{corrupted}");
}

#[test]
fn dig_with_truncated_mac_gets_signed_badtrunc() {
    let (good, corrupted) = dig_on_signed_error("hmac-sha256-128", 0, TsigError::BadTrunc);
    assert!(good.contains("tsig indicates error"), "{good}");
    assert!(!good.contains("verify failure"), "{good}");
    assert!(corrupted.contains("tsig verify failure"), "{corrupted}");
}

/// nsupdate's output and success, our verdicts, the messages it sent.
type NsupdateRun = (String, bool, Vec<Result<(), TsigError>>, Vec<Vec<u8>>);

fn nsupdate(secret: &'static str, add: &'static str) -> NsupdateRun {
    update_with("nsupdate", secret, add)
}

/// Run BIND's `nsupdate` or Knot's `knsupdate` with `-y` against our verifier.
fn update_with(program: &str, secret: &'static str, add: &'static str) -> NsupdateRun {
    let k = key("hmac-sha256");
    let mut seen = Vec::new();
    let mut received = Vec::new();
    let (out, ok) = udp_exchange(
        |_| {
            let mut c = Command::new(tool(program));
            c.args(["-y", &format!("hmac-sha256:tsig-key.example:{secret}")]);
            if program == "nsupdate" {
                c.args(["-t", "5"]);
            }
            c
        },
        |port| {
            Some(format!(
                "server 127.0.0.1 {port}\nzone example.org\nupdate add {add}\nsend\n"
            ))
        },
        |q| {
            received.push(q.to_vec());
            let got = verify_request(q, clock_now(), |n| (n == k.name()).then(|| k.clone()));
            Some(match got {
                Ok(Some(server)) => {
                    seen.push(Ok(()));
                    let mut r = answer(q, 0, false);
                    server.sign_response(&mut r, clock_now()).unwrap();
                    r
                }
                Ok(None) => panic!("nsupdate sent an unsigned message"),
                Err(rej) => {
                    seen.push(Err(rej.error()));
                    let mut r = answer(q, rej.rcode(), false);
                    rej.sign_error_response(&mut r, clock_now()).unwrap();
                    r
                }
            })
        },
    );
    (out, ok, seen, received)
}

#[test]
fn nsupdate_signed_update_verifies_and_accepts_our_answer() {
    let (out, ok, seen, received) = nsupdate(SECRET, "host.example.org 60 A 192.0.2.1");
    assert_eq!(seen, [Ok(())], "{out}");
    assert!(ok, "nsupdate failed: {out}");
    let upd = &received[0];
    assert_eq!((upd[2] >> 3) & 0x0F, 5, "opcode UPDATE");
    assert!(
        upd.windows(4).any(|w| w == [192, 0, 2, 1]),
        "the update carries the record"
    );
}

#[test]
fn nsupdate_with_wrong_secret_is_refused() {
    let (out, ok, seen, _) = nsupdate(OTHER_SECRET, "host.example.org 60 A 192.0.2.1");
    assert_eq!(seen, [Err(TsigError::BadSig)], "{out}");
    assert!(!ok, "nsupdate must fail: {out}");
}

// ---- multi-message AXFR over TCP, checked by dig

fn rr(owner: &str, rtype: u16, rdata: &[u8]) -> Vec<u8> {
    let mut r = wire_name(owner);
    r.extend_from_slice(&rtype.to_be_bytes());
    r.extend_from_slice(&1u16.to_be_bytes());
    r.extend_from_slice(&300u32.to_be_bytes());
    r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    r.extend_from_slice(rdata);
    r
}

fn soa() -> Vec<u8> {
    let mut d = wire_name("ns1.example.org");
    d.extend(wire_name("hostmaster.example.org"));
    for v in [2026120301u32, 3600, 600, 86400, 300] {
        d.extend_from_slice(&v.to_be_bytes());
    }
    rr("example.org", 6, &d)
}

/// Serve one AXFR of `messages` messages of 5 A records each over TCP, signed through a
/// `TsigStream` signing every 3rd; `tamper` may change a message after signing.
fn axfr_with_dig(messages: usize, tamper: impl Fn(usize, &mut Vec<u8>)) -> String {
    axfr_with(
        |port| {
            let mut c = Command::new(tool("dig"));
            c.args(["@127.0.0.1", "-p", &port.to_string()])
                .args(["-y", &format!("hmac-sha256:tsig-key.example:{SECRET}")])
                .args(["example.org", "AXFR", "+tries=1", "+time=5"]);
            c
        },
        messages,
        tamper,
    )
}

/// The AXFR exchange with any client command (given the port).
pub(super) fn axfr_with(
    client: impl FnOnce(u16) -> Command,
    messages: usize,
    tamper: impl Fn(usize, &mut Vec<u8>),
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let child = client(port)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut len = [0u8; 2];
    conn.read_exact(&mut len).unwrap();
    let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
    conn.read_exact(&mut q).unwrap();
    let k = key("hmac-sha256");
    let server = verify_request(&q, clock_now(), |n| (n == k.name()).then(|| k.clone()))
        .unwrap()
        .expect("signed AXFR request");
    let mut stream = server.into_stream().with_interval(3);
    let qend = skip_name(&q, 12).unwrap() + 4;
    for i in 0..messages {
        let mut m = q[..12].to_vec();
        m[2] = 0x84;
        m[3] = 0;
        let mut records = Vec::new();
        if i == 0 {
            records.push(soa());
        }
        for j in 0..5u8 {
            records.push(rr(&format!("h{i}-{j}.example.org"), 1, &[192, 0, 2, j]));
        }
        if i + 1 == messages {
            records.push(soa());
        }
        let qd = u16::from(i == 0);
        m[4..12].copy_from_slice(&[0, qd as u8, 0, records.len() as u8, 0, 0, 0, 0]);
        if i == 0 {
            m.extend_from_slice(&q[12..qend]);
        }
        for r in records {
            m.extend(r);
        }
        stream.next(&mut m, i + 1 == messages, clock_now()).unwrap();
        tamper(i, &mut m);
        let mut framed = (m.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&m);
        if conn.write_all(&framed).is_err() {
            // The client gave up (after a MAC it rejected).
            break;
        }
    }
    drop(conn);
    let out = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn dig_verifies_our_multi_message_axfr() {
    let out = axfr_with_dig(8, |_, _| {});
    assert!(out.contains("XFR size: 42 records (messages 8"), "{out}");
    assert!(!out.contains("failed") && !out.contains("failure"), "{out}");
}

#[test]
fn dig_notices_a_changed_unsigned_axfr_message() {
    // Message 1 goes out unsigned (interval 3): changing its last A record's address
    // breaks the MAC of message 2.
    let out = axfr_with_dig(8, |i, m| {
        if i == 1 {
            let n = m.len();
            m[n - 1] ^= 0x40;
        }
    });
    assert!(out.contains("failed") || out.contains("failure"), "{out}");
}

#[test]
fn knsupdate_signed_update_verifies_and_accepts_our_answer() {
    let (out, ok, seen, received) =
        update_with("knsupdate", SECRET, "host.example.org 60 A 192.0.2.1");
    assert_eq!(seen, [Ok(())], "{out}");
    assert!(ok, "knsupdate failed: {out}");
    assert_eq!((received[0][2] >> 3) & 0x0F, 5, "opcode UPDATE");
    let (out, _, seen, _) =
        update_with("knsupdate", OTHER_SECRET, "host.example.org 60 A 192.0.2.1");
    assert_eq!(seen, [Err(TsigError::BadSig)], "{out}");
}
