//! A DNS client: queries built with hickory, exchanged over UDP (three tries, 3 s each, or a
//! burst) or TCP (length-prefixed), and readers for the parts tests look at (answers, TXT
//! strings, rcode, record types, SOA serial).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};

use super::next_id;

/// A plain query (no RD, no EDNS) with message id `id`.
pub fn query(name: &str, rtype: RecordType, id: u16) -> Message {
    query_class(name, rtype, DNSClass::IN, id)
}

/// `query` in class `class` (CH for `id.server` and the like).
pub fn query_class(name: &str, rtype: RecordType, class: DNSClass, id: u16) -> Message {
    let mut m = Message::query();
    m.metadata.id = id;
    let mut q = Query::query(Name::from_ascii(name).expect("name"), rtype);
    q.set_query_class(class);
    m.add_query(q);
    m
}

/// `query` encoded.
pub fn query_bytes(name: &str, rtype: RecordType, id: u16) -> Vec<u8> {
    query(name, rtype, id).to_bytes().expect("encode")
}

/// A query with the RD bit set (lego and Pebble set it), id 4242, and an optional EDNS payload
/// size.
pub fn query_msg(name: &str, rtype: RecordType, edns: Option<u16>) -> Message {
    let mut m = query(name, rtype, 4242);
    m.metadata.recursion_desired = true;
    if let Some(size) = edns {
        let mut e = Edns::new();
        e.set_max_payload(size);
        m.set_edns(e);
    }
    m
}

/// Send `q` by UDP up to three times (3 s each); the first answer and its size.
fn udp_try(addr: SocketAddr, q: &[u8]) -> Option<(Message, usize)> {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    for _ in 0..3 {
        sock.send_to(q, addr).expect("send");
        let mut buf = vec![0u8; 65535];
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            return Some((Message::from_bytes(&buf[..n]).expect("decode"), n));
        }
    }
    None
}

/// One UDP exchange of raw query bytes (any id); the answer and its size.
pub fn udp_raw(addr: SocketAddr, q: &[u8]) -> (Message, usize) {
    udp_try(addr, q).unwrap_or_else(|| panic!("no UDP answer from {addr}"))
}

/// One UDP exchange of `m`; the answer (same id) and the datagram size.
pub fn udp(addr: SocketAddr, m: &Message) -> (Message, usize) {
    let (r, n) = udp_raw(addr, &m.to_bytes().expect("encode"));
    assert_eq!(r.metadata.id, m.metadata.id);
    (r, n)
}

/// `name rtype` over UDP with a fresh id.
pub fn dns_udp(addr: SocketAddr, name: &str, rtype: RecordType) -> Message {
    let id = (next_id() & 0xffff) as u16;
    let q = query_bytes(name, rtype, id);
    let (m, _) =
        udp_try(addr, &q).unwrap_or_else(|| panic!("no DNS answer from {addr} for {name} {rtype}"));
    assert_eq!(m.metadata.id, id);
    m
}

/// Send every query in `queries` from one socket as fast as it goes, reading on another thread
/// meanwhile (so that the socket's receive buffer drops fewer answers), until `quiet` passes
/// without an answer (10 s at most): each answer decoded, with its size.
pub fn udp_burst(addr: SocketAddr, queries: &[Vec<u8>], quiet: Duration) -> Vec<(Message, usize)> {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let reader = sock.try_clone().expect("clone");
    reader.set_read_timeout(Some(quiet)).expect("timeout");
    let answers = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut out = Vec::new();
        let mut buf = vec![0u8; 4096];
        while Instant::now() < deadline {
            let Ok((len, _)) = reader.recv_from(&mut buf) else {
                break;
            };
            out.push((Message::from_bytes(&buf[..len]).expect("decode"), len));
        }
        out
    });
    for q in queries {
        sock.send_to(q, addr).expect("send");
    }
    answers.join().expect("reader")
}

/// `q` with the 2-byte length prefix of DNS over TCP.
pub fn framed(q: &[u8]) -> Vec<u8> {
    let mut f = (q.len() as u16).to_be_bytes().to_vec();
    f.extend_from_slice(q);
    f
}

/// One TCP exchange of `m` (2-byte length prefix each way).
pub fn tcp(addr: SocketAddr, m: &Message) -> Message {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    s.write_all(&framed(&m.to_bytes().expect("encode")))
        .expect("write");
    let mut len = [0u8; 2];
    s.read_exact(&mut len).expect("read len");
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut buf).expect("read msg");
    Message::from_bytes(&buf).expect("decode")
}

/// `name rtype` over TCP.
pub fn dns_tcp(addr: SocketAddr, name: &str, rtype: RecordType) -> Message {
    tcp(addr, &query(name, rtype, 7))
}

/// The answer section's RDATA as text, sorted.
pub fn answers(m: &Message) -> Vec<String> {
    let mut v: Vec<String> = m.answers.iter().map(|r| r.data.to_string()).collect();
    v.sort();
    v
}

/// The TXT answers, each one's character-strings joined, sorted.
pub fn txt_of(m: &Message) -> Vec<String> {
    let mut v: Vec<String> = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(t) => Some(
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

pub fn rcode(m: &Message) -> ResponseCode {
    m.metadata.response_code
}

pub fn types(records: &[Record]) -> Vec<RecordType> {
    records.iter().map(|r| r.record_type()).collect()
}

/// The serial of the SOA that is the first answer (panics if there is none).
pub fn soa_serial(m: &Message) -> u32 {
    match m.answers.first().map(|r| &r.data) {
        Some(RData::SOA(s)) => s.serial,
        other => panic!("no SOA answer: {other:?}"),
    }
}
