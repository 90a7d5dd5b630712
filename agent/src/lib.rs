//! lucent-agent: the router-side update agent of Lucent Drift. This file is the thin top: flags,
//! the logger, loading the config, then either one tick (`--once`, `--dry-run`) or the daemon
//! loop (tick, sleep, back off, reload on SIGHUP, exit on SIGTERM/SIGINT), and exit codes.
//! [`run`] is everything the binary (main.rs) does besides its panic hook; the code lives in this
//! library so that its unit tests are linked apart from the binary, which build.rs links without
//! unwind tables (see main.rs).
//!
//! Detection, protocols, HTTP and state live in their own modules; nothing here builds a request
//! or parses an answer.

mod client;
mod config;
mod detect;
mod error;
mod json;
mod protocol;
mod signals;
mod state;
mod tick;
#[cfg(feature = "tls")]
mod tls;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use client::Client;
use config::Config;
use error::{exit, ConfigError, Failure};
use signals::{Signals, Wake};
use state::{Identity, State};
use tick::Tick;

const USAGE: &str = "\
lucent-agent: keeps DNS names on a Lucent Drift (or DuckDNS / dyndns2) server pointed at this
host's public IPv4/IPv6 addresses.

USAGE:
    lucent-agent [--config FILE] [--once] [--dry-run] [-v]

OPTIONS:
    -c, --config FILE  TOML config (see example.toml). Without it: LD_BASE (server URL),
                       LD_TOKEN or LD_TOKEN_FILE, LD_HOST (comma-separated hostnames),
                       LD_ALLOW_PRIVATE=1 (accept private/loopback addresses),
                       LD_IPV4, LD_IPV6 = http | interface | off (address sources)
        --once         one check-and-push, then exit (0 = success or nothing to do)
        --dry-run      detect and print what would be sent; send and write nothing
    -v, --verbose      debug logging (RUST_LOG is also honoured)
    -h, --help         this help
        --version      print the version

SIGNALS (daemon mode):  SIGTERM/SIGINT exit cleanly; SIGHUP re-reads the config.

EXIT CODES:
    0 ok   1 other failure   2 usage   3 config   4 unauthorized/forbidden
    5 hostname rejected   6 rate limited   7 unreachable   8 no public address
";

/// Parsed command line.
#[derive(Debug, Default, PartialEq, Eq)]
struct Flags {
    config: Option<PathBuf>,
    once: bool,
    dry_run: bool,
    verbose: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Run(Flags),
    Help,
    Version,
}

fn parse_flags(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut flags = Flags::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--once" => flags.once = true,
            "--dry-run" => flags.dry_run = true,
            "-v" | "--verbose" => flags.verbose = true,
            "-c" | "--config" => match args.next() {
                Some(v) if !v.is_empty() => flags.config = Some(PathBuf::from(v)),
                _ => return Err(format!("{arg} needs a file name")),
            },
            s if s.starts_with("--config=") => {
                let v = &s["--config=".len()..];
                if v.is_empty() {
                    return Err("--config needs a file name".into());
                }
                flags.config = Some(PathBuf::from(v));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Command::Run(flags))
}

fn init_logger(verbose: bool) {
    use log::LevelFilter;
    let ours = if verbose {
        LevelFilter::Debug
    } else {
        LevelFilter::Info
    };
    let mut b = env_logger::Builder::new();
    b.filter_level(LevelFilter::Warn)
        .filter_module("lucent_agent", ours);
    if let Ok(spec) = std::env::var("RUST_LOG") {
        b.parse_filters(&spec);
    }
    // ureq's trace output is wire-level and unredacted (it would show the Authorization header):
    // cap it at debug whatever RUST_LOG asks for.
    let http = if verbose {
        LevelFilter::Debug
    } else {
        LevelFilter::Warn
    };
    b.filter_module("ureq", http)
        .filter_module("ureq_proto", http);
    b.format(|buf, rec| writeln!(buf, "{:<5} {}", rec.level(), rec.args()));
    b.init();
}

/// Where the config comes from, so SIGHUP can read it again.
enum Source {
    File(PathBuf),
    Env,
}

impl Source {
    fn load(&self) -> Result<Config, ConfigError> {
        match self {
            Source::File(p) => config::load(p),
            Source::Env => config::from_env(&|k| std::env::var(k).ok()),
        }
    }
}

/// The whole program: parses `std::env::args`, runs, and returns the exit code.
pub fn run() -> i32 {
    let flags = match parse_flags(std::env::args().skip(1)) {
        Ok(Command::Run(f)) => f,
        Ok(Command::Help) => {
            print!("{USAGE}");
            return exit::OK;
        }
        Ok(Command::Version) => {
            println!("lucent-agent {}", env!("CARGO_PKG_VERSION"));
            return exit::OK;
        }
        Err(e) => {
            eprintln!("lucent-agent: {e} (try --help)");
            return exit::USAGE;
        }
    };
    init_logger(flags.verbose);
    let source = match &flags.config {
        Some(p) => Source::File(p.clone()),
        None => Source::Env,
    };
    let cfg = match source.load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lucent-agent: {e}");
            return exit::CONFIG;
        }
    };
    log::debug!("config: {}", cfg.summary());
    if flags.once || flags.dry_run {
        once(&cfg, flags.dry_run)
    } else {
        daemon(source, cfg)
    }
}

