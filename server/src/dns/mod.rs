//! DNS side of `lucentd`: the in-memory view of every served zone and the authoritative
//! responder on hickory-server. The write path (store) publishes whole RRsets here after each
//! commit; lookups read snapshots only and never touch SQLite.
//!
//! INTERFACE STUB: the real implementation replaces the bodies, keeping these signatures.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::records::RType;

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
}

/// One record of an RRset: TTL and the normalised content text (as `records::normalize` gives).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordData {
    pub ttl: u32,
    pub content: String,
}

/// The full new state of one RRset. An empty `records` deletes the RRset.
#[derive(Debug, Clone)]
pub struct RrsetChange {
    /// Owner name: lowercase fqdn without trailing dot (`www.example.org`, or the zone name for the apex).
    pub name: String,
    pub rtype: RType,
    pub records: Vec<RecordData>,
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

/// Every served zone, shared by the writers (store) and the responder.
pub struct DnsView {
    _apex: ApexConfig,
}

impl DnsView {
    pub fn new(apex: ApexConfig) -> Self {
        DnsView { _apex: apex }
    }

    /// Add a zone or replace it whole.
    pub fn load_zone(&self, _zone: ZoneContent) {}

    pub fn remove_zone(&self, _name: &str) {}

    /// Replace the given RRsets of one zone and set its SOA serial, visible to the next query.
    pub fn apply(&self, _zone: &str, _serial: u32, _changes: Vec<RrsetChange>) {}

    /// Queries answered per zone since start (cumulative), for `queries_count`.
    pub fn query_counts(&self) -> Vec<(String, u64)> {
        Vec::new()
    }

    /// Append Prometheus text lines (DNS queries by zone and rcode) to `out`.
    pub fn render_metrics(&self, _out: &mut String) {}
}

/// A running DNS listener set; dropping it does not stop it, `shutdown` does.
pub struct DnsServer {
    pub bound: Vec<SocketAddr>,
}

impl DnsServer {
    pub async fn shutdown(self) {}
}

/// Bind UDP and TCP on each address (port 0: one free port shared by both) on the current tokio
/// runtime and start answering from `view`.
pub async fn start(addrs: &[SocketAddr], view: Arc<DnsView>) -> std::io::Result<DnsServer> {
    let _ = view;
    Ok(DnsServer {
        bound: addrs.to_vec(),
    })
}
