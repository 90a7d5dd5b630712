//! One function per statement: `(&Connection/&Transaction, args) -> domain type`. Every
//! parameter is bound; nothing is formatted into SQL.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::clock;
use crate::dns::{ApexConfig, DnsView, RecordData, RrsetChange};
use crate::records::RType;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Disabled,
    Banned,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Disabled => "disabled",
            Status::Banned => "banned",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "active" => Some(Status::Active),
            "disabled" => Some(Status::Disabled),
            "banned" => Some(Status::Banned),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub status: Status,
    pub max_hostnames: u32,
    pub api_enabled: bool,
    pub zones_restricted: bool,
}

// Column lists are macros so that each statement is one compile-time literal (`concat!`):
// the statement cache is then looked up without building the SQL string on every call.
macro_rules! user_cols {
    () => {
        "id, email, status, max_hostnames, api_enabled, zones_restricted"
    };
}
const USER_COLS: &str = user_cols!();

fn user_row(r: &Row) -> rusqlite::Result<User> {
    let status: String = r.get(2)?;
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        status: Status::parse(&status).unwrap_or(Status::Disabled),
        max_hostnames: r.get(3)?,
        api_enabled: r.get(4)?,
        zones_restricted: r.get(5)?,
    })
}

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
}

#[derive(Debug, Clone)]
pub struct Zone {
    pub id: i64,
    pub name: String,
    pub kind: ZoneKind,
    pub owner_id: Option<i64>,
    pub serial: u32,
    pub queries_count: i64,
    pub created_at: String,
    pub updated_at: String,
}

macro_rules! zone_cols {
    () => {
        "id, name, kind, owner_id, serial, queries_count, created_at, updated_at"
    };
}
const ZONE_COLS: &str = zone_cols!();

