//! Issue #16, secondaries: real NSD and Knot DNS (Debian's `nsd` and `knot`) follow lucentd over
//! TSIG on loopback. Both load a shared zone of 3,000 hostnames (kept unsigned, so that its
//! changes go by IXFR from lucentd's journal) and a signed hosted zone with records of every
//! kind (a TXT of more than 1,000 octets among them), and serve what lucentd serves; after each
//! of 100 `/update`s both answer the new address within 5 s (NOTIFY, then IXFR: Knot's log
//! says so); after a restart of lucentd on the same port and database, changes still reach
//! both; a transfer unsigned, signed with an unknown key, with a wrong secret or with a key
//! not listed for the zone gets no zone data (RFC 8945 §5.2: NOTAUTH with BADKEY or BADSIG);
//! a NOTIFY sent to lucentd is refused; and `delv`, with the DS from `zone ds` as its only
//! trust anchor, validates the signed zone's answers as each secondary serves them.
//!
//! The secondaries are started once and the scenario runs in steps, to keep the run short.

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::RecordType;
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};

use crate::harness::secondary::*;
use crate::harness::*;

const ZONE: &str = "dyn.example.net";
const HOSTED: &str = "example.org";
/// A hosted zone only Knot's key may transfer (NSD's list leaves it out).
const PRIVATE: &str = "private.example";
const HOSTS: usize = 3000;
const UPDATES: usize = 100;
/// How long a change may take to reach a secondary.
const PROPAGATION: Duration = Duration::from_secs(5);

fn large_txt() -> String {
    // Five character-strings of 250 octets (RFC 1035 §3.3.14 caps each at 255): 1,250 octets.
    (0..5)
        .map(|i| format!("\"{}{}\"", i, "abcdefghij".repeat(25).split_at(249).0))
        .collect::<Vec<_>>()
        .join(" ")
}

fn hosted_zone_file() -> String {
    format!(
        "$ORIGIN example.org.\n$TTL 3600\n\
         @ IN SOA ns1.example.net. hostmaster.example.org. 1 3600 600 1209600 300\n\
         @ IN MX 10 mail\n\
         @ IN MX 20 backup-mx.example.net.\n\
         @ IN TXT \"v=spf1 mx -all\"\n\
         @ IN CAA 0 issue \"letsencrypt.org\"\n\
         @ IN CAA 0 iodef \"mailto:security@example.org\"\n\
         www 300 IN A 192.0.2.10\n\
         www 300 IN A 192.0.2.11\n\
         www IN AAAA 2001:db8::10\n\
         mail IN A 192.0.2.25\n\
         mail IN AAAA 2001:db8::25\n\
         ftp IN CNAME www\n\
         _sip._udp 600 IN SRV 10 5 5060 sip\n\
         _sip._tcp IN SRV 20 0 5061 sip\n\
         sip IN A 192.0.2.50\n\
         big IN TXT {}\n\
         *.wild IN A 192.0.2.99\n\
         1.2.0.192.rev IN PTR www.example.org.\n\
         sub IN NS ns.sub\n\
         ns.sub IN A 192.0.2.53\n",
        large_txt()
    )
}

/// Names and types whose answers (and authority sections) must be the same at lucentd and
/// at both secondaries.
const PROBES: &[(&str, RecordType)] = &[
    ("example.org.", RecordType::MX),
    ("example.org.", RecordType::TXT),
    ("example.org.", RecordType::CAA),
    ("example.org.", RecordType::NS),
    ("example.org.", RecordType::SOA),
    ("www.example.org.", RecordType::A),
    ("www.example.org.", RecordType::AAAA),
    ("mail.example.org.", RecordType::A),
    ("mail.example.org.", RecordType::AAAA),
    ("ftp.example.org.", RecordType::CNAME),
    ("ftp.example.org.", RecordType::A),
    ("_sip._udp.example.org.", RecordType::SRV),
    ("_sip._tcp.example.org.", RecordType::SRV),
    ("big.example.org.", RecordType::TXT),
    ("anything.wild.example.org.", RecordType::A),
    ("1.2.0.192.rev.example.org.", RecordType::PTR),
    ("host.sub.example.org.", RecordType::A),
    ("nope.example.org.", RecordType::A),
    ("www.example.org.", RecordType::MX),
];

/// One answer, comparable across servers: rcode, AA, then the answer records (name, TTL, type,
/// data) sorted, and for an answer without any (a denial or a referral) the authority records.
/// The authority NS that NSD adds to positive answers is optional data (RFC 2181 §9): left out.
fn shape(m: &Message) -> String {
    let section = |rs: &[hickory_proto::rr::Record]| {
        let mut v: Vec<String> = rs
            .iter()
            .map(|r| format!("{} {} {} {}", r.name, r.ttl, r.record_type(), r.data))
            .collect();
        v.sort();
        v.join(" | ")
    };
    format!(
        "{:?} aa={} ans=[{}] auth=[{}]",
        m.metadata.response_code,
        m.metadata.authoritative,
        section(&m.answers),
        if m.answers.is_empty() {
            section(&m.authorities)
        } else {
            String::new()
        }
    )
}

