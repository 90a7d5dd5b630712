//! Reliability under crashes, bad input, abusive clients and load: the real `lucentd` killed
//! with SIGKILL while clients write (every acknowledged write survives, the file stays sound,
//! DNS agrees with the API), a deterministic barrage of malformed HTTP and DNS input (no 5xx,
//! no hang, no change to stored data), slow-loris and idle connections against a small
//! connection cap, rate limits hammered from several threads, and `/metrics` counters that move
//! consistently with what the clients saw. Each test prints its counts (`report!`).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use hickory_proto::op::{Edns, Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};
use serde_json::json;

use crate::harness::*;

/// A test's summary line (what it sent, survived and verified), written to stderr directly so
/// that `cargo test` shows it for passing tests too: the harness captures `eprintln!`, not this.
macro_rules! report {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stderr().lock(), $($t)*);
    }};
}

const SHARED: &str = "dyn.example.net";
const HOSTED: &str = "example.org";

// ---------------------------------------------------------------------------------------------
// Small tools: a deterministic PRNG, a config-file server, a raw HTTP exchange that never panics.
// ---------------------------------------------------------------------------------------------

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
    fn pick_str(&mut self, v: &[&'static str]) -> &'static str {
        v[self.below(v.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn ascii(&mut self, n: usize) -> String {
        const A: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-_.~%+=&?/:;@!$'()*,";
        (0..n).map(|_| *self.pick(A) as char).collect()
    }
}

/// Write `lucentd.toml` into the test dir; its path.
fn write_config(dir: &TestDir, text: &str) -> PathBuf {
    let p = dir.path("lucentd.toml");
    std::fs::write(&p, text).expect("write config");
    p
}

/// A shared zone, one user (its token) and the server started with `config` (TOML text).
fn shared_zone_server(name: &str, config: &str) -> (TestDir, String, Server) {
    let dir = TestDir::new(name);
    admin(&dir, &["zone", "add", SHARED, "--shared"]);
    let token = add_user(&dir, EMAIL, &[]);
    let cfg = write_config(&dir, config);
    let srv = start_cfg(&dir, &cfg);
    (dir, token, srv)
}

fn start_cfg(dir: &TestDir, cfg: &Path) -> Server {
    let c = cfg.to_str().expect("utf-8 path");
    Server::start_with(
        dir,
        ServerOpts {
            args: vec!["--config", c],
            env: vec![],
        },
    )
}

/// What came back for one request.
#[derive(Debug)]
enum Outcome {
    Reply(HttpReply),
    /// The server closed (or reset) without a complete reply; whatever bytes did arrive.
    Closed(Vec<u8>),
    /// Nothing conclusive before the deadline.
    Hang(Vec<u8>),
    ConnectFailed,
}

impl Outcome {
    fn status(&self) -> Option<u16> {
        match self {
            Outcome::Reply(r) => Some(r.status),
            Outcome::Closed(b) | Outcome::Hang(b) => status_of(b),
            Outcome::ConnectFailed => None,
        }
    }
}

fn status_of(b: &[u8]) -> Option<u16> {
    let line = b.split(|c| *c == b'\n').next()?;
    let line = String::from_utf8_lossy(line);
    let mut it = line.split_whitespace();
    if !it.next()?.starts_with("HTTP/") {
        return None;
    }
    it.next()?.parse().ok()
}

/// A complete reply at the start of `buf` (1xx interim replies skipped); None if incomplete.
fn complete_reply(buf: &[u8]) -> Option<HttpReply> {
    let mut buf = buf;
    loop {
        let pos = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&buf[..pos]).into_owned();
        let mut lines = head.split("\r\n");
        let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
        if (100..200).contains(&status) {
            buf = &buf[pos + 4..];
            continue;
        }
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())?;
        let body = &buf[pos + 4..];
        if body.len() < len {
            return None;
        }
        return Some(HttpReply {
            status,
            headers,
            body: String::from_utf8_lossy(&body[..len]).into_owned(),
        });
    }
}

/// Read one reply (until complete, EOF, error or `deadline`).
fn read_reply(s: &mut TcpStream, deadline: Instant) -> Outcome {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        if let Some(r) = complete_reply(&buf) {
            return Outcome::Reply(r);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Outcome::Hang(buf);
        }
        let _ = s.set_read_timeout(Some(left));
        match s.read(&mut chunk) {
            Ok(0) => return Outcome::Closed(buf),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Outcome::Hang(buf)
            }
            Err(_) => return Outcome::Closed(buf),
        }
    }
}

/// Send raw bytes on a fresh connection and read one reply; never panics.
fn exchange(addr: SocketAddr, bytes: &[u8], timeout: Duration) -> Outcome {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(3)) else {
        return Outcome::ConnectFailed;
    };
    let _ = s.set_nodelay(true);
    let _ = s.set_write_timeout(Some(timeout));
    // The server may answer (413, 431) and close before it read everything: keep reading.
    let _ = s.write_all(bytes);
    read_reply(&mut s, Instant::now() + timeout)
}

/// A well-formed request's bytes (`Connection: close`).
fn request(method: &str, target: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Vec<u8> {
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    if let Some(b) = body {
        bytes.extend_from_slice(b);
    }
    bytes
}

/// Percent-encode everything but unreserved characters.
fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Printable excerpt of request bytes for a failure report.
fn show(b: &[u8]) -> String {
    let s: String = String::from_utf8_lossy(&b[..b.len().min(300)])
        .escape_debug()
        .to_string();
    if b.len() > 300 {
        format!("{s}… ({} bytes)", b.len())
    } else {
        s
    }
}

/// Sum of the samples of `name` whose labels contain every `label="value"` pair given.
fn metric_sum(text: &str, name: &str, labels: &[(&str, &str)]) -> u64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            if n != name {
                return None;
            }
            labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
                .then(|| value.parse::<f64>().ok())
                .flatten()
        })
        .map(|v| v as u64)
        .sum()
}

