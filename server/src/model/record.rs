//! Records of hosted zones, as the store keeps them and the LuaDNS-style API shows them.

use super::RType;

#[derive(Debug, Clone)]
pub struct Record {
    pub id: i64,
    pub zone_id: i64,
    /// Lowercase fqdn without the trailing dot.
    pub name: String,
    pub rtype: RType,
    /// Canonical content (`content::normalize`).
    pub content: String,
    pub ttl: u32,
    pub external_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// The target name of an MX, NS or SRV record (normalised content: the last field, an fqdn
/// with its dot), which RFC 2181 §10.3 says must not be an alias; None for other types and
/// for the root (null MX, "no service").
pub fn alias_free_target(t: RType, content: &str) -> Option<&str> {
    match t {
        RType::Mx | RType::Ns | RType::Srv => content
            .split_whitespace()
            .last()
            .map(|n| n.trim_end_matches('.'))
            .filter(|n| !n.is_empty()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_that_must_not_be_aliases() {
        assert_eq!(
            alias_free_target(RType::Mx, "10 mail.example.org."),
            Some("mail.example.org")
        );
        assert_eq!(alias_free_target(RType::Mx, "0 ."), None);
        assert_eq!(
            alias_free_target(RType::Srv, "1 2 3 sip.example.org."),
            Some("sip.example.org")
        );
        assert_eq!(alias_free_target(RType::Cname, "x.example.org."), None);
    }
}
