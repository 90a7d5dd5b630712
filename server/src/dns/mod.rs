//! DNS side of `lucentd`: the in-memory view of every served zone and the authoritative
//! responder on hickory-server. The write path (store) publishes whole RRsets here after each
//! commit (`apply`, or `stage` while the commit runs and `install` once it has returned);
//! lookups read snapshots only and never touch SQLite.
//!
//! Layout: `zone.rs` holds one zone (copy-on-write shards of nodes with wire RDATA),
//! `lookup.rs` turns a question into answer sections (the RFC 1034 §4.3.2 algorithm),
//! `server.rs` binds the sockets and does EDNS, truncation and counting around it, `udp.rs`
//! serves UDP with `fast.rs` answering the common positive case straight from wire data,
//! `tcp.rs` serves TCP (connection caps and deadlines) through the same handler.
//! `signing.rs` signs a zone's RRsets as they are loaded or changed (DNSSEC), and `secure.rs`
//! adds RRSIGs and per-query denial to DO=1 answers.

mod fast;
mod lookup;
mod rrl;
mod secure;
mod server;
mod signing;
mod tcp;
pub mod tsig;
mod udp;
pub mod update;
pub mod xfr;
mod zone;

use foldhash::fast::RandomState;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::Name;

pub use crate::model::{RecordData, RrsetChange};
use signing::Signer;
pub use signing::{SigChange, SigSource, StoredSig, ZoneKeys};
pub use zone::{HostRow, HostSource};
use zone::{SoaForm, Zone, ZoneData};

pub use rrl::RrlConfig;
pub use server::DnsServer;
pub use tcp::TcpConfig;

/// Apex settings from the config (`[dns]`): SOA fields and the NS names of every zone.
#[derive(Debug, Clone)]
pub struct ApexConfig {
    /// NS host names (fqdn, no trailing dot); the first is the SOA MNAME.
    pub nameservers: Vec<String>,
    /// SOA RNAME as a domain name (`hostmaster.example.net`, no trailing dot).
    pub rname: String,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
    /// SOA MINIMUM: the negative-caching TTL (RFC 2308).
    pub minimum: u32,
    pub soa_ttl: u32,
    pub ns_ttl: u32,
    /// How zones are signed (`[dnssec]`).
    pub dnssec: crate::dnssec::DnssecConfig,
}

/// A whole zone as loaded from the store (at start-up or when a zone is added).
#[derive(Debug, Clone)]
pub struct ZoneContent {
    /// Lowercase zone name without trailing dot.
    pub name: String,
    pub serial: u32,
    /// Every RRset except the SOA, which the view synthesises from `ApexConfig` and `serial`.
    pub rrsets: Vec<RrsetChange>,
}

/// Response codes counted per zone; anything else lands in `OTHER`.
const RCODE_NAMES: [&str; 8] = [
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "BADVERS", "OTHER",
];

/// Cumulative query counters of one zone (or of the out-of-zone bucket): relaxed atomics, as
/// nothing orders against them.
#[derive(Default)]
pub(crate) struct Counters {
    queries: AtomicU64,
    by_rcode: [AtomicU64; RCODE_NAMES.len()],
}

impl Counters {
    pub fn count(&self, rcode: ResponseCode) {
        let slot = match u16::from(rcode) {
            code @ 0..=5 => usize::from(code),
            16 => 6,
            _ => 7,
        };
        self.queries.fetch_add(1, Ordering::Relaxed);
        self.by_rcode[slot].fetch_add(1, Ordering::Relaxed);
    }

    pub fn total(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }
}

/// Served zones by apex in wire form without the root label (`\x07example\x03org`), so a
/// query name's suffixes can be looked up as slices without allocating.
type ZoneMap = HashMap<Box<[u8]>, Arc<Zone>, RandomState>;

/// The apex settings, parsed once.
struct Apex {
    nameservers: Vec<Name>,
    rname: Option<Name>,
    cfg: ApexConfig,
}

