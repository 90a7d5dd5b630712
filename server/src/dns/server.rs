//! The listeners: our own threads on UDP (`udp.rs`) and our own accept loop on TCP
//! (`tcp.rs`), both answering through one handler (no Catalog: one lookup over our snapshots), EDNS(0)
//! payload negotiation, truncation to the UDP size (TCP never truncates), and the per-zone
//! counters.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use hickory_proto::op::{Edns, Header, HeaderCounts, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption, NSIDPayload};
use hickory_proto::rr::Record;
use hickory_proto::serialize::binary::BinEncoder;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::{MessageResponseBuilder, Queries};
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::sync::{oneshot, watch};

use super::lookup::{answer_request, Answer};
use super::tcp::{self, TcpConfig};
use super::udp::UdpWorkers;
use super::DnsView;

/// Largest UDP payload we answer with, whatever the client offers: the DNS flag day 2020
/// value, which avoids IP fragmentation on common paths.
pub(crate) const MAX_UDP_PAYLOAD: u16 = 1232;
/// Without EDNS a UDP answer is at most 512 octets (RFC 1035 §4.2.1); EDNS offers below that
/// are treated as 512 (RFC 6891 §6.2.3).
pub(crate) const MIN_UDP_PAYLOAD: u16 = 512;

/// A running DNS listener set; dropping it does not stop it, `shutdown` does.
pub struct DnsServer {
    pub bound: Vec<SocketAddr>,
    stop: oneshot::Sender<()>,
    done: oneshot::Receiver<()>,
}

impl DnsServer {
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.done.await;
    }
}

/// A UDP socket on `addr`. IPv6 sockets are IPv6-only, so `0.0.0.0:53` and `[::]:53` can be
/// listed together (Linux refuses the second bind otherwise); the receive buffer is raised so
/// a burst of queries is queued rather than dropped.
fn udp_socket(addr: SocketAddr) -> io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    // Best effort: the kernel caps it at net.core.rmem_max.
    let _ = s.set_recv_buffer_size(4 << 20);
    // RFC 9715 (and DNS Flag Day 2020): responses go out with DF set and are never
    // fragmented, and ICMP "fragmentation needed" / "packet too big" cannot lower the size
    // we send (PROBE: DF set, path MTU ignored). Answers are held to 1232 octets of payload,
    // so they fit any link that carries IPv6. Best effort: a kernel without it still serves.
    {
        use rustix::net::sockopt;
        let r = if addr.is_ipv6() {
            sockopt::set_ipv6_mtu_discover(&s, sockopt::Ipv6PathMtuDiscovery::PROBE)
        } else {
            sockopt::set_ip_mtu_discover(&s, sockopt::Ipv4PathMtuDiscovery::PROBE)
        };
        if let Err(e) = r {
            log::debug!("dns: {addr}: path MTU discovery option: {e}");
        }
    }
    s.bind(&addr.into())?;
    Ok(s.into())
}

/// A TCP listener on `addr` (IPv6-only for IPv6 addresses, SO_REUSEADDR for quick restarts).
fn tcp_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(1024)?;
    TcpListener::from_std(s.into())
}

