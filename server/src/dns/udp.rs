//! Our own UDP loop (hickory's `Server` keeps TCP). hickory's UDP path allocates and zeroes a
//! receive buffer and spawns work per datagram; here each socket task drains the socket in
//! batches (`recvmmsg`/`sendmmsg`: one system call per 32 datagrams) into reused buffers,
//! answers the common case through `fast::answer`, and hands everything else to the full
//! handler in `server.rs` with a capturing `ResponseHandler`, so every rule lives in one place.

use std::io::{IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Header, MessageType, Metadata, ResponseCode};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};
use hickory_server::net::xfer::Protocol;
use hickory_server::net::NetError;
use hickory_server::proto::rr::Record;
use hickory_server::server::{Request, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponse;
use nix::sys::socket::{recvmmsg, sendmmsg, MsgFlags, MultiHeaders, SockaddrStorage};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::watch;

use super::server::{handle, MAX_UDP_PAYLOAD};
use super::{fast, DnsView};

/// Datagrams received (and answers sent) per system call.
const BATCH: usize = 32;
/// Datagrams beyond our largest EDNS payload are not DNS we answer; 4 KiB leaves room.
const RECV_BUF: usize = 4096;

/// Serve one UDP socket until `stop` turns true.
pub(super) async fn serve(
    sock: Arc<UdpSocket>,
    view: Arc<DnsView>,
    mut stop: watch::Receiver<bool>,
) {
    let fd = sock.as_raw_fd();
    let mut rbufs: Vec<Vec<u8>> = (0..BATCH).map(|_| vec![0u8; RECV_BUF]).collect();
    let mut outs: Vec<Vec<u8>> = (0..BATCH)
        .map(|_| Vec::with_capacity(usize::from(MAX_UDP_PAYLOAD)))
        .collect();
    let mut slow: Vec<(Vec<u8>, SocketAddr)> = Vec::new();
    let mut unsent: Vec<(Vec<u8>, SocketAddr)> = Vec::new();
    loop {
        tokio::select! {
            r = sock.readable() => {
                if let Err(e) = r {
                    log::error!("dns: udp socket: {e}");
                    return;
                }
            }
            _ = stop.changed() => return,
        }
        // Drain what is queued, a batch per system call, then wait for readiness again.
        loop {
            let r = sock.try_io(Interest::READABLE, || {
                drain_batch(fd, &view, &mut rbufs, &mut outs, &mut slow, &mut unsent)
            });
            match r {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    log::debug!("dns: udp receive: {e}");
                    break;
                }
            }
            for (pkt, peer) in slow.drain(..) {
                if let Some(bytes) = full(&view, &pkt, peer).await {
                    send(&sock, &bytes, peer).await;
                }
            }
            for (bytes, peer) in unsent.drain(..) {
                send(&sock, &bytes, peer).await;
            }
        }
    }
}