fn zone_row(r: &Row) -> rusqlite::Result<Zone> {
    let kind: String = r.get(2)?;
    Ok(Zone {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: if kind == "hosted" {
            ZoneKind::Hosted
        } else {
            ZoneKind::Shared
        },
        owner_id: r.get(3)?,
        serial: r.get::<_, i64>(4)? as u32,
        queries_count: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostname {
    pub id: String,
    pub zone_id: i64,
    pub zone: String,
    /// '' for the zone apex.
    pub label: String,
    pub user_id: Option<i64>,
    pub ipv4: Option<String>,
    pub ipv6: Option<String>,
    pub txt: Option<String>,
    pub ttl: u32,
    pub note: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Hostname {
    pub fn fqdn(&self) -> String {
        if self.label.is_empty() {
            self.zone.clone()
        } else {
            format!("{}.{}", self.label, self.zone)
        }
    }

    /// The RRsets this hostname owns in DNS, in their current state (empty = absent).
    /// DuckDNS semantics: the TXT value also answers for every name below the hostname
    /// (`_acme-challenge.host.zone`), published as a wildcard TXT (RFC 4592).
    pub fn rrsets(&self) -> Vec<RrsetChange> {
        host_rrsets(
            &self.fqdn(),
            &self.label,
            self.ttl,
            [self.ipv4.clone(), self.ipv6.clone(), self.txt.clone()],
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

/// A hostname's RRsets from its values `[ipv4, ipv6, txt]` (None = absent). DuckDNS
/// semantics: the TXT value also answers for every name below the hostname
/// (`_acme-challenge.host.zone`), published as a wildcard TXT (RFC 4592).
pub fn host_rrsets(
    fqdn: &str,
    label: &str,
    ttl: u32,
    [ipv4, ipv6, txt]: [Option<String>; 3],
) -> Vec<RrsetChange> {
    let one = |v: Option<String>| -> Vec<RecordData> {
        v.into_iter()
            .map(|content| RecordData { ttl, content })
            .collect()
    };
    // A hostname's TXT is a value, not content text: encode it (a value in quotes stays in
    // quotes on the wire).
    let txt = txt.map(crate::records::txt_content);
    let wildcard = (!label.is_empty() && !label.starts_with('_')).then(|| RrsetChange {
        name: format!("*.{fqdn}"),
        rtype: RType::Txt,
        records: one(txt.clone()),
    });
    let mut out = vec![
        RrsetChange {
            name: fqdn.to_string(),
            rtype: RType::A,
            records: one(ipv4),
        },
        RrsetChange {
            name: fqdn.to_string(),
            rtype: RType::Aaaa,
            records: one(ipv6),
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

macro_rules! host_cols {
    () => {
        "h.id, h.zone_id, z.name, h.label, h.user_id, h.ipv4, h.ipv6, h.txt, \
     h.ttl, h.note, h.created_at, h.updated_at"
    };
}

fn host_row(r: &Row) -> rusqlite::Result<Hostname> {
    Ok(Hostname {
        id: r.get(0)?,
        zone_id: r.get(1)?,
        zone: r.get(2)?,
        label: r.get(3)?,
        user_id: r.get(4)?,
        ipv4: r.get(5)?,
        ipv6: r.get(6)?,
        txt: r.get(7)?,
        ttl: r.get(8)?,
        note: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
    })
}

/// One row from a cached prepared statement (statements are reused, not re-parsed).
fn one<T, P: rusqlite::Params>(
    c: &Connection,
    sql: &str,
    p: P,
    f: impl FnOnce(&Row) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    c.prepare_cached(sql)?.query_row(p, f)
}

/// Run one statement through the connection's statement cache; rows changed.
pub(crate) fn exec<P: rusqlite::Params>(
    c: &Connection,
    sql: &str,
    p: P,
) -> rusqlite::Result<usize> {
    c.prepare_cached(sql)?.execute(p)
}

// ---- users -------------------------------------------------------------------------------

pub fn insert_user(
    c: &Connection,
    email: &str,
    max_hostnames: u32,
    token_hash: &[u8],
) -> rusqlite::Result<i64> {
    exec(
        c,
        "INSERT INTO users (email, max_hostnames, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![email, max_hostnames, token_hash, clock::now_rfc3339()],
    )?;
    Ok(c.last_insert_rowid())
}

pub fn restrict_user_zones(c: &Connection, user_id: i64, zone_ids: &[i64]) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE users SET zones_restricted = 1 WHERE id = ?1",
        params![user_id],
    )?;
    exec(
        c,
        "DELETE FROM user_zones WHERE user_id = ?1",
        params![user_id],
    )?;
    for z in zone_ids {
        exec(
            c,
            "INSERT INTO user_zones (user_id, zone_id) VALUES (?1, ?2)",
            params![user_id, z],
        )?;
    }
    Ok(())
}

pub fn user_by_email(c: &Connection, email: &str) -> rusqlite::Result<Option<User>> {
    one(
        c,
        concat!("SELECT ", user_cols!(), " FROM users WHERE email = ?1"),
        params![email],
        user_row,
    )
    .optional()
}

pub fn user_by_id(c: &Connection, id: i64) -> rusqlite::Result<Option<User>> {
    one(
        c,
        concat!("SELECT ", user_cols!(), " FROM users WHERE id = ?1"),
        params![id],
        user_row,
    )
    .optional()
}

/// The lookup is by SHA-256 of the token over a unique index: timing reveals nothing about
/// the token itself.
pub fn user_by_token_hash(c: &Connection, hash: &[u8]) -> rusqlite::Result<Option<User>> {
    one(
        c,
        concat!("SELECT ", user_cols!(), " FROM users WHERE token_hash = ?1"),
        params![hash],
        user_row,
    )
    .optional()
}

pub fn set_user_token(c: &Connection, user_id: i64, hash: &[u8]) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE users SET token_hash = ?2 WHERE id = ?1",
        params![user_id, hash],
    )?;
    Ok(())
}

pub fn set_user_status(c: &Connection, user_id: i64, s: Status) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE users SET status = ?2 WHERE id = ?1",
        params![user_id, s.as_str()],
    )?;
    Ok(())
}

pub fn set_user_max_hostnames(c: &Connection, user_id: i64, n: u32) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE users SET max_hostnames = ?2 WHERE id = ?1",
        params![user_id, n],
    )?;
    Ok(())
}

pub fn set_user_api_enabled(c: &Connection, user_id: i64, on: bool) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE users SET api_enabled = ?2 WHERE id = ?1",
        params![user_id, on],
    )?;
    Ok(())
}

