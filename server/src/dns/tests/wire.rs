//! Wire tests: the real listeners on 127.0.0.1:0, queried over UDP and TCP with hickory-proto
//! messages on plain tokio sockets. Every wait has a deadline; retries stand in for UDP loss.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

use super::{fixture, set};
use crate::dns::{start, DnsServer};
use crate::model::RType;

static NEXT_ID: AtomicU16 = AtomicU16::new(1);

fn query(qname: &str, qtype: RecordType, payload: Option<u16>) -> Message {
    let mut m = Message::new(
        NEXT_ID.fetch_add(1, Ordering::Relaxed),
        MessageType::Query,
        OpCode::Query,
    );
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(qname).unwrap(), qtype));
    if let Some(p) = payload {
        let mut e = Edns::new();
        e.set_max_payload(p);
        m.set_edns(e);
    }
    m
}

async fn udp_raw(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut buf = vec![0u8; 65535];
    for _ in 0..5 {
        sock.send_to(bytes, addr).await.unwrap();
        if let Ok(Ok((n, _))) = timeout(Duration::from_secs(2), sock.recv_from(&mut buf)).await {
            buf.truncate(n);
            return buf;
        }
    }
    panic!("no UDP answer from {addr}");
}

async fn udp(addr: SocketAddr, m: &Message) -> Message {
    let resp = Message::from_vec(&udp_raw(addr, &m.to_vec().unwrap()).await).unwrap();
    assert_eq!(resp.metadata.id, m.metadata.id);
    resp
}

async fn tcp(addr: SocketAddr, m: &Message) -> Message {
    let bytes = m.to_vec().unwrap();
    let fut = async {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&bytes);
        s.write_all(&framed).await.unwrap();
        let len = s.read_u16().await.unwrap();
        let mut buf = vec![0u8; usize::from(len)];
        s.read_exact(&mut buf).await.unwrap();
        buf
    };
    let buf = timeout(Duration::from_secs(5), fut)
        .await
        .expect("TCP answer in time");
    let resp = Message::from_vec(&buf).unwrap();
    assert_eq!(resp.metadata.id, m.metadata.id);
    resp
}

fn tcp_config() -> crate::dns::TcpConfig {
    crate::dns::TcpConfig {
        max_connections: 64,
        max_connections_per_address: 0,
        idle_timeout: Duration::from_secs(10),
        timeout: Duration::from_secs(5),
    }
}