/// Every served zone, shared by the writers (store) and the responder.
pub struct DnsView {
    apex: Apex,
    zones: ArcSwap<ZoneMap>,
    /// Serialises changes to the zone map (adding/removing zones); readers never take it.
    zones_write: Mutex<()>,
    /// Picks shards inside zones; randomly keyed so owner names cannot be chosen to pile up
    /// (foldhash: per-process random seed, and cheap on the short keys every query hashes).
    hasher: RandomState,
    /// Queries for no served zone (REFUSED) and malformed ones: `zone=""` in the metrics.
    other: Counters,
    /// UDP response rate limiting, when configured (`with_rrl`).
    rrl: Option<rrl::Rrl>,
    /// This server's name for NSID and CH TXT `id.server` (`with_server_id`).
    server_id: Option<String>,
    /// Unix seconds for signature validity (`with_clock` in tests).
    clock: fn() -> u64,
    /// Signatures made since the store last took them (`take_signature_changes`).
    sig_log: Mutex<Vec<SigChange>>,
    /// Zones whose every signature is to be kept (`SigChange::Dump`), for the chores only.
    sig_dumps: Mutex<Vec<SigChange>>,
    /// Zone transfers and NOTIFY, when TSIG keys are configured (`with_xfr`).
    xfr: Option<xfr::Xfr>,
    /// DNS UPDATE (`set_update_handler`): without it every UPDATE is refused.
    update: std::sync::OnceLock<Arc<dyn update::UpdateHandler>>,
}

/// One zone's changes staged by `DnsView::stage`: the next snapshot, built and signed, and
/// what it was made from (to apply again should the zone have changed before `install`).
pub struct Staged {
    zone: Arc<Zone>,
    serial: u32,
    changes: Vec<RrsetChange>,
    soa: SoaForm,
    next: zone::Staged,
}

/// `a.b` -> fqdn `Name`, lowercase.
fn fqdn(name: &str) -> Option<Name> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return None;
    }
    Name::from_ascii(format!("{name}."))
        .ok()
        .map(|n| n.to_lowercase())
}

/// Wire form of a name's labels, without the root label.
fn wire_key(name: &Name) -> Box<[u8]> {
    let mut key = Vec::with_capacity(name.len() + 1);
    for label in name.iter() {
        // Labels are at most 63 octets (RFC 1035 §2.3.4).
        key.push(label.len() as u8);
        key.extend_from_slice(label);
    }
    key.into_boxed_slice()
}

impl DnsView {
    pub fn new(apex: ApexConfig) -> Self {
        let nameservers = apex
            .nameservers
            .iter()
            .filter_map(|n| {
                let parsed = fqdn(n);
                if parsed.is_none() {
                    log::warn!("dns: ignoring invalid nameserver name {n:?}");
                }
                parsed
            })
            .collect();
        let rname = fqdn(&apex.rname);
        if rname.is_none() {
            log::warn!(
                "dns: invalid SOA rname {:?}; using hostmaster.<zone>",
                apex.rname
            );
        }
        DnsView {
            apex: Apex {
                nameservers,
                rname,
                cfg: apex,
            },
            zones: ArcSwap::from_pointee(HashMap::default()),
            zones_write: Mutex::new(()),
            hasher: RandomState::default(),
            other: Counters::default(),
            rrl: None,
            server_id: None,
            clock: crate::clock::unix_now,
            sig_log: Mutex::default(),
            sig_dumps: Mutex::default(),
            xfr: None,
            update: std::sync::OnceLock::new(),
        }
    }

    /// Serve zone transfers and send NOTIFY as `cfg` says (nothing when it names no key).
    pub fn with_xfr(mut self, cfg: xfr::XfrConfig) -> Self {
        self.xfr = (!cfg.keys.is_empty()).then(|| xfr::Xfr::new(cfg));
        self
    }

    /// Whether published changes should be journaled (transfers are configured).
    pub fn journaling(&self) -> bool {
        self.xfr.is_some()
    }

    /// Who applies DNS UPDATEs (the domain layer, installed by `serve`).
    pub fn set_update_handler(&self, h: Arc<dyn update::UpdateHandler>) {
        let _ = self.update.set(h);
    }

    /// The store's journal, for IXFR.
    pub fn set_journal(&self, j: Arc<dyn xfr::JournalSource>) {
        if let Some(x) = &self.xfr {
            x.set_journal(j);
        }
    }

    /// A zone's served contents changed (secondaries are told).
    fn changed(&self, zone: &str) {
        if let Some(x) = &self.xfr {
            x.changed(zone);
        }
    }

    /// The signatures made (and dropped) since the last call, for the store to keep.
    pub fn take_signature_changes(&self) -> Vec<SigChange> {
        let mut all =
            std::mem::take(&mut *self.sig_dumps.lock().unwrap_or_else(|e| e.into_inner()));
        all.append(&mut self.sig_log.lock().unwrap_or_else(|e| e.into_inner()));
        all
    }