/// Bind one UDP socket and one TCP listener on `addr`. With port 0 both must share one port:
/// take a free UDP port and try TCP on it, retrying when that TCP port is taken.
async fn bind_pair(addr: SocketAddr) -> io::Result<(std::net::UdpSocket, TcpListener)> {
    if addr.port() != 0 {
        let udp = udp_socket(addr)?;
        let tcp = tcp_listener(addr)?;
        return Ok((udp, tcp));
    }
    let mut last = None;
    for _ in 0..50 {
        let udp = udp_socket(addr)?;
        let port = udp.local_addr()?.port();
        match tcp_listener(SocketAddr::new(addr.ip(), port)) {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free port for both UDP and TCP")))
}

pub(super) async fn start(
    addrs: &[SocketAddr],
    view: Arc<DnsView>,
    tcp_cfg: TcpConfig,
) -> io::Result<DnsServer> {
    let limits = tcp::Limits::new(tcp_cfg);
    let (tcp_stop, tcp_stop_rx) = watch::channel(false);
    let mut tcp_loops = Vec::with_capacity(addrs.len());
    let mut bound = Vec::with_capacity(addrs.len());
    let mut udp_workers = Vec::with_capacity(addrs.len());
    // They block in `recvmmsg` on the shared socket and the kernel wakes one per arrival, so a
    // one-CPU box runs one thread and never switches between two waiting for the same packets.
    let threads = crate::usable_cpus();
    for &addr in addrs {
        let (udp, tcp) = bind_pair(addr).await?;
        bound.push(udp.local_addr()?);
        // UDP is served by our own threads (udp.rs), TCP by our own accept loop (tcp.rs).
        match UdpWorkers::spawn(udp, view.clone(), threads, Handle::current()) {
            Ok(w) => udp_workers.push(w),
            Err(e) => {
                udp_workers.into_iter().for_each(UdpWorkers::stop);
                let _ = tcp_stop.send(true);
                return Err(e);
            }
        }
        tcp_loops.push(tokio::spawn(tcp::serve(
            tcp,
            view.clone(),
            limits.clone(),
            tcp_stop_rx.clone(),
        )));
    }
    let (stop, stop_rx) = oneshot::channel::<()>();
    let (done_tx, done) = oneshot::channel::<()>();
    tokio::spawn(async move {
        // A dropped DnsServer (Err) leaves the listeners running (the UDP threads detached).
        if stop_rx.await.is_ok() {
            let _ = tcp_stop.send(true);
            let stop_all = move || udp_workers.into_iter().for_each(UdpWorkers::stop);
            let _ = tokio::task::spawn_blocking(stop_all).await;
            for l in tcp_loops {
                let _ = l.await;
            }
        }
        let _ = done_tx.send(());
    });
    Ok(DnsServer { bound, stop, done })
}

/// The EDNS(0) OPT for the response (RFC 6891 §7: only when the query had one), advertising
/// the payload size this response is held to, with the query's DO bit copied (RFC 3225 §3:
/// the server MUST copy it) and our NSID when asked for and configured (RFC 5001 §2.1).
pub(crate) fn response_edns(query: Option<&Edns>, server_id: Option<&str>) -> Option<Edns> {
    let query = query?;
    let mut edns = Edns::new();
    edns.set_max_payload(query.max_payload().clamp(MIN_UDP_PAYLOAD, MAX_UDP_PAYLOAD));
    edns.set_dnssec_ok(query.flags().dnssec_ok);
    if let (Some(id), Some(_)) = (server_id, query.option(EdnsCode::NSID)) {
        // The config holds server_id to 255 octets, well inside an option's 65535.
        if let Ok(p) = NSIDPayload::new(id.as_bytes()) {
            edns.options_mut().insert(EdnsOption::NSID(p));
        }
    }
    Some(edns)
}

/// Encode the response into a scratch buffer capped at `limit`, to see what fits.
fn trial(
    queries: &Queries,
    edns: Option<&Edns>,
    meta: Metadata,
    limit: u16,
    answers: &[Record],
    authority: &[Record],
    additional: &[Record],
) -> Option<ResponseInfo> {
    let mut builder = MessageResponseBuilder::new(queries, None);
    if let Some(e) = edns {
        builder.edns(e);
    }
    let response = builder.build(meta, answers, authority, [], additional);
    let mut buf = Vec::with_capacity(usize::from(limit));
    let mut encoder = BinEncoder::new(&mut buf);
    encoder.set_max_size(limit);
    response.destructive_emit(&mut encoder).ok()
}

/// Fit `answer` into `limit` octets. RFC 2181 §9: TC only when the answer or authority data
/// (or a referral's required glue, RFC 9471 §3) does not fit; then the response carries no
/// records and the client retries over TCP. Additional data that does not fit is dropped.
fn fit_udp(
    queries: &Queries,
    edns: Option<&Edns>,
    meta: &mut Metadata,
    limit: u16,
    answer: &mut Answer,
) {
    let Some(info) = trial(
        queries,
        edns,
        *meta,
        limit,
        &answer.answers,
        &answer.authority,
        &answer.additional,
    ) else {
        return;
    };
    if !info.truncation {
        return;
    }
    let counts = info.counts();
    let required_cut = usize::from(counts.answers) < answer.answers.len()
        || usize::from(counts.authorities) < answer.authority.len()
        || answer.glue_required;
    if !required_cut {
        let mut keep = usize::from(counts.additionals).min(answer.additional.len());
        while keep > 0 {
            let fits = trial(
                queries,
                edns,
                *meta,
                limit,
                &answer.answers,
                &answer.authority,
                &answer.additional[..keep],
            )
            .is_some_and(|i| !i.truncation);
            if fits {
                answer.additional.truncate(keep);
                return;
            }
            keep -= 1;
        }
        answer.additional.clear();
        if trial(
            queries,
            edns,
            *meta,
            limit,
            &answer.answers,
            &answer.authority,
            &[],
        )
        .is_some_and(|i| !i.truncation)
        {
            return;
        }
    }
    meta.truncation = true;
    answer.answers.clear();
    answer.authority.clear();
    answer.additional.clear();
}

pub(super) async fn handle<R: ResponseHandler>(
    view: &DnsView,
    request: &Request,
    mut response_handle: R,
    reserve: usize,
) -> ResponseInfo {
    let mut answer = answer_request(
        view,
        request.metadata.op_code,
        request.queries.queries(),
        request.edns.as_ref(),
    );
    let edns = response_edns(request.edns.as_ref(), view.server_id.as_deref());
    // RFC 1035 §4.1.1: copy ID, opcode, RD (and CD); AA per answer; RA clear (no recursion).
    let mut meta = Metadata::response_from_request(&request.metadata);
    meta.response_code = answer.rcode;
    meta.authoritative = answer.authoritative;
    meta.recursion_available = false;
    if request.metadata.op_code != OpCode::Query {
        // An opcode we do not implement: its flags may mean something else there, so only
        // ID, opcode, RD and QR are kept (RFC 1035 §4.1.1, RFC 6895 §2: NOTIMP).
        meta.checking_disabled = false;
        meta.authentic_data = false;
    }

    if request.protocol() == Protocol::Udp {
        // A signed answer leaves room for its TSIG (`reserve`).
        let limit = edns
            .as_ref()
            .map_or(MIN_UDP_PAYLOAD, Edns::max_payload)
            .saturating_sub(u16::try_from(reserve).unwrap_or(u16::MAX))
            .max(12);
        // Header + question + OPT + records, uncompressed: if that fits, nothing to check.
        let bound = 12 + request.queries.as_bytes().len() + 11 + answer.size_bound;
        if bound > usize::from(limit) {
            fit_udp(
                &request.queries,
                edns.as_ref(),
                &mut meta,
                limit,
                &mut answer,
            );
        }
    }

    match &answer.zone {
        Some(zone) => zone.counters.count(meta.response_code),
        None => view.other.count(meta.response_code),
    }

    let mut builder = MessageResponseBuilder::new(&request.queries, None);
    if let Some(e) = &edns {
        builder.edns(e);
    }
    let response = builder.build(
        meta,
        &answer.answers,
        &answer.authority,
        [],
        &answer.additional,
    );
    match response_handle.send_response(response).await {
        Ok(info) => info,
        Err(e) => {
            log::debug!("dns: sending response failed: {e}");
            let mut meta = meta;
            meta.response_code = ResponseCode::ServFail;
            ResponseInfo::from(Header {
                metadata: meta,
                counts: HeaderCounts::default(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::net::sockopt;

    #[test]
    fn udp_sockets_never_fragment_and_ignore_path_mtu() {
        let v4 = udp_socket("127.0.0.1:0".parse().unwrap()).unwrap();
        assert_eq!(
            sockopt::ip_mtu_discover(&v4).unwrap(),
            sockopt::Ipv4PathMtuDiscovery::PROBE
        );
        // A host without IPv6 loopback cannot bind ::1; IPv4 has been checked either way.
        match udp_socket("[::1]:0".parse().unwrap()) {
            Ok(v6) => assert_eq!(
                sockopt::ipv6_mtu_discover(&v6).unwrap(),
                sockopt::Ipv6PathMtuDiscovery::PROBE
            ),
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::AddrNotAvailable, "{e}"),
        }
    }
}
