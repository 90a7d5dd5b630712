//! The barrage's inputs: a deterministic generator of bad HTTP requests (invalid data with valid
//! credentials, every method on every route, malformed HTTP itself) and of malformed DNS
//! messages over UDP and TCP.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::{Name, RecordType};
use hickory_proto::serialize::binary::BinEncodable;
use serde_json::json;

use super::barrage::{Env, DNS_PROBES};
use super::Rng;
use crate::harness::*;

/// One generated request: its bytes, and whether it must get a 4xx (well-formed HTTP carrying
/// valid credentials and invalid data) rather than merely no 5xx.
pub(super) struct Case {
    pub(super) bytes: Vec<u8>,
    pub(super) strict: bool,
}

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "FOO", "get",
];

pub(super) fn routes(zid: i64, rid: i64) -> Vec<String> {
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

pub(super) fn gen_case(rng: &mut Rng, e: &Env, routes: &[String]) -> Case {
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
pub(super) fn dns_barrage(
    dns: SocketAddr,
    seed: u64,
    n_udp: usize,
    n_tcp: usize,
) -> (usize, usize) {
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
