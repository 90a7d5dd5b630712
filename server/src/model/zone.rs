//! Zones: shared DDNS zones (the operator's; users claim hostnames in them) and hosted zones
//! (a user's whole zone of records).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneKind {
    Shared,
    Hosted,
}

impl ZoneKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneKind::Shared => "shared",
            ZoneKind::Hosted => "hosted",
        }
    }
    pub fn parse(s: &str) -> Option<ZoneKind> {
        match s {
            "shared" => Some(ZoneKind::Shared),
            "hosted" => Some(ZoneKind::Hosted),
            _ => None,
        }
    }
}

impl fmt::Display for ZoneKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Zone {
    pub id: i64,
    /// Lowercase, without trailing dot.
    pub name: String,
    pub kind: ZoneKind,
    pub owner_id: Option<i64>,
    pub serial: u32,
    pub queries_count: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// Why a new zone name cannot be served beside the existing ones: it equals, contains or sits
/// inside one of them (that would split a zone's names between two owners).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneConflict {
    Exists,
    Inside { kind: ZoneKind, zone: String },
    Contains { zone: String },
}

impl fmt::Display for ZoneConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZoneConflict::Exists => f.write_str("the zone already exists"),
            ZoneConflict::Inside { kind, zone } => {
                write!(f, "it is inside the existing {kind} zone '{zone}'")
            }
            ZoneConflict::Contains { zone } => {
                write!(f, "it would contain the existing zone '{zone}'")
            }
        }
    }
}

/// The first conflict of `name` with `existing` zones, if any.
pub fn conflict<'a>(
    name: &str,
    existing: impl IntoIterator<Item = &'a Zone>,
) -> Option<ZoneConflict> {
    use super::name::is_at_or_below;
    existing.into_iter().find_map(|z| {
        if z.name == name {
            Some(ZoneConflict::Exists)
        } else if is_at_or_below(name, &z.name) {
            Some(ZoneConflict::Inside {
                kind: z.kind,
                zone: z.name.clone(),
            })
        } else if is_at_or_below(&z.name, name) {
            Some(ZoneConflict::Contains {
                zone: z.name.clone(),
            })
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str, kind: ZoneKind) -> Zone {
        Zone {
            id: 1,
            name: name.into(),
            kind,
            owner_id: None,
            serial: 1,
            queries_count: 0,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn zones_never_nest_or_repeat() {
        let zs = [
            zone("dyn.example.net", ZoneKind::Shared),
            zone("example.org", ZoneKind::Hosted),
        ];
        assert_eq!(conflict("example.org", &zs), Some(ZoneConflict::Exists));
        assert_eq!(
            conflict("a.dyn.example.net", &zs),
            Some(ZoneConflict::Inside {
                kind: ZoneKind::Shared,
                zone: "dyn.example.net".into()
            })
        );
        assert_eq!(
            conflict("example.net", &zs),
            Some(ZoneConflict::Contains {
                zone: "dyn.example.net".into()
            })
        );
        assert_eq!(conflict("xexample.org", &zs), None);
        assert_eq!(conflict("other.test", &zs), None);
    }
}
