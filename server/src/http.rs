//! The only file that knows hyper: the listener (plain or TLS), connection caps (in all and
//! per client address), header-read timeout (also closes idle keep-alive connections), the
//! response write timeout (`WriteDeadline`), the keep-alive request limit, header and body
//! size caps, the wire request -> `ApiRequest` -> handler (on the bounded blocking pool) ->
//! `Reply` -> wire path, panic -> 500, the redacted access log, and graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::time::Sleep;
use tokio_rustls::TlsAcceptor;

use crate::api::{self, ApiRequest, Ctx, Reply};
use crate::ratelimit::ConnCap;
use crate::redact;

static REQUEST_SEQ: AtomicU64 = AtomicU64::new(1);

/// The largest request head (target and headers) we answer; above it 431 (RFC 6585 §5). The
/// documented cap (README "Security model"): DDNS requests are a few hundred bytes.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Load a PEM certificate chain and key into a TLS acceptor offering only HTTP/1.1 via ALPN.
pub fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<TlsAcceptor, String> {
    use tokio_rustls::rustls;
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
    };
    let certs = rustls_pemfile::certs(&mut &read(cert)?[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate found", cert.display()));
    }
    let key = rustls_pemfile::private_key(&mut &read(key)?[..])
        .map_err(|e| format!("{}: {e}", key.display()))?
        .ok_or_else(|| format!("{}: no private key found", key.display()))?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| format!("TLS certificate/key: {e}"))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(cfg)))
}

/// Accept connections until `shutdown` turns true, then let in-flight requests finish
/// (bounded by `grace`).
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    ctx: Arc<Ctx>,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    let cfg = ctx.config.http.clone();
    let conns = Arc::new(Semaphore::new(cfg.max_connections));
    let per_address = ConnCap::new(cfg.max_connections_per_address);
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(cfg.header_timeout)
        .max_buf_size(64 * 1024)
        .max_headers(64)
        .keep_alive(true);
    loop {
        // Wait for a free connection slot first: excess clients queue in the kernel backlog
        // instead of costing memory here.
        let permit = tokio::select! {
            p = conns.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    log::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        // One address may hold only so many connections (a reverse proxy we trust speaks
        // for many clients and is exempt); past that it is turned away at once, so it cannot
        // take the slots everyone shares.
        let ip = api::unmap(peer.ip());
        let slot = if ctx.config.trusted_proxies.contains(&ip) {
            None
        } else {
            match per_address.acquire(ip) {
                Some(s) => Some(s),
                None => {
                    ctx.metrics.rejected("too_many_connections");
                    log::debug!("connection from {peer} refused: over the per-address cap");
                    // Best effort, never waiting: the socket's buffer is empty.
                    let _ = stream.try_write(TOO_MANY);
                    continue;
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let stream = WriteDeadline::new(stream, cfg.write_timeout);
        let conn_ctx = ctx.clone();
        let svc_ctx = ctx.clone();
        let served = Arc::new(AtomicU32::new(0));
        let keepalive_requests = cfg.keepalive_requests;
        let svc = service_fn(move |req: Request<Incoming>| {
            let ctx = svc_ctx.clone();
            let served = served.clone();
            async move {
                let mut resp = respond(ctx, req, peer).await;
                // The keep-alive request limit: the last answer says so and hyper closes.
                let n = served.fetch_add(1, Ordering::Relaxed) + 1;
                if keepalive_requests > 0 && n >= keepalive_requests {
                    resp.headers_mut().insert(
                        hyper::header::CONNECTION,
                        hyper::header::HeaderValue::from_static("close"),
                    );
                }
                Ok::<_, Infallible>(resp)
            }
        });
        let builder = builder.clone();
        let header_timeout = cfg.header_timeout;
        match &tls {
            None => {
                let conn = builder.serve_connection(TokioIo::new(stream), svc);
                let fut = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = fut.await {
                        connection_error(&conn_ctx, &e);
                    }
                    drop((permit, slot));
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let tls =
                        match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => {
                                log::debug!("TLS handshake with {peer}: {e}");
                                return;
                            }
                            Err(_) => return,
                        };
                    let conn = builder.serve_connection(TokioIo::new(tls), svc);
                    if let Err(e) = watcher.watch(conn).await {
                        connection_error(&conn_ctx, &e);
                    }
                    drop((permit, slot));
                });
            }
        }
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        log::warn!("shutdown: some HTTP connections did not finish within {grace:?}");
    }
}

