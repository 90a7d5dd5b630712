//! DNS over TCP, our own accept loop (hickory's TCP server has neither a connection cap nor
//! backpressure: it queues answers for a client that never reads). RFC 1035 §4.2.2 framing
//! (a two-octet length before every message) with RFC 7766's rules: several queries may be
//! sent without waiting (§6.2.1.1 pipelining; answered in order here, which §7 allows), idle
//! connections are closed after a while (§6.2.3), and the server guards its resources against
//! clients that hold connections (§8): a cap on connections in all and per client address,
//! a deadline for each query once its first octet arrived and for each answer to be taken.
//! Answers come from the same handler as UDP (`udp::full`, `server::handle`); what a query
//! means is not this file's business, only moving messages. Binding and shutdown are in
//! server.rs; TLS and zone transfers will build on `read_message`/`write_message`.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_server::net::xfer::Protocol;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use super::{udp, DnsView};
use crate::ratelimit::ConnCap;

/// `[dns]` TCP settings (config.rs documents the keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpConfig {
    /// Connections open at once over every DNS TCP listener; 0 = no cap.
    pub max_connections: usize,
    /// Connections one client address (IPv6: /64) may hold; 0 = no cap.
    pub max_connections_per_address: u32,
    /// A connection with no query for this long is closed (RFC 7766 §6.2.3).
    pub idle_timeout: Duration,
    /// Deadline for the rest of a query once its first octet is in, and for each answer.
    pub timeout: Duration,
}

/// The caps shared by every DNS TCP listener of one server.
#[derive(Clone)]
pub(super) struct Limits {
    cfg: TcpConfig,
    conns: Arc<Semaphore>,
    per_address: Arc<ConnCap>,
}

impl Limits {
    pub fn new(cfg: TcpConfig) -> Limits {
        let total = match cfg.max_connections {
            0 => Semaphore::MAX_PERMITS,
            n => n.min(Semaphore::MAX_PERMITS),
        };
        Limits {
            cfg,
            conns: Arc::new(Semaphore::new(total)),
            per_address: ConnCap::new(cfg.max_connections_per_address),
        }
    }
}

/// Accept on `listener` until `stop` turns true. A connection beyond the cap waits in the
/// kernel's accept queue (costing no descriptor here); one beyond its address's cap is
/// closed at once.
pub(super) async fn serve(
    listener: TcpListener,
    view: Arc<DnsView>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let permit = tokio::select! {
            p = limits.conns.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            _ = stop.changed() => return,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    log::warn!("dns: tcp accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let Some(slot) = limits.per_address.acquire(peer.ip()) else {
            log::debug!("dns: tcp {peer}: over the per-address connection cap, closed");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (view, cfg, stop) = (view.clone(), limits.cfg, stop.clone());
        tokio::spawn(async move {
            match connection(stream, peer, &view, cfg, stop).await {
                Ok(()) => {}
                Err(e) => log::debug!("dns: tcp {peer}: closed: {e}"),
            }
            drop((permit, slot));
        });
    }
}

/// One connection: queries in, answers out, in order, until the client closes, a deadline
/// passes or the server stops.
async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    view: &DnsView,
    cfg: TcpConfig,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let mut buf = Vec::new();
    loop {
        let got = tokio::select! {
            r = read_message(&mut stream, &mut buf, cfg.idle_timeout, cfg.timeout) => r?,
            _ = stop.changed() => return Ok(()),
        };
        if !got {
            return Ok(()); // the client closed between messages
        }
        // Zone transfers (AXFR, IXFR) answer in many messages, written one by one.
        if super::xfr::transfer::transfer_type(&buf).is_some() {
            super::xfr::transfer::answer(view, &buf, peer, &mut stream, cfg.timeout).await?;
            continue;
        }
        // `None`: not a query (a response, or too short to be DNS): nothing to send back.
        let Some(answer) = udp::full(view, &buf, peer, Protocol::Tcp).await else {
            continue;
        };
        write_message(&mut stream, &answer, cfg.timeout).await?;
    }
}

/// Read the next length-prefixed message into `buf`. Waits up to `idle` for its first octet
/// (`Ok(false)` if the peer closed cleanly before it), then up to `timeout` for the rest.
pub(super) async fn read_message<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
    idle: Duration,
    timeout: Duration,
) -> io::Result<bool> {
    let mut len = [0u8; 2];
    match tokio::time::timeout(idle, r.read(&mut len[..1])).await {
        Ok(Ok(0)) => return Ok(false),
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, "idle")),
    }
    let rest = async {
        r.read_exact(&mut len[1..]).await?;
        buf.clear();
        buf.resize(usize::from(u16::from_be_bytes(len)), 0);
        r.read_exact(buf).await
    };
    match tokio::time::timeout(timeout, rest).await {
        Ok(Ok(_)) => Ok(true),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "query not complete in time",
        )),
    }
}

/// Write one message with its length prefix (one write call when the socket takes it); the
/// peer must take it within `timeout` (RFC 7766 §8: a client that does not read loses its
/// connection rather than holding our buffers).
pub(super) async fn write_message<W: AsyncWrite + Unpin>(
    w: &mut W,
    msg: &[u8],
    timeout: Duration,
) -> io::Result<()> {
    let len = u16::try_from(msg.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "message above 65535 octets"))?;
    let mut framed = Vec::with_capacity(msg.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(msg);
    match tokio::time::timeout(timeout, w.write_all(&framed)).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "answer not taken in time (write timeout)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn reads_framed_messages_back_to_back() {
        // RFC 1035 §4.2.2: two pipelined messages in one write, then a clean close.
        let mut wire: &[u8] = &[0, 3, b'a', b'b', b'c', 0, 1, b'x'];
        let mut buf = Vec::new();
        assert!(read_message(&mut wire, &mut buf, LONG, LONG).await.unwrap());
        assert_eq!(buf, b"abc");
        assert!(read_message(&mut wire, &mut buf, LONG, LONG).await.unwrap());
        assert_eq!(buf, b"x");
        assert!(!read_message(&mut wire, &mut buf, LONG, LONG).await.unwrap());
        // Cut short inside a message: an error, not a clean close.
        let mut cut: &[u8] = &[0, 9, b'a'];
        assert!(read_message(&mut cut, &mut buf, LONG, LONG).await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn idle_and_slow_queries_time_out() {
        // RFC 7766 §6.2.3: nothing at all within the idle timeout.
        let (mut client, mut server) = tokio::io::duplex(64);
        let mut buf = Vec::new();
        let e = read_message(&mut server, &mut buf, LONG, LONG)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        // §8: one octet, then nothing: the query deadline applies.
        client.write_all(&[0]).await.unwrap();
        let e = read_message(&mut server, &mut buf, LONG, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_nobody_reads_times_out() {
        let (_client, mut server) = tokio::io::duplex(16);
        let e = write_message(&mut server, &[7; 100], Duration::from_secs(2))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        let (mut client, mut server) = tokio::io::duplex(256);
        write_message(&mut server, b"hello", LONG).await.unwrap();
        let mut got = [0u8; 7];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"\0\x05hello");
        assert!(write_message(&mut server, &vec![0; 70_000], LONG)
            .await
            .is_err());
    }
}