    /// At most `n` of them (the oldest), leaving the rest.
    pub fn take_some_signature_changes(&self, n: usize) -> Vec<SigChange> {
        let mut log = self.sig_log.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() <= n {
            return std::mem::take(&mut *log);
        }
        log.drain(..n).collect()
    }

    /// Hand the signatures zone `zone` serves to `f` in batches of at most `batch`, each item
    /// (owner key, type, RRset digest, RRSIG RDATAs) borrowed from one snapshot that is walked
    /// once (no copy per signature, no re-walk per batch: a first start keeps every one). None
    /// when the zone is not served signed; else how many were handed over, or `f`'s error.
    /// A batch `f` leaves untouched ends the walk.
    pub fn each_zone_signature<E>(
        &self,
        zone: &str,
        batch: usize,
        mut f: impl FnMut(&mut dyn Iterator<Item = (&[u8], u16, i64, &[u8])>) -> Result<(), E>,
    ) -> Option<Result<usize, E>> {
        let z = self.zone(zone)?;
        let data = z.data.load_full();
        data.sec.as_ref()?;
        let mut all = data
            .signed_rrsets()
            .map(|(key, set)| {
                let code = set.rtype.code();
                let digest = signing::rrset_digest(code, set.ttl, set.data);
                (key, code, digest, set.sigs)
            })
            .peekable();
        let mut n = 0;
        while all.peek().is_some() {
            let before = n;
            let mut some = all.by_ref().take(batch).inspect(|_| n += 1);
            if let Err(e) = f(&mut some) {
                return Some(Err(e));
            }
            if n == before {
                break;
            }
        }
        Some(Ok(n))
    }

    fn log_signatures(&self, mut log: Vec<SigChange>) {
        if log.iter().any(|c| matches!(c, SigChange::Dump { .. })) {
            let (dumps, rest): (Vec<SigChange>, Vec<SigChange>) = log
                .into_iter()
                .partition(|c| matches!(c, SigChange::Dump { .. }));
            self.sig_dumps
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(dumps);
            log = rest;
        }
        if !log.is_empty() {
            self.sig_log
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .append(&mut log);
        }
    }

    /// Use another clock for signature times (tests: refresh without waiting for days).
    pub fn with_clock(mut self, clock: fn() -> u64) -> Self {
        self.clock = clock;
        self
    }

    /// The SOA of `zone` at `serial` as signed: canonical RDATA and the SOA TTL (nothing for an
    /// unsigned zone, which never signs it: the write path does not pay for it).
    fn soa_form(&self, zone: &Zone, serial: u32, signed: bool) -> SoaForm {
        use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
        if !signed {
            return SoaForm {
                data: Vec::new(),
                ttl: 0,
            };
        }
        let rec = self.soa(zone, serial, self.apex.cfg.soa_ttl);
        let mut data = Vec::with_capacity(64);
        let mut enc = BinEncoder::new(&mut data);
        enc.set_canonical_form(true);
        if let Err(e) = rec.data.emit(&mut enc) {
            log::error!("dns: encoding the SOA of {}: {e}", zone.name);
        }
        let mut framed = Vec::with_capacity(2 + data.len());
        framed.extend_from_slice(&(data.len() as u16).to_be_bytes());
        framed.extend_from_slice(&data);
        SoaForm {
            data: framed,
            ttl: self.apex.cfg.soa_ttl,
        }
    }

    /// Limit UDP answers per client network (off when `cfg` sets no rate).
    pub fn with_rrl(mut self, cfg: RrlConfig) -> Self {
        self.rrl = rrl::Rrl::new(cfg);
        self
    }

    /// Identify this server in NSID (RFC 5001) and CH TXT `id.server` / `hostname.bind`
    /// answers (neither when `None`).
    pub fn with_server_id(mut self, id: Option<String>) -> Self {
        self.server_id = id;
        self
    }

    fn zone(&self, name: &str) -> Option<Arc<Zone>> {
        let key = wire_key(&fqdn(name)?);
        self.zones.load().get(&key).cloned()
    }

    /// Add a zone or replace it whole.
    pub fn load_zone(&self, zone: ZoneContent) {
        self.load_zone_from(&zone.name, zone.serial, zone.rrsets);
    }

