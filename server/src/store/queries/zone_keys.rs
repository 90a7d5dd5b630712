//! `zone_keys` and `zones.dnssec`: each zone's DNSSEC signing keys and whether it is signed.

use rusqlite::{params, Connection, OptionalExtension};

use super::{all, exec, one};
use crate::clock;
pub use crate::dnssec::KeyState;
use crate::dnssec::{Algorithm, DnssecConfig, SigningKey};

/// Whether a zone is signed (`zones.dnssec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnssecState {
    /// Older than DNSSEC support: decided by `[dnssec] enabled` on the first start.
    Undecided,
    Off,
    On,
    /// Signed, with the RFC 8078 delete CDS/CDNSKEY published before switching off.
    Disabling,
}

impl DnssecState {
    fn from_column(v: Option<i64>) -> DnssecState {
        match v {
            None => DnssecState::Undecided,
            Some(0) => DnssecState::Off,
            Some(2) => DnssecState::Disabling,
            Some(_) => DnssecState::On,
        }
    }
    fn column(self) -> Option<i64> {
        match self {
            DnssecState::Undecided => None,
            DnssecState::Off => Some(0),
            DnssecState::On => Some(1),
            DnssecState::Disabling => Some(2),
        }
    }
    /// Are the zone's answers signed?
    pub fn signed(self) -> bool {
        matches!(self, DnssecState::On | DnssecState::Disabling)
    }
}

/// One stored key. `Debug` leaves the private key out.
pub struct StoredKey {
    pub id: i64,
    pub zone_id: i64,
    pub algorithm: u8,
    pub pkcs8: Vec<u8>,
    pub state: KeyState,
    pub retire_at: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("id", &self.id)
            .field("zone_id", &self.zone_id)
            .field("algorithm", &self.algorithm)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl StoredKey {
    /// The usable key (None, with a warning, for a row this build cannot read).
    pub fn signing_key(&self) -> Option<SigningKey> {
        let alg = Algorithm::from_number(self.algorithm).ok()?;
        match SigningKey::from_pkcs8(alg, &self.pkcs8) {
            Ok(k) => Some(k),
            Err(e) => {
                log::warn!("dnssec: key {} of zone {}: {e}", self.id, self.zone_id);
                None
            }
        }
    }
}

pub fn dnssec_state(c: &Connection, zone_id: i64) -> rusqlite::Result<DnssecState> {
    let v: Option<Option<i64>> = one(
        c,
        "SELECT dnssec FROM zones WHERE id = ?1",
        params![zone_id],
        |r| r.get(0),
    )
    .optional()?;
    Ok(DnssecState::from_column(v.flatten()))
}

pub fn set_dnssec_state(c: &Connection, zone_id: i64, s: DnssecState) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE zones SET dnssec = ?2 WHERE id = ?1",
        params![zone_id, s.column()],
    )?;
    Ok(())
}

/// Zones whose DNSSEC state is still undecided (older than DNSSEC support).
pub fn undecided_zones(c: &Connection) -> rusqlite::Result<Vec<i64>> {
    all(
        c,
        "SELECT id FROM zones WHERE dnssec IS NULL ORDER BY id",
        [],
        |r| r.get(0),
    )
}

/// Decide a new (or pre-DNSSEC) zone's state from `[dnssec]`: signed with a fresh active key
/// when `enabled`, else unsigned.
pub fn start_signing(c: &Connection, zone_id: i64, cfg: &DnssecConfig) -> rusqlite::Result<()> {
    if !cfg.enabled {
        return set_dnssec_state(c, zone_id, DnssecState::Off);
    }
    let key = SigningKey::generate(cfg.algorithm)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    insert_key(c, zone_id, &key, KeyState::Active)?;
    set_dnssec_state(c, zone_id, DnssecState::On)
}

