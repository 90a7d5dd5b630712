//! The model: what the service's things are (users, zones, hostnames, records, RRsets) and the
//! rules every value obeys (names, addresses, TTLs, record content), as plain types and pure
//! functions. No I/O: the store keeps these types, the domain layer applies them, the APIs
//! parse into them, and the DNS view takes the RRsets they project to. It imports nothing of
//! the crate's other modules.

pub mod content;
pub mod hostname;
pub mod name;
pub mod record;
pub mod rrset;
pub mod rtype;
pub mod update;
pub mod user;
pub mod value;
pub mod zone;

use std::fmt;

pub use hostname::{Changes, Hostname};
pub use record::Record;
pub use rrset::{RecordData, RrsetChange};
pub use rtype::RType;
pub use user::{Status, User};
pub use value::TtlRange;
pub use zone::{Zone, ZoneKind};

/// A value that breaks a rule. Callers never act on the kind of break, only show it, so it is
/// the text itself: short, lowercase, safe to send to the client (client input in it goes
/// through `name::printable`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(msg: &str) -> Invalid {
        Invalid(msg.to_string())
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}