/// A command's stdout and stderr together (dig and kdig print errors on either).
fn run(cmd: &str, args: &[String]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {cmd} (Debian packages dnsutils, knot-dnsutils): {e}"));
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn at(addr: SocketAddr) -> Vec<String> {
    vec![
        format!("@{}", addr.ip()),
        "-p".into(),
        addr.port().to_string(),
    ]
}

/// `dig [-y KEY] @addr ZONE TYPE` (AXFR and IXFR=N go over TCP): its output.
fn dig(addr: SocketAddr, key: Option<&str>, args: &[&str]) -> String {
    let mut a = at(addr);
    a.extend(["+tries=1".into(), "+time=5".into()]);
    if let Some(k) = key {
        a.extend(["-y".into(), k.to_string()]);
    }
    a.extend(args.iter().map(|s| s.to_string()));
    run("dig", &a)
}

/// `kdig -y KEY @addr ZONE AXFR`: the zone's records as sorted lines (`name ttl class type
/// data`, TSIG records and the closing SOA left out), and the whole output.
fn kdig_axfr(addr: SocketAddr, key: &XfrKey, zone: &str) -> (Vec<String>, String) {
    let mut a = at(addr);
    a.extend([
        "+tcp".into(),
        "+time=10".into(),
        "-y".into(),
        key.dig_arg(),
        zone.into(),
        "AXFR".into(),
    ]);
    let out = run("kdig", &a);
    let mut recs: Vec<String> = out
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| l.split(' ').nth(3) != Some("TSIG"))
        .collect();
    // The NSEC3 chain of a signed zone is made, and signed, for each transfer (lucentd's own
    // answers prove denial per query): its RRSIGs' times and signatures differ from one
    // transfer to the next (ECDSA signatures are randomised). Everything else must be equal.
    for r in recs.iter_mut() {
        let f: Vec<&str> = r.split(' ').collect();
        if f.len() > 12 && f[3] == "RRSIG" && f[4] == "NSEC3" {
            // name ttl class RRSIG covered alg labels original-ttl; key tag, signer.
            *r = format!("{} _ _ {} {} _", f[..8].join(" "), f[10], f[11]);
        }
    }
    // An RRSIG's TTL is compared apart (`rrsig_ttls`): Knot serves an RRSIG with the TTL of
    // its Original TTL field, so a mismatch at lucentd would show here as a difference.
    for r in recs.iter_mut() {
        let f: Vec<&str> = r.split(' ').collect();
        if f.len() > 7 && f[3] == "RRSIG" {
            *r = format!("{} _ {}", f[0], f[2..].join(" "));
        }
    }
    // An AXFR starts and ends with the SOA (RFC 5936 §2.2): keep one.
    if recs.len() > 1 && recs.first() == recs.last() {
        recs.pop();
    }
    recs.sort();
    (recs, out)
}

/// RRSIGs of a transfer (kdig's output) whose TTL is not their Original TTL field or not the
/// TTL of the RRset they cover (RFC 4034 §3 and §3.1.4), one line each.
fn rrsig_ttls(out: &str) -> Vec<String> {
    let recs = xfr_records(out);
    let ttl_of = |owner: &str, t: &str| {
        recs.iter().find_map(|r| {
            let f: Vec<&str> = r.split(' ').collect();
            (f.len() > 3 && f[0] == owner && f[3] == t).then(|| f[1].to_string())
        })
    };
    recs.iter()
        .filter_map(|r| {
            let f: Vec<&str> = r.split(' ').collect();
            if f.len() < 8 || f[3] != "RRSIG" {
                return None;
            }
            let covered = ttl_of(f[0], f[4]);
            (f[1] != f[7] || covered.as_deref() != Some(f[1])).then(|| {
                format!(
                    "{r:.80}: RRSIG TTL {}, Original TTL {}, {} TTL {covered:?}",
                    f[1], f[7], f[4]
                )
            })
        })
        .collect()
}

/// The records of a dig transfer output (TSIG left out).
fn xfr_records(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| l.split(' ').nth(3) != Some("TSIG"))
        .collect()
}

/// A transfer request over TCP, unsigned, with hickory: the first response (None if the server
/// closed the connection without one).
fn unsigned_xfr(addr: SocketAddr, zone: &str, rtype: RecordType) -> Option<Message> {
    use std::io::{Read, Write};
    let m = query(&format!("{zone}."), rtype, 0x5151);
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(&framed(&m.to_bytes().unwrap())).unwrap();
    let mut len = [0u8; 2];
    s.read_exact(&mut len).ok()?;
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut buf).ok()?;
    Some(Message::from_bytes(&buf).expect("decode"))
}

