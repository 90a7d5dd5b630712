//! A zone's DNSSEC life, shared by the admin commands and the APIs: the DS records the parent
//! should hold, switching signing on and off (RFC 8078 delete signal first), and CSK rollovers
//! (RFC 7344 CDS/CDNSKEY, RFC 6781 §4.1.2 double-signing of the DNSKEY RRset).
//!
//! A rollover goes: `start` publishes a new key (state incoming) beside the active one; both
//! sign the DNSKEY RRset, so a resolver validates with either DS at the parent, and CDS/CDNSKEY
//! name the new key. Once the parent holds the new DS, `start` run again promotes the new key
//! (it signs everything) and marks the old one retiring: it stays in the DNSKEY RRset for one
//! DS TTL ([`RETIRE_AFTER_SECS`]) so resolvers that cached the old DS still validate, and
//! `retire_due` removes it after that.

use base64::Engine as _;
use rusqlite::Connection;
use serde::Serialize;

use crate::dnssec::{DigestType, DnssecConfig, KeyState, SigningKey};
use crate::model::Zone;
use crate::store::queries::zone_keys::{self, DnssecState, StoredKey};
use crate::store::WriteTx;

/// How long a replaced key stays published: the largest DS TTL parents commonly use (a day,
/// e.g. .com, .net, .org, .de) so every cached copy of the old DS has expired.
pub const RETIRE_AFTER_SECS: i64 = 86400;

/// One DS record as seed 001 lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DsRecord {
    pub id: i64,
    pub key_tag: u16,
    pub algorithm: u8,
    pub digest_type: u8,
    pub digest: String,
    pub public_key: String,
    pub zone_id: i64,
    pub created_at: String,
    pub updated_at: String,
    /// The presentation form (`zone ds`), not part of the JSON.
    #[serde(skip)]
    pub text: String,
}

/// The DS set the parent should hold (the same as the CDS the apex publishes): the incoming
/// key's during a rollover, else the active key's; none when the zone is unsigned or being
/// switched off. `ttl` is the DNSKEY TTL printed with each record.
pub fn ds_records(c: &Connection, zone: &Zone, ttl: u32) -> rusqlite::Result<Vec<DsRecord>> {
    if zone_keys::dnssec_state(c, zone.id)? != DnssecState::On {
        return Ok(Vec::new());
    }
    let keys = zone_keys::keys_of_zone(c, zone.id)?;
    let wanted = keys
        .iter()
        .find(|k| k.state == KeyState::Incoming)
        .or_else(|| keys.iter().find(|k| k.state == KeyState::Active));
    let Some(stored) = wanted else {
        return Ok(Vec::new());
    };
    let Some(key) = stored.signing_key() else {
        return Ok(Vec::new());
    };
    let Ok(apex) = crate::dnssec::name::from_text(&format!("{}.", zone.name)) else {
        return Ok(Vec::new());
    };
    let dnskey = key.dnskey(crate::dnssec::keys::FLAGS_CSK);
    Ok(DigestType::ALL
        .iter()
        .map(|&d| {
            let ds = dnskey.ds(&apex, d);
            DsRecord {
                // Unique per key and digest type, stable across calls.
                id: stored.id * 10 + i64::from(ds.digest_type),
                key_tag: ds.key_tag,
                algorithm: ds.algorithm,
                digest_type: ds.digest_type,
                digest: ds.digest_hex().to_ascii_lowercase(),
                public_key: base64::engine::general_purpose::STANDARD.encode(&dnskey.public_key),
                zone_id: zone.id,
                created_at: stored.created_at.clone(),
                updated_at: stored.updated_at.clone(),
                text: ds.to_text(&apex, ttl),
            }
        })
        .collect())
}

/// What `enable`, `disable` and `rollover` did, for the caller to tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Unchanged(&'static str),
    Signed,
    DeleteSignalPublished,
    Unsigned,
    RolloverStarted,
    RolloverCompleted,
}

fn touched(w: &mut WriteTx, zone: &Zone) -> rusqlite::Result<()> {
    crate::store::queries::zones::bump_serial(w.tx, zone.id)?;
    w.reload_zone(zone.id);
    Ok(())
}

