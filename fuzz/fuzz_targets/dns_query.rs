//! The DNS query path exactly as `lucentd` runs it: hickory-server's listener with our request
//! handler over a `DnsView` holding a small zone, in this process on a loopback UDP port, fed
//! the fuzz input as a datagram. (The lookup itself is crate-private, so it is reached the way
//! the server reaches it.) A panic anywhere aborts the process (libfuzzer-sys's panic hook).
//! Oracles for well-formed single-question queries: an answer arrives, it decodes, its id
//! matches, and it fits the UDP size (512 octets without EDNS, else the offer clamped to
//! 512..=1232).
#![no_main]

use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};
use libfuzzer_sys::fuzz_target;
use lucent_server::dns::{self, ApexConfig, DnsView, RecordData, RrsetChange, ZoneContent};
use lucent_server::model::content::normalize;
use lucent_server::model::RType;

struct Fixture {
    _rt: tokio::runtime::Runtime,
    addr: SocketAddr,
    sock: UdpSocket,
}

fn rrset(name: &str, rtype: RType, contents: &[&str]) -> RrsetChange {
    RrsetChange {
        name: name.to_string(),
        rtype,
        records: contents
            .iter()
            .map(|c| RecordData {
                ttl: 300,
                content: normalize(rtype, c).expect("fixture record"),
            })
            .collect(),
    }
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let apex = ApexConfig {
            nameservers: vec!["ns1.example.net".into(), "ns2.example.net".into()],
            rname: "hostmaster.example.net".into(),
            refresh: 3600,
            retry: 600,
            expire: 604800,
            minimum: 60,
            soa_ttl: 3600,
            ns_ttl: 86400,
            dnssec: Default::default(),
        };
        let view = Arc::new(DnsView::new(apex));
        let big: Vec<String> = (0..15)
            .map(|i| format!("{i:02}-{}", "x".repeat(180)))
            .collect();
        let big: Vec<&str> = big.iter().map(String::as_str).collect();
        view.load_zone(ZoneContent {
            name: "example.org".into(),
            serial: 1,
            rrsets: vec![
                rrset(
                    "example.org",
                    RType::Ns,
                    &["ns1.example.net.", "ns2.example.net."],
                ),
                rrset("example.org", RType::Mx, &["10 mail.example.org."]),
                rrset("example.org", RType::Txt, &["v=spf1 -all"]),
                rrset("example.org", RType::Caa, &["0 issue \"letsencrypt.org\""]),
                rrset("www.example.org", RType::A, &["192.0.2.1", "192.0.2.2"]),
                rrset("www.example.org", RType::Aaaa, &["2001:db8::1"]),
                rrset("mail.example.org", RType::A, &["192.0.2.25"]),
                rrset("alias.example.org", RType::Cname, &["www.example.org."]),
                rrset("loop.example.org", RType::Cname, &["loop.example.org."]),
                rrset("*.wild.example.org", RType::A, &["192.0.2.99"]),
                rrset("sub.example.org", RType::Ns, &["ns.sub.example.org."]),
                rrset("ns.sub.example.org", RType::A, &["192.0.2.53"]),
                rrset(
                    "_sip._tcp.example.org",
                    RType::Srv,
                    &["10 5 5060 www.example.org."],
                ),
                rrset("big.example.org", RType::Txt, &big),
                rrset("big.example.org", RType::A, &["192.0.2.7"]),
            ],
        });
        view.load_zone(ZoneContent {
            name: "dyn.example.net".into(),
            serial: 7,
            rrsets: vec![rrset("home.dyn.example.net", RType::A, &["203.0.113.5"])],
        });
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let tcp = dns::TcpConfig {
            max_connections: 64,
            max_connections_per_address: 0,
            idle_timeout: std::time::Duration::from_secs(10),
            timeout: std::time::Duration::from_secs(5),
        };
        let server = rt
            .block_on(dns::start(&[addr], view, tcp))
            .expect("DNS listen");
        let addr = server.bound[0];
        // Keep the listeners running for the life of the process.
        std::mem::forget(server);
        let sock = UdpSocket::bind("127.0.0.1:0").expect("client socket");
        Fixture {
            _rt: rt,
            addr,
            sock,
        }
    })
}

/// Send `q`; wait for the answer with `id` (None if nothing within 10 s). libFuzzer's
/// `-timeout` arms a SIGALRM every few seconds without SA_RESTART, so a blocking receive can
/// fail with EINTR long before the deadline: that is retried, not taken as silence.
fn ask(f: &Fixture, q: &[u8], id: u16) -> Option<Vec<u8>> {
    use std::io::ErrorKind;
    use std::time::Instant;
    let mut buf = vec![0u8; 65535];
    f.sock.set_nonblocking(true).expect("nonblocking");
    loop {
        match f.sock.recv_from(&mut buf) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    f.sock.set_nonblocking(false).expect("blocking");
    loop {
        match f.sock.send_to(q, f.addr) {
            Ok(_) => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("send: {e}"),
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        if left.is_zero() {
            return None;
        }
        f.sock.set_read_timeout(Some(left)).expect("timeout");
        match f.sock.recv_from(&mut buf) {
            Ok((n, _)) if n >= 2 && u16::from_be_bytes([buf[0], buf[1]]) == id => {
                return Some(buf[..n].to_vec());
            }
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let parsed = Message::from_bytes(data).ok();
    let expect_answer = parsed.as_ref().filter(|m| {
        m.metadata.message_type == MessageType::Query
            && m.metadata.op_code == OpCode::Query
            && m.queries.len() == 1
            && m.answers.is_empty()
            && m.authorities.is_empty()
            && m.signature.is_none()
    });
    match expect_answer {
        Some(m) => {
            let id = m.metadata.id;
            let raw = ask(f, data, id).unwrap_or_else(|| panic!("no answer to {m:?}"));
            let limit = match &m.edns {
                Some(e) => usize::from(e.max_payload().clamp(512, 1232)),
                None => 512,
            };
            assert!(
                raw.len() <= limit,
                "{} octets over UDP, limit {limit}: {m:?}",
                raw.len()
            );
            let r =
                Message::from_bytes(&raw).unwrap_or_else(|e| panic!("answer does not decode: {e}"));
            assert_eq!(r.metadata.message_type, MessageType::Response);
        }
        None => {
            let _ = f.sock.send_to(data, f.addr);
        }
    }
    // The responder is still alive.
    let mut probe = Message::query();
    probe.metadata.id = 0xBEEF;
    probe.add_query(Query::query(
        Name::from_ascii("www.example.org.").expect("name"),
        RecordType::A,
    ));
    let probe = probe.to_bytes().expect("encode");
    assert!(
        ask(f, &probe, 0xBEEF).is_some(),
        "responder stopped answering"
    );
});