/// Every user with their hostname count, by email.
pub fn list_users(c: &Connection) -> rusqlite::Result<Vec<(User, u32)>> {
    let mut st = c.prepare_cached(concat!(
        "SELECT ",
        user_cols!(),
        ", (SELECT COUNT(*) FROM hostnames h WHERE h.user_id = users.id) \
         FROM users ORDER BY email"
    ))?;
    let rows = st.query_map([], |r| Ok((user_row(r)?, r.get(6)?)))?;
    rows.collect()
}

pub fn insert_api_key(
    c: &Connection,
    user_id: i64,
    hash: &[u8],
    zone_id: Option<i64>,
) -> rusqlite::Result<i64> {
    exec(
        c,
        "INSERT INTO api_keys (user_id, key_hash, zone_id, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![user_id, hash, zone_id, clock::now_rfc3339()],
    )?;
    Ok(c.last_insert_rowid())
}

/// The user owning this API key and the key's zone restriction (None = global).
pub fn api_key_lookup(
    c: &Connection,
    hash: &[u8],
) -> rusqlite::Result<Option<(User, Option<i64>)>> {
    one(
        c,
        &format!(
            "SELECT {}, k.zone_id FROM api_keys k JOIN users u ON u.id = k.user_id \
             WHERE k.key_hash = ?1",
            USER_COLS
                .split(", ")
                .map(|c| format!("u.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        params![hash],
        |r| Ok((user_row(r)?, r.get(6)?)),
    )
    .optional()
}

/// Shared zones a user may claim hostnames in, by name.
pub fn allowed_zones(c: &Connection, user: &User) -> rusqlite::Result<Vec<Zone>> {
    let sql = if user.zones_restricted {
        format!(
            "SELECT {} FROM zones z JOIN user_zones uz ON uz.zone_id = z.id \
             WHERE uz.user_id = ?1 AND z.kind = 'shared' ORDER BY z.id",
            ZONE_COLS
                .split(", ")
                .map(|c| format!("z.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        concat!(
            "SELECT ",
            zone_cols!(),
            " FROM zones WHERE kind = 'shared' AND ?1 = ?1 ORDER BY id"
        )
        .to_string()
    };
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map(params![user.id], zone_row)?;
    rows.collect()
}

// ---- zones -------------------------------------------------------------------------------

pub fn insert_zone(
    c: &Connection,
    name: &str,
    kind: ZoneKind,
    owner_id: Option<i64>,
) -> rusqlite::Result<Zone> {
    let now = clock::now_rfc3339();
    // Serials start at the creation time (as LuaDNS's do) and count up by one per change.
    let serial = clock::unix_now() as u32;
    exec(
        c,
        "INSERT INTO zones (name, kind, owner_id, serial, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![name, kind.as_str(), owner_id, serial, now],
    )?;
    Ok(Zone {
        id: c.last_insert_rowid(),
        name: name.to_string(),
        kind,
        owner_id,
        serial,
        queries_count: 0,
        created_at: now.clone(),
        updated_at: now,
    })
}

pub fn zone_by_name(c: &Connection, name: &str) -> rusqlite::Result<Option<Zone>> {
    one(
        c,
        concat!("SELECT ", zone_cols!(), " FROM zones WHERE name = ?1"),
        params![name],
        zone_row,
    )
    .optional()
}

pub fn zone_by_id(c: &Connection, id: i64) -> rusqlite::Result<Option<Zone>> {
    one(
        c,
        concat!("SELECT ", zone_cols!(), " FROM zones WHERE id = ?1"),
        params![id],
        zone_row,
    )
    .optional()
}

pub fn list_zones(c: &Connection) -> rusqlite::Result<Vec<Zone>> {
    let mut st = c.prepare_cached(concat!(
        "SELECT ",
        zone_cols!(),
        " FROM zones ORDER BY name"
    ))?;
    let rows = st.query_map([], zone_row)?;
    rows.collect()
}

pub fn delete_zone(c: &Connection, id: i64) -> rusqlite::Result<bool> {
    Ok(exec(c, "DELETE FROM zones WHERE id = ?1", params![id])? > 0)
}

/// The zone serving `fqdn` (longest suffix match) and the part of the name left of it
/// ('' for the apex).
pub fn zone_for_name(c: &Connection, fqdn: &str) -> rusqlite::Result<Option<(Zone, String)>> {
    let mut rest = fqdn;
    loop {
        if let Some(z) = zone_by_name(c, rest)? {
            let label = fqdn[..fqdn.len() - rest.len()]
                .trim_end_matches('.')
                .to_string();
            return Ok(Some((z, label)));
        }
        match rest.split_once('.') {
            Some((_, r)) => rest = r,
            None => return Ok(None),
        }
    }
}

/// Next serial (RFC 1982 arithmetic: wraps past 2^32) and `updated_at`.
pub fn bump_serial(c: &Connection, zone_id: i64) -> rusqlite::Result<u32> {
    let s: i64 = one(
        c,
        "UPDATE zones SET serial = (serial + 1) % 4294967296, updated_at = ?2 WHERE id = ?1 \
         RETURNING serial",
        params![zone_id, clock::now_rfc3339()],
        |r| r.get(0),
    )?;
    Ok(s as u32)
}

pub fn zone_serials(c: &Connection) -> rusqlite::Result<Vec<(i64, u32)>> {
    let mut st = c.prepare_cached("SELECT id, serial FROM zones")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u32)))?;
    rows.collect()
}

pub fn add_queries(c: &Connection, zone: &str, n: u64) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE zones SET queries_count = queries_count + ?2 WHERE name = ?1",
        params![zone, n as i64],
    )?;
    Ok(())
}

