//! A DNS UPDATE (RFC 2136) as the rest of the service sees it: the zone, the prerequisites and
//! the updates, each record with its owner, type, class, TTL and content in the API's content
//! form (the DNS side decodes the wire; the domain layer applies it), and the RCODEs an
//! update is answered with (RFC 2136 §2.2).

/// RCODEs of RFC 2136 §2.2 (and RFC 1035 §4.1.1).
pub mod rcode {
    pub const NOERROR: u8 = 0;
    pub const FORMERR: u8 = 1;
    pub const SERVFAIL: u8 = 2;
    pub const NXDOMAIN: u8 = 3;
    pub const NOTIMP: u8 = 4;
    pub const REFUSED: u8 = 5;
    pub const YXDOMAIN: u8 = 6;
    pub const YXRRSET: u8 = 7;
    pub const NXRRSET: u8 = 8;
    pub const NOTAUTH: u8 = 9;
    pub const NOTZONE: u8 = 10;
}

/// CLASS values with a meaning in UPDATE (RFC 2136 §2.4, §2.5).
pub mod class {
    pub const IN: u16 = 1;
    pub const NONE: u16 = 254;
    pub const ANY: u16 = 255;
}

/// TYPE ANY (RFC 1035 §3.2.3), meaning "every RRset" in UPDATE.
pub const TYPE_ANY: u16 = 255;

/// One record of the prerequisite or update section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateRr {
    /// Owner: lowercase, no trailing dot.
    pub name: String,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    /// The RDATA in the API's content form; `None` when the RDATA is empty (RDLENGTH 0);
    /// `Some(Err)` when it is there but has no content form here (an unsupported type).
    pub content: Option<Result<String, String>>,
}

/// A decoded UPDATE, its TSIG already verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateRequest {
    /// The zone section's zone: lowercase, no trailing dot.
    pub zone: String,
    pub prereqs: Vec<UpdateRr>,
    pub updates: Vec<UpdateRr>,
}

/// Why an update was not applied: the RCODE and a line for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub rcode: u8,
    pub why: String,
}

impl Refusal {
    pub fn new(rcode: u8, why: impl Into<String>) -> Refusal {
        Refusal {
            rcode,
            why: why.into(),
        }
    }
}