/// What a client over its per-address connection cap gets before the close.
const TOO_MANY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\
    Connection: close\r\nRetry-After: 1\r\n\r\n";

/// The response write timeout, around the connection's socket (under TLS too): once a write
/// cannot proceed, the whole pending output (the rest of the answer, as hyper flushes after
/// each) must be taken by the client within `timeout`, or writing fails with `TimedOut` and
/// hyper drops the connection. A client that pipelines requests and never reads, or reads a
/// byte now and then, loses its connection instead of holding it (hyper 1.x has a header-read
/// timeout but none for writes).
struct WriteDeadline<T> {
    inner: T,
    timeout: Duration,
    /// Armed at the first write that could not proceed; cleared when output is flushed.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<T> WriteDeadline<T> {
    fn new(inner: T, timeout: Duration) -> Self {
        WriteDeadline {
            inner,
            timeout,
            deadline: None,
        }
    }

    /// The writer is blocked: arm the deadline (once) and fail if it has passed.
    fn blocked<R>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let timeout = self.timeout;
        let deadline = self
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "response not taken within the write timeout",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteDeadline<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Pending => self.blocked(cx),
            r => r,
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Pending => self.blocked(cx),
            r => r,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Ready(Ok(())) => {
                self.deadline = None;
                Poll::Ready(Ok(()))
            }
            Poll::Pending => self.blocked(cx),
            r => r,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_shutdown(cx) {
            Poll::Pending => self.blocked(cx),
            r => r,
        }
    }
}

/// A connection hyper ended with an error: a request it refused itself (malformed, head too
/// large: it answered 400/414/431 without calling us), a timeout, or a client gone mid-way.
/// Counted so /metrics shows what the handlers never saw.
fn connection_error(ctx: &Ctx, e: &hyper::Error) {
    let reason = if e.is_parse_too_large() {
        "too_large"
    } else if e.is_parse() || e.is_parse_status() {
        "malformed"
    } else if e.is_timeout() {
        "timeout"
    } else {
        "aborted"
    };
    ctx.metrics.rejected(reason);
    log::debug!("connection closed: {reason}: {e}");
}