    /// Add a zone or replace it whole from a stream of RRsets (each encoded as it arrives, so
    /// a large zone never exists twice in memory). Readers see the old contents until the new
    /// ones are complete.
    pub fn load_zone_from(
        &self,
        name: &str,
        serial: u32,
        rrsets: impl IntoIterator<Item = RrsetChange>,
    ) {
        let none = &mut std::iter::empty().peekable();
        let no_hosts = &mut std::iter::empty::<HostRow>();
        self.load_zone_signed(name, serial, None, none, rrsets, no_hosts)
    }

    /// As `load_zone_from`, signing the zone with `keys` when given (DNSSEC), with the
    /// zone's hostnames given as stored (`hosts`) after its other RRsets.
    pub fn load_zone_signed(
        &self,
        name: &str,
        serial: u32,
        keys: Option<ZoneKeys>,
        stored: &mut dyn SigSource,
        rrsets: impl IntoIterator<Item = RrsetChange>,
        hosts: &mut dyn HostSource,
    ) {
        let Some(apex) = fqdn(name) else {
            log::warn!("dns: cannot serve zone with invalid name {name:?}");
            return;
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if let Some(x) = &self.xfr {
            x.forget(&name);
        }
        let signer = keys
            .and_then(|k| {
                let cfg = &self.apex.cfg;
                let proof_ttl = cfg.soa_ttl.min(cfg.minimum);
                Signer::new(&name, k, cfg.dnssec, proof_ttl, self.clock)
            })
            .map(Arc::new);
        let _w = self.zones_write.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = self.zones.load().get(&wire_key(&apex)) {
            let soa = self.soa_form(existing, serial, signer.is_some());
            let mut log = Vec::new();
            existing.load_with_hosts(
                &self.hasher,
                serial,
                rrsets,
                hosts,
                signer,
                &soa,
                stored,
                &mut log,
            );
            self.log_signatures(log);
            self.changed(&name);
            return;
        }
        let z = Zone::new(apex.clone(), &name, ZoneData::empty(serial), Arc::default());
        let soa = self.soa_form(&z, serial, signer.is_some());
        let mut log = Vec::new();
        z.load_with_hosts(
            &self.hasher,
            serial,
            rrsets,
            hosts,
            signer,
            &soa,
            stored,
            &mut log,
        );
        self.log_signatures(log);
        let mut map: ZoneMap = (**self.zones.load()).clone();
        map.insert(wire_key(&apex), Arc::new(z));
        self.zones.store(Arc::new(map));
        self.changed(&name);
    }

    pub fn remove_zone(&self, name: &str) {
        let Some(apex) = fqdn(name) else { return };
        let _w = self.zones_write.lock().unwrap_or_else(|e| e.into_inner());
        let mut map: ZoneMap = (**self.zones.load()).clone();
        if map.remove(&wire_key(&apex)).is_some() {
            self.zones.store(Arc::new(map));
        }
        if let Some(x) = &self.xfr {
            x.forget(name.trim_end_matches('.'));
        }
    }

    /// Replace the given RRsets of one zone and set its SOA serial, visible to the next query.
    pub fn apply(&self, zone: &str, serial: u32, changes: Vec<RrsetChange>) {
        if let Some(staged) = self.stage(zone, serial, changes) {
            self.install(staged);
        }
    }

    /// `apply` in two steps: build (and sign) the zone's next snapshot now, serve it with
    /// `install`. Between the two the snapshot served is unchanged, so a write group stages
    /// its changes while its COMMIT runs and installs them once it has returned
    /// (`store/commit.rs`). None, with a warning, for a zone not served.
    pub fn stage(&self, zone: &str, serial: u32, changes: Vec<RrsetChange>) -> Option<Staged> {
        let Some(z) = self.zone(zone) else {
            log::warn!("dns: apply to unknown zone {zone:?} ignored");
            return None;
        };
        let signed = z.data.load().sec.is_some();
        let soa = self.soa_form(&z, serial, signed);
        let next = z.stage(&self.hasher, serial, &changes, &soa);
        Some(Staged {
            zone: z,
            serial,
            changes,
            soa,
            next,
        })
    }

    /// Whether `zone` is served signed.
    pub fn is_signed(&self, zone: &str) -> bool {
        self.zone(zone).is_some_and(|z| z.data.load().sec.is_some())
    }

    /// Serve a staged change, visible to the next query.
    pub fn install(&self, s: Staged) {
        let z = &s.zone;
        // A signed zone's chain kept for secondaries follows the group (xfr/chain.rs), under
        // its lock so that transfers see chain and snapshot at one serial.
        let slot = self.xfr.as_ref().and_then(|x| x.existing_slot(&z.name));
        let mut live = slot.as_ref().map(xfr::lock);
        let follow = live.as_ref().is_some_and(|l| l.is_some());
        let keys: Vec<Vec<u8>> = if follow {
            s.changes
                .iter()
                .filter_map(|c| zone::key_for_owner(&c.name, &z.name))
                .collect()
        } else {
            Vec::new()
        };
        let before = follow.then(|| z.data.load_full());
        let log = z.install(&self.hasher, s.next, s.serial, &s.changes, &s.soa);
        if let (Some(live), Some(before)) = (live.as_mut(), before) {
            let after = z.data.load_full();
            let kept = live
                .as_mut()
                .is_some_and(|c| c.advance(&self.hasher, &before, &after, &keys));
            if !kept {
                **live = None;
            }
        }
        drop(live);
        self.log_signatures(log);
        self.changed(&s.zone.name);
    }

    /// Now, by the clock signatures are made with.
    pub fn now(&self) -> u64 {
        (self.clock)()
    }

    /// Signed zones whose oldest signature expires within their refresh time of `now`.
    pub fn refresh_due(&self, now: u64) -> Vec<String> {
        let now = now as u32;
        let mut out: Vec<String> = self
            .zones
            .load()
            .values()
            .filter(|z| {
                let data = z.data.load();
                data.sec.as_ref().is_some_and(|sec| {
                    // RFC 1982 arithmetic on 32-bit times (RFC 4034 §3.1.5).
                    let left = sec.oldest_expiry.wrapping_sub(now) as i32;
                    i64::from(left) < sec.signer.config().refresh_secs as i64
                })
            })
            .map(|z| z.name.to_string())
            .collect();
        out.sort();
        out
    }

    /// Queries answered per zone since start (cumulative), for `queries_count`.
    pub fn query_counts(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = self
            .zones
            .load()
            .values()
            .map(|z| (z.name.to_string(), z.counters.total()))
            .collect();
        out.sort();
        out
    }

    /// Append Prometheus text lines (DNS queries by zone and rcode) to `out`.
    pub fn render_metrics(&self, out: &mut String) {
        out.push_str(
            "# HELP lucent_dns_queries_total DNS queries answered, by zone and response code.\n\
             # TYPE lucent_dns_queries_total counter\n",
        );
        let mut zones: Vec<(String, Arc<Counters>)> = self
            .zones
            .load()
            .values()
            .map(|z| (z.name.to_string(), z.counters.clone()))
            .collect();
        zones.sort_by(|a, b| a.0.cmp(&b.0));
        let mut line = |zone: &str, counters: &Counters, always: bool| {
            for (i, rcode) in RCODE_NAMES.iter().enumerate() {
                let n = counters.by_rcode[i].load(Ordering::Relaxed);
                // NOERROR is always listed so every zone shows up; other codes once seen.
                if n > 0 || (always && i == 0) {
                    let _ = writeln!(
                        out,
                        "lucent_dns_queries_total{{zone=\"{}\",rcode=\"{rcode}\"}} {n}",
                        escape_label(zone)
                    );
                }
            }
        };
        for (name, counters) in &zones {
            line(name, counters, true);
        }
        line("", &self.other, false);
        if let Some(r) = &self.rrl {
            let _ = write!(
                out,
                "# HELP lucent_dns_rrl_total UDP answers held back by response rate limiting.\n\
                 # TYPE lucent_dns_rrl_total counter\n\
                 lucent_dns_rrl_total{{action=\"dropped\"}} {}\n\
                 lucent_dns_rrl_total{{action=\"slipped\"}} {}\n",
                r.dropped.load(Ordering::Relaxed),
                r.slipped.load(Ordering::Relaxed)
            );
        }
    }
}

/// Prometheus label-value escaping (backslash, quote, newline).
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Bind UDP and TCP on each address (port 0: one free port shared by both) on the current tokio
/// runtime and start answering from `view`.
pub async fn start(
    addrs: &[SocketAddr],
    view: Arc<DnsView>,
    tcp: TcpConfig,
) -> std::io::Result<DnsServer> {
    let server = server::start(addrs, view.clone(), tcp).await?;
    xfr::start_notifier(&view);
    Ok(server)
}

#[cfg(test)]
pub(crate) mod tests;
