//! Slow and abusive clients: slow-loris, silent and idle keep-alive connections against a small
//! connection cap and a 2 s header timeout, while a normal client keeps getting answers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::harness::*;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Abuse {
    /// Headers one byte at a time, never finished.
    SlowLoris,
    /// Connected, sends nothing.
    Silent,
    /// One request answered on a keep-alive connection, then idle.
    IdleKeepAlive,
}

struct AbuseConn {
    kind: Abuse,
    s: TcpStream,
    opened: Instant,
    closed: Option<Duration>,
    sent: usize,
}

#[test]
fn slow_loris_and_idle_connections_do_not_starve_the_server() {
    let t0 = Instant::now();
    let Fixture { srv, token, .. } = Fixture::shared("rel-slow", SHARED, EMAIL)
        .config(
            "[http]\nheader_timeout_secs = 2\nmax_connections = 64\n\n[limits]\n\
             requests_per_5min = 0\nip_requests_per_5min = 0\n",
        )
        .start();
    let r = srv.json("POST", "/v1/hostnames", &token, r#"{"hostname":"probe"}"#);
    assert_eq!(r.status, 201, "{}", r.body);

    const SLOW: usize = 100;
    const SILENT: usize = 50;
    const IDLE: usize = 50;
    let mut conns: Vec<AbuseConn> = Vec::new();
    for i in 0..SLOW + SILENT + IDLE {
        let kind = if i < SLOW {
            Abuse::SlowLoris
        } else if i < SLOW + SILENT {
            Abuse::Silent
        } else {
            Abuse::IdleKeepAlive
        };
        let mut s = TcpStream::connect_timeout(&srv.http, Duration::from_secs(3))
            .expect("connect (kernel backlog)");
        if kind == Abuse::IdleKeepAlive {
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                .expect("write");
        }
        s.set_nonblocking(true).expect("nonblocking");
        conns.push(AbuseConn {
            kind,
            s,
            opened: Instant::now(),
            closed: None,
            sent: 0,
        });
    }
    const LORIS: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";

    // Normal clients keep working meanwhile (each on a fresh connection, like real ones).
    let stop = AtomicBool::new(false);
    let mut latencies: Vec<(Duration, u16)> = Vec::new();
    std::thread::scope(|sc| {
        let normal = sc.spawn(|| {
            let mut out = Vec::new();
            let mut v = 0u32;
            while !stop.load(Ordering::SeqCst) {
                v += 1;
                let target = if v & 1 == 0 {
                    "/healthz".to_string()
                } else {
                    format!("/update?domains=probe&token={token}&txt=n{v}")
                };
                let start = Instant::now();
                let o = exchange(
                    srv.http,
                    &request("GET", &target, &[], None),
                    Duration::from_secs(25),
                );
                out.push((start.elapsed(), o.status().unwrap_or(0)));
                std::thread::sleep(Duration::from_millis(200));
            }
            out
        });
        // The attacker: one byte per slow connection every 100 ms; notice closes.
        let deadline = Instant::now() + Duration::from_secs(25);
        let mut buf = [0u8; 4096];
        while conns.iter().any(|c| c.closed.is_none()) && Instant::now() < deadline {
            for c in conns.iter_mut().filter(|c| c.closed.is_none()) {
                let mut gone = false;
                if c.kind == Abuse::SlowLoris {
                    let byte = if c.sent < LORIS.len() {
                        LORIS[c.sent]
                    } else {
                        b'a'
                    };
                    match c.s.write(&[byte]) {
                        Ok(_) => c.sent += 1,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(_) => gone = true,
                    }
                }
                loop {
                    match c.s.read(&mut buf) {
                        Ok(0) => {
                            gone = true;
                            break;
                        }
                        Ok(_) => continue,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(_) => {
                            gone = true;
                            break;
                        }
                    }
                }
                if gone {
                    c.closed = Some(c.opened.elapsed());
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // A little longer for the normal client after the attack is over.
        std::thread::sleep(Duration::from_millis(600));
        stop.store(true, Ordering::SeqCst);
        latencies = normal.join().expect("normal client");
    });

    let open: Vec<Abuse> = conns
        .iter()
        .filter(|c| c.closed.is_none())
        .map(|c| c.kind)
        .collect();
    assert!(
        open.is_empty(),
        "{} abusive connections still open after 25 s (header timeout 2 s): {:?}",
        open.len(),
        &open[..open.len().min(10)]
    );
    let lifetimes: Vec<Duration> = conns.iter().filter_map(|c| c.closed).collect();
    let max_life = lifetimes.iter().max().copied().unwrap_or_default();
    let min_life = lifetimes.iter().min().copied().unwrap_or_default();
    let slow_max_bytes = conns
        .iter()
        .filter(|c| c.kind == Abuse::SlowLoris)
        .map(|c| c.sent)
        .max()
        .unwrap_or(0);
    // The first batch (accepted at once) lives about one header timeout, not much less or more.
    assert!(
        min_life >= Duration::from_millis(1500),
        "closed before the 2 s timeout: {min_life:?}"
    );
    assert!(
        max_life <= Duration::from_secs(20),
        "an abusive connection lived {max_life:?}"
    );
    let failed: Vec<&(Duration, u16)> = latencies.iter().filter(|(_, s)| *s != 200).collect();
    assert!(
        failed.is_empty(),
        "normal requests failed during the attack: {failed:?}"
    );
    assert!(
        latencies.len() >= 5,
        "too few normal requests: {latencies:?}"
    );
    let worst = latencies.iter().map(|(d, _)| *d).max().unwrap_or_default();
    assert!(
        worst <= Duration::from_secs(15),
        "a normal request took {worst:?}"
    );
    // After the attack the server is quick again.
    let start = Instant::now();
    assert_eq!(srv.get("/healthz", &[]).status, 200);
    assert!(start.elapsed() < Duration::from_secs(2));
    report!(
        "reliability/slow: {SLOW} slow-loris + {SILENT} silent + {IDLE} idle keep-alive \
         connections vs max_connections 64, header timeout 2 s: all closed by the server \
         (lifetimes {min_life:?}..{max_life:?}, slow-loris sent up to {slow_max_bytes} bytes); \
         {} normal requests all 200, worst latency {worst:?} ({:.1} s)",
        latencies.len(),
        t0.elapsed().as_secs_f64()
    );
}