/// `--once` / `--dry-run`: one tick, a one-line reason on failure, an exit code.
fn once(cfg: &Config, dry_run: bool) -> i32 {
    let client = Client::for_config(cfg);
    let mut state = State::load(&cfg.state_file, Identity::of(cfg));
    let fail = |f: &Failure| {
        eprintln!("lucent-agent: {f}");
        f.exit_code()
    };
    match tick::tick(cfg, &client, &mut state, dry_run) {
        Tick::Updated => exit::OK,
        Tick::UpToDate(d) => {
            if dry_run {
                println!("detected {d}");
                println!("nothing to send: the server already has these addresses");
            } else {
                log::info!("up to date ({d})");
            }
            exit::OK
        }
        Tick::DryRun { request, detected } => {
            println!("detected {detected}");
            println!("would send: {request}");
            exit::OK
        }
        Tick::NoAddress => fail(&Failure::NoAddress),
        Tick::Retry { failure, after } => {
            if let Some(a) = after {
                eprintln!("lucent-agent: {failure} (retry after {}s)", a.as_secs());
                failure.exit_code()
            } else {
                fail(&failure)
            }
        }
        Tick::Stop(failure) => fail(&failure),
    }
}

/// The long-running loop.
fn daemon(source: Source, mut cfg: Config) -> i32 {
    let signals = match Signals::install() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lucent-agent: cannot install signal handlers: {e}");
            return exit::FAILURE;
        }
    };
    log::info!(
        "lucent-agent {} starting: {}",
        env!("CARGO_PKG_VERSION"),
        cfg.summary()
    );
    let mut client = Client::for_config(&cfg);
    let mut state = State::load(&cfg.state_file, Identity::of(&cfg));
    let mut failures: u32 = 0;
    // Set after a Stop outcome: nothing is sent until the config changes (or SIGHUP).
    let mut stopped = false;
    loop {
        let wait = if stopped {
            cfg.interval
        } else {
            match tick::tick(&cfg, &client, &mut state, false) {
                Tick::Updated | Tick::UpToDate(_) | Tick::DryRun { .. } => {
                    failures = 0;
                    cfg.interval
                }
                Tick::NoAddress => {
                    failures = 0;
                    log::warn!("{}", Failure::NoAddress);
                    cfg.interval
                }
                Tick::Retry { failure, after } => {
                    failures = failures.saturating_add(1);
                    let wait = match after {
                        // The server said when; honour it (jitter only upwards).
                        Some(a) => a + signals::jitter(Duration::from_secs(1), 1.0),
                        None => signals::jitter(signals::backoff(failures, cfg.interval), 0.2),
                    };
                    log::warn!("{failure}; retrying in {}s", wait.as_secs());
                    wait
                }
                Tick::Stop(failure) => {
                    log::error!(
                        "{failure}; not sending again until the config changes (or SIGHUP)"
                    );
                    stopped = true;
                    cfg.interval
                }
            }
        };
        let wait = if failures == 0 {
            signals::jitter(wait, 0.05)
        } else {
            wait
        };
        let (reload, explicit) = match signals.sleep(wait) {
            Wake::Terminate => {
                log::info!("signal received, exiting");
                return exit::OK;
            }
            Wake::Reload => {
                log::info!("SIGHUP: re-reading the configuration");
                (true, true)
            }
            // While stopped, look for an edited config (or token file) on every interval.
            Wake::Timeout => (stopped, false),
        };
        if reload {
            match source.load() {
                Ok(new) => {
                    let changed = new != cfg;
                    if changed {
                        log::info!("configuration changed: {}", new.summary());
                        if new.timeout != cfg.timeout || new.ca != cfg.ca {
                            client = Client::for_config(&new);
                        }
                        // Another server, token or protocol: the tick's State::adopt starts over.
                        if new.state_file != cfg.state_file {
                            state = State::load(&new.state_file, Identity::of(&new));
                        }
                        cfg = new;
                    }
                    // An explicit SIGHUP also clears a Stop: the operator may have fixed the
                    // server side (e.g. created the hostname).
                    if changed || explicit {
                        stopped = false;
                        failures = 0;
                    }
                }
                Err(e) => log::error!("{e}; keeping the previous configuration"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags() {
        assert_eq!(parse_flags(args(&[])), Ok(Command::Run(Flags::default())));
        assert_eq!(
            parse_flags(args(&["--config", "a.toml", "--once", "-v", "--dry-run"])),
            Ok(Command::Run(Flags {
                config: Some("a.toml".into()),
                once: true,
                dry_run: true,
                verbose: true
            }))
        );
        assert_eq!(
            parse_flags(args(&["--config=b.toml"])),
            Ok(Command::Run(Flags {
                config: Some("b.toml".into()),
                ..Flags::default()
            }))
        );
        assert_eq!(parse_flags(args(&["--once", "-h"])), Ok(Command::Help));
        assert_eq!(parse_flags(args(&["--version"])), Ok(Command::Version));
        assert!(parse_flags(args(&["--config"])).is_err());
        assert!(parse_flags(args(&["--bogus"])).is_err());
    }
}