/// Load one zone from the store into the DNS view, streaming: apex NS (from the config for
/// shared zones, from the zone's NS records for hosted ones), then every hostname's RRsets,
/// then the records grouped by (name, type). Returns the zone's name and serial, or None when
/// there is no such zone.
pub fn load_zone_into(
    c: &Connection,
    zone_id: i64,
    apex: &ApexConfig,
    view: &DnsView,
) -> rusqlite::Result<Option<(String, u32)>> {
    let Some(zone) = zone_by_id(c, zone_id)? else {
        return Ok(None);
    };
    let mut shared_ns = Vec::new();
    if zone.kind == ZoneKind::Shared {
        shared_ns.push(RrsetChange {
            name: zone.name.clone(),
            rtype: RType::Ns,
            records: apex
                .nameservers
                .iter()
                .map(|n| RecordData {
                    ttl: apex.ns_ttl,
                    content: format!("{n}."),
                })
                .collect(),
        });
    }
    // Hosted-zone records, grouped; few compared with hostnames, so collected first.
    let mut records: Vec<RrsetChange> = Vec::new();
    {
        let mut st = c.prepare_cached(
            "SELECT name, type, content, ttl FROM records WHERE zone_id = ?1 AND type != 'SOA' \
             ORDER BY name, type, id",
        )?;
        let mut rows = st.query(params![zone_id])?;
        while let Some(r) = rows.next()? {
            let name: String = r.get(0)?;
            let ty: String = r.get(1)?;
            let Ok(rtype) = ty.parse::<RType>() else {
                log::warn!("zone {}: skipping record of unknown type {ty}", zone.name);
                continue;
            };
            let rec = RecordData {
                ttl: r.get(3)?,
                content: r.get(2)?,
            };
            match records.last_mut() {
                Some(last) if last.name == name && last.rtype == rtype => last.records.push(rec),
                _ => records.push(RrsetChange {
                    name,
                    rtype,
                    records: vec![rec],
                }),
            }
        }
    }
    let mut st =
        c.prepare_cached("SELECT label, ipv4, ipv6, txt, ttl FROM hostnames WHERE zone_id = ?1")?;
    let mut failed: Option<rusqlite::Error> = None;
    let rows = st.query_map(params![zone_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            [r.get(1)?, r.get(2)?, r.get(3)?],
            r.get::<_, u32>(4)?,
        ))
    })?;
    let zone_name = zone.name.clone();
    let hosts = rows
        .map_while(|row| match row {
            Ok(x) => Some(x),
            Err(e) => {
                failed = Some(e);
                None
            }
        })
        .flat_map(|(label, values, ttl)| {
            let fqdn = if label.is_empty() {
                zone_name.clone()
            } else {
                format!("{label}.{zone_name}")
            };
            host_rrsets(&fqdn, &label, ttl, values)
                .into_iter()
                .filter(|rr| !rr.records.is_empty())
        });
    view.load_zone_from(
        &zone.name,
        zone.serial,
        shared_ns.into_iter().chain(records).chain(hosts),
    );
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(Some((zone.name, zone.serial)))
}

