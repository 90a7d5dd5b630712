//! lucentd: flags -> logger -> config -> (admin command | store -> DNS -> HTTP -> wait for a
//! signal). `main` only maps the outcome to an exit code: 0 ok, 1 runtime failure, 2 usage,
//! 3 configuration (so a crash loop under systemd or procd shows the cause at a glance).

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
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(e)) => {
            eprintln!("lucentd: {e}\n\n{}", cli::USAGE);
            ExitCode::from(2)
        }
        Err(Failure::Config(e)) => {
            eprintln!("lucentd: configuration error: {e}");
            ExitCode::from(3)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("lucentd: {e}");
            ExitCode::from(1)
        }
    }
}

fn run() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, common) = cli::parse(&args).map_err(Failure::Usage)?;
    let mut raw = match &common.config {
        Some(p) => config::RawConfig::load(p).map_err(|e| Failure::Config(e.0))?,
        None => config::RawConfig::default(),
    };
    if let Some(db) = common.db {
        raw.db = db;
    }
    let mut demo = false;
    match &cmd {
        Command::Help => {
            print!("{}", cli::USAGE);
            return Ok(());
        }
        Command::Version => {
            println!("lucentd {}", env!("CARGO_PKG_VERSION"));
            return Ok(());
        }
        Command::Serve(f) => {
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
        _ => {}
    }
    let env_token = std::env::var("DDNS_API_TOKEN").ok();
    let config = raw.validate(env_token).map_err(|e| Failure::Config(e.0))?;
    match cmd {
        Command::Serve(_) => serve::run(config, demo).map_err(|e| match e {
            serve::ServeError::Config(e) => Failure::Config(e),
            serve::ServeError::Runtime(e) => Failure::Runtime(e),
        }),
        cmd => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            admin::run(cmd, &config, &mut out).map_err(|e| Failure::Runtime(e.to_string()))
        }
    }
}
