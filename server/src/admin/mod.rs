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
use crate::domain::zones::{self as zone_ops, CreateError};
use crate::model::{name, Invalid, Status, User, ZoneKind};
use crate::secret;
use crate::store::queries::api_keys::ApiKeyInfo;
use crate::store::queries::{accounts, api_keys, hostnames, users, zones};
use crate::store::{self, StoreError, WriteTx};

mod zonefiles;

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
        Command::UserApiKey { email, zone } => user_apikey(&conn, &email, zone.as_deref(), out),
        Command::UserApiKeys(email) => user_apikeys(&conn, &email, out),
        Command::UserApiKeyRevoke { email, id } => user_apikey_revoke(&conn, &email, id, out),
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
    let tx = conn.transaction()?;
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

fn check_email(email: &str) -> Result<String, AdminError> {
    let e = email.trim();
    let ok = e.len() <= 254
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty() && !d.contains('@'))
        && !e
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ':');
    if ok {
        Ok(e.to_string())
    } else {
        fail(format!("'{}' is not an email address", name::printable(e)))
    }
}

fn user_add(
    conn: &mut Connection,
    email: &str,
    max_hostnames: Option<u32>,
    zones: Option<Vec<String>>,
    out: Out,
) -> Result<(), AdminError> {
    let email = check_email(email)?;
    let tx = conn.transaction()?;
    if users::user_by_email(&tx, &email)?.is_some() {
        return fail(format!("user '{email}' already exists"));
    }
    let token = secret::new_token();
    let id = users::insert_user(
        &tx,
        &email,
        max_hostnames.unwrap_or(10),
        &secret::hash(token.expose()),
    )?;
    if let Some(zs) = zones {
        let mut ids = Vec::new();
        for z in zs {
            let name = name::domain_name(&z)?;
            match zones::zone_by_name(&tx, &name)? {
                Some(zone) if zone.kind == ZoneKind::Shared => ids.push(zone.id),
                Some(_) => return fail(format!("'{name}' is a hosted zone, not a shared one")),
                None => return fail(format!("no zone '{name}'")),
            }
        }
        users::restrict_user_zones(&tx, id, &ids)?;
    }
    tx.commit()?;
    writeln!(out, "created user {email} (id {id}); update token:")?;
    writeln!(out, "{}", token.expose())?;
    Ok(())
}

/// `user invite`: a one-time link where the user sets a dashboard password.
fn user_invite(
    conn: &Connection,
    email: &str,
    public_url: &str,
    out: Out,
) -> Result<(), AdminError> {
    let u = user(conn, email)?;
    let token = account_ops::invite(conn, u.id, clock::unix_now())?;
    writeln!(
        out,
        "invite link for {} (valid 24 hours, works once):",
        u.email
    )?;
    writeln!(out, "{public_url}/invite/{}", token.expose())?;
    Ok(())
}

/// `user passwd`: the password is one line of `input`.
fn user_passwd(
    conn: &Connection,
    email: &str,
    input: &mut dyn std::io::BufRead,
    out: Out,
) -> Result<(), AdminError> {
    let u = user(conn, email)?;
    let mut line = String::new();
    input.read_line(&mut line)?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    account_ops::set_password(conn, u.id, password).map_err(api_refused)?;
    writeln!(out, "password set for {}", u.email)?;
    Ok(())
}

/// A domain refusal as the operator sees it.
fn api_refused(e: crate::error::ApiError) -> AdminError {
    AdminError::Refused(e.detail().unwrap_or_else(|| e.message()))
}

/// `user token EMAIL --hostname … --label …`: a scoped token, printed last.
fn user_scoped_token(
    conn: &mut Connection,
    email: &str,
    hostnames: &[String],
    label: &str,
    out: Out,
) -> Result<(), AdminError> {
    let tx = conn.transaction()?;
    let u = user(&tx, email)?;
    let token =
        scoped_ops::create(&tx, &u, label, hostnames, clock::unix_now()).map_err(api_refused)?;
    tx.commit()?;
    writeln!(
        out,
        "new token '{}' for {} reaching {}:",
        label.trim(),
        u.email,
        hostnames.join(", ")
    )?;
    writeln!(out, "{}", token.expose())?;
    Ok(())
}

/// `user tokens EMAIL`: label, hostnames, created, last used; never a secret.
fn user_tokens(conn: &Connection, email: &str, out: Out) -> Result<(), AdminError> {
    let u = user(conn, email)?;
    let tokens = scoped_ops::list(conn, u.id).map_err(api_refused)?;
    writeln!(out, "LABEL\tHOSTNAMES\tCREATED\tLAST USED")?;
    for t in tokens {
        writeln!(
            out,
            "{}\t{}\t{}\t{}",
            t.label,
            t.hostnames.join(","),
            clock::rfc3339(t.created_at, 0),
            t.last_used
                .map(|s| clock::rfc3339(s, 0))
                .unwrap_or_else(|| "never".into())
        )?;
    }
    Ok(())
}

fn user_token(conn: &Connection, email: &str, out: Out) -> Result<(), AdminError> {
    let u = user(conn, email)?;
    let token = account_ops::regenerate_token(conn, u.id).map_err(api_refused)?;
    writeln!(
        out,
        "new update token for {} (the old one no longer works):",
        u.email
    )?;
    writeln!(out, "{}", token.expose())?;
    Ok(())
}

