//! The HTTP side: owns the ureq Agents (one for updates, one per family for the address echo,
//! pinned with `IpFamily::Ipv4Only`/`Ipv6Only`), sends a protocol [`Request`] and maps what
//! comes back (or the transport error) to an [`Outcome`].
//!
//! ureq's `http_status_as_error` is off, so 4xx/5xx arrive as replies and the protocol modules
//! decide Retry or Stop. Timeouts are explicit. URLs are never logged unredacted and transport
//! errors never quote the URL, so a DuckDNS token in the query string cannot leak through here.

use std::time::Duration;

use ureq::config::IpFamily;
use ureq::Agent;

use crate::config::Protocol;
use crate::error::Failure;
pub use crate::protocol::Outcome;
use crate::protocol::{redact, Reply, Request};

/// Longest body we read from the update endpoint (verbose answers are a few lines).
const MAX_UPDATE_BODY: u64 = 4096;
/// Longest body we read from the echo endpoint (one address).
const MAX_ECHO_BODY: u64 = 256;
/// Cap on a server's `Retry-After`, so a bogus value cannot park the agent for months.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

pub const USER_AGENT: &str = concat!("lucent-agent/", env!("CARGO_PKG_VERSION"));

/// The Agents, built once and kept for the life of the process (rebuilt only on a config reload
/// that changes the timeout).
pub struct Client {
    update: Agent,
    echo_v4: Agent,
    echo_v6: Agent,
}

/// The certificates of a PEM bundle (other PEM items and broken entries are skipped).
#[cfg(feature = "tls")]
pub fn parse_certs(pem: &[u8]) -> Vec<ureq::tls::Certificate<'static>> {
    ureq::tls::parse_pem(pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect()
}

/// System CA bundles, first found wins: Debian, Ubuntu, OpenWrt (ca-bundle), Alpine;
/// Fedora/RHEL; BSDs and others.
#[cfg(all(feature = "tls", not(feature = "bundled-roots")))]
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

/// The system's root certificates when an https URL is configured and no `ca_file` is.
/// `None` with the `bundled-roots` feature (the compiled-in webpki roots are used) or when
/// nothing is https.
#[allow(unused_variables)]
fn system_roots(cfg: &crate::config::Config) -> Option<Vec<u8>> {
    #[cfg(all(feature = "tls", not(feature = "bundled-roots")))]
    {
        use crate::config::Source;
        let https = |u: &str| u.starts_with("https://");
        let echo_https = [&cfg.ipv4.source, &cfg.ipv6.source]
            .iter()
            .any(|s| matches!(s, Source::Http { url } if https(url)));
        if !https(&cfg.server) && !echo_https {
            return None;
        }
        for p in SYSTEM_BUNDLES {
            if let Ok(pem) = std::fs::read(p) {
                log::debug!("trusting the system CA bundle {p}");
                return Some(pem);
            }
        }
        log::warn!(
            "no system CA bundle found ({}); install ca-certificates (OpenWrt: ca-bundle) or \
             set ca_file, or HTTPS servers cannot be verified",
            SYSTEM_BUNDLES.join(", ")
        );
        // An empty trust store: every certificate is refused (never "trust anything").
        Some(Vec::new())
    }
    #[cfg(not(all(feature = "tls", not(feature = "bundled-roots"))))]
    None
}

/// The settings of every Agent.
fn agent_config(timeout: Duration, family: IpFamily) -> ureq::config::Config {
    Agent::config_builder()
        .http_status_as_error(false)
        .user_agent(USER_AGENT)
        .ip_family(family)
        // ureq has no overall deadline by default; a router must never hang on one request.
        .timeout_global(Some(timeout))
        .timeout_connect(Some(timeout.min(Duration::from_secs(10))))
        // A redirect would drop the Authorization header anyway: surface it as an answer.
        .max_redirects(0)
        // Ticks are minutes apart and the echo and update Agents never share a connection, so
        // pooling saves nothing; closing at once keeps one TLS session in memory at a time.
        .max_idle_connections(0)
        .max_idle_connections_per_host(0)
        // Our answers are a few lines: ureq's 128 KiB buffers and 64 KiB header cap are for
        // browsers-sized traffic, not a router with a few MiB to spare. 20 KiB still holds a
        // full 16 KiB TLS record.
        .max_response_header_size(16 * 1024)
        .input_buffer_size(20 * 1024)
        .output_buffer_size(8 * 1024)
        .build()
}