fn integrity_check(db: &std::path::Path) -> String {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open db read-only");
    c.busy_timeout(Duration::from_secs(10)).expect("busy");
    let rows: Vec<String> = c
        .prepare("PRAGMA integrity_check")
        .expect("prepare")
        .query_map([], |r| r.get::<_, String>(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    rows.join("; ")
}

fn basic(email: &str, key: &str) -> String {
    let b = base64::engine::general_purpose::STANDARD.encode(format!("{email}:{key}"));
    format!("Basic {b}")
}

fn txt_of(m: &Message) -> Vec<String> {
    let mut v: Vec<String> = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            hickory_proto::rr::RData::TXT(t) => Some(
                t.txt_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// 1. Crash durability: SIGKILL while four clients write.
// ---------------------------------------------------------------------------------------------

const CLIENTS: usize = 4;
const HOSTS_PER_CLIENT: usize = 3;
const KILLS: usize = 5;

/// How a client writes its value: TXT or IPv4 or IPv6 via `/update`, or TXT via PATCH.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    UpdateTxt,
    UpdateIpv4,
    UpdateIpv6,
    PatchTxt,
}

const MODES: [Mode; CLIENTS] = [
    Mode::UpdateTxt,
    Mode::UpdateIpv4,
    Mode::UpdateIpv6,
    Mode::PatchTxt,
];

fn enc4(v: u64) -> Ipv4Addr {
    Ipv4Addr::from(0x0B00_0000u32 + v as u32)
}
fn enc6(v: u64) -> Ipv6Addr {
    Ipv6Addr::from(0x2001_0db8_0000_0000_0000_0000_0000_0000u128 + u128::from(v))
}

struct Tracked {
    label: String,
    /// Highest value that got a 2xx.
    acked: AtomicU64,
    /// Highest value sent (answered or not).
    sent: AtomicU64,
}

/// The value a hostname object holds for `mode`, and whether its other fields are untouched.
fn decode(mode: Mode, h: &serde_json::Value) -> (Option<u64>, bool) {
    let txt = h["txt"].as_str();
    let v4 = h["ipv4"].as_str();
    let v6 = h["ipv6"].as_str();
    let from_txt = |t: Option<&str>| t.and_then(|t| t.strip_prefix('v')?.parse().ok());
    let from4 = |t: Option<&str>| {
        t.and_then(|t| t.parse::<Ipv4Addr>().ok())
            .map(|a| u64::from(u32::from(a) - 0x0B00_0000))
    };
    let from6 = |t: Option<&str>| {
        t.and_then(|t| t.parse::<Ipv6Addr>().ok())
            .map(|a| (u128::from(a) - u128::from(enc6(0))) as u64)
    };
    let init4 = v4 == Some(&enc4(0).to_string()[..]);
    let init6 = v6 == Some(&enc6(0).to_string()[..]);
    let init_txt = txt == Some("v0");
    match mode {
        Mode::UpdateTxt | Mode::PatchTxt => (from_txt(txt), init4 && init6),
        Mode::UpdateIpv4 => (from4(v4), init6 && init_txt),
        Mode::UpdateIpv6 => (from6(v6), init4 && init_txt),
    }
}

#[test]
fn crash_durability_acknowledged_writes_survive_sigkill() {
    let t0 = Instant::now();
    let dir = TestDir::new("rel-crash");
    admin(&dir, &["zone", "add", SHARED, "--shared"]);
    let tokens: Vec<String> = (0..CLIENTS)
        .map(|i| add_user(&dir, &format!("c{i}@example.org"), &[]))
        .collect();
    admin(&dir, &["zone", "add", HOSTED, "--owner", "c0@example.org"]);
    let cfg = write_config(
        &dir,
        "[limits]\nrequests_per_5min = 0\nip_requests_per_5min = 0\n",
    );
    let mut srv = start_cfg(&dir, &cfg);

    let hosts: Vec<Vec<Arc<Tracked>>> = (0..CLIENTS)
        .map(|c| {
            (0..HOSTS_PER_CLIENT)
                .map(|k| {
                    let label = format!("h{c}x{k}");
                    let body = json!({"hostname": label, "zoneDomain": SHARED,
                        "ipv4": enc4(0).to_string(), "ipv6": enc6(0).to_string(), "txt": "v0"});
                    let r = srv.json("POST", "/v1/hostnames", &tokens[c], &body.to_string());
                    assert_eq!(r.status, 201, "{}", r.body);
                    Arc::new(Tracked {
                        label,
                        acked: AtomicU64::new(0),
                        sent: AtomicU64::new(0),
                    })
                })
                .collect()
        })
        .collect();
    let hosted_soa = soa_serial(&srv.dig(&format!("{HOSTED}."), RecordType::SOA));

    let addr: Arc<RwLock<Option<SocketAddr>>> = Arc::new(RwLock::new(Some(srv.http)));
    let stop = Arc::new(AtomicBool::new(false));
    let busy = Arc::new(AtomicUsize::new(0));
    let sent_total = Arc::new(AtomicU64::new(0));
    let ok_total = Arc::new(AtomicU64::new(0));
    // OK answers counted by the clients in the current server incarnation: (update, patch).
    let epoch_ok = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));

    let mut threads = Vec::new();
    for (c, mode) in MODES.iter().copied().enumerate() {
        let (addr, stop, busy) = (addr.clone(), stop.clone(), busy.clone());
        let (sent_total, ok_total, epoch_ok) =
            (sent_total.clone(), ok_total.clone(), epoch_ok.clone());
        let failures = failures.clone();
        let token = tokens[c].clone();
        let mine = hosts[c].clone();
        threads.push(std::thread::spawn(move || {
            let mut i = 0usize;
            while !stop.load(Ordering::SeqCst) {
                busy.fetch_add(1, Ordering::SeqCst);
                let a = *addr.read().expect("lock");
                let Some(a) = a else {
                    busy.fetch_sub(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let h = &mine[i % mine.len()];
                i += 1;
                let v = h.sent.load(Ordering::SeqCst) + 1;
                h.sent.store(v, Ordering::SeqCst);
                let fqdn = format!("{}.{SHARED}", h.label);
                let bytes = match mode {
                    Mode::UpdateTxt => request(
                        "GET",
                        &format!("/update?domains={fqdn}&token={token}&txt=v{v}"),
                        &[],
                        None,
                    ),
                    Mode::UpdateIpv4 => request(
                        "GET",
                        &format!("/update?domains={}&token={token}&ip={}", h.label, enc4(v)),
                        &[],
                        None,
                    ),
                    Mode::UpdateIpv6 => request(
                        "GET",
                        &format!("/update?domains={fqdn}&token={token}&ipv6={}", enc6(v)),
                        &[],
                        None,
                    ),
                    Mode::PatchTxt => request(
                        "PATCH",
                        &format!("/v1/hostnames/{}", h.label),
                        &[
                            ("Authorization", &format!("Bearer {token}")),
                            ("Content-Type", "application/json"),
                        ],
                        Some(json!({ "txt": format!("v{v}") }).to_string().as_bytes()),
                    ),
                };
                sent_total.fetch_add(1, Ordering::SeqCst);
                match exchange(a, &bytes, Duration::from_secs(10)) {
                    Outcome::Reply(r) => {
                        let ok = match mode {
                            Mode::PatchTxt => {
                                r.status == 200
                                    && serde_json::from_str::<serde_json::Value>(&r.body)
                                        .ok()
                                        .is_some_and(|j| j["txt"] == format!("v{v}"))
                            }
                            _ => r.status == 200 && r.body == "OK",
                        };
                        if ok {
                            h.acked.fetch_max(v, Ordering::SeqCst);
                            ok_total.fetch_add(1, Ordering::SeqCst);
                            let slot = usize::from(mode == Mode::PatchTxt);
                            epoch_ok[slot].fetch_add(1, Ordering::SeqCst);
                        } else {
                            failures.lock().expect("lock").push(format!(
                                "{mode:?} {} v{v}: answered {} {:?}",
                                h.label, r.status, r.body
                            ));
                        }
                    }
                    Outcome::Hang(b) => failures.lock().expect("lock").push(format!(
                        "{mode:?} {} v{v}: no answer within 10 s ({})",
                        h.label,
                        show(&b)
                    )),
                    // Killed mid-request (or not listening yet): unanswered, may or may not apply.
                    Outcome::Closed(_) | Outcome::ConnectFailed => {}
                }
                busy.fetch_sub(1, Ordering::SeqCst);
            }
        }));
    }

    let mut rng = Rng::new(0xC0FFEE);
    let mut kills = 0;
    let mut verified = 0u64;
    let mut in_flight_applied = 0u64;
    let mut metrics_checks = 0;
    let (mut all_commits, mut all_writes) = (0u64, 0u64);
    for round in 0..=KILLS {
        // Let the clients write for a random while, scrape /metrics, then kill at once.
        std::thread::sleep(Duration::from_millis(400 + rng.below(1100) as u64));
        let seen_update = epoch_ok[0].load(Ordering::SeqCst);
        let seen_patch = epoch_ok[1].load(Ordering::SeqCst);
        let m = srv.get("/metrics", &[]);
        assert_eq!(m.status, 200);
        let upd = metric_sum(
            &m.body,
            "lucent_http_requests_total",
            &[("route", "update"), ("status", "200")],
        );
        let patch = metric_sum(
            &m.body,
            "lucent_http_requests_total",
            &[("route", "hostname"), ("status", "200")],
        );
        let changed = metric_sum(&m.body, "lucent_updates_total", &[("result", "changed")]);
        assert!(
            upd >= seen_update && patch >= seen_patch && changed >= seen_update,
            "metrics behind the clients: update 200 {upd} < {seen_update} or hostname 200 \
             {patch} < {seen_patch} or updates changed {changed} < {seen_update}"
        );
        assert!(metric_sum(&m.body, "lucent_store_seconds_count", &[]) > 0);
        // Group commit (the counters start with each server process, like the ones above):
        // every commit carried a write, and every write answered 200 went through one.
        let commits = metric_sum(&m.body, "lucent_store_commits_total", &[]);
        let writes = metric_sum(&m.body, "lucent_store_writes_total", &[]);
        assert!(
            commits > 0 && writes >= commits && writes >= upd + patch,
            "store counters: {writes} writes in {commits} commits, but update 200 {upd} + \
             hostname 200 {patch}"
        );
        all_commits += commits;
        all_writes += writes;
        assert!(
            !m.body.contains("status=\"5"),
            "5xx counted in metrics:\n{}",
            m.body
        );
        metrics_checks += 1;
        if round == KILLS {
            break;
        }
        std::thread::sleep(Duration::from_millis(rng.below(60) as u64));
        *addr.write().expect("lock") = None;
        srv.kill9();
        kills += 1;
        let deadline = Instant::now() + Duration::from_secs(20);
        while busy.load(Ordering::SeqCst) > 0 {
            assert!(Instant::now() < deadline, "clients stuck after the kill");
            std::thread::sleep(Duration::from_millis(5));
        }
        srv = start_cfg(&dir, &cfg);
        // Verify with the clients paused: last acknowledged value or a later in-flight one.
        let ic = integrity_check(&dir.db());
        assert_eq!(ic, "ok", "integrity_check after kill {kills}");
        for (c, mode) in MODES.iter().copied().enumerate() {
            let list = srv.bearer("GET", "/v1/hostnames", &tokens[c]);
            assert_eq!(list.status, 200, "{}", list.body);
            let j = list.json();
            let objs = j["hostnames"].as_array().expect("hostnames array");
            assert_eq!(objs.len(), HOSTS_PER_CLIENT, "hostname count: {j}");
            for h in &hosts[c] {
                let fqdn = format!("{}.{SHARED}", h.label);
                let o = objs
                    .iter()
                    .find(|o| o["fqdn"] == fqdn.as_str())
                    .unwrap_or_else(|| panic!("{fqdn} missing after kill {kills}: {j}"));
                let (val, others_intact) = decode(mode, o);
                let val = val.unwrap_or_else(|| panic!("{fqdn}: value unreadable: {o}"));
                let (acked, sent) = (
                    h.acked.load(Ordering::SeqCst),
                    h.sent.load(Ordering::SeqCst),
                );
                assert!(
                    val >= acked,
                    "LOST ACKNOWLEDGED WRITE after kill {kills}: {fqdn} ({mode:?}) holds v{val}, \
                     but v{acked} was acknowledged"
                );
                assert!(val <= sent, "{fqdn} holds v{val}, never sent (max v{sent})");
                assert!(others_intact, "{fqdn}: other fields changed: {o}");
                if val > acked {
                    in_flight_applied += 1;
                }
                // DNS agrees with the API.
                let (rtype, want) = match mode {
                    Mode::UpdateTxt | Mode::PatchTxt => (RecordType::TXT, format!("v{val}")),
                    Mode::UpdateIpv4 => (RecordType::A, enc4(val).to_string()),
                    Mode::UpdateIpv6 => (RecordType::AAAA, enc6(val).to_string()),
                };
                let dm = srv.dig(&format!("{fqdn}."), rtype);
                let got = if rtype == RecordType::TXT {
                    txt_of(&dm)
                } else {
                    answers(&dm)
                };
                assert_eq!(got, vec![want], "DNS {fqdn} {rtype} after kill {kills}");
                verified += 1;
            }
        }
        assert_eq!(
            soa_serial(&srv.dig(&format!("{HOSTED}."), RecordType::SOA)),
            hosted_soa,
            "the untouched hosted zone changed"
        );
        epoch_ok[0].store(0, Ordering::SeqCst);
        epoch_ok[1].store(0, Ordering::SeqCst);
        *addr.write().expect("lock") = Some(srv.http);
    }
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().expect("client thread");
    }
    let failures = failures.lock().expect("lock").clone();
    assert!(failures.is_empty(), "client failures: {failures:#?}");
    assert_eq!(srv.stop(), 0, "clean SIGTERM exit");
    assert_eq!(
        integrity_check(&dir.db()),
        "ok",
        "integrity_check at the end"
    );
    let ok = ok_total.load(Ordering::SeqCst);
    assert!(
        ok > 50,
        "too few acknowledged writes to mean anything: {ok}"
    );
    report!(
        "reliability/crash: {} requests sent, {ok} acknowledged, {kills} SIGKILLs survived, \
         {verified} hostname checks (API + DNS), {in_flight_applied} unanswered writes found \
         applied, {metrics_checks} metrics scrapes consistent ({all_writes} writes in \
         {all_commits} group commits up to the scrapes), integrity_check ok ×{} ({:.1} s)",
        sent_total.load(Ordering::SeqCst),
        kills + 1,
        t0.elapsed().as_secs_f64()
    );
}

fn soa_serial(m: &Message) -> u32 {
    match m.answers.first().map(|r| &r.data) {
        Some(hickory_proto::rr::RData::SOA(s)) => s.serial,
        other => panic!("no SOA answer: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Bad input: thousands of malformed HTTP requests and DNS packets change nothing.
// ---------------------------------------------------------------------------------------------

const EMAIL: &str = "me@example.org";

struct Env {
    dir: TestDir,
    srv: Server,
    token: String,
    lua_auth: String,
    zid: i64,
    rid: i64,
}

/// A shared zone with two hostnames of one user, a hosted zone of that user with records
/// (one RRset of ~3 KB for the truncation checks), an API key; limits off, 2 s header timeout.
fn barrage_env(name: &str) -> Env {
    let dir = TestDir::new(name);
    admin(&dir, &["zone", "add", SHARED, "--shared"]);
    let token = add_user(&dir, EMAIL, &[]);
    admin(&dir, &["zone", "add", HOSTED, "--owner", EMAIL]);
    let key = last_line(&admin(&dir, &["user", "apikey", EMAIL]));
    let cfg = write_config(
        &dir,
        "[http]\nheader_timeout_secs = 2\n\n[limits]\nrequests_per_5min = 0\nip_requests_per_5min = 0\n",
    );
    let srv = start_cfg(&dir, &cfg);
    let lua_auth = basic(EMAIL, &key);
    let lua = |m: &str, p: &str, b: Option<String>| -> HttpReply {
        let h = [
            ("Authorization", lua_auth.as_str()),
            ("Accept", "application/json"),
            ("Content-Type", "application/json"),
        ];
        match b {
            Some(b) => srv.send(m, p, &h, &b),
            None => http(srv.http, m, p, &h[..2], None),
        }
    };
    let zid = lua("GET", "/v1/zones", None).json()[0]["id"]
        .as_i64()
        .expect("zone id");
    let mut rid = 0;
    let mut recs = vec![
        ("www.example.org.", "A", "192.0.2.10".to_string()),
        ("www.example.org.", "AAAA", "2001:db8::10".to_string()),
        ("example.org.", "MX", "10 mail.example.org.".to_string()),
        ("mail.example.org.", "A", "192.0.2.25".to_string()),
        (
            "alias.example.org.",
            "CNAME",
            "www.example.org.".to_string(),
        ),
        ("example.org.", "TXT", "v=spf1 -all".to_string()),
        ("big.example.org.", "A", "192.0.2.99".to_string()),
    ];
    for i in 0..15 {
        recs.push((
            "big.example.org.",
            "TXT",
            format!("{i:02}-{}", "x".repeat(180)),
        ));
    }
    for (n, t, c) in recs {
        let r = lua(
            "POST",
            &format!("/v1/zones/{zid}/records"),
            Some(json!({"name": n, "type": t, "content": c, "ttl": 300}).to_string()),
        );
        assert_eq!(r.status, 200, "{n} {t}: {}", r.body);
        if rid == 0 {
            rid = r.json()["id"].as_i64().expect("record id");
        }
    }
    for body in [
        json!({"hostname":"alpha","zoneDomain":SHARED,"ipv4":"203.0.113.1",
               "ipv6":"2001:db8::1","txt":"alpha-txt","note":"n","ttl":120}),
        json!({"hostname":"beta","zoneDomain":SHARED,"ipv4":"203.0.113.2"}),
    ] {
        let r = srv.json("POST", "/v1/hostnames", &token, &body.to_string());
        assert_eq!(r.status, 201, "{}", r.body);
    }
    Env {
        dir,
        srv,
        token,
        lua_auth,
        zid,
        rid,
    }
}

const DNS_PROBES: &[(&str, RecordType)] = &[
    ("alpha.dyn.example.net.", RecordType::A),
    ("alpha.dyn.example.net.", RecordType::AAAA),
    ("alpha.dyn.example.net.", RecordType::TXT),
    ("beta.dyn.example.net.", RecordType::A),
    ("dyn.example.net.", RecordType::SOA),
    ("example.org.", RecordType::SOA),
    ("example.org.", RecordType::MX),
    ("www.example.org.", RecordType::A),
    ("alias.example.org.", RecordType::A),
    ("missing.example.org.", RecordType::A),
];

/// The API view of the user's hostnames and the hosted zone's records, and DNS answers.
fn snapshot(e: &Env) -> Vec<String> {
    let mut out = Vec::new();
    let r = e.srv.bearer("GET", "/v1/hostnames", &e.token);
    assert_eq!(r.status, 200, "{}", r.body);
    out.push(r.json().to_string());
    let r = http(
        e.srv.http,
        "GET",
        &format!("/v1/zones/{}/records", e.zid),
        &[
            ("Authorization", &e.lua_auth),
            ("Accept", "application/json"),
        ],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    out.push(r.json().to_string());
    for (n, t) in DNS_PROBES {
        for m in [e.srv.dig(n, *t), dns_tcp(e.srv.dns, n, *t)] {
            out.push(format!(
                "{n} {t} {:?} {:?} {:?}",
                m.metadata.response_code, m.answers, m.authorities
            ));
        }
    }
    out
}

/// One generated request: its bytes, and whether it must get a 4xx (well-formed HTTP carrying
/// valid credentials and invalid data) rather than merely no 5xx.
struct Case {
    bytes: Vec<u8>,
    strict: bool,
}

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "FOO", "get",
];

fn routes(zid: i64, rid: i64) -> Vec<String> {
    [
        "/",
        "/healthz",
        "/metrics",
        "/ip",
        "/v1/hostnames",
        "/v1/hostnames/alpha",
        "/v1/hostnames/alpha.dyn.example.net",
        "/v1/hostnames/host_nope",
        "/update",
        "/update?domains=alpha&ip=192.0.2.200",
        "/update/alpha/garbage",
        "/update/alpha/garbage/192.0.2.200",
        "/nic/update?hostname=alpha.dyn.example.net&myip=192.0.2.200",
        "/v3/update",
        "/v1/users/me",
        "/v1/users/1",
        "/v1/zones",
        "/v1/zones/{zid}",
        "/v1/zones/{zid}/records",
        "/v1/zones/{zid}/records/{rid}",
        "/v1/zones/{zid}/ds_records",
        "/v1/zones/999999/records",
        "/v1/zones/abc/records/-1",
        "/v1//zones/./{zid}/../records",
        "/%2e%2e/%00/%ff",
    ]
    .iter()
    .map(|r| {
        r.replace("{zid}", &zid.to_string())
            .replace("{rid}", &rid.to_string())
    })
    .collect()
}

const BAD_IPS: &[&str] = &[
    "300.1.1.1",
    "1.2.3",
    "1.2.3.4.5",
    "01.2.3.4",
    "::g",
    "1::2::3",
    "abc",
    "1.2.3.4/24",
    "2001:db8::1%eth0",
    "[::1",
    "-1",
    "1.2.3.4x",
    "0x7f.0.0.1",
    "１.２.３.４",
    "1.2.3.256",
    "12345::",
];
const BAD_LABELS: &[&str] = &[
    "-a",
    "a-",
    "a_b",
    "ab--cd",
    "www",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "über",
    "a b",
    "*",
    "a\u{0}b",
    "a/b",
    "a%b",
];
const BAD_TXT: &[&str] = &["a\u{1}b", "line\nbreak", "tab\there", "\u{7f}"];
const MALFORMED_JSON: &[&str] = &[
    "{",
    "}",
    "{\"a\":",
    "[1,2",
    "{'a':1}",
    "{\"a\":1,}",
    "nul",
    "\u{0}",
    "{\"hostname\":\"x\"",
    "\"unterminated",
    "{\"a\":1}{",
    "[]",
    "\"s\"",
    "1",
    "null",
    "true",
    "{\"ipv4\":\"1.2.3.4\"} trailing",
    "\u{feff}{}",
    "{\"a\":1e999999}",
    "{\"\\ud800\":1}",
];
const BAD_RECORDS: &[(&str, &str, &str)] = &[
    ("bad.example.org.", "A", "300.1.1.1"),
    ("bad.example.org.", "A", "example.org."),
    ("bad.example.org.", "AAAA", "1.2.3.4"),
    ("bad.example.org.", "AAAA", "::g"),
    ("bad.example.org.", "MX", "x y z"),
    ("bad.example.org.", "MX", "70000 mail.example.org."),
    ("bad.example.org.", "CNAME", "not a name!"),
    ("bad.example.org.", "SRV", "1 2 x y"),
    ("bad.example.org.", "SRV", "1 2 70000 t.example.org."),
    ("bad.example.org.", "CAA", "x issue y"),
    ("bad.example.org.", "FOO", "x"),
    ("bad.example.org.", "", "x"),
    ("x.example.com.", "A", "192.0.2.1"),
    ("a b.example.org.", "A", "192.0.2.1"),
    ("-.-.example.org.", "A", "192.0.2.1"),
    ("a..example.org.", "A", "192.0.2.1"),
];

fn deep(n: usize, open: &str, close: &str) -> String {
    format!("{}{}", open.repeat(n), close.repeat(n))
}

/// A JSON body with one bad value among otherwise valid hostname fields.
fn bad_hostname_fields(rng: &mut Rng, create: bool) -> String {
    let mut m = serde_json::Map::new();
    if create {
        m.insert(
            "hostname".into(),
            json!(format!("fresh{}", rng.below(1000))),
        );
    }
    if rng.chance(50) {
        m.insert("ipv4".into(), json!("192.0.2.77"));
    }
    if rng.chance(30) {
        m.insert("txt".into(), json!("fine"));
    }
    let (k, v) = match rng.below(14) {
        0 => ("ipv4", json!(*rng.pick(BAD_IPS))),
        1 => ("ipv6", json!(*rng.pick(BAD_IPS))),
        2 => ("txt", json!(*rng.pick(BAD_TXT))),
        3 => ("txt", json!("t".repeat(256 + rng.below(500)))),
        4 => (
            "ttl",
            rng.pick(&[
                json!(0),
                json!(-5),
                json!("abc"),
                json!(1e10),
                json!(99_999_999_999u64),
                json!(true),
                json!([]),
                json!({}),
                json!(29),
                json!(86401),
                json!(1.5),
            ])
            .clone(),
        ),
        5 => ("note", json!("n".repeat(501 + rng.below(500)))),
        6 => ("ipv4", json!(5)),
        7 => ("txt", json!(["a"])),
        8 => ("ipv6", json!({"x": 1})),
        9 => ("bogus", json!(1)),
        10 => ("ipv4", json!(false)),
        11 if create => ("hostname", json!(*rng.pick(BAD_LABELS))),
        12 if create => ("zoneDomain", json!("nozone.example")),
        _ => ("note", json!(7)),
    };
    m.insert(k.into(), v);
    serde_json::Value::Object(m).to_string()
}

fn gen_case(rng: &mut Rng, e: &Env, routes: &[String]) -> Case {
    let bearer = format!("Bearer {}", e.token);
    let json_h = |auth: &str| -> Vec<(String, String)> {
        vec![
            ("Authorization".into(), auth.to_string()),
            ("Content-Type".into(), "application/json".into()),
            ("Accept".into(), "application/json".into()),
        ]
    };
    let with = |m: &str, t: &str, h: Vec<(String, String)>, b: Option<&[u8]>| -> Vec<u8> {
        let hv: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        request(m, t, &hv, b)
    };
    let t = &e.token;
    match rng.below(100) {
        // Valid credentials, invalid data: must be a 4xx.
        0..=9 => {
            let body = if rng.chance(25) {
                rng.pick(MALFORMED_JSON).to_string()
            } else {
                bad_hostname_fields(rng, true)
            };
            Case {
                bytes: with(
                    "POST",
                    "/v1/hostnames",
                    json_h(&bearer),
                    Some(body.as_bytes()),
                ),
                strict: true,
            }
        }
        10..=19 => {
            let body = if rng.chance(25) {
                rng.pick(MALFORMED_JSON).to_string()
            } else {
                bad_hostname_fields(rng, false)
            };
            let target = *rng.pick(&["alpha", "alpha.dyn.example.net", "beta"]);
            Case {
                bytes: with(
                    "PATCH",
                    &format!("/v1/hostnames/{target}"),
                    json_h(&bearer),
                    Some(body.as_bytes()),
                ),
                strict: true,
            }
        }
        20..=29 => {
            let dom = rng.pick_str(&[
                "alpha",
                "alpha.dyn.example.net",
                "alpha,beta",
                "alpha,nothere",
            ]);
            let q = match rng.below(6) {
                0 => format!("ip={}", pct(rng.pick_str(BAD_IPS))),
                1 => format!("ipv6={}", pct(rng.pick_str(BAD_IPS))),
                2 => format!("txt={}", pct(rng.pick_str(BAD_TXT))),
                3 => format!("txt={}", "t".repeat(256 + rng.below(300))),
                4 => format!(
                    "ip=192.0.2.50&ttl={}",
                    rng.pick(&["0", "abc", "-1", "86401"])
                ),
                _ => format!("ip=192.0.2.50&ipv6={}", pct(rng.pick_str(BAD_IPS))),
            };
            let target = format!("/update?domains={dom}&token={t}&{q}");
            Case {
                bytes: request("GET", &target, &[], None),
                strict: true,
            }
        }
        30..=34 => {
            let body = match rng.below(6) {
                0 => json!({"domains": 5, "ip": "192.0.2.50"}),
                1 => json!({"domains": ["alpha"], "ip": 5}),
                2 => json!({"domains": ["alpha"], "ip": *rng.pick(BAD_IPS)}),
                3 => json!({"domains": ["alpha"], "ip": "192.0.2.50", "bogus": 1}),
                4 => json!({"domains": ["alpha", 7], "ip": "192.0.2.50"}),
                _ => json!({"domains": ["alpha"], "ip": "192.0.2.50", "clear": 3}),
            };
            Case {
                bytes: with(
                    "POST",
                    "/update",
                    json_h(&bearer),
                    Some(body.to_string().as_bytes()),
                ),
                strict: true,
            }
        }
        35..=44 => {
            let (n, ty, c) = *rng.pick(BAD_RECORDS);
            let body = if rng.chance(15) {
                rng.pick(MALFORMED_JSON).to_string()
            } else {
                json!({"name": n, "type": ty, "content": c, "ttl": 300}).to_string()
            };
            let (m, p) = if rng.chance(50) {
                ("POST", format!("/v1/zones/{}/records", e.zid))
            } else {
                ("PUT", format!("/v1/zones/{}/records/{}", e.zid, e.rid))
            };
            Case {
                bytes: with(m, &p, json_h(&e.lua_auth), Some(body.as_bytes())),
                strict: true,
            }
        }
        45..=47 => {
            let name = *rng.pick(&["bad..name", "x", "-a.example", "a b.example", "", "com"]);
            let body = json!({ "name": name }).to_string();
            Case {
                bytes: with(
                    "POST",
                    "/v1/zones",
                    json_h(&e.lua_auth),
                    Some(body.as_bytes()),
                ),
                strict: true,
            }
        }
        48..=50 => {
            let (m, p, auth) = *rng.pick(&[
                ("DELETE", "/v1/hostnames/host_doesnotexist", 0),
                ("DELETE", "/v1/hostnames/gamma", 0),
                ("DELETE", "/v1/hostnames/alpha.other.zone", 0),
                ("DELETE", "/v1/zones/999999", 1),
                ("DELETE", "/v1/zones/999999/records/1", 1),
                ("GET", "/update?domains=nothere&token=T&ip=192.0.2.9", 0),
                (
                    "GET",
                    "/update?domains=alpha,nothere&token=T&ip=192.0.2.9",
                    0,
                ),
                (
                    "GET",
                    "/update?domains=alpha,beta,bad_label&token=T&ip=192.0.2.9",
                    0,
                ),
            ]);
            let p = p.replace("token=T", &format!("token={t}"));
            let auth = if auth == 0 { &bearer } else { &e.lua_auth };
            let p = if m == "DELETE" && p.starts_with("/v1/zones/999999/records") {
                format!("/v1/zones/{}/records/9999999", e.zid)
            } else {
                p
            };
            Case {
                bytes: with(m, &p, json_h(auth), None),
                strict: true,
            }
        }
        // dyndns2 answers some errors with 200 and a code word: only "no 5xx, no change".
        51..=53 => {
            let ip = pct(rng.pick_str(BAD_IPS));
            let auth = basic("x", t);
            let target = format!("/nic/update?hostname=alpha.dyn.example.net&myip={ip}");
            Case {
                bytes: with("GET", &target, vec![("Authorization".into(), auth)], None),
                strict: false,
            }
        }
        // Every method on every route with garbage or no credentials and a random body.
        54..=79 => {
            let m = *rng.pick(METHODS);
            let route = rng.pick(routes).clone();
            let mut h: Vec<(String, String)> = Vec::new();
            match rng.below(9) {
                0 => {}
                1 => h.push(("Authorization".into(), format!("Bearer {}", rng.ascii(40)))),
                2 => h.push(("Authorization".into(), format!("Bearer {t}x"))),
                3 => h.push(("Authorization".into(), basic(EMAIL, "wrong-key"))),
                4 => h.push(("Authorization".into(), format!("Basic {}", rng.ascii(30)))),
                5 => h.push(("X-Lucent-Token".into(), rng.ascii(64))),
                6 => h.push(("X-API-Key".into(), String::new())),
                7 => h.push(("Authorization".into(), "Basic".into())),
                _ => h.push(("Authorization".into(), "Bearer".into())),
            }
            let body: Option<Vec<u8>> = match rng.below(8) {
                0 => None,
                1 => Some(rng.pick(MALFORMED_JSON).as_bytes().to_vec()),
                2 => Some(bad_hostname_fields(rng, true).into_bytes()),
                3 => Some(deep(2000 + rng.below(10000), "[", "]").into_bytes()),
                4 => Some(deep(1000 + rng.below(3000), "{\"a\":", "}").into_bytes()),
                5 => Some({
                    let n = rng.below(2000);
                    rng.bytes(n)
                }),
                6 => Some(vec![b' '; 65 * 1024 + rng.below(10000)]),
                _ => Some(
                    json!({"hostname":"gamma","ipv4":"192.0.2.1"})
                        .to_string()
                        .into_bytes(),
                ),
            };
            if body.is_some() && rng.chance(70) {
                h.push(("Content-Type".into(), "application/json".into()));
            }
            let route = if route.contains('?') && rng.chance(50) {
                format!("{route}&token={}", rng.ascii(20))
            } else {
                route
            };
            Case {
                bytes: with(m, &route, h, body.as_deref()),
                strict: false,
            }
        }
        // Malformed HTTP itself.
        _ => {
            let tok_hdr = format!("X-Lucent-Token: {t}\r\n");
            let raw: Vec<u8> = match rng.below(16) {
                0 => {
                    let mut b = { let n = 1 + rng.below(300); rng.bytes(n) };
                    b.extend_from_slice(b"\r\n\r\n");
                    b
                }
                1 => {
                    let mut b = b"GET /v1/hostnames/".to_vec();
                    b.extend({ let n = 1 + rng.below(20); rng.bytes(n) }.iter().map(|x| x | 0x80));
                    b.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
                    b.extend_from_slice(tok_hdr.as_bytes());
                    b.extend_from_slice(b"\r\n");
                    b
                }
                2 => {
                    let mut b = b"GET /v1/hostnames HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Lucent-Token: ".to_vec();
                    b.extend({ let n = 1 + rng.below(40); rng.bytes(n) }.iter().map(|x| x | 0x80));
                    b.extend_from_slice(b"\r\n\r\n");
                    b
                }
                3 => format!(
                    "GET /{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                    "a".repeat(66 * 1024)
                )
                .into_bytes(),
                4 => format!(
                    "GET /update?domains=alpha&token={t}&ip=192.0.2.1{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                    "9".repeat(8000)
                )
                .into_bytes(),
                5 => format!(
                    "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: {}\r\n\r\n",
                    "b".repeat(70 * 1024)
                )
                .into_bytes(),
                6 => {
                    let mut s = String::from("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
                    for i in 0..100 {
                        s.push_str(&format!("X-H{i}: v\r\n"));
                    }
                    s.push_str("\r\n");
                    s.into_bytes()
                }
                7 => format!(
                    "POST /v1/hostnames HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{tok_hdr}Content-Length: 99999999999\r\n\r\n{{}}"
                )
                .into_bytes(),
                8 => format!(
                    "POST /v1/hostnames HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{tok_hdr}Content-Length: -1\r\n\r\n{{}}"
                )
                .into_bytes(),
                9 => format!(
                    "POST /v1/hostnames HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{tok_hdr}Content-Length: 2\r\nContent-Length: 5\r\n\r\n{{}}"
                )
                .into_bytes(),
                10 => format!(
                    "PATCH /v1/hostnames/alpha HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{tok_hdr}Transfer-Encoding: chunked\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n"
                )
                .into_bytes(),
                11 => format!(
                    "PATCH /v1/hostnames/alpha HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{tok_hdr}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5\r\n{{\"tt\r\n0\r\n\r\n"
                )
                .into_bytes(),
                12 => b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
                13 => b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n".to_vec(),
                14 => format!(
                    "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE {}\r\n\r\n",
                    rng.ascii(50)
                )
                .into_bytes(),
                _ => b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Name: v\r\nNoColon\r\n\r\n".to_vec(),
            };
            Case {
                bytes: raw,
                strict: false,
            }
        }
    }
}

/// Random and malformed DNS messages over UDP and TCP; returns (udp sent, tcp connections).
fn dns_barrage(dns: SocketAddr, seed: u64, n_udp: usize, n_tcp: usize) -> (usize, usize) {
    let mut rng = Rng::new(seed);
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_nonblocking(true).expect("nonblocking");
    let bases: Vec<Vec<u8>> = DNS_PROBES
        .iter()
        .enumerate()
        .map(|(i, (n, t))| query_bytes(n, *t, i as u16))
        .chain([
            query_bytes("big.example.org.", RecordType::ANY, 1),
            query_bytes("example.org.", RecordType::AXFR, 2),
        ])
        .collect();
    let gen = |rng: &mut Rng| -> Vec<u8> {
        let mut q = rng.pick(&bases).clone();
        match rng.below(9) {
            0 => {
                let n = rng.below(600);
                rng.bytes(n)
            }
            1 => {
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(q.len());
                    q[i] = rng.next() as u8;
                }
                q
            }
            2 => {
                q.truncate(rng.below(q.len()));
                q
            }
            3 => {
                q.extend({
                    let n = 1 + rng.below(100);
                    rng.bytes(n)
                });
                q
            }
            // QDCOUNT / ANCOUNT / NSCOUNT / ARCOUNT garbage.
            4 => {
                let i = 4 + 2 * rng.below(4);
                q[i] = rng.next() as u8;
                q[i + 1] = rng.next() as u8;
                q
            }
            // Opcode and flag bits.
            5 => {
                q[2] = rng.next() as u8;
                q[3] = rng.next() as u8;
                q
            }
            // A compression pointer to itself, or forward.
            6 => {
                let mut m = q[..12].to_vec();
                m[4..6].copy_from_slice(&[0, 1]);
                m.extend_from_slice(&[0xC0, if rng.chance(50) { 12 } else { 200 }, 0, 1, 0, 1]);
                m
            }
            // A label length over 63, or a name over 255 octets.
            7 => {
                let mut m = q[..12].to_vec();
                m[4..6].copy_from_slice(&[0, 1]);
                if rng.chance(50) {
                    m.push(64 + rng.below(190) as u8);
                    m.extend(rng.bytes(70));
                } else {
                    for _ in 0..60 {
                        m.extend_from_slice(&[4, b'a', b'b', b'c', b'd']);
                    }
                }
                m.extend_from_slice(&[0, 0, 1, 0, 1]);
                m
            }
            // EDNS with odd version/options, random qtype.
            _ => {
                let mut m = Message::query();
                m.metadata.id = rng.next() as u16;
                let t = RecordType::from(rng.next() as u16);
                m.add_query(Query::query(
                    Name::from_ascii("www.example.org.").expect("name"),
                    t,
                ));
                let mut e = Edns::new();
                e.set_max_payload(rng.next() as u16);
                e.set_version(rng.below(3) as u8);
                e.set_dnssec_ok(rng.chance(50));
                m.set_edns(e);
                m.to_bytes().expect("encode")
            }
        }
    };
    let mut buf = [0u8; 4096];
    for i in 0..n_udp {
        let _ = sock.send_to(&gen(&mut rng), dns);
        while sock.recv_from(&mut buf).is_ok() {}
        if i % 200 == 199 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    for _ in 0..n_tcp {
        let Ok(mut s) = TcpStream::connect_timeout(&dns, Duration::from_secs(3)) else {
            panic!("DNS TCP connect failed during the barrage");
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
        let msg = gen(&mut rng);
        let mut framed = match rng.below(5) {
            0 => (msg.len() as u16 + 1 + rng.below(500) as u16)
                .to_be_bytes()
                .to_vec(),
            1 => vec![0, 0],
            2 => vec![rng.next() as u8],
            _ => (msg.len() as u16).to_be_bytes().to_vec(),
        };
        framed.extend_from_slice(&msg);
        if rng.chance(30) {
            framed.extend_from_slice(&framed.clone());
        }
        let _ = s.write_all(&framed);
        let _ = s.read(&mut buf);
    }
    (n_udp, n_tcp)
}

#[test]
fn bad_input_barrage_changes_nothing() {
    let t0 = Instant::now();
    let e = barrage_env("rel-barrage");
    let before = snapshot(&e);
    let routes = routes(e.zid, e.rid);
    let m0 = e.srv.get("/metrics", &[]).body;
    let dns0 = metric_sum(&m0, "lucent_dns_queries_total", &[]);

    const THREADS: usize = 4;
    const PER_THREAD: usize = 750;
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let replies = AtomicU64::new(0);
    let counted = AtomicU64::new(0);
    let closed = AtomicU64::new(0);
    let mut by_status: BTreeMap<u16, u64> = BTreeMap::new();
    let statuses: Mutex<BTreeMap<u16, u64>> = Mutex::new(BTreeMap::new());
    let mut dns_counts = (0, 0);
    std::thread::scope(|s| {
        for th in 0..THREADS {
            let (e, routes, failures) = (&e, &routes, &failures);
            let (replies, counted, closed, statuses) = (&replies, &counted, &closed, &statuses);
            s.spawn(move || {
                let mut rng = Rng::new(0x5EED_0000 + th as u64);
                for i in 0..PER_THREAD {
                    let case = gen_case(&mut rng, e, routes);
                    let out = exchange(e.srv.http, &case.bytes, Duration::from_secs(8));
                    let status = out.status();
                    if let Some(st) = status {
                        *statuses.lock().expect("lock").entry(st).or_default() += 1;
                    }
                    let bad = match (&out, status) {
                        (Outcome::Hang(_), _) => Some("no answer within 8 s (hang)".to_string()),
                        (Outcome::ConnectFailed, _) => Some("connect failed".to_string()),
                        (_, Some(st)) if st >= 500 => Some(format!("answered {st}")),
                        (Outcome::Reply(r), Some(st))
                            if case.strict && !(400..500).contains(&st) =>
                        {
                            Some(format!("invalid input answered {st} {:?}", r.body))
                        }
                        (Outcome::Closed(_), _) if case.strict => {
                            Some("closed without an answer".to_string())
                        }
                        _ => None,
                    };
                    match &out {
                        Outcome::Reply(r) => {
                            replies.fetch_add(1, Ordering::Relaxed);
                            if r.header("x-request-id").is_some() {
                                counted.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        _ => {
                            closed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    if let Some(why) = bad {
                        let body = match &out {
                            Outcome::Reply(r) => r.body.clone(),
                            Outcome::Closed(b) | Outcome::Hang(b) => show(b),
                            Outcome::ConnectFailed => String::new(),
                        };
                        failures.lock().expect("lock").push(format!(
                            "thread {th} case {i}: {why}\n  request: {}\n  reply body: {}",
                            show(&case.bytes),
                            body.chars().take(200).collect::<String>()
                        ));
                    }
                }
            });
        }
        let dns = e.srv.dns;
        let h = s.spawn(move || dns_barrage(dns, 0xD115, 3000, 100));
        dns_counts = h.join().expect("dns barrage");
    });
    by_status.append(&mut statuses.lock().expect("lock"));
    let failures = failures.into_inner().expect("lock");
    assert!(
        failures.is_empty(),
        "{} bad outcomes; first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );

    // Still answering, nothing changed.
    assert_eq!(e.srv.get("/healthz", &[]).status, 200);
    let after = snapshot(&e);
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a, "stored data or DNS answers changed by bad input");
    }

    // Metrics moved consistently: every reply the handlers produced is counted, no 5xx.
    let m1 = e.srv.get("/metrics", &[]).body;
    let http_total = metric_sum(&m1, "lucent_http_requests_total", &[]);
    let n_counted = counted.load(Ordering::Relaxed);
    assert!(
        http_total >= n_counted,
        "lucent_http_requests_total {http_total} < {n_counted} handler replies seen"
    );
    assert!(!m1.contains("status=\"5"), "5xx in metrics:\n{m1}");
    let dns1 = metric_sum(&m1, "lucent_dns_queries_total", &[]);
    assert!(
        dns1 >= dns0 + 2 * DNS_PROBES.len() as u64,
        "DNS query counters did not move: {dns0} -> {dns1}"
    );

    // DNS: ANY answered with one RRset; UDP answers without EDNS stay within 512 bytes.
    for name in [
        "big.example.org.",
        "www.example.org.",
        "alpha.dyn.example.net.",
    ] {
        let (m, size) = udp_raw(e.srv.dns, &query_bytes(name, RecordType::ANY, 77));
        assert_eq!(
            m.metadata.response_code,
            ResponseCode::NoError,
            "{name} ANY"
        );
        assert!(size <= 512, "{name} ANY: {size} bytes without EDNS");
        let types: Vec<RecordType> = m.answers.iter().map(|r| r.record_type()).collect();
        assert!(
            !types.is_empty() && types.iter().all(|t| *t == types[0]),
            "{name} ANY: one RRset only, got {types:?}"
        );
    }
    let (m, size) = udp_raw(
        e.srv.dns,
        &query_bytes("big.example.org.", RecordType::TXT, 78),
    );
    assert!(size <= 512, "{size} bytes without EDNS");
    assert!(
        m.metadata.truncation,
        "TC set on the ~3 KB TXT RRset over UDP"
    );
    let m = dns_tcp(e.srv.dns, "big.example.org.", RecordType::TXT);
    assert_eq!(m.answers.len(), 15, "TCP carries the whole RRset");

    // Writes still work afterwards.
    let r = e.srv.get(
        &format!("/update?domains=beta&token={}&ip=192.0.2.3", e.token),
        &[],
    );
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    assert_eq!(
        answers(&e.srv.dig("beta.dyn.example.net.", RecordType::A)),
        ["192.0.2.3"]
    );
    assert_eq!(integrity_check(&e.dir.db()), "ok");

    report!(
        "reliability/barrage: {} HTTP requests ({} replies, {} closed without reply; by status \
         {by_status:?}), {} malformed UDP datagrams, {} TCP connections; data unchanged, \
         metrics http total {http_total} >= {n_counted} ({:.1} s)",
        THREADS * PER_THREAD,
        replies.load(Ordering::Relaxed),
        closed.load(Ordering::Relaxed),
        dns_counts.0,
        dns_counts.1,
        t0.elapsed().as_secs_f64()
    );
}

/// One UDP exchange of raw query bytes; the answer and its size.
fn udp_raw(addr: SocketAddr, q: &[u8]) -> (Message, usize) {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    for _ in 0..3 {
        sock.send_to(q, addr).expect("send");
        let mut buf = vec![0u8; 65535];
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            return (Message::from_bytes(&buf[..n]).expect("decode"), n);
        }
    }
    panic!("no UDP answer from {addr}");
}

// ---------------------------------------------------------------------------------------------
// 3. Slow and abusive clients: slow-loris and idle connections against a small connection cap.
// ---------------------------------------------------------------------------------------------

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
    let (_dir, token, srv) = shared_zone_server(
        "rel-slow",
        "[http]\nheader_timeout_secs = 2\nmax_connections = 64\n\n[limits]\n\
         requests_per_5min = 0\nip_requests_per_5min = 0\n",
    );
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

// ---------------------------------------------------------------------------------------------
// 4. Rate limits hold under concurrent load.
// ---------------------------------------------------------------------------------------------

#[test]
fn rate_limits_hold_under_concurrent_load() {
    let t0 = Instant::now();
    const TOKEN_LIMIT: u64 = 20;
    const IP_LIMIT: u64 = 130;
    let dir = TestDir::new("rel-ratelimit");
    admin(&dir, &["zone", "add", SHARED, "--shared"]);
    let ta = add_user(&dir, "a@example.org", &[]);
    let tb = add_user(&dir, "b@example.org", &[]);
    let tc = add_user(&dir, "c@example.org", &[]);
    admin(&dir, &["zone", "add", HOSTED, "--owner", "a@example.org"]);
    let key = last_line(&admin(&dir, &["user", "apikey", "a@example.org"]));
    let cfg = write_config(
        &dir,
        &format!(
            "[limits]\nrequests_per_5min = {TOKEN_LIMIT}\nip_requests_per_5min = {IP_LIMIT}\n"
        ),
    );
    let srv = start_cfg(&dir, &cfg);
    let mut used = 0u64; // requests counted against 127.0.0.1
    for (t, l) in [(&ta, "ha"), (&tb, "hb")] {
        let r = srv.json(
            "POST",
            "/v1/hostnames",
            t,
            &format!(r#"{{"hostname":"{l}"}}"#),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        used += 1;
    }
    let lua_auth = basic("a@example.org", &key);

    // Hammer from 4 threads; (status, retry-after, x-ratelimit-remaining) per answer.
    let hammer = |n_per_thread: usize, req: &(dyn Fn(usize) -> Vec<u8> + Sync)| {
        let out = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for th in 0..4 {
                let out = &out;
                s.spawn(move || {
                    for i in 0..n_per_thread {
                        let o = exchange(srv.http, &req(th * 1000 + i), Duration::from_secs(10));
                        let Outcome::Reply(r) = o else {
                            panic!("no reply under load: {o:?}")
                        };
                        out.lock().expect("lock").push((
                            r.status,
                            r.header("retry-after").map(str::to_string),
                            r.header("x-ratelimit-remaining").map(str::to_string),
                        ));
                    }
                });
            }
        });
        out.into_inner().expect("lock")
    };
    let check_429s = |res: &[(u16, Option<String>, Option<String>)], what: &str| {
        for (st, ra, _) in res {
            assert!(*st == 200 || *st == 429, "{what}: status {st}");
            if *st == 429 {
                let ra: u64 = ra
                    .as_deref()
                    .unwrap_or_else(|| panic!("{what}: 429 without Retry-After"))
                    .parse()
                    .expect("Retry-After seconds");
                assert!((1..=300).contains(&ra), "{what}: Retry-After {ra}");
            }
        }
    };
    let count = |res: &[(u16, Option<String>, Option<String>)], s: u16| {
        res.iter().filter(|r| r.0 == s).count() as u64
    };

    // Token A: 60 updates from 4 threads; exactly the limit (minus the create) succeeds.
    let upd = |t: &str, l: &str, i: usize| {
        request(
            "GET",
            &format!("/update?domains={l}&token={t}&txt=v{i}"),
            &[],
            None,
        )
    };
    let ra = hammer(15, &|i| upd(&ta, "ha", i));
    used += ra.len() as u64;
    check_429s(&ra, "token A");
    assert_eq!(
        count(&ra, 200),
        TOKEN_LIMIT - 1,
        "token A: 200s (one went to the create)"
    );
    assert_eq!(count(&ra, 429), 60 - (TOKEN_LIMIT - 1));

    // The API key (its own budget, LuaDNS headers): 32 requests, exactly 20 succeed.
    let rk = hammer(8, &|_| {
        request(
            "GET",
            "/v1/zones",
            &[("Authorization", &lua_auth), ("Accept", "application/json")],
            None,
        )
    });
    used += rk.len() as u64;
    check_429s(&rk, "API key");
    assert_eq!(count(&rk, 200), TOKEN_LIMIT, "API key: 200s");
    let mut remaining: Vec<u64> = rk
        .iter()
        .filter(|r| r.0 == 200)
        .filter_map(|r| r.2.as_deref()?.parse().ok())
        .collect();
    remaining.sort();
    assert_eq!(
        remaining,
        (0..TOKEN_LIMIT).collect::<Vec<_>>(),
        "x-ratelimit-remaining counts down once per success"
    );

    // Token B while the address budget runs out: still exactly the token limit at most, and
    // everything past the address limit is 429.
    let rb = hammer(15, &|i| upd(&tb, "hb", i));
    check_429s(&rb, "token B");
    let ip_left = IP_LIMIT - used;
    let b_ok = count(&rb, 200);
    assert_eq!(
        b_ok,
        (TOKEN_LIMIT - 1).min(ip_left),
        "token B: 200s with {ip_left} address requests left"
    );
    used += rb.len() as u64;
    assert!(used > IP_LIMIT);

    // The address budget is spent: a fresh token is refused too; health and metrics are exempt.
    let r = srv.get(&format!("/update?domains=x&token={tc}&txt=v"), &[]);
    assert_eq!(r.status, 429, "per-address limit: {}", r.body);
    assert!(r.header("retry-after").is_some());
    assert_eq!(srv.get("/healthz", &[]).status, 200);
    let m = srv.get("/metrics", &[]);
    assert_eq!(m.status, 200);
    let ok_updates = count(&ra, 200) + b_ok;
    let m200 = metric_sum(
        &m.body,
        "lucent_http_requests_total",
        &[("route", "update"), ("status", "200")],
    );
    let m429 = metric_sum(&m.body, "lucent_http_requests_total", &[("status", "429")]);
    let all429 = count(&ra, 429) + count(&rk, 429) + count(&rb, 429) + 1;
    assert_eq!(m200, ok_updates, "metrics: update 200s");
    assert_eq!(m429, all429, "metrics: 429s");
    // Stored values: the last accepted write of each token is what DNS serves.
    let m = srv.dig("ha.dyn.example.net.", RecordType::TXT);
    assert_eq!(m.answers.len(), 1);
    report!(
        "reliability/ratelimit: token A {} OK / {} 429, API key {} OK / {} 429, token B {} OK / \
         {} 429 (address budget {IP_LIMIT}), metrics update 200 = {m200}, 429 = {m429} ({:.1} s)",
        count(&ra, 200),
        count(&ra, 429),
        count(&rk, 200),
        count(&rk, 429),
        b_ok,
        count(&rb, 429),
        t0.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// DNS response rate limiting: the real server, UDP bursts from 127.0.0.1, TCP unaffected.
// ---------------------------------------------------------------------------------------------

/// Send `n` queries for `name` at once on one socket; the replies that come back within a
/// second: (full answers, truncated answers).
fn udp_burst(dns: SocketAddr, name: &str, n: u16) -> (usize, usize) {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    for id in 0..n {
        sock.send_to(&query_bytes(name, RecordType::A, id), dns)
            .expect("send");
    }
    let deadline = Instant::now() + Duration::from_secs(1);
    let (mut full, mut truncated) = (0, 0);
    let mut buf = vec![0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        sock.set_read_timeout(Some(left)).expect("timeout");
        let Ok((len, _)) = sock.recv_from(&mut buf) else {
            break;
        };
        let m = Message::from_bytes(&buf[..len]).expect("decode");
        assert!(m.metadata.id < n, "reply to a query never sent");
        if m.metadata.truncation {
            assert!(m.answers.is_empty(), "a slipped answer carries no records");
            assert!(len <= 512, "a slipped answer is no larger than a query");
            truncated += 1;
        } else {
            assert_eq!(answers(&m), ["192.0.2.1"], "{name}");
            full += 1;
        }
    }
    (full, truncated)
}

#[test]
fn dns_response_rate_limiting_holds_udp_bursts_and_spares_tcp() {
    let t0 = Instant::now();
    let (_dir, token, srv) = shared_zone_server(
        "rel-rrl",
        "[dns]\nrrl_responses_per_second = 5\nrrl_slip = 2\n\n[limits]\nrequests_per_5min = 0\n",
    );
    for label in ["one", "two"] {
        let body = format!(r#"{{"hostname":"{label}","ipv4":"192.0.2.1"}}"#);
        assert_eq!(srv.json("POST", "/v1/hostnames", &token, &body).status, 201);
    }
    // Forty queries at once for one name from one network: one second's worth (5) answered,
    // every second one of the rest truncated, the others dropped.
    const N: u16 = 40;
    let (full, truncated) = udp_burst(srv.dns, "one.dyn.example.net.", N);
    assert!(
        (5..=7).contains(&full),
        "{full} full answers at 5/s (a burst of 5, plus what refills meanwhile)"
    );
    let limited = usize::from(N) - full;
    assert!(
        truncated.abs_diff(limited / 2) <= 1,
        "{truncated} truncated of {limited} limited, slip 2"
    );
    // Another name has a bucket of its own; TCP is never limited.
    let (other, _) = udp_burst(srv.dns, "two.dyn.example.net.", 3);
    assert_eq!(other, 3, "another name is not held back");
    for _ in 0..10 {
        let m = dns_tcp(srv.dns, "one.dyn.example.net.", RecordType::A);
        assert_eq!(answers(&m), ["192.0.2.1"], "TCP answers in full");
    }
    // The counters say the same.
    let m = srv.get("/metrics", &[]).body;
    let dropped = metric_sum(&m, "lucent_dns_rrl_total", &[("action", "dropped")]);
    let slipped = metric_sum(&m, "lucent_dns_rrl_total", &[("action", "slipped")]);
    assert_eq!(slipped as usize, truncated, "metrics: slipped\n{m}");
    assert_eq!(
        dropped as usize,
        limited - truncated,
        "metrics: dropped\n{m}"
    );
    // A second later the budget is back.
    std::thread::sleep(Duration::from_millis(1100));
    let (again, _) = udp_burst(srv.dns, "one.dyn.example.net.", 3);
    assert_eq!(again, 3, "refilled after a second");
    report!(
        "reliability/rrl: {N} UDP queries at 5/s: {full} answered, {truncated} truncated (TC), \
         {} dropped; metrics dropped {dropped}, slipped {slipped}; 10 TCP queries all answered \
         ({:.1} s)",
        limited - truncated,
        t0.elapsed().as_secs_f64()
    );
}
