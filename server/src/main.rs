//! lucentd: flags -> logger -> config -> (admin command | store -> DNS -> HTTP -> wait for a
//! signal). `main` only maps the outcome to an exit code: 0 ok, 1 runtime failure, 2 usage,
//! 3 configuration (so a crash loop under systemd or procd shows the cause at a glance).
//! Standard output closed early (`lucentd zone list | head -1`) is not a failure: the command
//! stops writing and exits 0 without a message.

use std::io::{ErrorKind, Write};
use std::process::ExitCode;

use lucent_server::cli::{self, Command};
use lucent_server::{admin, config, serve};

enum Failure {
    Usage(String),
    Config(String),
    Runtime(String),
}

fn main() -> ExitCode {
    // hickory logs two info lines per DNS query; keep it at warn unless RUST_LOG names it.
    env_logger::Builder::new()
        .filter_level(log::LevelFilter::Info)
        .filter_module("hickory_server", log::LevelFilter::Warn)
        .filter_module("hickory_proto", log::LevelFilter::Warn)
        .parse_env(env_logger::Env::default())
        .format_timestamp_millis()
        .init();
    // Messages go out with `write!`, never `eprintln!`: a closed stderr must not panic.
    let mut err = std::io::stderr();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(e)) => {
            let _ = writeln!(err, "lucentd: {e}\n\n{}", cli::usage());
            ExitCode::from(2)
        }
        Err(Failure::Config(e)) => {
            let _ = writeln!(err, "lucentd: configuration error: {e}");
            ExitCode::from(3)
        }
        Err(Failure::Runtime(e)) => {
            let _ = writeln!(err, "lucentd: {e}");
            ExitCode::from(1)
        }
    }
}

/// Write `text` to standard output; a reader that went away (`| head -1`) is not an error.
fn print_quietly(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != ErrorKind::BrokenPipe => Err(Failure::Runtime(e.to_string())),
        _ => Ok(()),
    }
}

/// glibc's malloc raises its mmap threshold to the size of the largest mmapped block freed so
/// far (up to 32 MiB). After one sign-in has freed its 19 MiB of Argon2id memory, the next
/// sign-in's 19 MiB come from a heap arena and stay there, once per arena: measured, RSS went
/// 9 -> 28 -> 48 MiB over four sign-ins. A fixed threshold (a glibc tunable, read only when a
/// process starts) keeps such blocks mmapped and given back (9.1 MiB after four). So `serve`
/// executes itself again, once, with the tunable set, unless GLIBC_TUNABLES is already set
/// (the operator's own choice stands). Any failure to re-execute just runs on as is.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fix_malloc_threshold() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("GLIBC_TUNABLES").is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let e = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=1048576")
        .exec();
    log::debug!("could not fix malloc's mmap threshold: {e}");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fix_malloc_threshold() {}

fn run() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, common) = cli::parse(&args).map_err(Failure::Usage)?;
    match &cmd {
        Command::Help(text) => return print_quietly(text),
        Command::Version => {
            return print_quietly(&format!("lucentd {}\n", env!("CARGO_PKG_VERSION")))
        }
        Command::Serve(_) => fix_malloc_threshold(),
        _ => {}
    }
    let mut raw = match &common.config {
        Some(p) => config::RawConfig::load(p).map_err(|e| Failure::Config(e.to_string()))?,
        None => config::RawConfig::default(),
    };
    if let Some(db) = common.db {
        raw.db = db;
    }
    let mut demo = false;
    if let Command::Serve(f) = &cmd {
        if let Some(h) = f.http {
            raw.http.listen = h.to_string();
        }
        if !f.dns.is_empty() {
            raw.dns.listen = f.dns.iter().map(|a| a.to_string()).collect();
        }
        if f.tls_cert.is_some() || f.tls_key.is_some() {
            raw.tls_cert = f.tls_cert.clone();
            raw.tls_key = f.tls_key.clone();
        }
        demo = f.demo;
    }
    let env_token = std::env::var("DDNS_API_TOKEN").ok();
    let config = raw
        .validate(env_token)
        .map_err(|e| Failure::Config(e.to_string()))?;
    match cmd {
        Command::Serve(_) => {
            // Create (and say so) or check the file here, like the admin commands do; the
            // store then opens it as it is.
            drop(admin::open_db(&config.db, true).map_err(|e| Failure::Runtime(e.to_string()))?);
            serve::run(config, demo).map_err(|e| match e {
                e @ serve::ServeError::Tls(_) => Failure::Config(e.to_string()),
                e => Failure::Runtime(e.to_string()),
            })
        }
        cmd => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            match admin::run(cmd, &config, &mut out) {
                Err(admin::AdminError::Io(e)) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
                r => r.map_err(|e| Failure::Runtime(e.to_string())),
            }
        }
    }
}
