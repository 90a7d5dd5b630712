//! Issue #16, secondaries: real NSD and Knot DNS (Debian's `nsd` and `knot`) follow lucentd over
//! TSIG on loopback. Both load a signed shared zone of 3,000 hostnames, an unsigned shared zone
//! and a signed hosted zone with records of every kind (a TXT of more than 1,000 octets among
//! them), and serve what lucentd serves, record for record; after each of 100 `/update`s in
//! the signed zone and 20 in the unsigned one, both answer the new address within 5 s (NOTIFY,
//! then IXFR: Knot's log and lucentd's say so), and their copies, patched by those IXFRs, still
//! equal a fresh AXFR from lucentd and still verify (`ldns-verify-zone`); `delv`, with the DS
//! from `zone ds` as its only trust anchor, validates signed answers as each secondary serves
//! them; after a restart of lucentd on the same port and database, changes still reach both by
//! IXFR; a transfer unsigned (REFUSED), signed with an unknown key (NOTAUTH, BADKEY), with a
//! wrong secret (NOTAUTH, BADSIG) or with a key not listed for the zone gets no zone data; a
//! NOTIFY sent to lucentd is refused.
//!
//! The secondaries are started once and the scenario runs in steps, to keep the run short.

use std::collections::{BTreeSet, HashMap};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::RecordType;
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};

use crate::harness::secondary::*;
use crate::harness::*;