pub fn insert_key(
    c: &Connection,
    zone_id: i64,
    key: &SigningKey,
    state: KeyState,
) -> rusqlite::Result<i64> {
    let now = clock::now_rfc3339();
    exec(
        c,
        "INSERT INTO zone_keys (zone_id, algorithm, private_key, state, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![
            zone_id,
            key.algorithm().number(),
            key.pkcs8(),
            state.as_str(),
            now
        ],
    )?;
    Ok(c.last_insert_rowid())
}

/// A zone's keys, oldest first.
pub fn keys_of_zone(c: &Connection, zone_id: i64) -> rusqlite::Result<Vec<StoredKey>> {
    all(
        c,
        "SELECT id, zone_id, algorithm, private_key, state, retire_at, created_at, updated_at \
         FROM zone_keys WHERE zone_id = ?1 ORDER BY id",
        params![zone_id],
        |r| {
            Ok(StoredKey {
                id: r.get(0)?,
                zone_id: r.get(1)?,
                algorithm: r.get::<_, i64>(2)? as u8,
                pkcs8: r.get(3)?,
                state: KeyState::parse(&r.get::<_, String>(4)?),
                retire_at: r.get(5)?,
                created_at: r.get(6)?,
                updated_at: r.get(7)?,
            })
        },
    )
}

pub fn set_key_state(
    c: &Connection,
    id: i64,
    state: KeyState,
    retire_at: Option<i64>,
) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE zone_keys SET state = ?2, retire_at = ?3, updated_at = ?4 WHERE id = ?1",
        params![id, state.as_str(), retire_at, clock::now_rfc3339()],
    )?;
    Ok(())
}

/// The stored signatures of a zone in node-key order (the order `dns::zone` loads in).
pub const STORED_SIGS_SQL: &str = "SELECT owner_key, rtype, digest, sigs FROM rrsigs \
     WHERE zone_id = ?1 ORDER BY owner_key";

/// The rows of `STORED_SIGS_SQL` lent to a zone load one at a time (`SigSource`): each row's
/// key, type and digest are read once, when it becomes current (a load looks at the current
/// row several times), its RRSIGs in place when asked for. A row that cannot be read ends the
/// stream (`failed` tells why): what is left is signed again.
pub struct StoredSigRows<'s> {
    rows: rusqlite::Rows<'s>,
    failed: Option<rusqlite::Error>,
    /// The current row's (type, digest) and key, None at the end.
    head: Option<(u16, i64)>,
    key: Vec<u8>,
}

impl<'s> StoredSigRows<'s> {
    pub fn new(rows: rusqlite::Rows<'s>) -> Self {
        let mut s = StoredSigRows {
            rows,
            failed: None,
            head: None,
            key: Vec::new(),
        };
        crate::dns::SigSource::advance(&mut s);
        s
    }

    pub fn failed(self) -> Option<rusqlite::Error> {
        self.failed
    }

    fn blob<'a>(row: &'a rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'a [u8]> {
        let v = row.get_ref(i)?;
        v.as_blob()
            .map_err(|_| rusqlite::Error::InvalidColumnType(i, String::new(), v.data_type()))
    }

    /// Step to the next row and read its key, type and digest.
    fn step(&mut self) -> rusqlite::Result<Option<(u16, i64)>> {
        use rusqlite::fallible_streaming_iterator::FallibleStreamingIterator;
        self.rows.advance()?;
        let Some(row) = self.rows.get() else {
            return Ok(None);
        };
        self.key.clear();
        self.key.extend_from_slice(Self::blob(row, 0)?);
        Ok(Some((row.get::<_, i64>(1)? as u16, row.get(2)?)))
    }
}

impl crate::dns::SigSource for StoredSigRows<'_> {
    fn current(&mut self) -> Option<(&[u8], u16, i64)> {
        self.head.map(|(t, d)| (&self.key[..], t, d))
    }

    fn sigs(&mut self) -> &[u8] {
        use rusqlite::fallible_streaming_iterator::FallibleStreamingIterator;
        if self.head.is_none() {
            return &[];
        }
        let read = match self.rows.get() {
            Some(row) => Self::blob(row, 3),
            None => return &[],
        };
        match read {
            Ok(b) => b,
            Err(e) => {
                // Ends the stream at the next step; this row's RRSIGs are not trusted.
                self.failed = Some(e);
                self.head = None;
                &[]
            }
        }
    }

    fn advance(&mut self) {
        if self.failed.is_some() {
            self.head = None;
            return;
        }
        match self.step() {
            Ok(h) => self.head = h,
            Err(e) => {
                self.failed = Some(e);
                self.head = None;
            }
        }
    }
}