impl Client {
    /// Agents with the built-in (webpki) roots.
    #[cfg(test)]
    pub fn new(timeout: Duration) -> Client {
        Client::with_roots(timeout, None)
    }

    /// Agents trusting only the certificates of `roots` (a PEM bundle) when given.
    pub fn with_roots(timeout: Duration, roots: Option<&[u8]>) -> Client {
        // With TLS: our connector chain (tls.rs) around one rustls config for the three Agents,
        // and ureq's default resolver. Without: ureq's default chain (proxies, TCP).
        #[cfg(feature = "tls")]
        let agent = {
            let tls = crate::tls::settings(roots);
            move |family| {
                let resolver = ureq::unversioned::resolver::DefaultResolver::default();
                let connector = crate::tls::connector(tls.clone());
                Agent::with_parts(agent_config(timeout, family), connector, resolver)
            }
        };
        #[cfg(not(feature = "tls"))]
        let agent = {
            let _ = roots;
            |family| agent_config(timeout, family).new_agent()
        };
        Client {
            update: agent(IpFamily::Any),
            echo_v4: agent(IpFamily::Ipv4Only),
            echo_v6: agent(IpFamily::Ipv6Only),
        }
    }

    pub fn for_config(cfg: &crate::config::Config) -> Client {
        let system;
        let roots = match &cfg.ca {
            Some(c) => Some(c.pem.as_slice()),
            None => {
                system = system_roots(cfg);
                system.as_deref()
            }
        };
        Client::with_roots(cfg.timeout, roots)
    }

    /// `GET url` through the family-pinned Agent; the body of a 200 answer.
    pub fn echo(&self, url: &str, v6: bool) -> Result<String, Failure> {
        let agent = if v6 { &self.echo_v6 } else { &self.echo_v4 };
        log::debug!(
            "asking {} for our {} address",
            redact(url),
            if v6 { "ipv6" } else { "ipv4" }
        );
        let reply = get(agent, url, None, MAX_ECHO_BODY)?;
        match reply.status {
            200 => Ok(reply.body),
            429 => Err(Failure::RateLimited),
            s @ 500..=599 => Err(Failure::ServerError(s)),
            s => Err(Failure::UnexpectedStatus(s)),
        }
    }

    /// Sends one update and reads the answer in `protocol`'s terms.
    pub fn update(&self, protocol: Protocol, req: &Request, hostnames: &[String]) -> Outcome {
        log::debug!("sending {req:?}");
        match get(
            &self.update,
            &req.url,
            req.authorization.as_ref().map(|s| s.expose()),
            MAX_UPDATE_BODY,
        ) {
            Ok(reply) => {
                log::debug!(
                    "answer: HTTP {} {:?}",
                    reply.status,
                    reply.body.lines().next().unwrap_or("")
                );
                crate::protocol::parse(protocol, &reply, hostnames)
            }
            Err(failure) => Outcome::retry(failure),
        }
    }
}

fn get(
    agent: &Agent,
    url: &str,
    authorization: Option<&str>,
    limit: u64,
) -> Result<Reply, Failure> {
    let mut req = agent.get(url);
    if let Some(value) = authorization {
        req = req.header("Authorization", value);
    }
    let mut resp = req.call().map_err(|e| transport_failure(&e, url))?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let body = match resp.body_mut().with_config().limit(limit).read_to_string() {
        Ok(b) => b,
        Err(ureq::Error::BodyExceedsLimit(_)) => {
            return Err(Failure::BadResponse("body too large".into()))
        }
        Err(e) => return Err(transport_failure(&e, url)),
    };
    Ok(Reply {
        status,
        retry_after,
        body,
    })
}