/// The SOA text of a zone (LuaDNS content form).
pub fn soa_content(apex: &ApexConfig, serial: u32) -> String {
    format!(
        "{}. {}. {} {} {} {} {}",
        apex.nameservers[0],
        apex.rname,
        serial,
        apex.refresh,
        apex.retry,
        apex.expire,
        apex.minimum
    )
}

/// A new hosted zone's SOA and NS records (LuaDNS lists them as records with ids). The SOA
/// row's content is re-rendered from the config and serial whenever it is shown.
pub fn seed_hosted_records(c: &Connection, zone: &Zone, apex: &ApexConfig) -> rusqlite::Result<()> {
    let now = clock::now_rfc3339();
    let mut ins = c.prepare_cached(
        "INSERT INTO records (zone_id, name, type, content, ttl, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
    )?;
    ins.execute(params![
        zone.id,
        zone.name,
        "SOA",
        soa_content(apex, zone.serial),
        apex.soa_ttl,
        now
    ])?;
    for ns in &apex.nameservers {
        ins.execute(params![
            zone.id,
            zone.name,
            "NS",
            format!("{ns}."),
            apex.ns_ttl,
            now
        ])?;
    }
    Ok(())
}

// ---- hostnames ---------------------------------------------------------------------------

pub fn insert_hostname(c: &Connection, h: &Hostname) -> rusqlite::Result<()> {
    exec(
        c,
        "INSERT INTO hostnames (id, zone_id, label, user_id, ipv4, ipv6, txt, ttl, note, \
         created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            h.id,
            h.zone_id,
            h.label,
            h.user_id,
            h.ipv4,
            h.ipv6,
            h.txt,
            h.ttl,
            h.note,
            h.created_at,
            h.updated_at
        ],
    )?;
    Ok(())
}

/// Write the mutable fields of `h` (addresses, txt, ttl, note, updated_at).
pub fn update_hostname(c: &Connection, h: &Hostname) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE hostnames SET ipv4 = ?2, ipv6 = ?3, txt = ?4, ttl = ?5, note = ?6, \
         updated_at = ?7 WHERE id = ?1",
        params![h.id, h.ipv4, h.ipv6, h.txt, h.ttl, h.note, h.updated_at],
    )?;
    Ok(())
}

pub fn delete_hostname(c: &Connection, id: &str) -> rusqlite::Result<()> {
    exec(c, "DELETE FROM hostnames WHERE id = ?1", params![id])?;
    Ok(())
}