/// One `recvmmsg`: answer what the fast path can and send those answers with one
/// `sendmmsg`; queue the rest (`slow`) and whatever the socket would not take (`unsent`) for
/// the caller, which may wait. `WouldBlock` when nothing was queued.
fn drain_batch(
    fd: RawFd,
    view: &DnsView,
    rbufs: &mut [Vec<u8>],
    outs: &mut [Vec<u8>],
    slow: &mut Vec<(Vec<u8>, SocketAddr)>,
    unsent: &mut Vec<(Vec<u8>, SocketAddr)>,
) -> std::io::Result<usize> {
    let mut metas: [(usize, Option<SockaddrStorage>); BATCH] = [(0, None); BATCH];
    let n = {
        let mut iovs: Vec<[IoSliceMut<'_>; 1]> = rbufs
            .iter_mut()
            .map(|b| [IoSliceMut::new(&mut b[..])])
            .collect();
        let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
        let got = recvmmsg(
            fd,
            &mut headers,
            iovs.iter_mut(),
            MsgFlags::MSG_DONTWAIT,
            None,
        )
        .map_err(std::io::Error::from)?;
        let mut n = 0;
        for m in got {
            metas[n] = (m.bytes, m.address);
            n += 1;
        }
        n
    };
    let mut ready: Vec<usize> = Vec::with_capacity(n);
    let mut addrs: Vec<Option<SockaddrStorage>> = Vec::with_capacity(n);
    for (i, (len, addr)) in metas.iter().take(n).enumerate() {
        let (Some(addr), Some(peer)) = (addr, addr.as_ref().and_then(to_std)) else {
            continue;
        };
        let pkt = &rbufs[i][..*len];
        if fast::answer(view, pkt, &mut outs[i]) {
            ready.push(i);
            addrs.push(Some(*addr));
        } else {
            slow.push((pkt.to_vec(), peer));
        }
    }
    if !ready.is_empty() {
        let iov: Vec<[IoSlice<'_>; 1]> = ready.iter().map(|&i| [IoSlice::new(&outs[i])]).collect();
        let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(ready.len(), None);
        let sent = match sendmmsg(
            fd,
            &mut headers,
            iov.iter(),
            &addrs,
            [],
            MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(r) => r.count(),
            Err(nix::errno::Errno::EAGAIN) => 0,
            Err(e) => {
                log::debug!("dns: udp sendmmsg: {e}");
                ready.len()
            }
        };
        // What the socket did not take yet goes out one by one, waiting for it.
        for (k, &i) in ready.iter().enumerate().skip(sent) {
            if let Some(peer) = addrs[k].as_ref().and_then(to_std) {
                unsent.push((outs[i].clone(), peer));
            }
        }
    }
    Ok(n)
}

fn to_std(a: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    a.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
}

async fn send(sock: &UdpSocket, bytes: &[u8], peer: SocketAddr) {
    match sock.try_send_to(bytes, peer) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            if let Err(e) = sock.send_to(bytes, peer).await {
                log::debug!("dns: udp send to {peer}: {e}");
            }
        }
        Err(e) => log::debug!("dns: udp send to {peer}: {e}"),
    }
}

/// The full path: parse with hickory and run the shared handler; `None` = no answer (too
/// short to be DNS, or not a query).
async fn full(view: &DnsView, pkt: &[u8], peer: SocketAddr) -> Option<Vec<u8>> {
    let header = Header::read(&mut BinDecoder::new(pkt)).ok()?;
    if header.metadata.message_type != MessageType::Query {
        return None; // never answer a response (no loops between servers)
    }
    match Request::from_bytes(pkt.to_vec(), peer, Protocol::Udp) {
        Ok(req) => {
            let capture = Capture::default();
            handle(view, &req, capture.clone()).await;
            capture.take()
        }
        Err(_) => {
            // RFC 1035 §4.1.1: a query we cannot parse gets FORMERR (header only).
            view.other.count(ResponseCode::FormErr);
            let mut meta = Metadata::response_from_request(&header.metadata);
            meta.response_code = ResponseCode::FormErr;
            meta.recursion_available = false;
            let h = Header {
                metadata: meta,
                counts: Default::default(),
            };
            h.to_bytes().ok()
        }
    }
}

#[cfg(test)]
pub(super) async fn full_for_tests(
    view: &DnsView,
    pkt: &[u8],
    peer: SocketAddr,
) -> Option<Vec<u8>> {
    full(view, pkt, peer).await
}

/// A `ResponseHandler` that encodes the response into a buffer instead of sending it.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Option<Vec<u8>>>>);

impl Capture {
    fn take(&self) -> Option<Vec<u8>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

#[async_trait::async_trait]
impl ResponseHandler for Capture {
    async fn send_response<'a>(
        &mut self,
        response: MessageResponse<
            '_,
            'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
        >,
    ) -> Result<ResponseInfo, NetError> {
        let mut bytes = Vec::with_capacity(512);
        let mut encoder = BinEncoder::new(&mut bytes);
        // `handle` has already fitted the answer to the client's UDP payload size.
        encoder.set_max_size(MAX_UDP_PAYLOAD.max(512));
        let info = response
            .destructive_emit(&mut encoder)
            .map_err(NetError::from)?;
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(bytes);
        Ok(info)
    }
}