/// A transfer request over TCP signed by hand with key name `key`, a random MAC and the time
/// now (RFC 8945 §4.2 layout), so that lucentd must reject it with BADKEY (a name it does not
/// know) or BADSIG (a key it knows): the answer's RCODE, its ANCOUNT, and the TSIG error of its
/// closing TSIG record (the last RR: ... error, other len 0).
fn bad_tsig_xfr(addr: SocketAddr, zone: &str, key: &str, rtype: RecordType) -> (u8, u16, u16) {
    use std::io::{Read, Write};
    let id = 0x7517;
    let mut msg = query(&format!("{zone}."), rtype, id).to_bytes().unwrap();
    msg[10..12].copy_from_slice(&1u16.to_be_bytes()); // ARCOUNT: the TSIG record
    let name = |n: &str| -> Vec<u8> {
        let mut w = vec![];
        for l in n.trim_end_matches('.').split('.') {
            w.push(l.len() as u8);
            w.extend_from_slice(l.as_bytes());
        }
        w.push(0);
        w
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut rdata = name("hmac-sha256");
    rdata.extend_from_slice(&now.to_be_bytes()[2..]); // time signed, 48 bits
    rdata.extend_from_slice(&300u16.to_be_bytes()); // fudge
    rdata.extend_from_slice(&32u16.to_be_bytes()); // MAC size
    let mac = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        XfrKey::random("mac").secret,
    )
    .unwrap();
    rdata.extend_from_slice(&mac);
    rdata.extend_from_slice(&id.to_be_bytes()); // original id
    rdata.extend_from_slice(&[0, 0, 0, 0]); // error, other len
    msg.extend_from_slice(&name(key));
    msg.extend_from_slice(&250u16.to_be_bytes()); // TSIG
    msg.extend_from_slice(&255u16.to_be_bytes()); // class ANY
    msg.extend_from_slice(&0u32.to_be_bytes()); // TTL
    msg.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    msg.extend_from_slice(&rdata);
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(&framed(&msg)).unwrap();
    let mut len = [0u8; 2];
    s.read_exact(&mut len)
        .expect("an answer to a badly signed transfer request");
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut buf).expect("answer");
    assert!(buf.len() > 16, "{buf:?}");
    assert_eq!(u16::from_be_bytes([buf[0], buf[1]]), id);
    let n = buf.len();
    (
        buf[3] & 0x0F,
        u16::from_be_bytes([buf[6], buf[7]]),
        u16::from_be_bytes([buf[n - 4], buf[n - 3]]),
    )
}

