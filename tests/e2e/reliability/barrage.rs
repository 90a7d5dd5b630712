//! Bad input: thousands of malformed HTTP requests (from `inputs`) and DNS packets change
//! nothing: no 5xx, no hang, a 4xx for well-formed requests with invalid data, the same API
//! view and DNS answers afterwards, and consistent `/metrics`.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use serde_json::json;

use super::inputs::{dns_barrage, gen_case, routes};
use super::Rng;
use crate::harness::*;

/// The hosted-zone fixture beside the shared zone, with test data; `rid` is a record of the
/// hosted zone, `lua_auth` the API key's Authorization value.
pub(super) struct Env {
    f: Fixture,
    pub(super) lua_auth: String,
    pub(super) rid: i64,
}

impl Deref for Env {
    type Target = Fixture;
    fn deref(&self) -> &Fixture {
        &self.f
    }
}

/// A shared zone with two hostnames of one user, a hosted zone of that user with records
/// (one RRset of ~3 KB for the truncation checks), an API key; limits off, 2 s header timeout.
fn barrage_env(name: &str) -> Env {
    let f = Fixture::hosted(name)
        .with_shared(SHARED)
        .config(
            "[http]\nheader_timeout_secs = 2\n\n[limits]\nrequests_per_5min = 0\nip_requests_per_5min = 0\n",
        )
        .start();
    let lua = f.lua();
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
        let id = lua.record(f.zid, n, t, &c, 300);
        if rid == 0 {
            rid = id;
        }
    }
    for body in [
        json!({"hostname":"alpha","zoneDomain":SHARED,"ipv4":"203.0.113.1",
               "ipv6":"2001:db8::1","txt":"alpha-txt","note":"n","ttl":120}),
        json!({"hostname":"beta","zoneDomain":SHARED,"ipv4":"203.0.113.2"}),
    ] {
        f.add_hostname(body);
    }
    let lua_auth = lua.auth;
    Env { f, lua_auth, rid }
}

pub(super) const DNS_PROBES: &[(&str, RecordType)] = &[
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
pub(super) fn snapshot(e: &Env) -> Vec<String> {
    let mut out = Vec::new();
    let r = e.srv.bearer("GET", "/v1/hostnames", &e.token);
    assert_eq!(r.status, 200, "{}", r.body);
    out.push(r.json().to_string());
    let r = e.lua().get(&records_path(e.zid));
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
