//! Our own UDP loop (hickory's `Server` keeps TCP). hickory's UDP path allocates and zeroes a
//! receive buffer and spawns work per datagram; here each socket task drains the socket with
//! one reused buffer, answers the common case through `fast::answer`, and hands everything
//! else to the full handler in `server.rs` with a capturing `ResponseHandler`, so every rule
//! lives in one place.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Header, MessageType, Metadata, ResponseCode};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};
use hickory_server::net::xfer::Protocol;
use hickory_server::net::NetError;
use hickory_server::proto::rr::Record;
use hickory_server::server::{Request, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponse;
use tokio::net::UdpSocket;
use tokio::sync::watch;

use super::server::{handle, MAX_UDP_PAYLOAD};
use super::{fast, DnsView};

/// Serve one UDP socket until `stop` turns true.
pub(super) async fn serve(
    sock: Arc<UdpSocket>,
    view: Arc<DnsView>,
    mut stop: watch::Receiver<bool>,
) {
    // Datagrams beyond our largest EDNS payload are not DNS we answer; 4 KiB leaves room.
    let mut buf = vec![0u8; 4096];
    let mut out: Vec<u8> = Vec::with_capacity(usize::from(MAX_UDP_PAYLOAD));
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
        // Drain what is queued, then wait for readiness again.
        loop {
            let (n, peer) = match sock.try_recv_from(&mut buf) {
                Ok(x) => x,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    log::debug!("dns: udp receive: {e}");
                    break;
                }
            };
            let pkt = &buf[..n];
            if fast::answer(&view, pkt, &mut out) {
                send(&sock, &out, peer).await;
                continue;
            }
            if let Some(bytes) = full(&view, pkt, peer).await {
                send(&sock, &bytes, peer).await;
            }
        }
    }
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