/// Wait until both secondaries answer `name A` with `ip` alone; the time each took from
/// `since`. Panics after `PROPAGATION` with both logs' ends.
fn wait_both(secs: &[&Secondary; 2], name: &str, ip: &str, since: Instant) -> [Duration; 2] {
    let mut done: [Option<Duration>; 2] = [None, None];
    while done.iter().any(|d| d.is_none()) {
        for (i, s) in secs.iter().enumerate() {
            if done[i].is_some() {
                continue;
            }
            if let Some(m) = quick_udp(s.addr, name, RecordType::A, Duration::from_millis(200)) {
                if answers(&m) == [ip] {
                    done[i] = Some(since.elapsed());
                }
            }
        }
        if since.elapsed() > PROPAGATION && done.iter().any(|d| d.is_none()) {
            let logs: String = secs
                .iter()
                .map(|s| format!("--- {}:\n{}\n", s.kind.name(), tail(&s.log_text(), 30)))
                .collect();
            panic!(
                "{name} A {ip} not served by every secondary within {PROPAGATION:?} \
                 ({done:?}):\n{logs}"
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    [done[0].unwrap(), done[1].unwrap()]
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// `delv` at `addr` with `anchor` as the only trust anchor for example.org: its output.
fn delv(addr: SocketAddr, anchor: &str, name: &str, t: &str) -> String {
    let out = Command::new("delv")
        .args(["-a", anchor, &format!("+root={HOSTED}")])
        .arg(format!("@{}", addr.ip()))
        .args(["-p", &addr.port().to_string(), name, t])
        .output()
        .expect("run delv (Debian package bind9-dnsutils)");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `trust-anchors` for delv from `zone ds` lines (`NAME. TTL IN DS TAG ALG DT HEX`).
fn delv_anchor(dir: &TestDir, ds_lines: &str) -> String {
    let mut body = String::from("trust-anchors {\n");
    for l in ds_lines.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        assert_eq!(f.get(3), Some(&"DS"), "{l}");
        body.push_str(&format!(
            "  {} static-ds {} {} {} \"{}\";\n",
            f[0], f[4], f[5], f[6], f[7]
        ));
    }
    body.push_str("};\n");
    let p = dir.path("anchor.conf");
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

/// `GET /update` for one hostname; must answer 200 `OK`.
fn update(srv: &Server, token: &str, label: &str, ip: &str) {
    let r = srv.get(
        &format!("/update?token={token}&domains={label}&ip={ip}"),
        &[],
    );
    assert_eq!((r.status, r.body.as_str()), (200, "OK"), "{label} {ip}");
}

/// The scenario's lucentd: `--config` plus a second DNS listener on a port fixed in advance
/// (the harness adds `--dns 127.0.0.1:0`; the secondaries use the fixed one, which a restart
/// keeps).
fn start_lucentd(dir: &TestDir, cfg: &str, dns: SocketAddr) -> Server {
    let d = dns.to_string();
    Server::start_with(
        dir,
        ServerOpts {
            args: vec!["--config", cfg, "--dns", &d],
            env: vec![],
        },
    )
}

#[test]
fn issue16_nsd_and_knot_follow_lucentd_over_tsig() {
    let t_all = Instant::now();
    let dir = TestDir::new("secondaries");
    // Failures that do not stop the scenario, asserted after its report line.
    let mut problems: Vec<String> = vec![];

    // ---- ports and keys first: lucentd's config names where its NOTIFYs go.
    let nsd_key = XfrKey::random("nsd-xfr");
    let knot_key = XfrKey::random("knot-xfr");
    let (dns_port, nsd_port, knot_port) = (free_port(), free_port(), free_port());
    let primary = SocketAddr::from(([127, 0, 0, 1], dns_port));
    let cfg = write_config(
        &dir,
        &format!(
            "[limits]\nrequests_per_5min = 0\nip_requests_per_5min = 0\n\
             [dns]\nrrl_responses_per_second = 0\n\
             nameservers = [\"ns1.example.net\", \"ns2.example.net\"]\n\
             soa_contact = \"hostmaster.example.net\"\n\
             {}{}\
             [[dns.secondaries]]\nnotify = \"127.0.0.1:{nsd_port}\"\nkey = \"{}\"\n\
             zones = [\"{ZONE}\", \"{HOSTED}\"]\n\
             [[dns.secondaries]]\nnotify = \"127.0.0.1:{knot_port}\"\nkey = \"{}\"\n\
             zones = [\"*\"]\n",
            nsd_key.lucentd_toml(),
            knot_key.lucentd_toml(),
            nsd_key.name,
            knot_key.name,
        ),
    );
    let cfg = cfg.to_str().unwrap().to_string();

    // ---- lucentd's zones, before it starts (with the config: a hosted zone's apex NS come
    // from it).
    let c = ["--config", cfg.as_str()];
    let with_cfg = |args: &[&str]| admin(&dir, &[args, &c[..]].concat());
    with_cfg(&["zone", "add", ZONE, "--shared"]);
    // Unsigned, so that its changes go by IXFR (a signed zone's IXFR is answered in full).
    with_cfg(&["zone", "dnssec", ZONE, "--disable"]);
    with_cfg(&["zone", "dnssec", ZONE, "--disable"]);
    let token = last_line(&with_cfg(&[
        "user",
        "add",
        "u@example.net",
        "--max-hostnames",
        "5000",
    ]));
    with_cfg(&["user", "add", EMAIL]);
    with_cfg(&["zone", "add", HOSTED, "--owner", EMAIL]);
    with_cfg(&["zone", "add", PRIVATE, "--owner", EMAIL]);
    let zf = dir.path("example.org.zone");
    std::fs::write(&zf, hosted_zone_file()).unwrap();
    with_cfg(&["zone", "import", HOSTED, zf.to_str().unwrap()]);
    let apikey = last_line(&with_cfg(&["user", "apikey", EMAIL]));

    let mut srv = start_lucentd(&dir, &cfg, primary);

    // ---- 3,000 hostnames through the API (each with an address; every tenth with IPv6 and
    // TXT too).
    let t = Instant::now();
    for i in 0..HOSTS {
        let mut body = serde_json::json!({
            "hostname": format!("h{i}"),
            "ipv4": format!("198.18.{}.{}", i / 256, i % 256),
        });
        if i % 10 == 0 {
            body["ipv6"] = format!("2001:db8::{i:x}").into();
            body["txt"] = format!("host {i}").into();
        }
        let r = srv.json("POST", "/v1/hostnames", &token, &body.to_string());
        assert_eq!(r.status, 201, "h{i}: {}", r.body);
    }
    let create_time = t.elapsed();
    let lucent_serial = |zone: &str| {
        let m = quick_udp(
            primary,
            &format!("{zone}."),
            RecordType::SOA,
            Duration::from_secs(2),
        )
        .expect("lucentd answers SOA");
        soa_serial(&m)
    };
    // The secondaries start while lucentd is down, and lucentd's NOTIFYs at start-up get
    // them to load the zones at once. (Started the other way round, lucentd's NOTIFYs would
    // find nobody listening and back off, RFC 1996 §3.6; the first changes would then wait for
    // a retry, up to 8 s later.)
    assert_eq!(srv.stop(), 0, "lucentd's exit code");
    let nsd = Secondary::start(
        Kind::Nsd,
        &dir,
        nsd_port,
        primary,
        &nsd_key,
        &[ZONE, HOSTED],
    );
    let knot = Secondary::start(
        Kind::Knot,
        &dir,
        knot_port,
        primary,
        &knot_key,
        &[ZONE, HOSTED, PRIVATE],
    );
    // ---- the first load.
    let t = Instant::now();
    srv = start_lucentd(&dir, &cfg, primary);
    for zone in [ZONE, HOSTED] {
        let serial = lucent_serial(zone);
        nsd.wait_serial(zone, serial, Duration::from_secs(30));
        knot.wait_serial(zone, serial, Duration::from_secs(30));
    }
    knot.wait_serial(PRIVATE, lucent_serial(PRIVATE), Duration::from_secs(30));
    let load_time = t.elapsed();
    // Knot's log from here on: the changes (before, its failed tries while lucentd was down).
    let knot_mark = knot.log_text().len();

    // ---- the same zone everywhere: whole transfers compared record by record (each
    // secondary serves AXFR to its own key: see harness/secondary.rs), then answers.
    for zone in [ZONE, HOSTED] {
        let (want, out) = kdig_axfr(primary, &knot_key, zone);
        assert!(want.len() > 10, "lucentd's AXFR of {zone}: {out}");
        problems.extend(rrsig_ttls(&out));
        if zone == HOSTED {
            // Every signature and the NSEC3 chain of the transferred zone, checked by ldns.
            let file = dir.path("hosted-axfr.zone");
            std::fs::write(&file, xfr_records(&out).join("\n") + "\n").unwrap();
            let v = run("ldns-verify-zone", &[file.to_str().unwrap().to_string()]);
            if !v.contains("Zone is verified and complete") {
                problems.push(format!("ldns-verify-zone on lucentd's AXFR of {zone}: {v}"));
            }
        }
        let (nsd_recs, out_n) = kdig_axfr(nsd.addr, &nsd_key, zone);
        let (knot_recs, out_k) = kdig_axfr(knot.addr, &knot_key, zone);
        assert!(
            nsd_recs == want,
            "NSD's {zone} differs from lucentd's: {}",
            diff(&want, &nsd_recs, &out_n)
        );
        assert!(
            knot_recs == want,
            "Knot's {zone} differs from lucentd's: {}",
            diff(&want, &knot_recs, &out_k)
        );
        if zone == ZONE {
            // SOA, 2 NS, 3,000 A, 300 AAAA, 300 TXT and 300 wildcard TXT (a hostname's TXT
            // answers below it too).
            assert_eq!(want.len(), 3 + HOSTS + 3 * HOSTS / 10, "{zone}");
        }
    }
    for i in 0..HOSTS {
        let name = format!("h{i}.{ZONE}.");
        let want = shape(&dns_udp(primary, &name, RecordType::A));
        assert!(
            want.contains(&format!("198.18.{}.{}", i / 256, i % 256)),
            "{want}"
        );
        assert_eq!(shape(&nsd.dig(&name, RecordType::A)), want, "NSD {name}");
        assert_eq!(shape(&knot.dig(&name, RecordType::A)), want, "Knot {name}");
    }
    for (name, t) in PROBES {
        let want = shape(&dns_udp(primary, name, *t));
        assert_eq!(shape(&nsd.dig(name, *t)), want, "NSD {name} {t}");
        assert_eq!(shape(&knot.dig(name, *t)), want, "Knot {name} {t}");
    }
    // The large TXT: truncated over UDP without EDNS (512 octets), whole over TCP.
    for addr in [primary, nsd.addr, knot.addr] {
        let big = dns_tcp(addr, "big.example.org.", RecordType::TXT);
        assert_eq!(txt_of(&big).len(), 1, "{addr}: {big:?}");
        assert!(txt_of(&big)[0].len() > 1000, "{addr}: {big:?}");
    }

    // ---- 100 updates, each served by both within 5 s.
    let secs = [&nsd, &knot];
    let mut lat: [Vec<Duration>; 2] = [vec![], vec![]];
    let t = Instant::now();
    for n in 0..UPDATES {
        let i = (n * 29) % HOSTS;
        let ip = format!("203.0.113.{}", n + 1);
        update(&srv, &token, &format!("h{i}"), &ip);
        let since = Instant::now();
        let d = wait_both(&secs, &format!("h{i}.{ZONE}."), &ip, since);
        lat[0].push(d[0]);
        lat[1].push(d[1]);
    }
    let updates_time = t.elapsed();
    let serial = lucent_serial(ZONE);
    assert_eq!(
        nsd.serial(ZONE),
        Some(serial),
        "NSD's serial after the updates"
    );
    assert_eq!(
        knot.serial(ZONE),
        Some(serial),
        "Knot's serial after the updates"
    );
    // Knot fetched the changes incrementally: IXFR lines for the zone, none falling back.
    let klog = knot.log_text()[knot_mark..].to_string();
    let ixfr_done = klog
        .lines()
        .filter(|l| l.contains(&format!("[{ZONE}.] IXFR, incoming")) && l.contains("finished"))
        .count();
    assert!(
        ixfr_done >= 1,
        "no IXFR finished in Knot's log:\n{}",
        tail(&klog, 40)
    );
    for bad in ["AXFR-style", "fallback to AXFR", "failed", "error"] {
        let lines: Vec<&str> = klog
            .lines()
            .filter(|l| l.contains(&format!("[{ZONE}.]")) && l.contains(bad))
            .collect();
        assert!(
            lines.is_empty(),
            "Knot logged {bad:?} for {ZONE}: {lines:#?}"
        );
    }
    let nsd_updates = nsd
        .log_text()
        .lines()
        .filter(|l| l.contains(&format!("zone {ZONE}. received update to serial")))
        .count();

    // ---- a signed zone's change reaches both and validates there.
    let ds = admin(&dir, &["zone", "ds", HOSTED]);
    let anchor = delv_anchor(&dir, &ds);
    let lua = Lua::new(&srv, EMAIL, &apikey);
    let zid = lua.zone_id(HOSTED);
    lua.record(zid, "new.example.org.", "A", "192.0.2.77", 300);
    let since = Instant::now();
    wait_both(&secs, "new.example.org.", "192.0.2.77", since);
    // Knot asked for an IXFR and got the whole signed zone (lucentd's design: a signed zone's
    // NSEC3 chain is made for each transfer, so there is no journal of it).
    let klog = knot.log_text()[knot_mark..].to_string();
    assert!(
        klog.contains(&format!("[{HOSTED}.] IXFR, incoming"))
            && klog.contains(&format!("[{HOSTED}.] AXFR, incoming")),
        "Knot's refresh of {HOSTED}:\n{}",
        tail(&klog, 20)
    );
    let mut validated = 0;
    for s in secs {
        for (name, t) in [
            ("www.example.org", "A"),
            ("www.example.org", "AAAA"),
            ("example.org", "MX"),
            ("example.org", "TXT"),
            ("example.org", "CAA"),
            ("example.org", "DNSKEY"),
            ("ftp.example.org", "A"),
            ("_sip._udp.example.org", "SRV"),
            ("big.example.org", "TXT"),
            ("x.wild.example.org", "A"),
            ("1.2.0.192.rev.example.org", "PTR"),
            ("new.example.org", "A"),
        ] {
            let out = delv(s.addr, &anchor, name, t);
            assert!(
                out.contains("; fully validated"),
                "{} {name} {t}: {out}",
                s.kind.name()
            );
            validated += 1;
        }
        for (name, t) in [
            ("nope.example.org", "A"),
            ("www.example.org", "MX"),
            ("a.b.www.example.org", "A"),
        ] {
            let out = delv(s.addr, &anchor, name, t);
            assert!(
                out.contains("negative response, fully validated"),
                "{} {name} {t}: {out}",
                s.kind.name()
            );
            validated += 1;
        }
    }

    // ---- transfers refused: no zone data without the right key for the zone.
    let refused = check_refusals(
        primary,
        &nsd_key,
        &knot_key,
        lucent_serial(ZONE),
        lucent_serial(HOSTED),
    );

    // ---- a restart of lucentd (same port, same database): changes still reach both.
    assert_eq!(srv.stop(), 0, "lucentd's exit code");
    let t = Instant::now();
    srv = start_lucentd(&dir, &cfg, primary);
    let mut after = vec![];
    for n in 0..5 {
        let ip = format!("203.0.113.{}", 200 + n);
        update(&srv, &token, "h7", &ip);
        let since = Instant::now();
        let d = wait_both(&secs, &format!("h7.{ZONE}."), &ip, since);
        after.extend(d);
    }
    let restart_time = t.elapsed();
    let serial = lucent_serial(ZONE);
    assert_eq!(nsd.serial(ZONE), Some(serial));
    assert_eq!(knot.serial(ZONE), Some(serial));
    // After the restart too the changes came by IXFR (the journal is in the database).
    let klog = knot.log_text()[knot_mark..].to_string();
    let ixfr_total = klog
        .lines()
        .filter(|l| l.contains(&format!("[{ZONE}.] IXFR, incoming")) && l.contains("finished"))
        .count();
    assert!(
        ixfr_total > ixfr_done,
        "no IXFR after the restart:\n{}",
        tail(&klog, 30)
    );
    // lucentd's log: every change of the unsigned zone went to each secondary as an IXFR
    // from the journal, never as the whole zone.
    let slog = srv.log_text();
    for key in [&nsd_key.name, &knot_key.name] {
        let ixfrs = slog
            .lines()
            .filter(|l| l.contains(&format!("xfr: IXFR of {ZONE} ")) && l.contains(key.as_str()))
            .count();
        assert!(ixfrs >= UPDATES, "{ixfrs} IXFRs of {ZONE} with key {key}");
    }
    let whole: Vec<&str> = slog
        .lines()
        .filter(|l| l.contains(&format!("IXFR (answered with the whole zone) of {ZONE} ")))
        .collect();
    assert!(
        whole.is_empty(),
        "IXFRs of {ZONE} answered in full: {whole:#?}"
    );

    let mut stats = String::new();
    for (i, s) in secs.iter().enumerate() {
        let mut v = lat[i].clone();
        v.sort();
        stats.push_str(&format!(
            " {} p50 {:.1} ms max {:.1} ms;",
            s.kind.name(),
            percentile(&v, 50).as_secs_f64() * 1e3,
            v.last().unwrap().as_secs_f64() * 1e3
        ));
    }
    report!(
        "secondaries: NSD and Knot loaded {ZONE} ({HOSTS} hostnames, created in {create_time:.1?}) \
         and {HOSTED} (signed, mixed records, 1,250-octet TXT) in {load_time:.1?}; AXFRs and \
         {} answers equal to lucentd's; {UPDATES} updates in {updates_time:.1?}, latency to \
         both secondaries:{stats} Knot: {ixfr_done} IXFRs finished, NSD: {nsd_updates} \
         updates received; {validated} delv validations via the secondaries; {refused} \
         refused transfers/NOTIFY checked; after a restart 5 updates reached both (max {:.1?}, \
         {restart_time:.1?}); total {:.1?}",
        HOSTS + PROBES.len(),
        after.iter().max().unwrap(),
        t_all.elapsed()
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The lines only in `want` and only in `got` (at most 20 of each), and the raw output.
fn diff(want: &[String], got: &[String], out: &str) -> String {
    let only_w: Vec<&String> = want.iter().filter(|w| !got.contains(w)).take(20).collect();
    let only_g: Vec<&String> = got.iter().filter(|g| !want.contains(g)).take(20).collect();
    format!(
        "{} vs {} records; only lucentd's: {only_w:#?}; only theirs: {only_g:#?}; output ends:\n{}",
        want.len(),
        got.len(),
        tail(out, 10)
    )
}

/// Unsigned, unknown-key, wrong-secret and wrong-zone transfers and a NOTIFY sent to lucentd
/// get nothing of the zone; how many cases were checked.
fn check_refusals(
    primary: SocketAddr,
    nsd_key: &XfrKey,
    knot_key: &XfrKey,
    serial: u32,
    hosted_serial: u32,
) -> usize {
    let mut n = 0;
    // Unsigned AXFR and IXFR over TCP: REFUSED, no records.
    for t in [RecordType::AXFR, RecordType::IXFR] {
        let m = unsigned_xfr(primary, ZONE, t)
            .unwrap_or_else(|| panic!("unsigned {t}: connection closed without an answer"));
        assert_eq!(
            m.metadata.response_code,
            ResponseCode::Refused,
            "unsigned {t}: {m:?}"
        );
        assert!(m.answers.is_empty(), "unsigned {t}: {m:?}");
        n += 1;
    }
    let out = dig(primary, None, &[ZONE, "AXFR"]);
    assert!(out.contains("Transfer failed"), "unsigned dig AXFR: {out}");
    assert!(xfr_records(&out).is_empty(), "unsigned dig AXFR: {out}");
    let mut a = at(primary);
    a.extend(["+tcp".into(), ZONE.into(), "AXFR".into()]);
    let out = run("kdig", &a);
    assert!(out.contains("'REFUSED'"), "unsigned kdig AXFR: {out}");

    // A key lucentd does not know: BADKEY (RFC 8945 §5.2.1), no records.
    let unknown = XfrKey::random("unknown-key");
    let out = dig(primary, Some(&unknown.dig_arg()), &[ZONE, "AXFR"]);
    assert!(out.contains("BADKEY"), "unknown key: {out}");
    assert!(
        xfr_records(&out).iter().all(|l| !l.contains(" SOA ")),
        "unknown key: {out}"
    );
    // The same key name with another secret: BADSIG (RFC 8945 §5.2.2).
    let forged = XfrKey::new(&knot_key.name, &XfrKey::random("x").secret);
    let out = dig(primary, Some(&forged.dig_arg()), &[ZONE, "AXFR"]);
    assert!(out.contains("BADSIG"), "wrong secret: {out}");
    assert!(
        xfr_records(&out).iter().all(|l| !l.contains(" SOA ")),
        "wrong secret: {out}"
    );
    n += 2;
    // The rcode of those transfer answers, which dig does not print: the same requests made
    // by hand (no MAC needs computing: the key name is unknown, or the MAC is random).
    for t in [RecordType::AXFR, RecordType::IXFR] {
        for (key, want) in [(&unknown.name, 17), (&forged.name, 16)] {
            let (rcode, records, error) = bad_tsig_xfr(primary, ZONE, key, t);
            assert_eq!(
                (rcode, records, error),
                (9, 0, want),
                "{t} signed with {key}: (rcode, answer records, TSIG error) (RFC 8945 §5.2: \
                 NOTAUTH, none, {})",
                if want == 17 { "BADKEY" } else { "BADSIG" }
            );
            n += 1;
        }
    }
    // And on a query dig shows the header of: NOTAUTH with the TSIG error.
    for (k, err) in [(&unknown, "BADKEY"), (&forged, "BADSIG")] {
        let out = dig(primary, Some(&k.dig_arg()), &["+norec", ZONE, "SOA"]);
        assert!(out.contains("status: NOTAUTH"), "{err} on SOA: {out}");
        assert!(out.contains(err), "{err} on SOA: {out}");
        assert!(!out.contains("ANSWER SECTION"), "{err} on SOA: {out}");
        n += 1;
    }
    // A signed SOA query with the right key: a signed answer dig verifies.
    let out = dig(primary, Some(&nsd_key.dig_arg()), &["+norec", ZONE, "SOA"]);
    assert!(out.contains("status: NOERROR"), "signed SOA: {out}");
    assert!(
        out.contains("TSIG PSEUDOSECTION"),
        "signed SOA answered unsigned: {out}"
    );
    assert!(
        !out.contains("Couldn't verify") && !out.contains("could not be validated"),
        "signed SOA: {out}"
    );
    // A known key that is not listed for the zone (NSD's key, PRIVATE): no records.
    let out = dig(primary, Some(&nsd_key.dig_arg()), &[PRIVATE, "AXFR"]);
    assert!(
        xfr_records(&out).iter().all(|l| !l.contains(" SOA ")),
        "NSD's key, {PRIVATE}: {out}"
    );
    assert!(
        out.contains("Transfer failed") || out.contains("failed"),
        "{out}"
    );
    n += 1;
    // The right key: IXFR from an old serial of the unsigned zone is incremental (RFC 1995
    // §4: the new SOA, then the old one opening the first difference sequence).
    let out = dig(
        primary,
        Some(&nsd_key.dig_arg()),
        &[ZONE, &format!("IXFR={}", serial.wrapping_sub(3))],
    );
    let recs = xfr_records(&out);
    assert!(recs.len() >= 4, "IXFR: {out}");
    let soa_serial_of = |l: &str| l.split(' ').nth(6).map(str::to_string);
    assert_eq!(
        soa_serial_of(&recs[0]),
        Some(serial.to_string()),
        "IXFR: {out}"
    );
    let rtype_of = |l: &str| l.split(' ').nth(3).map(str::to_string);
    assert_eq!(
        rtype_of(&recs[1]).as_deref(),
        Some("SOA"),
        "IXFR not incremental: {out}"
    );
    assert_eq!(
        recs.last(),
        recs.first(),
        "IXFR ends with the new SOA: {out}"
    );
    assert_eq!(
        soa_serial_of(&recs[1]),
        Some(serial.wrapping_sub(3).to_string()),
        "IXFR: {out}"
    );
    // A signed zone's IXFR is answered with the whole zone (AXFR-style, RFC 1995 §4): the
    // SOA, then the zone's other records.
    let out = dig(
        primary,
        Some(&nsd_key.dig_arg()),
        &[HOSTED, &format!("IXFR={}", hosted_serial.wrapping_sub(1))],
    );
    let recs = xfr_records(&out);
    assert!(recs.len() > 20, "IXFR of {HOSTED}: {out}");
    assert_eq!(
        rtype_of(&recs[0]).as_deref(),
        Some("SOA"),
        "IXFR of {HOSTED}: {out}"
    );
    assert_ne!(
        rtype_of(&recs[1]).as_deref(),
        Some("SOA"),
        "IXFR of {HOSTED}: {out}"
    );
    n += 1;
    // NOTIFY (RFC 1996) sent to lucentd, a primary: REFUSED or NOTAUTH, not NOTIMP.
    let mut m = Message::query();
    m.metadata.id = 0x4e4f;
    m.metadata.op_code = OpCode::Notify;
    m.metadata.message_type = MessageType::Query;
    m.metadata.authoritative = true;
    m.add_query(hickory_proto::op::Query::query(
        hickory_proto::rr::Name::from_ascii(format!("{ZONE}.")).unwrap(),
        RecordType::SOA,
    ));
    let (r, _) = udp(primary, &m);
    assert!(
        matches!(
            r.metadata.response_code,
            ResponseCode::Refused | ResponseCode::NotAuth
        ),
        "NOTIFY to lucentd: {r:?}"
    );
    n + 2
}
