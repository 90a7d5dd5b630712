//! Limits under load: per-token, per-key and per-address HTTP rate limits hammered from four
//! threads (exact counts, Retry-After, metrics), and DNS response rate limiting of UDP bursts
//! with TCP unaffected.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;

use crate::harness::*;

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
    let key = add_apikey(&dir, "a@example.org", None);
    let cfg = write_config(
        &dir,
        &format!(
            "[limits]\nrequests_per_5min = {TOKEN_LIMIT}\nip_requests_per_5min = {IP_LIMIT}\n"
        ),
    );
    let srv = Server::start_cfg(&dir, &cfg);
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

/// Send `n` queries for `name` at once on one socket; the replies that come back until a second
/// passes without one: (full answers, truncated answers).
fn udp_burst_answers(dns: SocketAddr, name: &str, n: u16) -> (usize, usize) {
    let queries: Vec<Vec<u8>> = (0..n)
        .map(|id| query_bytes(name, RecordType::A, id))
        .collect();
    let (mut full, mut truncated) = (0, 0);
    for (m, len) in udp_burst(dns, &queries, Duration::from_secs(1)) {
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
    let Fixture { srv, token, .. } = Fixture::shared("rel-rrl", SHARED, EMAIL)
        .config(
        "[dns]\nrrl_responses_per_second = 5\nrrl_slip = 2\n\n[limits]\nrequests_per_5min = 0\n",
        )
        .start();
    for label in ["one", "two"] {
        let body = format!(r#"{{"hostname":"{label}","ipv4":"192.0.2.1"}}"#);
        assert_eq!(srv.json("POST", "/v1/hostnames", &token, &body).status, 201);
    }
    // Forty queries at once for one name from one network: one second's worth (5) answered,
    // every second one of the rest truncated, the others dropped.
    const N: u16 = 40;
    let (full, truncated) = udp_burst_answers(srv.dns, "one.dyn.example.net.", N);
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
    let (other, _) = udp_burst_answers(srv.dns, "two.dyn.example.net.", 3);
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
    let (again, _) = udp_burst_answers(srv.dns, "one.dyn.example.net.", 3);
    assert_eq!(again, 3, "refilled after a second");
    report!(
        "reliability/rrl: {N} UDP queries at 5/s: {full} answered, {truncated} truncated (TC), \
         {} dropped; metrics dropped {dropped}, slipped {slipped}; 10 TCP queries all answered \
         ({:.1} s)",
        limited - truncated,
        t0.elapsed().as_secs_f64()
    );
}