/// `Retry-After` as delay-seconds (HTTP-dates are ignored: our servers send seconds).
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    v.trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER))
}

/// A transport error as a Failure whose text cannot contain the URL's secrets.
fn transport_failure(e: &ureq::Error, url: &str) -> Failure {
    use ureq::Error as E;
    match e {
        E::Timeout(_) => Failure::Timeout,
        E::HostNotFound => Failure::Unreachable("host not found".into()),
        E::ConnectionFailed => Failure::Unreachable("connection failed".into()),
        E::Io(io) => Failure::Unreachable(io.to_string()),
        E::BadUri(_) | E::Http(_) => Failure::Unreachable("invalid URL".into()),
        E::TooManyRedirects | E::RedirectFailed => Failure::Unreachable("redirected".into()),
        // Anything else (TLS, protocol): ureq's text, with the URL redacted just in case.
        other => Failure::Unreachable(other.to_string().replace(url, &redact(url))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use crate::protocol::{self, tests::plan};
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::mpsc;
    use std::thread;

    /// A stub HTTP server on 127.0.0.1:0 answering `answers` in turn (one per connection), then
    /// quitting. Each request head (request line and headers) is sent back on the channel.
    fn stub(answers: Vec<String>) -> (String, mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for answer in answers {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                let head = read_head(&stream);
                let _ = tx.send(head);
                let mut s = stream;
                let _ = s.write_all(answer.as_bytes());
            }
        });
        (base, rx)
    }

    fn read_head(stream: &TcpStream) -> String {
        let mut r = BufReader::new(stream);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                return head;
            }
            head.push_str(&line);
        }
    }

    fn http(status: &str, extra: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
             Connection: close\r\n{extra}\r\n{body}",
            body.len()
        )
    }

    fn client() -> Client {
        Client::new(Duration::from_secs(5))
    }

    fn hosts() -> Vec<String> {
        vec!["home.demo.test".to_string()]
    }

    fn lucent_req(base: &str) -> Request {
        protocol::lucent::build(
            base,
            &Secret::new("s3cr3t-token"),
            &plan(&["home.demo.test"], Some("203.0.113.7"), None),
        )
    }

    #[test]
    fn lucent_update_keeps_token_out_of_the_url() {
        let (base, heads) = stub(vec![http("200 OK", "", "OK\n203.0.113.7\n\nUPDATED")]);
        let out = client().update(Protocol::Lucent, &lucent_req(&base), &hosts());
        assert_eq!(
            out,
            Outcome::Acked {
                hostnames: hosts(),
                changed: Some(true)
            }
        );
        let head = heads.recv().unwrap();
        let request_line = head.lines().next().unwrap();
        assert_eq!(
            request_line,
            "GET /update?domains=home.demo.test&ip=203.0.113.7&verbose=true HTTP/1.1"
        );
        assert!(!request_line.contains("s3cr3t"));
        let lower = head.to_ascii_lowercase();
        assert!(
            lower.contains("authorization: bearer s3cr3t-token"),
            "{head}"
        );
        assert!(
            lower.contains(&format!("user-agent: {USER_AGENT}")),
            "{head}"
        );
    }

    #[test]
    fn status_errors_become_outcomes() {
        let (base, _heads) = stub(vec![
            http("401 Unauthorized", "", "KO"),
            http("404 Not Found", "", "KO"),
            http("429 Too Many Requests", "Retry-After: 17\r\n", "KO"),
            http("503 Service Unavailable", "", ""),
        ]);
        let c = client();
        let req = lucent_req(&base);
        assert_eq!(
            c.update(Protocol::Lucent, &req, &hosts()),
            Outcome::stop(Failure::Unauthorized)
        );
        assert_eq!(
            c.update(Protocol::Lucent, &req, &hosts()),
            Outcome::stop(Failure::HostnameNotFound)
        );
        assert_eq!(
            c.update(Protocol::Lucent, &req, &hosts()),
            Outcome::Retry {
                failure: Failure::RateLimited,
                after: Some(Duration::from_secs(17)),
                acked: vec![]
            }
        );
        assert!(matches!(
            c.update(Protocol::Lucent, &req, &hosts()),
            Outcome::Retry {
                failure: Failure::ServerError(503),
                ..
            }
        ));
    }

    #[test]
    fn duckdns_ko_stops_and_dyndns2_sends_basic_auth() {
        let (base, heads) = stub(vec![
            http("200 OK", "", "KO"),
            http("200 OK", "", "good 203.0.113.7"),
        ]);
        let c = client();
        let p = plan(&["home.demo.test"], Some("203.0.113.7"), None);
        let req = protocol::duckdns::build(&base, &Secret::new("tok"), &p);
        assert_eq!(
            c.update(Protocol::Duckdns, &req, &hosts()),
            Outcome::stop(Failure::Rejected)
        );
        assert!(heads.recv().unwrap().contains("token=tok"));
        let req = protocol::dyndns2::build(&base, "me", &Secret::new("tok"), &p);
        assert_eq!(
            c.update(Protocol::Dyndns2, &req, &hosts()),
            Outcome::Acked {
                hostnames: hosts(),
                changed: Some(true)
            }
        );
        let head = heads.recv().unwrap();
        assert!(head.starts_with("GET /nic/update?hostname=home.demo.test&myip=203.0.113.7 "));
        assert!(head.contains(&format!("Basic {}", protocol::base64(b"me:tok"))));
    }

    #[test]
    fn echo_reads_the_address() {
        let (base, heads) = stub(vec![http("200 OK", "", "127.0.0.1\n")]);
        let body = client().echo(&format!("{base}/ip"), false).unwrap();
        assert_eq!(body.trim(), "127.0.0.1");
        assert!(heads.recv().unwrap().starts_with("GET /ip HTTP/1.1"));
    }

    #[test]
    fn echo_over_ipv6_loopback_when_available() {
        let Ok(listener) = TcpListener::bind("[::1]:0") else {
            return; // no IPv6 on this machine
        };
        let port = listener.local_addr().unwrap().port();
        thread::spawn(move || {
            if let Ok((s, _)) = listener.accept() {
                read_head(&s);
                let mut s = s;
                let _ = s.write_all(http("200 OK", "", "::1").as_bytes());
            }
        });
        let body = client()
            .echo(&format!("http://[::1]:{port}/ip"), true)
            .unwrap();
        assert_eq!(body, "::1");
        // The IPv4-only Agent must refuse an IPv6 literal rather than use it.
        assert!(client()
            .echo(&format!("http://[::1]:{port}/ip"), false)
            .is_err());
    }

    #[test]
    fn unreachable_and_timeout() {
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let out = client().update(Protocol::Lucent, &lucent_req(&base), &hosts());
        match out {
            Outcome::Retry {
                failure: Failure::Unreachable(why),
                ..
            } => assert!(!why.contains("s3cr3t"), "{why}"),
            other => panic!("expected unreachable, got {other:?}"),
        }

        // Accepts, never answers: the global timeout must fire.
        let silent = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", silent.local_addr().unwrap());
        let hold = thread::spawn(move || {
            let conn = silent.accept();
            thread::sleep(Duration::from_secs(3));
            drop(conn);
        });
        let c = Client::new(Duration::from_secs(1));
        let out = c.update(Protocol::Lucent, &lucent_req(&base), &hosts());
        assert_eq!(out, Outcome::retry(Failure::Timeout));
        hold.join().unwrap();
    }

    #[test]
    fn retry_after_values() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 5 "), Some(Duration::from_secs(5)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("99999999999"), Some(MAX_RETRY_AFTER));
    }
}