pub fn hostname_by_zone_label(
    c: &Connection,
    zone_id: i64,
    label: &str,
) -> rusqlite::Result<Option<Hostname>> {
    one(
        c,
        concat!(
            "SELECT ",
            host_cols!(),
            " FROM hostnames h JOIN zones z ON z.id = h.zone_id \
             WHERE h.zone_id = ?1 AND h.label = ?2"
        ),
        params![zone_id, label],
        host_row,
    )
    .optional()
}

/// A user's hostnames, oldest first.
pub fn hostnames_of_user(c: &Connection, user_id: i64) -> rusqlite::Result<Vec<Hostname>> {
    let mut st = c.prepare_cached(concat!(
        "SELECT ",
        host_cols!(),
        " FROM hostnames h JOIN zones z ON z.id = h.zone_id \
         WHERE h.user_id = ?1 ORDER BY h.created_at, h.id"
    ))?;
    let rows = st.query_map(params![user_id], host_row)?;
    rows.collect()
}

/// A user's hostname by id.
pub fn user_hostname_by_id(
    c: &Connection,
    user_id: i64,
    id: &str,
) -> rusqlite::Result<Option<Hostname>> {
    one(
        c,
        concat!(
            "SELECT ",
            host_cols!(),
            " FROM hostnames h JOIN zones z ON z.id = h.zone_id \
             WHERE h.id = ?1 AND h.user_id = ?2"
        ),
        params![id, user_id],
        host_row,
    )
    .optional()
}

/// A user's hostnames with this label (one per zone at most).
pub fn user_hostnames_by_label(
    c: &Connection,
    user_id: i64,
    label: &str,
) -> rusqlite::Result<Vec<Hostname>> {
    let mut st = c.prepare_cached(concat!(
        "SELECT ",
        host_cols!(),
        " FROM hostnames h JOIN zones z ON z.id = h.zone_id \
         WHERE h.user_id = ?1 AND h.label = ?2"
    ))?;
    let rows = st.query_map(params![user_id, label], host_row)?;
    // Sorted here, not by ORDER BY: the (user_id, label) index does not cover zone_id, and
    // SQLite would open a temporary b-tree on every update to sort one or two rows.
    let mut hosts = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    hosts.sort_by_key(|h| h.zone_id);
    Ok(hosts)
}

pub fn count_user_hostnames(c: &Connection, user_id: i64) -> rusqlite::Result<u32> {
    one(
        c,
        "SELECT COUNT(*) FROM hostnames WHERE user_id = ?1",
        params![user_id],
        |r| r.get(0),
    )
}

pub fn hostname_count(c: &Connection) -> rusqlite::Result<u64> {
    one(c, "SELECT COUNT(*) FROM hostnames", [], |r| r.get(0))
}

// ---- hosted-zone records -----------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Record {
    pub id: i64,
    pub zone_id: i64,
    /// Lowercase fqdn without the trailing dot.
    pub name: String,
    pub rtype: String,
    pub content: String,
    pub ttl: u32,
    pub external_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

macro_rules! rec_cols {
    () => {
        "id, zone_id, name, type, content, ttl, external_id, created_at, updated_at"
    };
}

fn rec_row(r: &Row) -> rusqlite::Result<Record> {
    Ok(Record {
        id: r.get(0)?,
        zone_id: r.get(1)?,
        name: r.get(2)?,
        rtype: r.get(3)?,
        content: r.get(4)?,
        ttl: r.get(5)?,
        external_id: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
    })
}

/// Hosted zones of a user, by id.
pub fn zones_of_user(c: &Connection, user_id: i64) -> rusqlite::Result<Vec<Zone>> {
    let mut st = c.prepare_cached(concat!(
        "SELECT ",
        zone_cols!(),
        " FROM zones WHERE owner_id = ?1 AND kind = 'hosted' ORDER BY id"
    ))?;
    let rows = st.query_map(params![user_id], zone_row)?;
    rows.collect()
}

