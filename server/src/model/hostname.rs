//! Hostnames of shared DDNS zones: one label under the zone, at most one A, one AAAA and one
//! TXT value, a TTL and a note, with typed addresses. `Changes` is what a client asks to set,
//! validated before anything is touched and applied the same way by every API family; the
//! DNS projection (`rrsets`) is the one place that says which RRsets a hostname owns.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::content::txt_content;
use super::{RType, RecordData, RrsetChange};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostname {
    /// `host_…`
    pub id: String,
    pub zone_id: i64,
    /// The zone's name (lowercase, no trailing dot).
    pub zone: String,
    /// '' for the zone apex (operator-managed only).
    pub label: String,
    /// None: operator-managed.
    pub user_id: Option<i64>,
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
    pub txt: Option<String>,
    pub ttl: u32,
    pub note: Option<String>,
    /// Empty until the row is first written (an operator-managed name made on first update).
    pub created_at: String,
    pub updated_at: String,
    /// The interface identifier of a device behind a router (`ipv6Suffix`): a push of the
    /// router's prefix sets AAAA = prefix + suffix (`value::Ipv6Prefix::address_for`).
    pub ipv6_suffix: Option<Ipv6Addr>,
    /// The client address of the last change (None: before schema step 10, or made by an
    /// admin command).
    pub updated_from: Option<IpAddr>,
}

impl Hostname {
    pub fn fqdn(&self) -> String {
        fqdn(&self.label, &self.zone)
    }

    /// Not stored yet.
    pub fn is_new(&self) -> bool {
        self.created_at.is_empty()
    }

    /// The RRsets this hostname owns in DNS, in their current state (empty = absent).
    pub fn rrsets(&self) -> Vec<RrsetChange> {
        host_rrsets(
            &self.fqdn(),
            &self.label,
            self.ttl,
            self.ipv4,
            self.ipv6,
            self.txt.as_deref(),
        )
    }

    /// The same RRsets, all emptied (for deletion).
    pub fn rrsets_removed(&self) -> Vec<RrsetChange> {
        let mut v = self.rrsets();
        for r in &mut v {
            r.records.clear();
        }
        v
    }
}

/// `label.zone`, or the zone itself for the apex label ''.
pub fn fqdn(label: &str, zone: &str) -> String {
    if label.is_empty() {
        zone.to_string()
    } else {
        format!("{label}.{zone}")
    }
}

/// A hostname's RRsets from its values (None = absent). DuckDNS semantics: the TXT value also
/// answers for every name below the hostname (`_acme-challenge.host.zone`), published as a
/// wildcard TXT (RFC 4592; docs/protocols.md §1.1).
pub fn host_rrsets(
    fqdn: &str,
    label: &str,
    ttl: u32,
    ipv4: Option<Ipv4Addr>,
    ipv6: Option<Ipv6Addr>,
    txt: Option<&str>,
) -> Vec<RrsetChange> {
    let one = |v: Option<String>| -> Vec<RecordData> {
        v.into_iter()
            .map(|content| RecordData { ttl, content })
            .collect()
    };
    // A hostname's TXT is a value, not content text: encode it (a value in quotes stays in
    // quotes on the wire).
    let txt = txt.map(|t| txt_content(t.to_string()));
    let wildcard = (!label.is_empty() && !label.starts_with('_')).then(|| RrsetChange {
        name: format!("*.{fqdn}"),
        rtype: RType::Txt,
        records: one(txt.clone()),
    });
    let mut out = vec![
        RrsetChange {
            name: fqdn.to_string(),
            rtype: RType::A,
            records: one(ipv4.map(|a| a.to_string())),
        },
        RrsetChange {
            name: fqdn.to_string(),
            rtype: RType::Aaaa,
            records: one(ipv6.map(|a| a.to_string())),
        },
        RrsetChange {
            name: fqdn.to_string(),
            rtype: RType::Txt,
            records: one(txt),
        },
    ];
    out.extend(wildcard);
    out
}

/// The DNS and metadata fields a client may set, each validated already: `None` leaves a
/// field alone, `Some(None)` clears it.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    pub ipv4: Option<Option<Ipv4Addr>>,
    pub ipv6: Option<Option<Ipv6Addr>>,
    pub txt: Option<Option<String>>,
    pub ttl: Option<u32>,
    pub note: Option<Option<String>>,
    pub ipv6_suffix: Option<Option<Ipv6Addr>>,
}

impl Changes {
    /// Apply to `h`; true when anything changed.
    pub fn apply(&self, h: &mut Hostname) -> bool {
        let before = h.clone();
        if let Some(v) = self.ipv4 {
            h.ipv4 = v;
        }
        if let Some(v) = self.ipv6 {
            h.ipv6 = v;
        }
        if let Some(v) = &self.txt {
            h.txt = v.clone();
        }
        if let Some(v) = self.ttl {
            h.ttl = v;
        }
        if let Some(v) = &self.note {
            h.note = v.clone();
        }
        if let Some(v) = self.ipv6_suffix {
            h.ipv6_suffix = v;
        }
        *h != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(label: &str) -> Hostname {
        Hostname {
            id: "host_1".into(),
            zone_id: 1,
            zone: "dyn.example.net".into(),
            label: label.into(),
            user_id: Some(1),
            ipv4: None,
            ipv6: None,
            txt: None,
            ttl: 60,
            note: None,
            created_at: "t".into(),
            updated_at: "t".into(),
            ipv6_suffix: None,
            updated_from: None,
        }
    }

    #[test]
    fn changes_apply_and_report() {
        let mut h = host("home");
        let c = Changes {
            ipv4: Some(Some(Ipv4Addr::new(192, 0, 2, 1))),
            txt: Some(Some("v".into())),
            ..Default::default()
        };
        assert!(c.apply(&mut h));
        assert!(!c.apply(&mut h), "the same change again changes nothing");
        assert_eq!(h.ipv4, Some(Ipv4Addr::new(192, 0, 2, 1)));
        let clear = Changes {
            ipv4: Some(None),
            ..Default::default()
        };
        assert!(clear.apply(&mut h));
        assert_eq!(h.ipv4, None);
        assert_eq!(h.txt.as_deref(), Some("v"), "untouched fields stay");
    }

    #[test]
    fn rrsets_include_the_wildcard_txt_except_at_the_apex_and_underscore_labels() {
        let mut h = host("home");
        h.ipv4 = Some(Ipv4Addr::new(192, 0, 2, 7));
        h.txt = Some("\"q\"".into());
        let sets = h.rrsets();
        let names: Vec<(&str, RType, usize)> = sets
            .iter()
            .map(|s| (s.name.as_str(), s.rtype, s.records.len()))
            .collect();
        assert_eq!(
            names,
            [
                ("home.dyn.example.net", RType::A, 1),
                ("home.dyn.example.net", RType::Aaaa, 0),
                ("home.dyn.example.net", RType::Txt, 1),
                ("*.home.dyn.example.net", RType::Txt, 1),
            ]
        );
        assert_eq!(sets[0].records[0].content, "192.0.2.7");
        // A quoted-looking value stays a value on the wire.
        assert_eq!(sets[2].records[0].content, "\"\\\"q\\\"\"");
        assert_eq!(host("").rrsets().len(), 3);
        assert_eq!(host("_acme-challenge").rrsets().len(), 3);
        assert!(h.rrsets_removed().iter().all(|s| s.records.is_empty()));
    }
}