/// The shared zone of 3,000 hostnames, signed (lucentd's default).
const ZONE: &str = "dyn.example.net";
/// A shared zone left unsigned (`zone dnssec --disable`).
const PLAIN: &str = "plain.example.net";
const HOSTED: &str = "example.org";
/// A hosted zone only Knot's key may transfer (NSD's list leaves it out).
const PRIVATE: &str = "private.example";
const HOSTS: usize = 3000;
const PLAIN_HOSTS: usize = 20;
const UPDATES: usize = 100;
const PLAIN_UPDATES: usize = 20;
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
    let fields: Vec<Vec<&str>> = recs.iter().map(|r| r.split(' ').collect()).collect();
    let ttls: HashMap<(&str, &str), &str> = fields
        .iter()
        .filter(|f| f.len() > 3 && f[3] != "RRSIG")
        .map(|f| ((f[0], f[3]), f[1]))
        .collect();
    fields
        .iter()
        .filter(|f| f.len() > 7 && f[3] == "RRSIG")
        .filter_map(|f| {
            let covered = ttls.get(&(f[0], f[4])).copied();
            (f[1] != f[7] || covered != Some(f[1])).then(|| {
                format!(
                    "{} RRSIG {}: RRSIG TTL {}, Original TTL {}, {} TTL {covered:?}",
                    f[0], f[4], f[1], f[7], f[4]
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

/// `GET /update` for one hostname (FQDN); must answer 200 `OK`.
fn update(srv: &Server, token: &str, fqdn: &str, ip: &str) {
    let r = srv.get(
        &format!("/update?token={token}&domains={fqdn}&ip={ip}"),
        &[],
    );
    assert_eq!((r.status, r.body.as_str()), (200, "OK"), "{fqdn} {ip}");
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
             zones = [\"{ZONE}\", \"{PLAIN}\", \"{HOSTED}\"]\n\
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
    with_cfg(&["zone", "add", PLAIN, "--shared"]);
    with_cfg(&["zone", "dnssec", PLAIN, "--disable"]);
    with_cfg(&["zone", "dnssec", PLAIN, "--disable"]);
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

    // ---- 3,000 hostnames (and 20 in the unsigned zone) through the API, each with an
    // address, every tenth with IPv6 and TXT too.
    let mut srv = start_lucentd(&dir, &cfg, primary);
    let t = Instant::now();
    let hosts = (0..HOSTS)
        .map(|i| (ZONE, format!("h{i}"), i))
        .chain((0..PLAIN_HOSTS).map(|i| (PLAIN, format!("p{i}"), i)));
    for (zone, label, i) in hosts {
        let mut body = serde_json::json!({
            "hostname": label,
            "zone": zone,
            "ipv4": format!("198.18.{}.{}", i / 256, i % 256),
        });
        if i % 10 == 0 {
            body["ipv6"] = format!("2001:db8::{i:x}").into();
            body["txt"] = format!("host {i}").into();
        }
        let r = srv.json("POST", "/v1/hostnames", &token, &body.to_string());
        assert_eq!(r.status, 201, "{label}.{zone}: {}", r.body);
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
        &[ZONE, PLAIN, HOSTED],
    );
    let knot = Secondary::start(
        Kind::Knot,
        &dir,
        knot_port,
        primary,
        &knot_key,
        &[ZONE, PLAIN, HOSTED, PRIVATE],
    );
    let secs = [&nsd, &knot];
    let keys = [&nsd_key, &knot_key];

    // ---- the first load.
    let t = Instant::now();
    srv = start_lucentd(&dir, &cfg, primary);
    for zone in [ZONE, PLAIN, HOSTED] {
        let serial = lucent_serial(zone);
        nsd.wait_serial(zone, serial, Duration::from_secs(30));
        knot.wait_serial(zone, serial, Duration::from_secs(30));
    }
    knot.wait_serial(PRIVATE, lucent_serial(PRIVATE), Duration::from_secs(30));
    let load_time = t.elapsed();
    // Knot's log from here on: the changes (before, its failed tries while lucentd was down).
    let knot_mark = knot.log_text().len();
    let nsd_mark = nsd.log_text().len();

    // ---- the same zones everywhere: whole transfers compared record by record, then answers.
    for zone in [ZONE, PLAIN, HOSTED] {
        let recs = same_copies(
            &dir,
            primary,
            &secs,
            &keys,
            zone,
            "first load",
            &mut problems,
        );
        let a_records = recs.iter().filter(|r| r.split(' ').nth(3) == Some("A"));
        let want = match zone {
            ZONE => HOSTS,
            PLAIN => PLAIN_HOSTS,
            _ => 6,
        };
        assert_eq!(a_records.count(), want, "A records in {zone}");
    }
    let mut compared = 0;
    for (zone, label, n) in [(ZONE, "h", HOSTS), (PLAIN, "p", PLAIN_HOSTS)] {
        for i in 0..n {
            let name = format!("{label}{i}.{zone}.");
            let want = shape(&dns_udp(primary, &name, RecordType::A));
            let ip = format!("198.18.{}.{}", i / 256, i % 256);
            assert!(want.contains(&ip), "{want}");
            for s in secs {
                assert_eq!(
                    shape(&s.dig(&name, RecordType::A)),
                    want,
                    "{:?} {name}",
                    s.kind
                );
            }
            compared += 1;
        }
    }
    for (name, t) in PROBES {
        let want = shape(&dns_udp(primary, name, *t));
        for s in secs {
            assert_eq!(shape(&s.dig(name, *t)), want, "{:?} {name} {t}", s.kind);
        }
        compared += 1;
    }
    // The large TXT: truncated over UDP without EDNS (512 octets), whole over TCP.
    for addr in [primary, nsd.addr, knot.addr] {
        let big = dns_tcp(addr, "big.example.org.", RecordType::TXT);
        assert_eq!(txt_of(&big).len(), 1, "{addr}: {big:?}");
        assert!(txt_of(&big)[0].len() > 1000, "{addr}: {big:?}");
    }

    // ---- 100 updates in the signed zone and 20 in the unsigned one, each served by both
    // secondaries within 5 s.
    let mut lat: [Vec<Duration>; 2] = [vec![], vec![]];
    let olds = [(ZONE, lucent_serial(ZONE)), (PLAIN, lucent_serial(PLAIN))];
    let t = Instant::now();
    let changes = (0..UPDATES)
        .map(|n| (format!("h{}.{ZONE}.", (n * 29) % HOSTS), n))
        .chain((0..PLAIN_UPDATES).map(|n| (format!("p{n}.{PLAIN}."), UPDATES + n)));
    for (name, n) in changes {
        let ip = format!("203.0.113.{}", n + 1);
        update(&srv, &token, name.trim_end_matches('.'), &ip);
        let d = wait_both(&secs, &name, &ip, Instant::now());
        lat[0].push(d[0]);
        lat[1].push(d[1]);
    }
    let updates_time = t.elapsed();
    for zone in [ZONE, PLAIN] {
        let serial = lucent_serial(zone);
        for s in secs {
            assert_eq!(s.serial(zone), Some(serial), "{:?}'s {zone} serial", s.kind);
        }
    }
    // Knot fetched the changes incrementally: IXFR lines for both zones, none falling back.
    let klog = knot.log_text()[knot_mark..].to_string();
    let ixfrs_in = |log: &str, zone: &str| {
        log.lines()
            .filter(|l| l.contains(&format!("[{zone}.] IXFR, incoming")) && l.contains("finished"))
            .count()
    };
    let knot_ixfrs = [ixfrs_in(&klog, ZONE), ixfrs_in(&klog, PLAIN)];
    assert!(
        knot_ixfrs[0] >= 1 && knot_ixfrs[1] >= 1,
        "IXFRs in Knot's log: {knot_ixfrs:?}:\n{}",
        tail(&klog, 40)
    );
    // A hostname added and one deleted in each zone: the signed zone's NSEC3 chain changes
    // too, and goes by IXFR like the rest.
    for (zone, label) in [(ZONE, "h"), (PLAIN, "p")] {
        let body = serde_json::json!({"hostname": "added", "zone": zone, "ipv4": "192.0.2.201"});
        let r = srv.json("POST", "/v1/hostnames", &token, &body.to_string());
        assert_eq!(r.status, 201, "added.{zone}: {}", r.body);
        wait_both(
            &secs,
            &format!("added.{zone}."),
            "192.0.2.201",
            Instant::now(),
        );
        let gone = format!("{label}1.{zone}");
        let r = srv.bearer("DELETE", &format!("/v1/hostnames/{gone}"), &token);
        assert!(
            r.status == 200 || r.status == 204,
            "DELETE {gone}: {} {}",
            r.status,
            r.body
        );
        for s in secs {
            let d = s.poll(&format!("{gone}."), RecordType::A, PROPAGATION, |m| {
                m.metadata.response_code == ResponseCode::NXDomain
            });
            assert!(
                d.is_some(),
                "{:?} still answers {gone}:\n{}",
                s.kind,
                tail(&s.log_text(), 20)
            );
        }
    }
    // Neither secondary had trouble with any of those IXFRs: no failure, no fallback to AXFR.
    let logs = [
        (Kind::Nsd, nsd.log_text()[nsd_mark..].to_string()),
        (Kind::Knot, knot.log_text()[knot_mark..].to_string()),
    ];
    for (kind, log) in &logs {
        for zone in [ZONE, PLAIN] {
            let bad: Vec<&str> = log
                .lines()
                .filter(|l| l.contains(&format!("{zone}.")) || l.contains(&format!("{zone}:")))
                .filter(|l| {
                    ["AXFR, incoming", "AXFR-style", "fallback", "fail", "error"]
                        .iter()
                        .any(|w| l.contains(w))
                })
                .collect();
            if !bad.is_empty() {
                problems.push(format!("{kind:?} logged, for {zone}'s changes: {bad:#?}"));
            }
        }
    }
    // The copies the IXFRs made are lucentd's zones, record for record, and still verify.
    for zone in [ZONE, PLAIN] {
        same_copies(
            &dir,
            primary,
            &secs,
            &keys,
            zone,
            "after the updates",
            &mut problems,
        );
    }

    // ---- signed answers validate at the secondaries: the hosted zone after a change made
    // through the API, and the updated names of the shared zone.
    let lua = Lua::new(&srv, EMAIL, &apikey);
    let zid = lua.zone_id(HOSTED);
    lua.record(zid, "new.example.org.", "A", "192.0.2.77", 300);
    wait_both(&secs, "new.example.org.", "192.0.2.77", Instant::now());
    let mut validated = 0;
    for (zone, names) in [
        (
            HOSTED,
            &[
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
            ][..],
        ),
        (
            ZONE,
            &[
                ("h0.dyn.example.net", "A"),
                ("h0.dyn.example.net", "AAAA"),
                ("h0.dyn.example.net", "TXT"),
                ("h2871.dyn.example.net", "A"),
                ("x.h10.dyn.example.net", "TXT"),
            ][..],
        ),
    ] {
        let ds = admin(&dir, &["zone", "ds", zone]);
        let anchor = delv_anchor(&dir, &ds, &format!("{zone}.anchor"));
        for s in secs {
            for (name, t) in names {
                let out = delv(s.addr, &anchor, zone, name, t);
                assert!(
                    out.contains("; fully validated"),
                    "{:?} {name} {t}: {out}",
                    s.kind
                );
                validated += 1;
            }
            for name in [format!("nope.{zone}"), format!("a.b.www.{zone}")] {
                let out = delv(s.addr, &anchor, zone, &name, "A");
                assert!(
                    out.contains("negative response, fully validated"),
                    "{:?} {name}: {out}",
                    s.kind
                );
                validated += 1;
            }
        }
    }
    same_copies(
        &dir,
        primary,
        &secs,
        &keys,
        HOSTED,
        "after the change",
        &mut problems,
    );
    let hosted_ixfrs = ixfrs_in(&knot.log_text()[knot_mark..], HOSTED);
    assert!(hosted_ixfrs >= 1, "no IXFR of {HOSTED} in Knot's log");

    // ---- transfers refused: no zone data without the right key for the zone.
    let refused = check_refusals(primary, &nsd_key, &knot_key, &olds);

    // ---- a restart of lucentd (same port, same database): changes still reach both, by IXFR.
    assert_eq!(srv.stop(), 0, "lucentd's exit code");
    let t = Instant::now();
    srv = start_lucentd(&dir, &cfg, primary);
    let mut after = vec![];
    for (n, name) in ["h7.dyn.example.net.", "p7.plain.example.net."]
        .iter()
        .cycle()
        .take(6)
        .enumerate()
    {
        let ip = format!("203.0.113.{}", 200 + n);
        update(&srv, &token, name.trim_end_matches('.'), &ip);
        after.extend(wait_both(&secs, name, &ip, Instant::now()));
    }
    let restart_time = t.elapsed();
    let klog = knot.log_text()[knot_mark..].to_string();
    for (i, zone) in [ZONE, PLAIN].into_iter().enumerate() {
        let serial = lucent_serial(zone);
        for s in secs {
            assert_eq!(
                s.serial(zone),
                Some(serial),
                "{:?}'s {zone} after the restart",
                s.kind
            );
        }
        assert!(
            ixfrs_in(&klog, zone) > knot_ixfrs[i],
            "no IXFR of {zone} after the restart:\n{}",
            tail(&klog, 30)
        );
    }
    // lucentd's log: every change went to each secondary as an IXFR from the journal; the
    // unsigned zone's never as the whole zone. (A signed zone's first IXFR after a restart is
    // answered in full: the NSEC3 chain the secondaries hold is kept in memory only. Counted
    // for the report.)
    let slog = srv.log_text();
    for zone in [ZONE, PLAIN] {
        for key in keys {
            let n = slog
                .lines()
                .filter(|l| l.contains(&format!("xfr: IXFR of {zone} ")))
                .filter(|l| l.contains(&format!("(key {})", key.name)))
                .count();
            assert!(
                n >= PLAIN_UPDATES,
                "{n} IXFRs of {zone} with key {}",
                key.name
            );
        }
    }
    let whole = |zone: &str| -> Vec<&str> {
        slog.lines()
            .filter(|l| l.contains(&format!("IXFR (answered with the whole zone) of {zone} ")))
            .collect()
    };
    assert!(
        whole(PLAIN).is_empty(),
        "IXFRs answered in full: {:#?}",
        whole(PLAIN)
    );
    let signed_whole = whole(ZONE).len() + whole(HOSTED).len();

    let mut stats = String::new();
    for (i, s) in secs.iter().enumerate() {
        let mut v = lat[i].clone();
        v.sort();
        stats.push_str(&format!(
            " {} p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms;",
            s.kind.name(),
            percentile(&v, 50).as_secs_f64() * 1e3,
            percentile(&v, 90).as_secs_f64() * 1e3,
            v.last().unwrap().as_secs_f64() * 1e3
        ));
    }
    report!(
        "secondaries: NSD and Knot loaded {ZONE} (signed, {HOSTS} hostnames made in \
         {create_time:.1?}), {PLAIN} (unsigned) and {HOSTED} (signed, mixed records, a \
         1,250-octet TXT) in {load_time:.1?}; AXFRs equal to lucentd's, {compared} answers \
         equal; {} updates in {updates_time:.1?}, until both secondaries answer:{stats} Knot: \
         {knot_ixfrs:?} IXFRs; copies still equal and verified; {validated} delv validations \
         at the secondaries; {refused} refusals checked; after a restart 6 updates reached both \
         (max {:.1?}; {restart_time:.1?}; {signed_whole} IXFRs of signed zones answered in \
         full); total {:.1?}",
        UPDATES + PLAIN_UPDATES,
        after.iter().max().unwrap(),
        t_all.elapsed()
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

/// AXFR `zone` from lucentd and from each secondary (with its key) and compare them record for
/// record (an RRSIG's TTL apart: `rrsig_ttls` checks lucentd's, and Knot serves an RRSIG with
/// its Original TTL); a signed zone's copies must also pass `ldns-verify-zone` (every RRSIG
/// and the NSEC3 chain). lucentd's records; problems that do not stop the scenario go to
/// `problems`.
fn same_copies(
    dir: &TestDir,
    primary: SocketAddr,
    secs: &[&Secondary; 2],
    keys: &[&XfrKey; 2],
    zone: &str,
    when: &str,
    problems: &mut Vec<String>,
) -> Vec<String> {
    let (want, out) = kdig_axfr(primary, keys[1], zone);
    assert!(want.len() > 10, "lucentd's AXFR of {zone}: {out}");
    for p in rrsig_ttls(&out) {
        if !problems.contains(&p) {
            problems.push(p);
        }
    }
    let signed = want.iter().any(|r| r.split(' ').nth(3) == Some("RRSIG"));
    let copies: Vec<(Vec<String>, String)> = secs
        .iter()
        .zip(keys)
        .map(|(s, key)| kdig_axfr(s.addr, key, zone))
        .collect();
    let differ: Vec<String> = secs
        .iter()
        .zip(&copies)
        .filter(|(_, (got, _))| *got != want)
        .map(|(s, (got, out))| format!("{:?}'s: {}", s.kind, diff(&want, got, out)))
        .collect();
    problems.extend(
        differ
            .into_iter()
            .map(|d| format!("{zone} {when}: a copy that differs from lucentd's AXFR: {d}")),
    );
    for (s, (_, out)) in secs.iter().zip(&copies) {
        if signed {
            let file = dir.path(&format!("{}-{zone}.zone", s.kind.name()));
            std::fs::write(&file, xfr_records(out).join("\n") + "\n").unwrap();
            let v = run("ldns-verify-zone", &[file.to_str().unwrap().to_string()]);
            if !v.contains("Zone is verified and complete") {
                problems.push(format!(
                    "ldns-verify-zone on {:?}'s {zone} {when}: {v}",
                    s.kind
                ));
            }
        }
    }
    want
}

/// The lines only in `want` and only in `got` (at most 20 of each), and the raw output.
fn diff(want: &[String], got: &[String], out: &str) -> String {
    let (w, g): (BTreeSet<&String>, BTreeSet<&String>) =
        (want.iter().collect(), got.iter().collect());
    let only_w: Vec<&&String> = w.difference(&g).take(5).collect();
    let only_g: Vec<&&String> = g.difference(&w).take(5).collect();
    let n_w = w.difference(&g).count();
    format!(
        "{} vs {} records, {n_w} only in lucentd's; the first: {only_w:#?}; only theirs: \
         {only_g:#?}; output ends:\n{}",
        want.len(),
        got.len(),
        tail(out, 10)
    )
}

/// Unsigned, unknown-key, wrong-secret and wrong-zone transfers and a NOTIFY sent to lucentd
/// get nothing of the zone; signed SOA queries; an IXFR from each of `olds` (zone, serial) with
/// the right key is incremental. How many cases were checked.
fn check_refusals(
    primary: SocketAddr,
    nsd_key: &XfrKey,
    knot_key: &XfrKey,
    olds: &[(&str, u32)],
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
    // The right key: IXFR from the serial before the updates is incremental in both zones,
    // signed or not (RFC 1995 §4: the new SOA, then the old one opening the first difference
    // sequence, ..., the new SOA last).
    for (zone, old) in olds {
        let serial = soa_serial(&dns_udp(primary, &format!("{zone}."), RecordType::SOA));
        let out = dig(
            primary,
            Some(&nsd_key.dig_arg()),
            &[zone, &format!("IXFR={old}")],
        );
        let recs: Vec<String> = xfr_records(&out)
            .into_iter()
            .filter(|r| r.split(' ').nth(3) != Some("RRSIG"))
            .collect();
        let soa_serial_of = |l: &str| -> Option<String> {
            let f: Vec<&str> = l.split(' ').collect();
            (f.get(3) == Some(&"SOA")).then(|| f[6].to_string())
        };
        assert!(recs.len() >= 4, "IXFR of {zone}: {out}");
        assert_eq!(
            soa_serial_of(&recs[0]),
            Some(serial.to_string()),
            "{zone}: {out}"
        );
        assert_eq!(
            soa_serial_of(&recs[1]),
            Some(old.to_string()),
            "not incremental: {out}"
        );
        assert_eq!(
            recs.last(),
            recs.first(),
            "IXFR of {zone} ends with the new SOA: {out}"
        );
        n += 1;
    }
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