pub fn records_of_zone(c: &Connection, zone_id: i64) -> rusqlite::Result<Vec<Record>> {
    let mut st = c.prepare_cached(concat!(
        "SELECT ",
        rec_cols!(),
        " FROM records WHERE zone_id = ?1 ORDER BY id"
    ))?;
    let rows = st.query_map(params![zone_id], rec_row)?;
    rows.collect()
}

pub fn records_count(c: &Connection, zone_id: i64) -> rusqlite::Result<u32> {
    one(
        c,
        "SELECT COUNT(*) FROM records WHERE zone_id = ?1",
        params![zone_id],
        |r| r.get(0),
    )
}

pub fn record_by_id(c: &Connection, zone_id: i64, id: i64) -> rusqlite::Result<Option<Record>> {
    one(
        c,
        concat!(
            "SELECT ",
            rec_cols!(),
            " FROM records WHERE zone_id = ?1 AND id = ?2"
        ),
        params![zone_id, id],
        rec_row,
    )
    .optional()
}

/// Records at one name (any type).
pub fn records_at(c: &Connection, zone_id: i64, name: &str) -> rusqlite::Result<Vec<Record>> {
    let mut st = c.prepare_cached(concat!(
        "SELECT ",
        rec_cols!(),
        " FROM records WHERE zone_id = ?1 AND name = ?2 ORDER BY id"
    ))?;
    let rows = st.query_map(params![zone_id, name], rec_row)?;
    rows.collect()
}

pub fn insert_record(c: &Connection, r: &Record) -> rusqlite::Result<i64> {
    exec(
        c,
        "INSERT INTO records (zone_id, name, type, content, ttl, external_id, created_at, \
         updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            r.zone_id,
            r.name,
            r.rtype,
            r.content,
            r.ttl,
            r.external_id,
            r.created_at,
            r.updated_at
        ],
    )?;
    Ok(c.last_insert_rowid())
}

pub fn update_record(c: &Connection, r: &Record) -> rusqlite::Result<()> {
    exec(
        c,
        "UPDATE records SET name = ?2, type = ?3, content = ?4, ttl = ?5, external_id = ?6, \
         updated_at = ?7 WHERE id = ?1",
        params![
            r.id,
            r.name,
            r.rtype,
            r.content,
            r.ttl,
            r.external_id,
            r.updated_at
        ],
    )?;
    Ok(())
}

pub fn delete_record(c: &Connection, id: i64) -> rusqlite::Result<()> {
    exec(c, "DELETE FROM records WHERE id = ?1", params![id])?;
    Ok(())
}

/// Delete every record of a zone except the SOA; returns the (name, type) sets removed.
pub fn delete_zone_records_but_soa(
    c: &Connection,
    zone_id: i64,
) -> rusqlite::Result<Vec<(String, String)>> {
    let mut st = c.prepare_cached(
        "DELETE FROM records WHERE zone_id = ?1 AND type != 'SOA' RETURNING name, type",
    )?;
    let rows = st.query_map(params![zone_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// The current state of one RRset of a hosted zone, as the DNS view takes it.
pub fn rrset(
    c: &Connection,
    zone_id: i64,
    name: &str,
    rtype: RType,
) -> rusqlite::Result<RrsetChange> {
    let mut st = c.prepare_cached(
        "SELECT ttl, content FROM records WHERE zone_id = ?1 AND name = ?2 AND type = ?3 \
         ORDER BY id",
    )?;
    let rows = st.query_map(params![zone_id, name, rtype.as_str()], |r| {
        Ok(RecordData {
            ttl: r.get(0)?,
            content: r.get(1)?,
        })
    })?;
    Ok(RrsetChange {
        name: name.to_string(),
        rtype,
        records: rows.collect::<rusqlite::Result<Vec<_>>>()?,
    })
}
