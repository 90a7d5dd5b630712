//! `lucentd zone ds`, `zone dnssec` and `zone rollover` (issue #15). The rules are
//! `domain::dnssec`'s; a running server picks the change up from the bumped serial.

use rusqlite::Connection;

use super::{fail, write_tx, AdminError, Out};
use crate::dns::ApexConfig;
use crate::domain::dnssec::{self as ops, Outcome};
use crate::model::Zone;
use crate::store::queries::zones;
use crate::store::WriteTx;

fn zone(conn: &Connection, name: &str) -> Result<Zone, AdminError> {
    let name = crate::model::name::domain_name(name)?;
    match zones::zone_by_name(conn, &name)? {
        Some(z) => Ok(z),
        None => fail(format!("no zone '{name}'")),
    }
}

/// The DS records, one per line, nothing else on stdout.
pub fn ds(conn: &Connection, apex: &ApexConfig, name: &str, out: Out) -> Result<(), AdminError> {
    let z = zone(conn, name)?;
    let records = ops::ds_records(conn, &z, apex.soa_ttl)?;
    if records.is_empty() {
        eprintln!("lucentd: zone {} is not signed: no DS records", z.name);
    }
    for r in records {
        writeln!(out, "{}", r.text)?;
    }
    Ok(())
}

fn run<F>(conn: &mut Connection, name: &str, f: F) -> Result<(Zone, Outcome), AdminError>
where
    F: FnOnce(&mut WriteTx, &Zone) -> rusqlite::Result<Outcome>,
{
    let z = zone(conn, name)?;
    let tx = write_tx(conn)?;
    let outcome = f(&mut WriteTx::detached(&tx), &z)?;
    tx.commit()?;
    Ok((z, outcome))
}

pub fn switch(
    conn: &mut Connection,
    apex: &ApexConfig,
    name: &str,
    enable: bool,
    out: Out,
) -> Result<(), AdminError> {
    let cfg = apex.dnssec;
    let (z, outcome) = run(conn, name, |w, z| {
        if enable {
            ops::enable(w, z, &cfg)
        } else {
            ops::disable(w, z)
        }
    })?;
    match outcome {
        Outcome::Signed => {
            writeln!(out, "zone {} is signed; its DS records:", z.name)?;
            ds(conn, apex, &z.name, out)?;
        }
        Outcome::DeleteSignalPublished => writeln!(
            out,
            "zone {} publishes the RFC 8078 delete CDS/CDNSKEY and stays signed: remove its DS \
             at the parent, wait for the DS TTL, then run `lucentd zone dnssec {} --disable` \
             again to stop signing",
            z.name, z.name
        )?,
        Outcome::Unsigned => writeln!(out, "zone {} is no longer signed", z.name)?,
        Outcome::Unchanged(why) => writeln!(out, "zone {}: {why}", z.name)?,
        other => writeln!(out, "zone {}: {other:?}", z.name)?,
    }
    Ok(())
}

pub fn rollover(
    conn: &mut Connection,
    apex: &ApexConfig,
    name: &str,
    out: Out,
) -> Result<(), AdminError> {
    let cfg = apex.dnssec;
    let now = crate::clock::unix_now() as i64;
    let (z, outcome) = run(conn, name, |w, z| ops::rollover(w, z, &cfg, now))?;
    match outcome {
        Outcome::RolloverStarted => {
            writeln!(
                out,
                "zone {}: new key published (CDS/CDNSKEY name it). Put these DS records at the \
                 parent, then run `lucentd zone rollover {}` again:",
                z.name, z.name
            )?;
            ds(conn, apex, &z.name, out)?;
        }
        Outcome::RolloverCompleted => writeln!(
            out,
            "zone {}: the new key signs the zone; the old key is removed in 24 hours",
            z.name
        )?,
        Outcome::Unchanged(why) => return fail(format!("zone {}: {why}", z.name)),
        other => writeln!(out, "zone {}: {other:?}", z.name)?,
    }
    Ok(())
}
