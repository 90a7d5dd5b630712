//! `RType`: the record types the APIs accept and the responder serves, with their names
//! and DNS TYPE codes. Content rules per type live in `content.rs`.

use std::fmt;
use std::str::FromStr;

use super::Invalid;

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

    /// The DNS TYPE code (RFC 1035 §3.2.2, RFC 3596, RFC 2782, RFC 8659).
    pub fn code(self) -> u16 {
        match self {
            RType::A => 1,
            RType::Ns => 2,
            RType::Cname => 5,
            RType::Soa => 6,
            RType::Ptr => 12,
            RType::Mx => 15,
            RType::Txt => 16,
            RType::Aaaa => 28,
            RType::Srv => 33,
            RType::Caa => 257,
        }
    }

    /// The inverse of `code`, for the types we serve.
    pub fn from_code(code: u16) -> Option<RType> {
        Some(match code {
            1 => RType::A,
            2 => RType::Ns,
            5 => RType::Cname,
            6 => RType::Soa,
            12 => RType::Ptr,
            15 => RType::Mx,
            16 => RType::Txt,
            28 => RType::Aaaa,
            33 => RType::Srv,
            257 => RType::Caa,
            _ => return None,
        })
    }
}

impl fmt::Display for RType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RType {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
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
            _ => return Err(Invalid(format!("unsupported record type '{s}'"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtype_round_trips() {
        for t in [
            RType::A,
            RType::Aaaa,
            RType::Cname,
            RType::Mx,
            RType::Ns,
            RType::Srv,
            RType::Txt,
            RType::Caa,
            RType::Ptr,
            RType::Soa,
        ] {
            assert_eq!(t.as_str().parse::<RType>(), Ok(t));
            assert_eq!(t.as_str().to_lowercase().parse::<RType>(), Ok(t));
            assert_eq!(RType::from_code(t.code()), Some(t));
        }
        assert!("DS".parse::<RType>().is_err());
    }
}