async fn server() -> (DnsServer, SocketAddr, Arc<crate::dns::DnsView>) {
    let view = Arc::new(fixture());
    let srv = start(
        &["127.0.0.1:0".parse().unwrap()],
        view.clone(),
        tcp_config(),
    )
    .await
    .unwrap();
    let addr = srv.bound[0];
    assert_ne!(addr.port(), 0);
    (srv, addr, view)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_and_tcp_answer_on_the_same_port() {
    let (srv, addr, view) = server().await;
    for resp in [
        udp(addr, &query("WwW.Example.ORG.", RecordType::A, Some(4096))).await,
        tcp(addr, &query("WwW.Example.ORG.", RecordType::A, Some(4096))).await,
    ] {
        let meta = resp.metadata;
        assert_eq!(meta.message_type, MessageType::Response);
        assert_eq!(meta.response_code, ResponseCode::NoError);
        assert!(meta.authoritative, "AA");
        assert!(!meta.recursion_available, "RA clear");
        assert!(meta.recursion_desired, "RD copied");
        assert!(!meta.truncation);
        // The question is echoed with the query's case.
        assert_eq!(resp.queries[0].name().to_string(), "WwW.Example.ORG.");
        assert_eq!(resp.answers.len(), 1);
        assert!(matches!(resp.answers[0].data, RData::A(a) if a.0 == Ipv4Addr::new(192, 0, 2, 2)));
        // RFC 6891 §6.2.5: our OPT advertises at most 1232.
        assert_eq!(resp.edns.as_ref().map(Edns::max_payload), Some(1232));
    }
    // No OPT in the query, none in the answer (RFC 6891 §7).
    let resp = udp(addr, &query("www.example.org.", RecordType::A, None)).await;
    assert!(resp.edns.is_none());
    // NXDOMAIN and REFUSED on the wire, counted per zone.
    let nx = udp(addr, &query("nope.example.org.", RecordType::A, Some(1232))).await;
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(nx.authorities.len(), 1);
    let refused = udp(addr, &query("example.com.", RecordType::A, None)).await;
    assert_eq!(refused.metadata.response_code, ResponseCode::Refused);
    assert!(!refused.metadata.authoritative);
    let counts = view.query_counts();
    assert_eq!(counts[0], ("example.org".to_string(), 4));
    let mut metrics = String::new();
    view.render_metrics(&mut metrics);
    assert!(
        metrics.contains("{zone=\"example.org\",rcode=\"NXDOMAIN\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("{zone=\"\",rcode=\"REFUSED\"} 1\n"),
        "{metrics}"
    );
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc6891_large_answers_truncate_over_udp_only() {
    let (srv, addr, _view) = server().await;
    // big.example.org: 4 TXT of 250 octets, about 1.1 KB.
    let plain = udp(addr, &query("big.example.org.", RecordType::TXT, None)).await;
    assert!(
        plain.metadata.truncation,
        "512 without EDNS (RFC 1035 §4.2.1)"
    );
    assert!(plain.answers.is_empty());
    let small = udp(addr, &query("big.example.org.", RecordType::TXT, Some(600))).await;
    assert!(small.metadata.truncation);
    assert!(small.edns.is_some(), "OPT kept in a truncated answer");
    let fits = udp(
        addr,
        &query("big.example.org.", RecordType::TXT, Some(1232)),
    )
    .await;
    assert!(!fits.metadata.truncation);
    assert_eq!(fits.answers.len(), 4);
    let over_tcp = tcp(addr, &query("big.example.org.", RecordType::TXT, None)).await;
    assert!(!over_tcp.metadata.truncation);
    assert_eq!(over_tcp.answers.len(), 4);
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc1035_section_4_1_1_formerr_and_notimp() {
    let (srv, addr, _view) = server().await;
    let mut two = query("www.example.org.", RecordType::A, None);
    two.add_query(Query::query(
        Name::from_ascii("example.org.").unwrap(),
        RecordType::A,
    ));
    assert_eq!(
        udp(addr, &two).await.metadata.response_code,
        ResponseCode::FormErr
    );
    let mut notify = query("example.org.", RecordType::SOA, None);
    notify.metadata.op_code = OpCode::Notify;
    assert_eq!(
        udp(addr, &notify).await.metadata.response_code,
        ResponseCode::Refused
    );
    // RFC 6895 §2 / RFC 1035 §4.1.1: an opcode we do not implement keeps only ID, opcode,
    // RD and QR of the query's header; CD and AD are not copied.
    let mut odd = query("example.org.", RecordType::SOA, None);
    odd.metadata.op_code = OpCode::Status;
    odd.metadata.recursion_desired = true;
    odd.metadata.checking_disabled = true;
    odd.metadata.authentic_data = true;
    for r in [udp(addr, &odd).await, tcp(addr, &odd).await] {
        let m = r.metadata;
        assert_eq!(m.response_code, ResponseCode::NotImp);
        assert_eq!(m.op_code, OpCode::Status);
        assert!(m.recursion_desired);
        assert!(!m.checking_disabled && !m.authentic_data && !m.authoritative);
        assert!(!m.truncation && !m.recursion_available);
    }
    // A header announcing a question that is not there.
    let mut raw = query("example.org.", RecordType::SOA, None)
        .to_vec()
        .unwrap();
    raw.truncate(12);
    let resp = Message::from_vec(&udp_raw(addr, &raw).await).unwrap();
    assert_eq!(resp.metadata.response_code, ResponseCode::FormErr);
    let axfr = tcp(addr, &query("example.org.", RecordType::AXFR, None)).await;
    assert_eq!(axfr.metadata.response_code, ResponseCode::Refused);
    let mut v1 = query("www.example.org.", RecordType::A, Some(1232));
    if let Some(e) = v1.edns.as_mut() {
        e.set_version(1);
    }
    // Extended rcode 16: hickory decodes the shared code as BADSIG, so compare numbers.
    let rcode = udp(addr, &v1).await.metadata.response_code;
    assert_eq!(u16::from(rcode), u16::from(ResponseCode::BADVERS));
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_releases_the_port() {
    let (srv, addr, _view) = server().await;
    srv.shutdown().await;
    // The TCP port can be bound again once the listener is gone.
    let l = timeout(Duration::from_secs(5), async {
        loop {
            if let Ok(l) = tokio::net::TcpListener::bind(addr).await {
                return l;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(l.is_ok());
}

/// 1,000 parallel UDP queries while a writer keeps changing the same zone: every answer is
/// complete and one of the values the name ever had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_queries_during_writes() {
    let (srv, addr, view) = server().await;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (view, stop) = (view.clone(), stop.clone());
        tokio::task::spawn_blocking(move || {
            let mut serial = 100u32;
            while !stop.load(Ordering::Relaxed) {
                serial += 1;
                let flip = if serial % 2 == 0 {
                    "192.0.2.100"
                } else {
                    "192.0.2.101"
                };
                view.apply(
                    "example.org",
                    serial,
                    vec![
                        set("flip.example.org", RType::A, &[flip]),
                        set(
                            &format!("churn{serial}.example.org"),
                            RType::A,
                            &["192.0.2.5"],
                        ),
                        set(&format!("churn{}.example.org", serial - 1), RType::A, &[]),
                    ],
                );
                std::thread::yield_now();
            }
            serial
        })
    };
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..1000u32 {
        tasks.spawn(async move {
            if i % 2 == 0 {
                let r = udp(addr, &query("www.example.org.", RecordType::A, Some(1232))).await;
                assert_eq!(r.metadata.response_code, ResponseCode::NoError);
                assert_eq!(r.answers.len(), 1);
                assert!(
                    matches!(r.answers[0].data, RData::A(a) if a.0 == Ipv4Addr::new(192, 0, 2, 2))
                );
            } else {
                let r = udp(addr, &query("flip.example.org.", RecordType::A, Some(1232))).await;
                // Before the first write the name does not exist yet.
                if r.metadata.response_code == ResponseCode::NXDomain {
                    return;
                }
                assert_eq!(r.metadata.response_code, ResponseCode::NoError);
                assert_eq!(r.answers.len(), 1, "{r:?}");
                let RData::A(a) = r.answers[0].data else {
                    panic!("{r:?}")
                };
                assert!([100, 101].contains(&a.0.octets()[3]), "{a}");
            }
        });
    }
    while let Some(res) = tasks.join_next().await {
        res.expect("query task");
    }
    stop.store(true, Ordering::Relaxed);
    let last = writer.await.unwrap();
    assert!(last > 100, "the writer ran");
    let soa = udp(addr, &query("example.org.", RecordType::SOA, None)).await;
    let RData::SOA(s) = &soa.answers[0].data else {
        panic!()
    };
    assert_eq!(s.serial, last);
    srv.shutdown().await;
}
