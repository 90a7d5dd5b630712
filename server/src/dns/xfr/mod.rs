//! Secondaries: zone transfers out (AXFR, RFC 5936; IXFR, RFC 1995), NOTIFY to the configured
//! secondaries (RFC 1996), and TSIG (RFC 8945) on ordinary queries, which secondaries sign
//! before each refresh.
//!
//! Layout: this file holds the configuration (`XfrConfig`: the keys and the secondaries with
//! the zones each one follows) and what the rest of `dns` asks of it (which key may transfer
//! which zone). `journal.rs` encodes a published group's changes for the store's journal and
//! reads a run of entries back for one condensed IXFR difference; `chain.rs` keeps a signed
//! zone's NSEC3 chain as the secondaries hold it. `transfer.rs` answers
//! AXFR and IXFR over TCP: its own loop, message by message, each written before the next is
//! built (backpressure), signed as RFC 8945 §5.3.1 asks. `notify.rs` sends NOTIFY: one task per
//! secondary, one message in flight, zones changed meanwhile coalesced, retries with backoff.
//! `signed.rs` verifies TSIG on queries and signs their answers (or answers the TSIG error).
//!
//! The store keeps the journal (`store/journal.rs`) and hands the DNS side a reader for it
//! (`JournalSource`), so the DNS code still never opens SQLite itself.

mod chain;
pub mod export;
pub(crate) mod journal;
mod notify;
pub(crate) mod signed;
pub(crate) mod transfer;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::tsig::TsigKey;

pub use journal::JournalSource;

/// One `[[dns.secondaries]]` entry.
#[derive(Debug, Clone)]
pub struct Secondary {
    /// Where NOTIFY goes.
    pub notify: SocketAddr,
    /// Signs NOTIFY; transfers of its zones need a request signed with it.
    pub key: Arc<TsigKey>,
    /// The zones it follows (lowercase, no trailing dot); `None` = every zone (`["*"]`).
    pub zones: Option<Vec<String>>,
}

impl Secondary {
    pub fn follows(&self, zone: &str) -> bool {
        match &self.zones {
            None => true,
            Some(list) => list.iter().any(|z| z.eq_ignore_ascii_case(zone)),
        }
    }
}

/// `[[dns.tsig_keys]]` and `[[dns.secondaries]]`, checked (config.rs).
#[derive(Debug, Clone, Default)]
pub struct XfrConfig {
    pub keys: Vec<Arc<TsigKey>>,
    pub secondaries: Vec<Secondary>,
}

impl XfrConfig {
    /// The key of that name (TSIG key names are domain names: compared without case).
    pub fn key(&self, name: &str) -> Option<Arc<TsigKey>> {
        self.keys
            .iter()
            .find(|k| k.name().eq_ignore_ascii_case(name.trim_end_matches('.')))
            .cloned()
    }

    /// May a request signed with `key` transfer `zone`? Only when a secondary following the
    /// zone is configured with that key (SPEC.md: "AXFR/IXFR of its zones need a request
    /// signed with it").
    pub fn may_transfer(&self, key: &TsigKey, zone: &str) -> bool {
        self.secondaries
            .iter()
            .any(|s| s.key.name() == key.name() && s.follows(zone))
    }
}

/// The transfer side of a running view: its config, the journal reader the store hands over
/// once it is open, and the NOTIFY sender once the listeners run.
pub(crate) struct Xfr {
    pub cfg: XfrConfig,
    journal: OnceLock<Arc<dyn JournalSource>>,
    notifier: OnceLock<notify::Notifier>,
    /// Signed zones' NSEC3 chains as secondaries hold them (made at the first transfer).
    chains: Mutex<HashMap<String, Slot>>,
    /// Held while a chain is built, so that secondaries transferring a zone at the same time
    /// get the same chain (the same signatures), not one each.
    pub(crate) building: Mutex<()>,
}

/// One zone's kept chain; the writer holds the lock while it publishes a group, so a
/// transfer that takes it sees the chain and the snapshot at the same serial.
pub(crate) type Slot = Arc<Mutex<Option<chain::LiveChain>>>;

pub(crate) fn lock(slot: &Slot) -> MutexGuard<'_, Option<chain::LiveChain>> {
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

impl Xfr {
    pub fn new(cfg: XfrConfig) -> Xfr {
        Xfr {
            cfg,
            journal: OnceLock::new(),
            notifier: OnceLock::new(),
            chains: Mutex::default(),
            building: Mutex::new(()),
        }
    }

    fn chains(&self) -> MutexGuard<'_, HashMap<String, Slot>> {
        self.chains.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The chain slot of `zone`, made if missing.
    pub fn slot(&self, zone: &str) -> Slot {
        self.chains().entry(zone.to_string()).or_default().clone()
    }

    pub fn existing_slot(&self, zone: &str) -> Option<Slot> {
        self.chains().get(zone).cloned()
    }

    /// The zone was loaded anew or removed: its kept chain no longer follows it.
    pub fn forget(&self, zone: &str) {
        if let Some(s) = self.existing_slot(zone) {
            *lock(&s) = None;
        }
    }

    pub fn journal(&self) -> Option<&Arc<dyn JournalSource>> {
        self.journal.get()
    }

    pub fn set_journal(&self, j: Arc<dyn JournalSource>) {
        let _ = self.journal.set(j);
    }

    /// A zone's published contents changed: tell its secondaries (nothing before the
    /// listeners start; they are told about every zone then).
    pub fn changed(&self, zone: &str) {
        if let Some(n) = self.notifier.get() {
            n.kick(zone);
        }
    }
}

/// Start the NOTIFY tasks on the current runtime and notify every zone once, so secondaries
/// that missed changes while this server was down catch up now rather than at their next
/// SOA refresh.
pub(crate) fn start_notifier(view: &Arc<super::DnsView>) {
    let Some(x) = &view.xfr else { return };
    if x.cfg.secondaries.is_empty() {
        return;
    }
    let n = notify::Notifier::start(Arc::downgrade(view), &x.cfg.secondaries);
    let zones: Vec<String> = view
        .zones
        .load()
        .values()
        .map(|z| z.name.to_string())
        .collect();
    for z in &zones {
        n.kick(z);
    }
    let _ = x.notifier.set(n);
}

#[cfg(test)]
mod tests;
