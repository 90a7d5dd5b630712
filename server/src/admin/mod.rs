//! The operator's admin commands (`zone …`, `user …`, `backup`). They open the same SQLite file
//! as a running `serve` (WAL + busy timeout make that safe); the server notices their changes
//! within half a second (`Store::sync_external`). Secrets are printed alone on the last line;
//! the commands that list or remove things never print one. Only the commands that set a
//! database up (`Command::may_create_db`) create a missing file, and say so on stderr.

use std::io::Write;
use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::cli::Command;
use crate::clock;
use crate::config::Config;
use crate::dns::ApexConfig;
use crate::domain::accounts::{self as account_ops, Role};
use crate::domain::scoped_tokens as scoped_ops;
use crate::domain::users as user_ops;
use crate::domain::zones::{self as zone_ops, CreateError};
use crate::model::{name, Invalid, Status, User, ZoneKind};
use crate::store::queries::api_keys::ApiKeyInfo;
use crate::store::queries::{api_keys, hostnames, users, zones};
use crate::store::{self, StoreError, WriteTx};

mod dnssec_cmds;
mod user_cmds;
mod zonefiles;

use user_cmds::*;

pub type Out<'a> = &'a mut dyn Write;

#[derive(Debug)]
pub enum AdminError {
    /// The operator asked for something that cannot be done (unknown user, taken name, ...).
    Refused(String),
    Store(StoreError),
    Io(std::io::Error),
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminError::Refused(m) => f.write_str(m),
            AdminError::Store(e) => write!(f, "{e}"),
            AdminError::Io(e) => write!(f, "{e}"),
        }
    }
}
impl std::error::Error for AdminError {}

impl From<rusqlite::Error> for AdminError {
    fn from(e: rusqlite::Error) -> Self {
        AdminError::Store(StoreError::Sql(e))
    }
}
impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        AdminError::Store(e)
    }
}
impl From<std::io::Error> for AdminError {
    fn from(e: std::io::Error) -> Self {
        AdminError::Io(e)
    }
}
impl From<Invalid> for AdminError {
    fn from(e: Invalid) -> Self {
        AdminError::Refused(e.0)
    }
}

fn fail<T>(s: impl Into<String>) -> Result<T, AdminError> {
    Err(AdminError::Refused(s.into()))
}

/// "1 hostname", "2 hostnames".
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Open the database file. A missing file is created (with a note on stderr) only when
/// `may_create`; otherwise it is an error naming the path, so a mistyped `--db` cannot pass
/// for an empty database.
pub fn open_db(path: &Path, may_create: bool) -> Result<Connection, AdminError> {
    // Err (say, a directory we may not search) is left to SQLite to report.
    let exists = path.try_exists().unwrap_or(true);
    if exists {
        return store::open_existing(path).map_err(|e| {
            AdminError::Refused(format!("cannot open database {}: {e}", path.display()))
        });
    }
    if !may_create {
        return fail(format!(
            "no database at {}: check --db or the config's `db` key \
             (only serve, zone add and user add create a new one)",
            path.display()
        ));
    }
    let conn = store::open(path).map_err(|e| {
        AdminError::Refused(format!("cannot create database {}: {e}", path.display()))
    })?;
    let _ = writeln!(
        std::io::stderr(),
        "lucentd: created new database {}",
        path.display()
    );
    Ok(conn)
}

