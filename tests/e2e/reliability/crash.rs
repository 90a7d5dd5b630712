//! Crash durability: SIGKILL while four clients write through `/update` and PATCH; after each
//! restart every acknowledged write is there (or a later unanswered one), the file passes
//! `integrity_check`, DNS agrees with the API, and `/metrics` never lags what clients saw.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;
use serde_json::json;

use super::Rng;
use crate::harness::*;

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
    let mut srv = Server::start_cfg(&dir, &cfg);

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
        wait_for(
            "the clients to finish their requests after the kill (stuck otherwise)",
            Duration::from_secs(20),
            Duration::from_millis(5),
            || busy.load(Ordering::SeqCst) == 0,
        );
        srv = Server::start_cfg(&dir, &cfg);
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
