//! The DNS projection of stored data: the full new state of one RRset, as the store publishes
//! it to the DNS view after a commit and as zones are loaded.

use super::RType;

/// One record of an RRset: TTL and the normalised content text (as `content::normalize`
/// gives).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordData {
    pub ttl: u32,
    pub content: String,
}

/// The full new state of one RRset. An empty `records` deletes the RRset.
#[derive(Debug, Clone)]
pub struct RrsetChange {
    /// Owner name: lowercase fqdn without trailing dot (`www.example.org`, or the zone name for
    /// the apex).
    pub name: String,
    pub rtype: RType,
    pub records: Vec<RecordData>,
}
