//! `lucentd serve`: open the store, load every zone into the DNS view, start the DNS
//! listeners and the HTTP API on one tokio runtime, print the bound addresses, run the
//! background chores (external-change sync, query-count flush) and stop cleanly on
//! SIGTERM/SIGINT: in-flight requests finish, every acknowledged write is already committed.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::Ctx;
use crate::config::Config;
use crate::dns::{self, DnsView};
use crate::model::ZoneKind;
use crate::secret;
use crate::store::queries::{users, zones};
use crate::store::Store;

/// Why `serve` could not start (or stopped): each variant carries what the operator needs.
#[derive(Debug)]
pub enum ServeError {
    /// The TLS certificate or key cannot be used: a configuration error (exit code 3).
    Tls(String),
    /// The database could not be opened, loaded or (with --demo) set up.
    Store {
        path: std::path::PathBuf,
        error: crate::store::StoreError,
    },
    /// A listener could not bind (`what` is "DNS" or "HTTP").
    Listen {
        what: &'static str,
        addrs: Vec<std::net::SocketAddr>,
        error: std::io::Error,
    },
    /// The runtime or a thread could not start.
    Start {
        what: &'static str,
        error: std::io::Error,
    },
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Tls(e) => f.write_str(e),
            ServeError::Store { path, error } => {
                write!(f, "cannot open database {}: {error}", path.display())
            }
            ServeError::Listen { what, addrs, error } => {
                let addrs: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
                write!(f, "{what} listen on {}: {error}", addrs.join(", "))
            }
            ServeError::Start { what, error } => write!(f, "{what}: {error}"),
        }
    }
}

impl std::error::Error for ServeError {}

pub fn run(config: Config, demo: bool) -> Result<(), ServeError> {
    let workers = crate::usable_cpus();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .max_blocking_threads(config.http.workers.max(1) + 2)
        .thread_name("lucentd")
        .enable_all()
        .build()
        .map_err(|error| ServeError::Start {
            what: "tokio runtime",
            error,
        })?;
    rt.block_on(serve(config, demo))
}

