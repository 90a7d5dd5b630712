//! HTTP/1.1 by hand (exact bytes, no client-side magic): request bytes, one strict request per
//! connection (`http`: panics on anything but a well-formed reply), a raw exchange that never
//! panics and says what came back (`exchange` / `Outcome`, also from another loopback address),
//! the reply parsers, and small helpers for credentials, query strings and failure reports.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use base64::Engine;

#[derive(Debug, Clone)]
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// `Basic base64(user:pass)`, the value of an Authorization header.
pub fn basic(user: &str, pass: &str) -> String {
    let b = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    format!("Basic {b}")
}

/// A request's bytes with `Host: host` and `Connection: close`.
fn request_bytes(
    host: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
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

/// A well-formed request's bytes (`Host: 127.0.0.1`, `Connection: close`).
pub fn request(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    request_bytes("127.0.0.1", method, target, headers, body)
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`); the reply must carry
/// Content-Length and no chunking, which is itself a contract (PROTOCOLS.md §2.2).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> HttpReply {
    let bytes = request_bytes(&addr.to_string(), method, path, headers, body);
    let raw = raw_exchange(addr, &bytes);
    parse_reply(&raw)
        .unwrap_or_else(|| panic!("bad HTTP reply: {:?}", String::from_utf8_lossy(&raw)))
}

/// Send bytes, read until EOF (deadline 10 s).
pub fn raw_exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(bytes).expect("write");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    raw
}

/// Status, headers (names in lower case) and where the body starts.
type Head = (u16, Vec<(String, String)>, usize);

/// The first final (non-1xx) reply head in `buf`. None while the head is incomplete or
/// unreadable.
fn reply_head(buf: &[u8]) -> Option<Head> {
    let mut start = 0;
    loop {
        let pos = start + buf[start..].windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&buf[start..pos]).into_owned();
        let mut lines = head.split("\r\n");
        let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
        if (100..200).contains(&status) {
            start = pos + 4;
            continue;
        }
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        return Some((status, headers, pos + 4));
    }
}

fn content_length(headers: &[(String, String)]) -> Option<&str> {
    headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.as_str())
}

/// A whole connection's bytes as one strict reply: Content-Length present and equal to the
/// body, no chunking (panics otherwise); None if there is no reply head.
pub fn parse_reply(raw: &[u8]) -> Option<HttpReply> {
    let (status, headers, at) = reply_head(raw)?;
    assert!(
        !headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")),
        "reply is chunked"
    );
    let len: usize = content_length(&headers)
        .map(|v| v.parse().expect("content-length"))
        .expect("reply without Content-Length");
    let body = String::from_utf8_lossy(&raw[at..]).into_owned();
    assert_eq!(len, body.len(), "Content-Length does not match the body");
    Some(HttpReply {
        status,
        headers,
        body,
    })
}

/// A complete reply at the start of `buf` (1xx interim replies skipped); None if incomplete.
pub fn complete_reply(buf: &[u8]) -> Option<HttpReply> {
    let (status, headers, at) = reply_head(buf)?;
    let len: usize = content_length(&headers)?.parse().ok()?;
    let body = &buf[at..];
    if body.len() < len {
        return None;
    }
    Some(HttpReply {
        status,
        headers,
        body: String::from_utf8_lossy(&body[..len]).into_owned(),
    })
}

/// The status of the status line at the start of `b`, if there is one.
pub fn status_of(b: &[u8]) -> Option<u16> {
    let line = b.split(|c| *c == b'\n').next()?;
    let line = String::from_utf8_lossy(line);
    let mut it = line.split_whitespace();
    if !it.next()?.starts_with("HTTP/") {
        return None;
    }
    it.next()?.parse().ok()
}

/// What came back for one request.
#[derive(Debug)]
pub enum Outcome {
    Reply(HttpReply),
    /// The server closed (or reset) without a complete reply; whatever bytes did arrive.
    Closed(Vec<u8>),
    /// Nothing conclusive before the deadline.
    Hang(Vec<u8>),
    ConnectFailed,
}

impl Outcome {
    pub fn status(&self) -> Option<u16> {
        match self {
            Outcome::Reply(r) => Some(r.status),
            Outcome::Closed(b) | Outcome::Hang(b) => status_of(b),
            Outcome::ConnectFailed => None,
        }
    }
}

/// Read one reply (until complete, EOF, error or `deadline`).
pub fn read_reply(s: &mut TcpStream, deadline: Instant) -> Outcome {
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

/// A TCP connection (HTTP or DNS) to `to` from the loopback address `from` (127.0.0.0/8 is all
/// loopback on Linux: per-address limits see another client), optionally with a small receive
/// buffer so that a client that does not read stops the server's writes sooner.
pub fn connect_from(
    from: &str,
    to: SocketAddr,
    rcvbuf: Option<usize>,
) -> std::io::Result<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    if let Some(n) = rcvbuf {
        s.set_recv_buffer_size(n)?;
    }
    let src: SocketAddr = format!("{from}:0").parse().expect("source address");
    s.bind(&src.into())?;
    s.connect_timeout(&to.into(), Duration::from_secs(3))?;
    Ok(s.into())
}

/// Send raw bytes on a fresh connection and read one reply; never panics.
pub fn exchange(addr: SocketAddr, bytes: &[u8], timeout: Duration) -> Outcome {
    exchange_on(
        TcpStream::connect_timeout(&addr, Duration::from_secs(3)),
        bytes,
        timeout,
    )
}

/// `exchange` from the loopback address `from` (see `connect_from`).
pub fn exchange_from(from: &str, addr: SocketAddr, bytes: &[u8], timeout: Duration) -> Outcome {
    exchange_on(connect_from(from, addr, None), bytes, timeout)
}

fn exchange_on(conn: std::io::Result<TcpStream>, bytes: &[u8], timeout: Duration) -> Outcome {
    let Ok(mut s) = conn else {
        return Outcome::ConnectFailed;
    };
    let _ = s.set_nodelay(true);
    let _ = s.set_write_timeout(Some(timeout));
    // The server may answer (413, 431) and close before it read everything: keep reading.
    let _ = s.write_all(bytes);
    read_reply(&mut s, Instant::now() + timeout)
}

/// Percent-encode everything but unreserved characters.
pub fn pct(s: &str) -> String {
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
pub fn show(b: &[u8]) -> String {
    let s: String = String::from_utf8_lossy(&b[..b.len().min(300)])
        .escape_debug()
        .to_string();
    if b.len() > 300 {
        format!("{s}… ({} bytes)", b.len())
    } else {
        s
    }
}