async fn respond(ctx: Arc<Ctx>, req: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
    let start = Instant::now();
    let id = format!(
        "{:x}-{:x}",
        crate::clock::unix_now(),
        REQUEST_SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let (parts, body) = req.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let max = ctx.config.limits.max_body_bytes;
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let peer_ip = client_ip(&ctx, peer.ip(), &headers);
    let https = is_https(&ctx, peer.ip(), &headers);
    let (segments, query) = api::parse_target(&target);
    let mut areq = ApiRequest {
        id,
        method: parts.method.as_str().to_string(),
        target,
        segments,
        query,
        headers,
        body: Vec::new(),
        peer: peer_ip,
        https,
    };

    // The head (request line and headers) is held to MAX_HEAD_BYTES, as documented; hyper's
    // buffer only bounds it loosely. A declared oversize body is refused before reading a
    // byte of it.
    let head_len = areq.target.len()
        + areq
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.len() + 4)
            .sum::<usize>();
    let body_result = if head_len > MAX_HEAD_BYTES {
        Err(431)
    } else if declared.is_some_and(|n| n > max as u64) {
        Err(413)
    } else {
        match tokio::time::timeout(
            ctx.config.http.header_timeout,
            Limited::new(body, max).collect(),
        )
        .await
        {
            Ok(Ok(b)) => Ok(b.to_bytes()),
            Ok(Err(e))
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                Err(413)
            }
            Ok(Err(_)) => Err(400),
            Err(_) => Err(408),
        }
    };
    let (route, reply, close) = match body_result {
        Ok(b) => {
            areq.body = b.to_vec();
            // A task of its own so a panicking handler becomes a 500, not a dead connection
            // task; spawned from this worker it runs here next, without a thread hand-off.
            match tokio::spawn(api::handle_async(ctx.clone(), areq.clone())).await {
                Ok((route, reply)) => (route, reply, false),
                Err(e) => {
                    log::error!("request {}: handler panicked: {e}", areq.id);
                    (
                        "panic",
                        Reply::json(
                            500,
                            &serde_json::json!({"error": "internal_error", "message": "internal server error"}),
                        ),
                        true,
                    )
                }
            }
        }
        Err(status) => {
            let e = match status {
                413 => crate::error::ApiError::PayloadTooLarge(max),
                431 => crate::error::ApiError::BadRequest(format!(
                    "the request head is larger than {MAX_HEAD_BYTES} bytes"
                )),
                _ => crate::error::ApiError::BadRequest("could not read the request body".into()),
            };
            // In the shape of the API family the request was for (LuaDNS JSON on its routes).
            let family = api::Route::parse(&areq).family(&areq);
            let r = api::render_error(family, &e, &areq);
            ("body", Reply { status, ..r }, true)
        }
    };
    ctx.metrics.request(route, reply.status);
    if log::log_enabled!(log::Level::Debug) {
        let shown: Vec<String> = redact::LOGGABLE_HEADERS
            .iter()
            .filter_map(|h| areq.header(h).map(|v| format!("{h}={v:?}")))
            .collect();
        log::debug!(
            "{} {} {} -> {} ({} bytes, {:?}) rid={} {}",
            areq.peer,
            areq.method,
            redact::Url(&areq.target),
            reply.status,
            reply.body.len(),
            start.elapsed(),
            areq.id,
            shown.join(" "),
        );
    }
    let mut b = Response::builder()
        .status(reply.status)
        .header(hyper::header::CONTENT_TYPE, reply.content_type)
        .header("x-request-id", &areq.id);
    for (k, v) in &reply.headers {
        b = b.header(*k, v);
    }
    if close {
        b = b.header(hyper::header::CONNECTION, "close");
    }
    // Full bodies always carry Content-Length (never chunked; docs/protocols.md §2.2).
    b.body(Full::new(Bytes::from(reply.body)))
        .unwrap_or_else(|e| {
            log::error!("building response: {e}");
            let mut r = Response::new(Full::new(Bytes::from_static(b"internal server error")));
            *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
}

/// The client address: the peer, or from a trusted proxy the right-most X-Forwarded-For hop
/// that is not itself a trusted proxy.
/// HTTPS: the listener speaks TLS, or a trusted proxy says its client used it.
fn is_https(ctx: &Ctx, peer: IpAddr, headers: &[(String, String)]) -> bool {
    ctx.config.tls.is_some()
        || (ctx.config.trusted_proxies.contains(&api::unmap(peer))
            && headers
                .iter()
                .any(|(k, v)| k == "x-forwarded-proto" && v.trim().eq_ignore_ascii_case("https")))
}

fn client_ip(ctx: &Ctx, peer: IpAddr, headers: &[(String, String)]) -> IpAddr {
    let peer = api::unmap(peer);
    let trusted = &ctx.config.trusted_proxies;
    if !trusted.contains(&peer) {
        return peer;
    }
    let Some((_, xff)) = headers.iter().find(|(k, _)| k == "x-forwarded-for") else {
        return peer;
    };
    xff.rsplit(',')
        .filter_map(|s| s.trim().parse::<IpAddr>().ok().map(api::unmap))
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A peer that never reads: the write fails after the timeout instead of waiting forever.
    #[tokio::test(start_paused = true)]
    async fn writes_nobody_takes_time_out() {
        let (_peer, ours) = tokio::io::duplex(64);
        let mut w = WriteDeadline::new(ours, Duration::from_secs(3));
        let start = tokio::time::Instant::now();
        let e = w.write_all(&[0u8; 1000]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }

    /// A peer that reads keeps its connection; the deadline only runs while a write waits,
    /// and a flush clears it.
    #[tokio::test(start_paused = true)]
    async fn a_reading_peer_is_never_cut() {
        let (mut peer, ours) = tokio::io::duplex(64);
        let mut w = WriteDeadline::new(ours, Duration::from_secs(3));
        for _ in 0..5 {
            let reader = tokio::spawn(async move {
                let mut buf = vec![0u8; 1000];
                peer.read_exact(&mut buf).await.unwrap();
                peer
            });
            w.write_all(&[1u8; 1000]).await.unwrap();
            w.flush().await.unwrap();
            peer = reader.await.unwrap();
            tokio::time::sleep(Duration::from_secs(10)).await; // idle time is not write time
        }
        assert!(w.deadline.is_none());
    }
}