async fn serve(mut config: Config, demo: bool) -> Result<(), ServeError> {
    // Handlers first: a SIGTERM arriving right after READY must still shut down cleanly.
    let signals = Signals::new();
    if let Some(nofile) = raise_nofile() {
        fit_to_descriptors(&mut config, nofile);
    }
    let tls = match &config.tls {
        Some((c, k)) => Some(crate::http::tls_acceptor(c, k).map_err(ServeError::Tls)?),
        None => None,
    };
    let view = Arc::new(
        DnsView::new(config.apex.clone())
            .with_rrl(config.dns_rrl)
            .with_server_id(config.dns_server_id.clone())
            .with_xfr(config.dns_xfr.clone()),
    );
    let store_error = |error| ServeError::Store {
        path: config.db.clone(),
        error,
    };
    let store = Store::new(&config.db, view.clone(), config.apex.clone()).map_err(store_error)?;
    if view.journaling() {
        let reader = crate::store::JournalReader::open(&config.db).map_err(store_error)?;
        view.set_journal(Arc::new(reader));
    }
    let demo_token = if demo {
        let t = demo_setup(&config).map_err(store_error)?;
        store.sync_external().map_err(store_error)?;
        t
    } else {
        None
    };
    let dns_server = match probe_dns(&config.dns_listen) {
        Err(e) => Err(e),
        Ok(()) => dns::start(&config.dns_listen, view.clone(), config.dns_tcp)
            .await
            .map_err(|e| (config.dns_listen.clone(), e)),
    }
    .map_err(|(addrs, error)| ServeError::Listen {
        what: "DNS",
        addrs,
        error,
    })?;
    let http_error = |error| ServeError::Listen {
        what: "HTTP",
        addrs: vec![config.http.listen],
        error,
    };
    let listener = TcpListener::bind(config.http.listen)
        .await
        .map_err(http_error)?;
    let http_addr = listener.local_addr().map_err(http_error)?;
    // An unset public_url follows the bound address (`--http 127.0.0.1:0` gets its real port).
    let tls_on = config.tls.is_some();
    if config.public_url == crate::config::default_public_url(tls_on, config.http.listen) {
        config.public_url = crate::config::default_public_url(tls_on, http_addr);
    }
    let dns_addrs: Vec<String> = dns_server.bound.iter().map(|a| a.to_string()).collect();
    let line = format!(
        "lucentd listening http={http_addr} dns={} tls={}",
        dns_addrs.join(","),
        if tls.is_some() { "on" } else { "off" }
    );
    if let Some((t, invite)) = demo_token {
        print_demo(http_addr, dns_server.bound.first().copied(), &t);
        say(&format!(
            "  dashboard: sign in as demo@demo.test by choosing a password at {}/invite/{}",
            config.public_url,
            invite.expose()
        ));
        say("demo token:");
        say(t.expose());
    }
    // One line, on stdout only (scripts and the e2e harness read it there; under systemd
    // stdout goes to the journal as well, so logging it too would show it twice).
    say(&line);
    sd_notify("READY=1");

    let mut ctx = Ctx::new(config, store);
    ctx.web = crate::web::handle;
    let ctx = Arc::new(ctx);
    // DNS UPDATE goes through the same domain rules as the HTTP APIs (api/dns_update.rs).
    ctx.store
        .dns
        .set_update_handler(Arc::new(crate::api::dns_update::Handler {
            ctx: ctx.clone(),
        }));
    // The writer thread takes the update routes' writes in groups (store/mod.rs).
    let writer = {
        let c = ctx.clone();
        std::thread::Builder::new()
            .name("lucentd-writer".into())
            .spawn(move || c.store.run_writer())
            .map_err(|error| ServeError::Start {
                what: "writer thread",
                error,
            })?
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let chores = tokio::spawn(chores(ctx.clone(), stop_rx.clone()));
    let http = tokio::spawn(crate::http::serve(
        listener,
        tls,
        ctx.clone(),
        stop_rx,
        Duration::from_secs(10),
    ));

    signals.wait().await;
    log::info!("shutting down: finishing in-flight requests");
    sd_notify("STOPPING=1");
    let _ = stop_tx.send(true);
    let _ = http.await;
    let _ = chores.await;
    ctx.store.stop_writer();
    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    dns_server.shutdown().await;
    let ctx2 = ctx.clone();
    let _ = tokio::task::spawn_blocking(move || {
        let _ = ctx2.store.flush_signatures();
        ctx2.store.flush_query_counts()
    })
    .await;
    log::info!("stopped");
    Ok(())
}

/// One line to stdout, flushed. A closed stdout (`lucentd serve --demo | head -3`) is not a
/// reason to stop serving: the line is dropped, without the panic `println!` would raise.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// Bind each DNS address (with a fixed port) once, UDP and TCP with the options the listeners
/// use, and let go: a failure then names its address. (`dns::start` reports the error alone.)
fn probe_dns(
    addrs: &[std::net::SocketAddr],
) -> Result<(), (Vec<std::net::SocketAddr>, std::io::Error)> {
    use socket2::{Domain, Protocol, Socket, Type};
    let bind = |addr: std::net::SocketAddr, ty: Type, proto: Protocol| -> std::io::Result<()> {
        let s = Socket::new(Domain::for_address(addr), ty, Some(proto))?;
        if addr.is_ipv6() {
            s.set_only_v6(true)?;
        }
        if ty == Type::STREAM {
            s.set_reuse_address(true)?;
        }
        s.bind(&addr.into())
    };
    for &a in addrs.iter().filter(|a| a.port() != 0) {
        bind(a, Type::DGRAM, Protocol::UDP)
            .and_then(|()| bind(a, Type::STREAM, Protocol::TCP))
            .map_err(|e| (vec![a], e))?;
    }
    Ok(())
}

/// Descriptors kept back from the connection caps: the database and its WAL, the listeners,
/// UDP sockets, the log, the runtime's own, and a margin for admin work and accept bursts.
const RESERVED_FDS: u64 = 64;

/// Raise the soft RLIMIT_NOFILE to the hard limit (every connection costs a descriptor, and
/// the usual soft default of 1024 is below our caps added up); returns the soft limit in
/// force afterwards, `None` when unlimited or unknown. Logs what it did.
fn raise_nofile() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    let (Some(soft), hard) = (lim.current, lim.maximum) else {
        return None; // unlimited
    };
    let want = hard.unwrap_or(u64::MAX);
    if want <= soft {
        log::info!("open files: soft limit {soft} is already the hard limit");
        return Some(soft);
    }
    let new = Rlimit {
        current: hard,
        maximum: hard,
    };
    match setrlimit(Resource::Nofile, new) {
        Ok(()) => {
            let now = getrlimit(Resource::Nofile).current;
            log::info!(
                "open files: soft limit raised from {soft} to {}",
                now.map_or("unlimited".into(), |n| n.to_string())
            );
            now
        }
        Err(e) => {
            log::warn!("open files: cannot raise the soft limit {soft} to {want}: {e}");
            Some(soft)
        }
    }
}

