//! One check-and-push: detect the addresses (and the LAN prefix), ask the state what must be
//! sent, send one request for all hostnames that need it, record what the server acknowledged.
//! Used by `--once`, `--dry-run` and each round of the daemon loop.
//!
//! It returns a [`Tick`] and logs only successes and, when the tick did not fail, detection
//! warnings; the caller decides how to report failures (one stderr line and an exit code for
//! `--once`, warn/error plus backoff for the daemon) and how long to wait.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::client::{Client, Outcome};
use crate::config::Config;
use crate::detect::{self, Detected};
use crate::error::Failure;
use crate::protocol;
use crate::state::{Identity, State};

/// How one tick ended.
#[derive(Debug)]
pub enum Tick {
    /// The server already has these addresses (per the state file); nothing was sent.
    UpToDate(Detected),
    /// The update was acknowledged.
    Updated,
    /// `--dry-run`: this is what would have been sent (URL redacted).
    DryRun { request: String, detected: Detected },
    /// Nothing usable was detected (no error: e.g. no global IPv6 and IPv4 off).
    NoAddress,
    /// Failed; try again later.
    Retry {
        failure: Failure,
        after: Option<Duration>,
    },
    /// Failed in a way retrying cannot fix.
    Stop(Failure),
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs one tick. `state` is updated and saved when the server acknowledged something.
pub fn tick(cfg: &Config, client: &Client, state: &mut State, dry_run: bool) -> Tick {
    let mut notes = Vec::new();
    let t = run(cfg, client, state, dry_run, &mut notes);
    // After a failure, that failure is the one line worth reading (issue #14 item 23: `--once`
    // printed the detection warning and the failure, two lines about the same trouble). With
    // NoAddress the notes (an interface not found) are the reason, so they stay warnings.
    let failed = matches!(t, Tick::Retry { .. } | Tick::Stop(_));
    for n in notes {
        if failed {
            log::debug!("{n}");
        } else {
            log::warn!("{n}");
        }
    }
    t
}

fn run(
    cfg: &Config,
    client: &Client,
    state: &mut State,
    dry_run: bool,
    notes: &mut Vec<String>,
) -> Tick {
    let detected = match detect::detect(client, &cfg.ipv4, &cfg.ipv6, notes) {
        Ok(d) => d,
        Err(failure) => {
            return Tick::Retry {
                failure,
                after: None,
            }
        }
    };
    log::debug!("detected ipv4={:?} ipv6={:?}", detected.v4, detected.v6);
    if detected == Detected::default() {
        return Tick::NoAddress;
    }
    let prefix = cfg
        .ipv6prefix
        .as_deref()
        .and_then(|i| detect::detect_prefix(i, notes));
    // A config reload (or a state file of an older agent) may bring another identity.
    state.adopt(Identity::of(cfg));
    let now = now_unix();
    let Some(plan) = state.plan(&cfg.hostnames, detected, prefix, now, cfg.force_interval) else {
        log::debug!("addresses unchanged; nothing to send");
        return Tick::UpToDate(detected);
    };
    let request = protocol::build(cfg, &plan);
    if dry_run {
        return Tick::DryRun {
            request: format!("{request:?}"),
            detected,
        };
    }
    let outcome = client.update(cfg.protocol, &request, &plan.hostnames);
    let acked: &[String] = match &outcome {
        Outcome::Acked { hostnames, .. } => hostnames,
        Outcome::Retry { acked, .. } | Outcome::Stop { acked, .. } => acked,
    };
    if !acked.is_empty() {
        let what = match &outcome {
            Outcome::Acked {
                changed: Some(false),
                ..
            } => "unchanged on the server",
            _ if plan.forced => "refreshed",
            _ => "updated",
        };
        match plan.prefix {
            Some(p) => log::info!(
                "{what}: {} {} ipv6prefix={p}/64",
                acked.join(","),
                plan.addrs
            ),
            None => log::info!("{what}: {} {}", acked.join(","), plan.addrs),
        }
        state.ack(acked, plan.addrs, plan.prefix, now, &cfg.hostnames);
        if let Err(e) = state.save(&cfg.state_file) {
            // Not fatal: the next start re-pushes once.
            log::warn!("cannot write state file {}: {e}", cfg.state_file.display());
        }
    }
    match outcome {
        Outcome::Acked { .. } => Tick::Updated,
        Outcome::Retry { failure, after, .. } => Tick::Retry { failure, after },
        Outcome::Stop { failure, .. } => Tick::Stop(failure),
    }
}