pub fn put_sig(c: &Connection, zone_id: i64, s: &crate::dns::StoredSig) -> rusqlite::Result<()> {
    put_sig_parts(c, zone_id, &s.key, s.rtype, s.digest, &s.sigs)
}

/// `put_sig` from borrowed parts: owner key, type, RRset digest, RRSIG RDATAs.
pub fn put_sig_parts(
    c: &Connection,
    zone_id: i64,
    key: &[u8],
    rtype: u16,
    digest: i64,
    sigs: &[u8],
) -> rusqlite::Result<()> {
    exec(
        c,
        "INSERT OR REPLACE INTO rrsigs (zone_id, owner_key, rtype, digest, sigs) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![zone_id, key, rtype, digest, sigs],
    )?;
    Ok(())
}

pub fn delete_sig(c: &Connection, zone_id: i64, key: &[u8], rtype: u16) -> rusqlite::Result<()> {
    exec(
        c,
        "DELETE FROM rrsigs WHERE zone_id = ?1 AND owner_key = ?2 AND rtype = ?3",
        params![zone_id, key, rtype],
    )?;
    Ok(())
}

/// Forget a zone's stored signatures (its keys changed, or it is no longer signed).
pub fn clear_sigs(c: &Connection, zone_id: i64) -> rusqlite::Result<()> {
    exec(c, "DELETE FROM rrsigs WHERE zone_id = ?1", params![zone_id])?;
    Ok(())
}

/// Retiring keys whose `retire_at` has passed: (key id, zone id).
pub fn keys_due(c: &Connection, now: i64) -> rusqlite::Result<Vec<(i64, i64)>> {
    all(
        c,
        "SELECT id, zone_id FROM zone_keys WHERE state = 'retiring' AND retire_at <= ?1",
        params![now],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

pub fn delete_key(c: &Connection, id: i64) -> rusqlite::Result<()> {
    exec(c, "DELETE FROM zone_keys WHERE id = ?1", params![id])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ZoneKind;
    use crate::store::queries::zones::insert_zone;

    #[test]
    fn keys_round_trip_and_go_with_their_zone() {
        let mut c = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut c).unwrap();
        c.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        let z = insert_zone(&c, "example.org", ZoneKind::Hosted, None).unwrap();
        assert_eq!(dnssec_state(&c, z.id).unwrap(), DnssecState::Undecided);
        assert_eq!(undecided_zones(&c).unwrap(), vec![z.id]);
        set_dnssec_state(&c, z.id, DnssecState::On).unwrap();
        assert_eq!(dnssec_state(&c, z.id).unwrap(), DnssecState::On);
        assert!(undecided_zones(&c).unwrap().is_empty());

        let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let id = insert_key(&c, z.id, &key, KeyState::Active).unwrap();
        let keys = keys_of_zone(&c, z.id).unwrap();
        assert_eq!(keys.len(), 1);
        assert!(!format!("{:?}", keys[0]).contains("pkcs8"));
        let back = keys[0].signing_key().unwrap();
        assert_eq!(back.public_key(), key.public_key());
        set_key_state(&c, id, KeyState::Retiring, Some(42)).unwrap();
        let keys = keys_of_zone(&c, z.id).unwrap();
        assert_eq!(
            (keys[0].state, keys[0].retire_at),
            (KeyState::Retiring, Some(42))
        );

        c.execute("DELETE FROM zones WHERE id = ?1", [z.id])
            .unwrap();
        assert!(keys_of_zone(&c, z.id).unwrap().is_empty());
    }
}