/// Lower the HTTP and DNS TCP connection caps, in proportion, when together they would use
/// more descriptors than the process may open: one listener must never starve the other by
/// taking the last descriptor (EMFILE refuses every accept, on both).
fn fit_to_descriptors(config: &mut Config, nofile: u64) {
    let budget = usize::try_from(nofile.saturating_sub(RESERVED_FDS).max(2)).unwrap_or(usize::MAX);
    let http = config.http.max_connections;
    // No DNS TCP cap: it may use the whole budget, so it gets the larger share.
    let dns = match config.dns_tcp.max_connections {
        0 => budget,
        n => n,
    };
    let total = http.saturating_add(dns);
    if total <= budget {
        return;
    }
    // Shares in u128: no overflow whatever the configured caps.
    let share = |n: usize| ((n as u128 * budget as u128) / total as u128).max(1) as usize;
    let (new_http, new_dns) = (share(http), share(dns));
    log::warn!(
        "open files: limit {nofile} is below the connection caps (http.max_connections {http} + \
         dns.tcp_max_connections {}); using {new_http} and {new_dns}. Raise LimitNOFILE to \
         keep the configured caps",
        config.dns_tcp.max_connections
    );
    config.http.max_connections = new_http;
    config.dns_tcp.max_connections = new_dns;
}

/// systemd readiness (sd_notify(3)) without libsystemd: one datagram to `$NOTIFY_SOCKET`
/// (a path, or an abstract name written with a leading `@`). Silent when not under systemd.
fn sd_notify(state: &str) {
    use std::os::unix::net::UnixDatagram;
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(sock) = UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    let sent = if let Some(name) = bytes.strip_prefix(b"@") {
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(name)
                .and_then(|a| sock.send_to_addr(state.as_bytes(), &a))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = name;
            Err(std::io::Error::other("abstract sockets are Linux-only"))
        }
    } else {
        sock.send_to(state.as_bytes(), &path)
    };
    if let Err(e) = sent {
        log::warn!("sd_notify {state}: {e}");
    }
}

