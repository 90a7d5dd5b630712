//! Record types and content rules shared by the LuaDNS-style API (validation, normalisation)
//! and the DNS responder (content text -> wire RDATA).
//!
//! INTERFACE STUB: the real implementation replaces the bodies, keeping these signatures.

use std::fmt;
use std::str::FromStr;

/// Record types the API accepts and the responder serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RType {
    A,
    Aaaa,
    Cname,
    Mx,
    Ns,
    Srv,
    Txt,
    Caa,
    Ptr,
    Soa,
}

impl RType {
    pub fn as_str(self) -> &'static str {
        match self {
            RType::A => "A",
            RType::Aaaa => "AAAA",
            RType::Cname => "CNAME",
            RType::Mx => "MX",
            RType::Ns => "NS",
            RType::Srv => "SRV",
            RType::Txt => "TXT",
            RType::Caa => "CAA",
            RType::Ptr => "PTR",
            RType::Soa => "SOA",
        }
    }
}

impl fmt::Display for RType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RType {
    type Err = RecordError;
    fn from_str(s: &str) -> Result<Self, RecordError> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "A" => RType::A,
            "AAAA" => RType::Aaaa,
            "CNAME" => RType::Cname,
            "MX" => RType::Mx,
            "NS" => RType::Ns,
            "SRV" => RType::Srv,
            "TXT" => RType::Txt,
            "CAA" => RType::Caa,
            "PTR" => RType::Ptr,
            "SOA" => RType::Soa,
            _ => return Err(RecordError(format!("unsupported record type '{s}'"))),
        })
    }
}

/// A content or name that fails validation; the text is safe to show to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError(pub String);

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RecordError {}

/// Validate `content` for `rtype` and return its canonical text form (the form stored, returned
/// by the API and turned into RDATA by the responder). Domain-name targets come back as
/// lowercase fqdns with a trailing dot; TXT comes back unquoted.
pub fn normalize(rtype: RType, content: &str) -> Result<String, RecordError> {
    Ok(format!("{rtype} {content}")
        .split_once(' ')
        .map(|x| x.1.to_string())
        .unwrap_or_default())
}
