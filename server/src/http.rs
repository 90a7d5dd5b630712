//! The only file that knows hyper: the listener (plain or TLS), connection cap, header-read
//! timeout (also closes idle keep-alive connections), header and body size caps, the wire
//! request -> `ApiRequest` -> handler (on the bounded blocking pool) -> `Reply` -> wire path,
//! panic -> 500, the redacted access log, and graceful shutdown.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;

use crate::api::{self, ApiRequest, Ctx, Reply};
use crate::redact;

static REQUEST_SEQ: AtomicU64 = AtomicU64::new(1);

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
        let _ = stream.set_nodelay(true);
        let conn_ctx = ctx.clone();
        let svc_ctx = ctx.clone();
        let svc = service_fn(move |req: Request<Incoming>| {
            let ctx = svc_ctx.clone();
            async move { Ok::<_, Infallible>(respond(ctx, req, peer).await) }
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
                    drop(permit);
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
                    drop(permit);
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

    // A declared oversize body is refused before reading a byte of it.
    let body_result = if declared.is_some_and(|n| n > max as u64) {
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
            let e = if status == 413 {
                crate::error::ApiError::PayloadTooLarge(max)
            } else {
                crate::error::ApiError::BadRequest("could not read the request body".into())
            };
            let r = api::render_error(api::Family::Token, &e, &areq);
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