/// SIGTERM and SIGINT, registered at start-up.
struct Signals {
    term: Option<tokio::signal::unix::Signal>,
    int: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        Signals {
            term: signal(SignalKind::terminate()).ok(),
            int: signal(SignalKind::interrupt()).ok(),
        }
    }

    async fn wait(mut self) {
        match (self.term.as_mut(), self.int.as_mut()) {
            (Some(t), Some(i)) => {
                tokio::select! {
                    _ = t.recv() => {},
                    _ = i.recv() => {},
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

/// Every 500 ms: pick up changes made by admin commands and keep new DNSSEC signatures;
/// every 10 s: flush query counts;
/// every minute: DNSSEC upkeep.
async fn chores(ctx: Arc<Ctx>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        n += 1;
        let c = ctx.clone();
        let flush = n % 20 == 0;
        let r = tokio::task::spawn_blocking(move || {
            c.store.sync_external()?;
            c.store.flush_signatures()?;
            if flush {
                c.store.flush_query_counts()?;
            }
            // Every minute: re-sign zones whose signatures near their refresh time, and
            // remove keys a rollover retired.
            if n % 120 == 0 {
                crate::domain::dnssec::maintain(&c.store)?;
                if c.store.dns.journaling() {
                    c.store.prune_journal()?;
                }
            }
            Ok::<_, crate::store::StoreError>(())
        })
        .await;
        if let Ok(Err(e)) = r {
            log::warn!("background store work: {e}");
        }
    }
}

/// `--demo` on an empty database: a shared zone `demo.test` and a user `demo@demo.test`;
/// returns the user's token (None when the database already holds data).
/// The demo user's update token and a dashboard invite for it.
fn demo_setup(
    config: &Config,
) -> Result<Option<(secret::Secret, secret::Secret)>, crate::store::StoreError> {
    let mut conn = crate::store::open(&config.db)?;
    let tx = conn.transaction()?;
    let empty = zones::list_zones(&tx)?.is_empty() && users::list_users(&tx)?.is_empty();
    if !empty {
        say("--demo: the database is not empty; leaving it as it is. \
             `lucentd user token demo@demo.test` prints a fresh token if the demo user exists.");
        return Ok(None);
    }
    let zone = zones::insert_zone(&tx, "demo.test", ZoneKind::Shared, None)?;
    let token = secret::new_token();
    let uid = users::insert_user(&tx, "demo@demo.test", 10, &secret::hash(token.expose()))?;
    let invite = crate::domain::accounts::invite(&tx, uid, crate::clock::unix_now())?;
    tx.commit()?;
    say(&format!(
        "demo: shared zone {} and user demo@demo.test created",
        zone.name
    ));
    Ok(Some((token, invite)))
}

fn print_demo(
    http: std::net::SocketAddr,
    dns: Option<std::net::SocketAddr>,
    token: &secret::Secret,
) {
    let t = token.expose();
    say(&format!(
        "  export LD_BASE=http://{http} LD_TOKEN={t} LD_HOST=hello.demo.test"
    ));
    say("  curl -fsS -H \"Authorization: Bearer $LD_TOKEN\" -H 'Content-Type: application/json' -d '{\"hostname\":\"hello\",\"ipv4\":\"203.0.113.10\"}' \"$LD_BASE/v1/hostnames\"");
    say("  curl -fsS \"$LD_BASE/update?domains=hello&token=$LD_TOKEN&ip=198.51.100.44&verbose=true\"");
    if let Some(d) = dns {
        say(&format!(
            "  dig @{} -p {} hello.demo.test A +norec",
            d.ip(),
            d.port()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawConfig;

    fn config(toml: &str) -> Config {
        RawConfig::from_toml(toml).unwrap().validate(None).unwrap()
    }

    /// Issue #14 item 3: the caps together stay below the open-files limit, in proportion.
    #[test]
    fn connection_caps_fit_the_descriptor_limit() {
        let mut c = config("");
        fit_to_descriptors(&mut c, 65536);
        assert_eq!(
            (c.http.max_connections, c.dns_tcp.max_connections),
            (1024, 512),
            "room enough: unchanged"
        );
        let mut c = config("");
        fit_to_descriptors(&mut c, 256);
        let (h, d) = (c.http.max_connections, c.dns_tcp.max_connections);
        assert!(h + d <= 256 - 64, "{h} + {d}");
        assert_eq!((h, d), (128, 64));
        let mut c = config("[dns]\ntcp_max_connections = 0");
        fit_to_descriptors(&mut c, 1024);
        let (h, d) = (c.http.max_connections, c.dns_tcp.max_connections);
        assert!(h + d <= 1024 - 64 && h >= 400 && d >= 400, "{h} + {d}");
        let mut c = config("");
        fit_to_descriptors(&mut c, 10);
        assert!(c.http.max_connections >= 1 && c.dns_tcp.max_connections >= 1);
    }
}
