//! Our own UDP loop (tcp.rs has the TCP one). hickory's UDP path allocates and zeroes a
//! receive buffer and spawns work per datagram; here a few plain threads per socket (not
//! runtime tasks: two tasks on one CPU woke each other for every batch) drain the socket in
//! batches (`recvmmsg`/`sendmmsg`: one system call per up to 32 datagrams) into reused
//! buffers, answer the common case through `fast::answer`, and hand everything else to the
//! full handler in `server.rs` with a capturing `ResponseHandler`, so every rule lives in one
//! place; both kinds of answer leave in the batch's one `sendmmsg`, after response rate
//! limiting (rrl.rs) when it is on.

use std::future::Future;
use std::io::{IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::Duration;

use hickory_proto::op::{Header, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};
use hickory_server::net::xfer::Protocol;
use hickory_server::net::NetError;
use hickory_server::proto::rr::Record;
use hickory_server::server::{Request, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponse;
use nix::sys::socket::{recvmmsg, sendmmsg, MsgFlags, MultiHeaders, SockaddrStorage};
use tokio::runtime::Handle;

use super::rrl::{self, Verdict};
use super::server::{handle, MAX_UDP_PAYLOAD};
use super::update;
use super::xfr::signed::{self, Signed};
use super::{fast, DnsView};

/// Datagrams received (and answers sent) per system call.
const BATCH: usize = 64;
/// Datagrams beyond our largest EDNS payload are not DNS we answer; 4 KiB leaves room.
const RECV_BUF: usize = 4096;
/// A blocked receive looks at the stop flag at least this often (`UdpWorkers::stop` also
/// wakes it at once).
const STOP_POLL: Duration = Duration::from_millis(500);

/// The threads serving one UDP socket.
pub(super) struct UdpWorkers {
    sock: Arc<UdpSocket>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl UdpWorkers {
    /// Serve `sock` (blocking mode) on `threads` threads; `rt` runs the rare answer that
    /// would need to wait.
    pub fn spawn(
        sock: UdpSocket,
        view: Arc<DnsView>,
        threads: usize,
        rt: Handle,
    ) -> std::io::Result<UdpWorkers> {
        sock.set_nonblocking(false)?;
        sock.set_read_timeout(Some(STOP_POLL))?;
        let sock = Arc::new(sock);
        let stop = Arc::new(AtomicBool::new(false));
        let mut workers = UdpWorkers {
            sock: sock.clone(),
            stop: stop.clone(),
            threads: Vec::with_capacity(threads),
        };
        for _ in 0..threads.max(1) {
            let (sock, view, stop, rt) = (sock.clone(), view.clone(), stop.clone(), rt.clone());
            let t = std::thread::Builder::new()
                .name("lucentd-udp".into())
                .spawn(move || serve(&sock, &view, &stop, &rt));
            match t {
                Ok(t) => workers.threads.push(t),
                Err(e) => {
                    workers.stop();
                    return Err(e);
                }
            }
        }
        Ok(workers)
    }

    /// Stop and join the threads. `shutdown(SHUT_RD)` wakes a thread blocked in a receive
    /// at once on Linux (the call itself reports ENOTCONN on an unconnected UDP socket,
    /// which is expected); elsewhere the receive timeout does within `STOP_POLL`.
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = socket2::SockRef::from(&*self.sock).shutdown(Shutdown::Read);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// One thread's loop: a blocking `recvmmsg` that returns as soon as one datagram is there
/// (with whatever else is queued, up to `BATCH`), the answers, one `sendmmsg`.
fn serve(sock: &Arc<UdpSocket>, view: &Arc<DnsView>, stop: &AtomicBool, rt: &Handle) {
    let fd = sock.as_raw_fd();
    let mut rbufs: Vec<Vec<u8>> = (0..BATCH).map(|_| vec![0u8; RECV_BUF]).collect();
    let mut outs: Vec<Vec<u8>> = (0..BATCH)
        .map(|_| Vec::with_capacity(usize::from(MAX_UDP_PAYLOAD)))
        .collect();
    while !stop.load(Ordering::Relaxed) {
        match drain_batch(fd, (sock, view), rt, &mut rbufs, &mut outs) {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                log::debug!("dns: udp receive: {e}");
                // Do not spin on an error that repeats.
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// One `recvmmsg` (waiting for the first datagram), every answer, one `sendmmsg`.
fn drain_batch(
    fd: RawFd,
    (sock, shared): (&Arc<UdpSocket>, &Arc<DnsView>),
    rt: &Handle,
    rbufs: &mut [Vec<u8>],
    outs: &mut [Vec<u8>],
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
            MsgFlags::MSG_WAITFORONE,
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
        let view: &DnsView = shared;
        // DNS UPDATE waits for its group commit: answered by a task of its own, so this
        // thread goes on answering queries meanwhile.
        if is_update(pkt) {
            let (sock, view, pkt) = (sock.clone(), shared.clone(), pkt.to_vec());
            rt.spawn(async move {
                let out = update::answer(&view, &pkt, peer).await;
                if let Err(e) = sock.send_to(&out, peer) {
                    log::debug!("dns: udp send of an UPDATE answer: {e}");
                }
            });
            continue;
        }
        if fast::answer(view, pkt, &mut outs[i]) {
            if limit(view, peer, &mut outs[i]) {
                ready.push(i);
                addrs.push(Some(*addr));
            }
            continue;
        }
        // The full path never waits (`Capture` only encodes), so one poll finishes it and its
        // answer joins this batch's `sendmmsg`; should it ever wait, the runtime finishes it.
        let mut answer = std::pin::pin!(full(view, pkt, peer, Protocol::Udp));
        let bytes = match answer
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(b) => b,
            Poll::Pending => rt.block_on(answer),
        };
        if let Some(bytes) = bytes {
            outs[i].clear();
            outs[i].extend_from_slice(&bytes);
            if limit(view, peer, &mut outs[i]) {
                ready.push(i);
                addrs.push(Some(*addr));
            }
        }
    }
    let iov: Vec<[IoSlice<'_>; 1]> = ready.iter().map(|&i| [IoSlice::new(&outs[i])]).collect();
    let mut start = 0;
    while start < iov.len() {
        let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(iov.len() - start, None);
        match sendmmsg(
            fd,
            &mut headers,
            iov[start..].iter(),
            &addrs[start..],
            [],
            MsgFlags::empty(),
        ) {
            Ok(r) => start += r.count().max(1),
            Err(nix::errno::Errno::EINTR) => {}
            // One answer the kernel refuses (an unroutable peer, say) must not cost the rest.
            Err(e) => {
                log::debug!("dns: udp send: {e}");
                start += 1;
            }
        }
    }
    Ok(n)
}

/// A query with opcode UPDATE (RFC 2136 §2.2: opcode 5), QR clear.
fn is_update(pkt: &[u8]) -> bool {
    pkt.len() >= 12 && pkt[2] & 0xF8 == 5 << 3
}

/// Response rate limiting (rrl.rs), when on: whether to send `out` to `peer`, truncated on a
/// slip.
fn limit(view: &DnsView, peer: SocketAddr, out: &mut Vec<u8>) -> bool {
    let Some(rrl) = &view.rrl else {
        return true;
    };
    match rrl.check(peer.ip(), out) {
        Verdict::Send => true,
        Verdict::Slip => rrl::truncate(out),
        Verdict::Drop => false,
    }
}

fn to_std(a: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    a.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
}

/// The full path: parse with hickory and run the shared handler; `None` = no answer (too
/// short to be DNS, or not a query). TCP (tcp.rs) answers through here too, so both
/// transports share every rule.
pub(super) async fn full(
    view: &DnsView,
    pkt: &[u8],
    peer: SocketAddr,
    protocol: Protocol,
) -> Option<Vec<u8>> {
    let header = Header::read(&mut BinDecoder::new(pkt)).ok()?;
    if header.metadata.message_type != MessageType::Query {
        return None; // never answer a response (no loops between servers)
    }
    // DNS UPDATE (RFC 2136): its own path (signed with users' keys, applied by the domain
    // layer, answered once durable).
    if header.metadata.op_code == OpCode::Update {
        return Some(update::answer(view, pkt, peer).await);
    }
    // TSIG (RFC 8945): a signed query is verified first and its answer signed.
    let signer = match signed::check(view, pkt) {
        Signed::Unsigned => None,
        Signed::Verified(s) => Some(s),
        Signed::Rejected(answer) => return Some(answer),
    };
    let reserve = signer.as_ref().map_or(0, |s| s.tsig_len());
    match Request::from_bytes(pkt.to_vec(), peer, protocol) {
        Ok(req) => {
            let capture = Capture::new(protocol);
            handle(view, &req, capture.clone(), reserve).await;
            let mut out = capture.take()?;
            if let Some(s) = &signer {
                signed::sign(s, &mut out);
            }
            Some(out)
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
    full(view, pkt, peer, Protocol::Udp).await
}

/// A `ResponseHandler` that encodes the response into a buffer instead of sending it.
#[derive(Clone)]
struct Capture {
    out: Arc<Mutex<Option<Vec<u8>>>>,
    /// Largest message: the UDP payload cap, or a TCP message's 65535 octets (RFC 1035 §4.2.2).
    max: u16,
}

impl Capture {
    fn new(protocol: Protocol) -> Capture {
        Capture {
            out: Arc::default(),
            max: if protocol == Protocol::Udp {
                // `handle` has already fitted the answer to the client's UDP payload size.
                MAX_UDP_PAYLOAD.max(512)
            } else {
                u16::MAX
            },
        }
    }

    fn take(&self) -> Option<Vec<u8>> {
        self.out.lock().unwrap_or_else(|p| p.into_inner()).take()
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
        encoder.set_max_size(self.max);
        let info = response
            .destructive_emit(&mut encoder)
            .map_err(NetError::from)?;
        *self.out.lock().unwrap_or_else(|p| p.into_inner()) = Some(bytes);
        Ok(info)
    }
}