pub fn run(cmd: Command, config: &Config, out: Out) -> Result<(), AdminError> {
    let mut conn = open_db(&config.db, cmd.may_create_db())?;
    let apex = &config.apex;
    match cmd {
        Command::ZoneAdd {
            name,
            shared,
            owner,
        } => zone_add(&mut conn, apex, &name, shared, owner.as_deref(), out),
        Command::ZoneList => zone_list(&conn, out),
        Command::ZoneRm(name) => zone_rm(&conn, &name, out),
        Command::UserAdd {
            email,
            max_hostnames,
            zones,
        } => user_add(&mut conn, &email, max_hostnames, zones, out),
        Command::UserToken(email) => user_token(&conn, &email, out),
        Command::UserScopedToken {
            email,
            hostnames,
            label,
        } => user_scoped_token(&mut conn, &email, &hostnames, &label, out),
        Command::UserTokens(email) => user_tokens(&conn, &email, out),
        Command::UserTokenRevoke { email, label } => {
            let u = user(&conn, &email)?;
            scoped_ops::revoke(&conn, u.id, &label).map_err(api_refused)?;
            writeln!(out, "revoked token '{}' of {}", label.trim(), u.email)?;
            Ok(())
        }
        Command::UserApiKey { email, zone, label } => user_apikey(
            &conn,
            &email,
            zone.as_deref(),
            label.as_deref().unwrap_or(""),
            out,
        ),
        Command::UserApiKeys(email) => user_apikeys(&conn, &email, out),
        Command::UserApiKeyRevoke { email, id } => user_apikey_revoke(&conn, &email, id, out),
        Command::UserTsig {
            email,
            name,
            zone,
            hostnames,
        } => {
            let reserved: Vec<String> = config
                .dns_xfr
                .keys
                .iter()
                .map(|k| k.name().to_string())
                .collect();
            user_cmds::user_tsig(
                &mut conn,
                &email,
                &name,
                zone.as_deref(),
                &hostnames,
                &reserved,
                out,
            )
        }
        Command::UserTsigs(email) => user_cmds::user_tsigs(&conn, &email, out),
        Command::UserTsigRevoke { email, name } => {
            let u = user(&conn, &email)?;
            crate::domain::dns_update::revoke_key(&conn, &u, &name).map_err(api_refused)?;
            writeln!(out, "TSIG key '{name}' of {} revoked", u.email)?;
            Ok(())
        }
        Command::UserSet {
            email,
            status,
            max_hostnames,
            api_enabled,
            role,
        } => user_set(
            &mut conn,
            &email,
            status,
            max_hostnames,
            api_enabled,
            role,
            out,
        ),
        Command::UserInvite(email) => user_invite(&conn, &email, &config.public_url, out),
        Command::UserPasswd(email) => user_passwd(&conn, &email, &mut std::io::stdin().lock(), out),
        Command::UserList => user_list(&conn, out),
        Command::UserRm { email, yes } => user_rm(&mut conn, &email, yes, out),
        Command::HostnameRm(fqdn) => hostname_rm(&mut conn, &fqdn, out),
        Command::HostnameList { operator } => hostname_list(&conn, operator, out),
        Command::ZoneExport(name) => zonefiles::export(&conn, apex, &name, out),
        Command::ZoneDs(name) => dnssec_cmds::ds(&conn, apex, &name, out),
        Command::ZoneDnssec { name, enable } => {
            dnssec_cmds::switch(&mut conn, apex, &name, enable, out)
        }
        Command::ZoneRollover(name) => dnssec_cmds::rollover(&mut conn, apex, &name, out),
        Command::ZoneImport { name, file } => {
            let limits = crate::domain::records::Limits {
                max_records: config.limits.max_records_per_zone,
            };
            zonefiles::import(&mut conn, apex, limits, &name, &file, out)
        }
        Command::Backup { file, force } => backup(&conn, &config.db, &file, force, out),
        Command::Help(_) | Command::Version | Command::Serve(_) => fail("not an admin command"),
    }
}

fn user(conn: &Connection, email: &str) -> Result<User, AdminError> {
    users::user_by_email(conn, email.trim())?
        .map(Ok)
        .unwrap_or_else(|| fail(format!("no user '{email}'")))
}

fn zone_add(
    conn: &mut Connection,
    apex: &ApexConfig,
    name: &str,
    shared: bool,
    owner: Option<&str>,
    out: Out,
) -> Result<(), AdminError> {
    let name = name::zone_name(name)?;
    let tx = write_tx(conn)?;
    let (kind, owner_id) = match (shared, owner) {
        (true, None) => (ZoneKind::Shared, None),
        (false, Some(email)) => (ZoneKind::Hosted, Some(user(&tx, email)?.id)),
        (true, Some(_)) => return fail("a shared zone has no owner: give --shared or --owner"),
        (false, None) => {
            return fail("give --shared (a DDNS zone users claim hostnames in) or --owner EMAIL")
        }
    };
    let zone = match zone_ops::create(&mut WriteTx::detached(&tx), apex, &name, kind, owner_id) {
        Ok(z) => z,
        Err(CreateError::Store(e)) => return Err(e.into()),
        Err(why) => return fail(format!("zone '{name}': {why}")),
    };
    tx.commit()?;
    writeln!(
        out,
        "added {} zone {} (id {})",
        kind.as_str(),
        zone.name,
        zone.id
    )?;
    Ok(())
}

fn zone_list(conn: &Connection, out: Out) -> Result<(), AdminError> {
    writeln!(
        out,
        "{:<6} {:<32} {:<7} {:<28} {:>10} {:>9}",
        "ID", "NAME", "KIND", "OWNER", "SERIAL", "QUERIES"
    )?;
    for z in zones::list_zones(conn)? {
        let owner = match z.owner_id {
            Some(id) => users::user_by_id(conn, id)?
                .map(|u| u.email)
                .unwrap_or_default(),
            None => "-".into(),
        };
        writeln!(
            out,
            "{:<6} {:<32} {:<7} {:<28} {:>10} {:>9}",
            z.id,
            z.name,
            z.kind.as_str(),
            owner,
            z.serial,
            z.queries_count
        )?;
    }
    Ok(())
}