fn new_key(cfg: &DnssecConfig) -> rusqlite::Result<SigningKey> {
    SigningKey::generate(cfg.algorithm)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// Sign the zone (a fresh key when it has none).
pub fn enable(w: &mut WriteTx, zone: &Zone, cfg: &DnssecConfig) -> rusqlite::Result<Outcome> {
    match zone_keys::dnssec_state(w.tx, zone.id)? {
        DnssecState::On => return Ok(Outcome::Unchanged("the zone is already signed")),
        DnssecState::Disabling => {}
        DnssecState::Off | DnssecState::Undecided => {
            for k in zone_keys::keys_of_zone(w.tx, zone.id)? {
                zone_keys::delete_key(w.tx, k.id)?;
            }
            zone_keys::insert_key(w.tx, zone.id, &new_key(cfg)?, KeyState::Active)?;
        }
    }
    zone_keys::set_dnssec_state(w.tx, zone.id, DnssecState::On)?;
    touched(w, zone)?;
    Ok(Outcome::Signed)
}

/// Switch signing off in two steps (RFC 8078 §4): first publish the delete CDS/CDNSKEY while
/// still signing; run again, once the parent has dropped the DS, to stop signing.
pub fn disable(w: &mut WriteTx, zone: &Zone) -> rusqlite::Result<Outcome> {
    let next = match zone_keys::dnssec_state(w.tx, zone.id)? {
        DnssecState::Off => return Ok(Outcome::Unchanged("the zone is not signed")),
        DnssecState::On => DnssecState::Disabling,
        DnssecState::Disabling | DnssecState::Undecided => DnssecState::Off,
    };
    zone_keys::set_dnssec_state(w.tx, zone.id, next)?;
    if next == DnssecState::Off {
        for k in zone_keys::keys_of_zone(w.tx, zone.id)? {
            zone_keys::delete_key(w.tx, k.id)?;
        }
        zone_keys::clear_sigs(w.tx, zone.id)?;
    }
    touched(w, zone)?;
    Ok(match next {
        DnssecState::Off => Outcome::Unsigned,
        _ => Outcome::DeleteSignalPublished,
    })
}

/// Start a rollover, or complete the one under way (see the module docs).
pub fn rollover(
    w: &mut WriteTx,
    zone: &Zone,
    cfg: &DnssecConfig,
    now: i64,
) -> rusqlite::Result<Outcome> {
    if zone_keys::dnssec_state(w.tx, zone.id)? != DnssecState::On {
        return Ok(Outcome::Unchanged("the zone is not signed"));
    }
    let keys: Vec<StoredKey> = zone_keys::keys_of_zone(w.tx, zone.id)?;
    let outcome = match keys.iter().find(|k| k.state == KeyState::Incoming) {
        None => {
            if keys.iter().any(|k| k.state == KeyState::Retiring) {
                return Ok(Outcome::Unchanged(
                    "the previous key is still being retired; try again after it is gone",
                ));
            }
            zone_keys::insert_key(w.tx, zone.id, &new_key(cfg)?, KeyState::Incoming)?;
            Outcome::RolloverStarted
        }
        Some(incoming) => {
            for k in keys.iter().filter(|k| k.state == KeyState::Active) {
                zone_keys::set_key_state(
                    w.tx,
                    k.id,
                    KeyState::Retiring,
                    Some(now + RETIRE_AFTER_SECS),
                )?;
            }
            zone_keys::set_key_state(w.tx, incoming.id, KeyState::Active, None)?;
            Outcome::RolloverCompleted
        }
    };
    touched(w, zone)?;
    Ok(outcome)
}

/// Remove retiring keys whose time has come; the zones that changed are reloaded.
pub fn retire_due(w: &mut WriteTx, now: i64) -> rusqlite::Result<usize> {
    let due = zone_keys::keys_due(w.tx, now)?;
    for (key_id, zone_id) in &due {
        zone_keys::delete_key(w.tx, *key_id)?;
        crate::store::queries::zones::bump_serial(w.tx, *zone_id)?;
        w.reload_zone(*zone_id);
    }
    Ok(due.len())
}

/// DNSSEC upkeep, run by the server every minute: zones whose oldest signature comes within
/// `signature_refresh_days` of expiring are re-signed whole (serial bumped), and retiring keys
/// whose time has come are removed. Returns how many zones changed.
pub fn maintain(store: &crate::store::Store) -> Result<usize, crate::store::StoreError> {
    let now = store.dns.now();
    let due = store.dns.refresh_due(now);
    store.write(move |w| {
        let mut changed = retire_due(w, now as i64)?;
        for name in &due {
            if let Some(z) = crate::store::queries::zones::zone_by_name(w.tx, name)? {
                log::info!("dnssec: re-signing zone {name} (signatures near their refresh time)");
                touched(w, &z)?;
                changed += 1;
            }
        }
        Ok(changed)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    use hickory_proto::rr::{Name, RData, RecordType};

    use crate::dns::DnsView;
    use crate::model::ZoneKind;
    use crate::store::Store;

    /// The injected clock: unix seconds the test moves forward.
    static NOW: AtomicU64 = AtomicU64::new(1_800_000_000);
    fn now() -> u64 {
        NOW.load(Ordering::SeqCst)
    }

    /// (inception, expiration) of the RRSIG over the zone's SOA as served with DO=1, and the
    /// serial.
    fn soa_sig(view: &DnsView) -> (u32, u32, u32) {
        let name = Name::from_ascii("sig.test.").unwrap();
        let a = view.resolve_with(&name, RecordType::SOA, true);
        let serial = match &a.answers[0].data {
            RData::SOA(s) => s.serial,
            other => panic!("{other:?}"),
        };
        let sig = a
            .answers
            .iter()
            .find(|r| u16::from(r.record_type()) == 46)
            .expect("an RRSIG with DO=1");
        let RData::Unknown { rdata, .. } = &sig.data else {
            panic!("raw RRSIG")
        };
        let b = &rdata.anything;
        let exp = u32::from_be_bytes([b[8], b[9], b[10], b[11]]);
        let inc = u32::from_be_bytes([b[12], b[13], b[14], b[15]]);
        (inc, exp, serial)
    }

    #[test]
    fn signatures_are_refreshed_in_the_background_before_they_expire() {
        let dir = std::env::temp_dir().join(format!("lucent-dnssec-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let apex = crate::dns::tests::apex_config();
        let view = Arc::new(DnsView::new(apex.clone()).with_clock(now));
        let store = Store::new(&dir.join("t.db"), view.clone(), apex.clone()).unwrap();
        let a = apex.clone();
        store
            .write(move |w| crate::domain::zones::create(w, &a, "sig.test", ZoneKind::Shared, None))
            .unwrap();
        let t0 = now() as u32;
        let (inc, exp, serial) = soa_sig(&view);
        // Inception back-dated an hour; valid for signature_validity_days (14).
        assert_eq!((inc, exp), (t0 - 3600, t0 + 14 * 86400));
        assert_eq!(super::maintain(&store).unwrap(), 0, "nothing due yet");

        // Six days on: more than signature_refresh_days (7) left; nothing to do.
        NOW.fetch_add(6 * 86400, Ordering::SeqCst);
        assert_eq!(super::maintain(&store).unwrap(), 0);
        assert_eq!(soa_sig(&view).2, serial);

        // Eight days on: under seven days left, so the zone is re-signed, serial bumped.
        NOW.fetch_add(2 * 86400, Ordering::SeqCst);
        let t1 = now() as u32;
        assert_eq!(super::maintain(&store).unwrap(), 1);
        let (inc, exp, serial2) = soa_sig(&view);
        assert_eq!((inc, exp), (t1 - 3600, t1 + 14 * 86400));
        assert!(
            crate::dnssec::serial_lt(serial, serial2),
            "{serial} -> {serial2}"
        );
        assert_eq!(super::maintain(&store).unwrap(), 0, "fresh again");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