fn user_apikey(
    conn: &Connection,
    email: &str,
    zone: Option<&str>,
    out: Out,
) -> Result<(), AdminError> {
    let u = user(conn, email)?;
    let (id, key) = crate::domain::api_keys::create(conn, &u, zone).map_err(api_refused)?;
    let scope = zone
        .map(|z| format!("zone {z}"))
        .unwrap_or_else(|| "all zones".into());
    writeln!(out, "new API key {id} for {} ({scope}):", u.email)?;
    writeln!(out, "{}", key.expose())?;
    Ok(())
}

fn user_set(
    conn: &mut Connection,
    email: &str,
    status: Option<String>,
    max_hostnames: Option<u32>,
    api_enabled: Option<bool>,
    role: Option<String>,
    out: Out,
) -> Result<(), AdminError> {
    if status.is_none() && max_hostnames.is_none() && api_enabled.is_none() && role.is_none() {
        return fail("nothing to change: give --status, --max-hostnames, --api-enabled or --role");
    }
    let tx = conn.transaction()?;
    let u = user(&tx, email)?;
    if let Some(s) = status {
        let s = Status::parse(&s).map(Ok).unwrap_or_else(|| {
            fail(format!("--status: '{s}' is not active, disabled or banned"))
        })?;
        users::set_user_status(&tx, u.id, s)?;
    }
    if let Some(n) = max_hostnames {
        users::set_user_max_hostnames(&tx, u.id, n)?;
    }
    if let Some(on) = api_enabled {
        users::set_user_api_enabled(&tx, u.id, on)?;
    }
    if let Some(r) = role {
        let r = Role::parse(&r)
            .map(Ok)
            .unwrap_or_else(|| fail(format!("--role: '{r}' is not admin or user")))?;
        accounts::set_role(&tx, u.id, r.as_str())?;
    }
    tx.commit()?;
    writeln!(out, "updated user {}", u.email)?;
    Ok(())
}

fn user_list(conn: &Connection, out: Out) -> Result<(), AdminError> {
    writeln!(
        out,
        "{:<6} {:<32} {:<9} {:>9} {:>13} {:<5} ZONES",
        "ID", "EMAIL", "STATUS", "HOSTNAMES", "MAX_HOSTNAMES", "API"
    )?;
    for (u, n) in users::list_users(conn)? {
        let zones = if u.zones_restricted {
            users::allowed_zones(conn, &u)?
                .into_iter()
                .map(|z| z.name)
                .collect::<Vec<_>>()
                .join(",")
        } else {
            "*".into()
        };
        writeln!(
            out,
            "{:<6} {:<32} {:<9} {:>9} {:>13} {:<5} {}",
            u.id,
            u.email,
            u.status.as_str(),
            n,
            u.max_hostnames,
            u.api_enabled,
            zones
        )?;
    }
    Ok(())
}

fn scope(k: &ApiKeyInfo) -> &str {
    k.zone.as_deref().unwrap_or("global")
}

fn user_apikeys(conn: &Connection, email: &str, out: Out) -> Result<(), AdminError> {
    let u = user(conn, email)?;
    writeln!(out, "{:<8} {:<40} CREATED", "ID", "SCOPE")?;
    for k in api_keys::api_keys_of_user(conn, u.id)? {
        writeln!(out, "{:<8} {:<40} {}", k.id, scope(&k), k.created_at)?;
    }
    Ok(())
}

/// Revoke one key. Every request looks its key up in the file, so the key fails on the
/// server's next request; there is nothing to reload.
fn user_apikey_revoke(conn: &Connection, email: &str, id: i64, out: Out) -> Result<(), AdminError> {
    let u = user(conn, email)?;
    let Some(k) = api_keys::api_keys_of_user(conn, u.id)?
        .into_iter()
        .find(|k| k.id == id)
    else {
        return fail(format!(
            "{} has no API key {id} (`lucentd user apikeys {}` lists them)",
            u.email, u.email
        ));
    };
    api_keys::delete_api_key(conn, u.id, id)?;
    writeln!(
        out,
        "revoked API key {id} of {} ({}); it no longer works",
        u.email,
        scope(&k)
    )?;
    Ok(())
}

/// A write transaction that takes the write lock at BEGIN (waiting on the busy timeout while
/// the server commits), so it cannot fail half-way on a lock upgrade.
fn write_tx(conn: &mut Connection) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

/// Delete a user and everything that is theirs (ON DELETE CASCADE from the row). Each deleted
/// hostname bumps its zone's serial (trigger `hostnames_deleted`, schema step 5), so a running
/// server reloads those zones within its sync tick; deleted hosted zones stop being served.
fn user_rm(conn: &mut Connection, email: &str, yes: bool, out: Out) -> Result<(), AdminError> {
    let tx = write_tx(conn)?;
    let u = user(&tx, email)?;
    let hosts = hostnames::hostnames_of_user(&tx, u.id)?;
    let owned = zones::zones_of_user(&tx, u.id)?;
    let keys = api_keys::api_keys_of_user(&tx, u.id)?;
    let names = |v: Vec<String>| {
        if v.is_empty() {
            String::new()
        } else {
            format!(" ({})", v.join(", "))
        }
    };
    let what = format!(
        "{}{}, {}{} and {}",
        count(hosts.len(), "hostname"),
        names(hosts.iter().map(|h| h.fqdn()).collect()),
        count(owned.len(), "hosted zone"),
        names(owned.iter().map(|z| z.name.clone()).collect()),
        count(keys.len(), "API key"),
    );
    if !yes {
        return fail(format!(
            "this deletes user {} with {what}; give --yes to do it",
            u.email
        ));
    }
    users::delete_user(&tx, u.id)?;
    tx.commit()?;
    writeln!(out, "removed user {} with {what}", u.email)?;
    Ok(())
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
