//! `lucentd zone export NAME` and `lucentd zone import NAME FILE` (issue #16): a zone as an
//! RFC 1035 zone file, and a zone file loaded into a hosted zone, every record through the same
//! rules as the LuaDNS-style API (`model::content::normalize`, `domain::records::replace_all`),
//! all or nothing. The zone-file syntax is `zonefile.rs`'s.

use std::io::BufRead;
use std::path::Path;

use rusqlite::Connection;

use super::{count, fail, write_tx, AdminError, Out};
use crate::dns::{ApexConfig, DnsView};
use crate::domain::records::{self as record_ops, Limits, RecordInput};
use crate::domain::zones::soa_content;
use crate::model::hostname::{fqdn, host_rrsets};
use crate::model::name::{is_at_or_below, owner_name};
use crate::model::{content, RType, ZoneKind};
use crate::store::queries::zone_keys::{self, DnssecState};
use crate::store::queries::{hostnames, records, zones};
use crate::store::WriteTx;
use crate::zonefile::{write_zone, OutRecord, ZoneParser};

/// The zone's records as DNS serves them (the SOA from the config and serial, a shared zone's
/// NS from the config and its hostnames' RRsets), as a zone file on `out`.
pub fn export(
    conn: &Connection,
    apex: &ApexConfig,
    name: &str,
    out: Out,
) -> Result<(), AdminError> {
    let name = crate::model::name::domain_name(name)?;
    let Some(zone) = zones::zone_by_name(conn, &name)? else {
        return fail(format!("no zone '{name}'"));
    };
    // (owner, ttl, type, content), owned; the writer borrows them.
    let mut rows: Vec<(String, u32, &'static str, String)> = Vec::new();
    rows.push((
        zone.name.clone(),
        apex.soa_ttl,
        "SOA",
        soa_content(apex, zone.serial),
    ));
    match zone.kind {
        ZoneKind::Hosted => {
            for r in records::records_of_zone(conn, zone.id)? {
                if r.rtype != RType::Soa {
                    rows.push((r.name, r.ttl, r.rtype.as_str(), r.content));
                }
            }
        }
        ZoneKind::Shared => {
            for ns in &apex.nameservers {
                rows.push((zone.name.clone(), apex.ns_ttl, "NS", format!("{ns}.")));
            }
            let mut st = conn.prepare(hostnames::ZONE_HOSTS_SQL)?;
            let hosts = st.query_map([zone.id], hostnames::host_values)?;
            for h in hosts {
                let (label, v4, v6, txt, ttl) = h?;
                let owner = fqdn(&label, &zone.name);
                for set in host_rrsets(&owner, &label, ttl, v4, v6, txt.as_deref()) {
                    for rec in set.records {
                        rows.push((set.name.clone(), rec.ttl, set.rtype.as_str(), rec.content));
                    }
                }
            }
        }
    }
    // A signed zone: its keys, signatures and denial chain as a secondary gets them (the
    // zone loaded and signed here as the server does, with the signatures it kept).
    let mut signed: Vec<(String, u32, String, String)> = Vec::new();
    if matches!(
        zone_keys::dnssec_state(conn, zone.id)?,
        DnssecState::On | DnssecState::Disabling
    ) {
        let view = DnsView::new(apex.clone());
        crate::store::load_zone_for_export(conn, zone.id, apex, &view)?;
        signed = crate::dns::xfr::export::dnssec_records(&view, &zone.name);
    }
    let recs = rows
        .iter()
        .map(|(owner, ttl, rtype, content)| OutRecord {
            owner,
            ttl: *ttl,
            rtype,
            content,
        })
        .chain(signed.iter().map(|(owner, ttl, rtype, content)| OutRecord {
            owner,
            ttl: *ttl,
            rtype,
            content,
        }));
    let mut out = out;
    write_zone(&mut out, &zone.name, recs)?;
    Ok(())
}

/// Records read between progress lines on standard error.
const PROGRESS_EVERY: usize = 10_000;

/// Load `file` (`-` = standard input) into hosted zone `name`, replacing its records. Every
/// record is checked as the API checks it; one bad record fails the import with its line
/// number and nothing changes. The file's SOA and apex NS are the server's own (skipped, and
/// said so), as are DNSSEC records (counted and skipped).
pub fn import(
    conn: &mut Connection,
    apex: &ApexConfig,
    limits: Limits,
    name: &str,
    file: &Path,
    out: Out,
) -> Result<(), AdminError> {
    let name = crate::model::name::domain_name(name)?;
    let tx = write_tx(conn)?;
    let Some(zone) = zones::zone_by_name(&tx, &name)? else {
        return fail(format!("no zone '{name}'"));
    };
    if zone.kind != ZoneKind::Hosted {
        return fail(format!(
            "{name} is a shared zone; zone files are imported into hosted zones"
        ));
    }
    let reader: Box<dyn BufRead> = if file == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(file) {
            Ok(f) => Box::new(std::io::BufReader::new(f)),
            Err(e) => return fail(format!("cannot read {}: {e}", file.display())),
        }
    };
    let mut parser = ZoneParser::new(reader, &name);
    let mut inputs: Vec<RecordInput> = Vec::new();
    let mut lines: Vec<usize> = Vec::new();
    let (mut skipped_soa_ns, mut read) = (0usize, 0usize);
    for rec in parser.by_ref() {
        let rec = rec.map_err(|e| AdminError::Refused(format!("{}: {e}", file.display())))?;
        read += 1;
        if read % PROGRESS_EVERY == 0 {
            eprintln!("lucentd: {read} records read");
        }
        if rec.rtype.is_dnssec() {
            continue;
        }
        let at = |msg: String| {
            AdminError::Refused(format!("{}: line {}: {msg}", file.display(), rec.line))
        };
        let rtype: RType = rec
            .rtype
            .as_str()
            .parse()
            .map_err(|e: crate::model::Invalid| at(e.0))?;
        let owner = owner_name(&rec.owner).map_err(|e| at(e.0))?;
        if !is_at_or_below(&owner, &zone.name) {
            return Err(at(format!("{owner}. is not inside the zone {}", zone.name)));
        }
        if rtype == RType::Soa || (rtype == RType::Ns && owner == zone.name) {
            skipped_soa_ns += 1;
            continue;
        }
        let content = content::normalize(rtype, &rec.content).map_err(|e| at(e.0))?;
        inputs.push(RecordInput {
            name: owner,
            rtype,
            content,
            ttl: rec.ttl,
            external_id: None,
        });
        lines.push(rec.line);
    }
    let dnssec = parser.dnssec_records();
    let default_ns = apex
        .nameservers
        .iter()
        .map(|ns| RecordInput {
            name: zone.name.clone(),
            rtype: RType::Ns,
            content: format!("{ns}."),
            ttl: apex.ns_ttl,
            external_id: None,
        })
        .collect();
    let n = inputs.len();
    // The server's running instance notices the change by the serial (publish bumps it).
    let mut w = WriteTx::detached(&tx);
    record_ops::replace_all(&mut w, &zone, inputs, default_ns, limits, |i| {
        format!("{}: line {}", file.display(), lines[i])
    })
    .map_err(|e| AdminError::Refused(e.message()))?;
    tx.commit()?;
    writeln!(
        out,
        "imported {} into {} ({} of the file's SOA and apex NS records left to this server, \
         {} DNSSEC records skipped)",
        count(n, "record"),
        zone.name,
        skipped_soa_ns,
        dnssec
    )?;
    Ok(())
}