fn zone_rm(conn: &Connection, name: &str, out: Out) -> Result<(), AdminError> {
    let name = name::domain_name(name)?;
    let Some(z) = zones::zone_by_name(conn, &name)? else {
        return fail(format!("no zone '{name}'"));
    };
    zones::delete_zone(conn, z.id)?;
    writeln!(out, "removed zone {name} and its records")?;
    Ok(())
}

/// A write transaction that takes the write lock at BEGIN (waiting on the busy timeout while
/// the server commits), so it cannot fail half-way on a lock upgrade.
fn write_tx(conn: &mut Connection) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

/// Remove one hostname row (a user's, or an operator-managed name) and its values from DNS.
/// Every hostname of the shared zones (or only the operator-managed ones), by name.
fn hostname_list(conn: &Connection, operator_only: bool, out: Out) -> Result<(), AdminError> {
    writeln!(
        out,
        "{:<40} {:<28} {:<15} {:<26} UPDATED",
        "NAME", "OWNER", "IPV4", "IPV6"
    )?;
    let owners: std::collections::HashMap<i64, String> = users::list_users(conn)?
        .into_iter()
        .map(|(u, _)| (u.id, u.email))
        .collect();
    for h in hostnames::all_hostnames(conn)? {
        if operator_only && h.user_id.is_some() {
            continue;
        }
        let owner = match h.user_id {
            Some(id) => owners.get(&id).cloned().unwrap_or_else(|| id.to_string()),
            None => "(operator)".into(),
        };
        let addr = |a: Option<String>| a.unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "{:<40} {:<28} {:<15} {:<26} {}",
            h.fqdn(),
            owner,
            addr(h.ipv4.map(|a| a.to_string())),
            addr(h.ipv6.map(|a| a.to_string())),
            h.updated_at
        )?;
    }
    Ok(())
}

fn hostname_rm(conn: &mut Connection, fqdn: &str, out: Out) -> Result<(), AdminError> {
    let fqdn = name::domain_name(fqdn)?;
    let tx = write_tx(conn)?;
    let Some((zone, label)) = zones::zone_for_name(&tx, &fqdn)? else {
        return fail(format!("no hostname '{fqdn}': no zone serves that name"));
    };
    let Some(h) = hostnames::hostname_by_zone_label(&tx, zone.id, &label)? else {
        let hint = if zone.kind == ZoneKind::Hosted {
            format!(
                "; {} is a hosted zone, whose records its owner manages through the API",
                zone.name
            )
        } else if label.is_empty() {
            format!("; `lucentd zone rm {}` removes the zone itself", zone.name)
        } else {
            String::new()
        };
        return fail(format!("no hostname '{fqdn}'{hint}"));
    };
    let whose = match h.user_id {
        Some(id) => match users::user_by_id(&tx, id)? {
            Some(u) => format!("owned by {}", u.email),
            None => format!("owned by user {id}"),
        },
        None => "operator-managed".to_string(),
    };
    // The `hostnames_deleted` trigger bumps the zone's serial: a running server reloads the
    // zone within its sync tick and stops serving the name.
    hostnames::delete_hostname(&tx, &h.id)?;
    tx.commit()?;
    writeln!(out, "removed hostname {fqdn} ({whose}) and its records")?;
    Ok(())
}

/// Online, consistent copy through SQLite's backup API, written to a temporary file and
/// renamed, so FILE is either the old copy or a complete new one. An existing FILE is kept
/// unless `force`; the database itself is never a target.
fn backup(
    conn: &Connection,
    db: &Path,
    file: &Path,
    force: bool,
    out: Out,
) -> Result<(), AdminError> {
    if file.try_exists().unwrap_or(true) || file.is_symlink() {
        let same = match (std::fs::canonicalize(db), std::fs::canonicalize(file)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same {
            return fail(format!(
                "{} is the database itself; give another file",
                file.display()
            ));
        }
        if !force {
            return fail(format!(
                "{} already exists; give --force to replace it",
                file.display()
            ));
        }
    }
    let tmp = file.with_extension("lucent-backup-tmp");
    let _ = std::fs::remove_file(&tmp);
    store::backup_to(conn, &tmp)?;
    std::fs::rename(&tmp, file)?;
    let check = Connection::open(file)?;
    let ok: String = check.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if ok != "ok" {
        return fail(format!(
            "backup {} failed its integrity check: {ok}",
            file.display()
        ));
    }
    let hosts = hostnames::hostname_count(&check)?;
    writeln!(
        out,
        "backup written to {} ({})",
        file.display(),
        count(hosts as usize, "hostname")
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn counts_agree_with_their_number() {
        assert_eq!(count(0, "hostname"), "0 hostnames");
        assert_eq!(count(1, "hostname"), "1 hostname");
        assert_eq!(count(2, "API key"), "2 API keys");
    }
}
