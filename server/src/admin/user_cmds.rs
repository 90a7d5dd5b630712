//! The `user …` commands: add, invite, passwd, token (the main one or a scoped one), tokens,
//! apikey(s), apikey-revoke, set, list, rm. Zones, hostnames and backups are in `mod.rs`, zone
//! files in `zonefiles.rs`.

use super::*;

pub(super) fn user_add(
    conn: &mut Connection,
    email: &str,
    max_hostnames: Option<u32>,
    zones: Option<Vec<String>>,
    out: Out,
) -> Result<(), AdminError> {
    let tx = write_tx(conn)?;
    let (id, token) =
        user_ops::add(&tx, email, max_hostnames, zones.as_deref()).map_err(api_refused)?;
    tx.commit()?;
    let email = email.trim();
    writeln!(out, "created user {email} (id {id}); update token:")?;
    writeln!(out, "{}", token.expose())?;
    Ok(())
}

/// `user invite`: a one-time link where the user sets a dashboard password.
pub(super) fn user_invite(
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
pub(super) fn user_passwd(
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
pub(super) fn api_refused(e: crate::error::ApiError) -> AdminError {
    AdminError::Refused(e.detail().unwrap_or_else(|| e.message()))
}

/// `user token EMAIL --hostname … --label …`: a scoped token, printed last.
pub(super) fn user_scoped_token(
    conn: &mut Connection,
    email: &str,
    hostnames: &[String],
    label: &str,
    out: Out,
) -> Result<(), AdminError> {
    let tx = write_tx(conn)?;
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
pub(super) fn user_tokens(conn: &Connection, email: &str, out: Out) -> Result<(), AdminError> {
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

pub(super) fn user_token(conn: &Connection, email: &str, out: Out) -> Result<(), AdminError> {
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

pub(super) fn user_apikey(
    conn: &Connection,
    email: &str,
    zone: Option<&str>,
    label: &str,
    out: Out,
) -> Result<(), AdminError> {
    let u = user(conn, email)?;
    let (id, key) = crate::domain::api_keys::create(conn, &u, zone, label).map_err(api_refused)?;
    let scope = zone
        .map(|z| format!("zone {z}"))
        .unwrap_or_else(|| "all zones".into());
    writeln!(out, "new API key {id} for {} ({scope}):", u.email)?;
    writeln!(out, "{}", key.expose())?;
    Ok(())
}

pub(super) fn user_set(
    conn: &mut Connection,
    email: &str,
    status: Option<String>,
    max_hostnames: Option<u32>,
    api_enabled: Option<bool>,
    role: Option<String>,
    out: Out,
) -> Result<(), AdminError> {
    let ch = user_ops::UserChange {
        status: status
            .map(|s| {
                Status::parse(&s).map(Ok).unwrap_or_else(|| {
                    fail(format!("--status: '{s}' is not active, disabled or banned"))
                })
            })
            .transpose()?,
        max_hostnames,
        api_enabled,
        role: role
            .map(|r| {
                Role::parse(&r)
                    .map(Ok)
                    .unwrap_or_else(|| fail(format!("--role: '{r}' is not admin or user")))
            })
            .transpose()?,
    };
    if ch.is_empty() {
        return fail("nothing to change: give --status, --max-hostnames, --api-enabled or --role");
    }
    let tx = write_tx(conn)?;
    let u = user(&tx, email)?;
    user_ops::change(&mut WriteTx::detached(&tx), u.id, &ch).map_err(api_refused)?;
    tx.commit()?;
    writeln!(out, "updated user {}", u.email)?;
    Ok(())
}

pub(super) fn user_list(conn: &Connection, out: Out) -> Result<(), AdminError> {
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

pub(super) fn scope(k: &ApiKeyInfo) -> &str {
    k.zone.as_deref().unwrap_or("global")
}

pub(super) fn user_apikeys(conn: &Connection, email: &str, out: Out) -> Result<(), AdminError> {
    let u = user(conn, email)?;
    writeln!(out, "{:<8} {:<40} {:<27} LABEL", "ID", "SCOPE", "CREATED")?;
    for k in api_keys::api_keys_of_user(conn, u.id)? {
        writeln!(
            out,
            "{:<8} {:<40} {:<27} {}",
            k.id,
            scope(&k),
            k.created_at,
            k.label
        )?;
    }
    Ok(())
}

/// Revoke one key. Every request looks its key up in the file, so the key fails on the
/// server's next request; there is nothing to reload.
pub(super) fn user_apikey_revoke(
    conn: &Connection,
    email: &str,
    id: i64,
    out: Out,
) -> Result<(), AdminError> {
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

/// Delete a user and everything that is theirs (ON DELETE CASCADE from the row). Each deleted
/// hostname bumps its zone's serial (trigger `hostnames_deleted`, schema step 5), so a running
/// server reloads those zones within its sync tick; deleted hosted zones stop being served.
pub(super) fn user_rm(
    conn: &mut Connection,
    email: &str,
    yes: bool,
    out: Out,
) -> Result<(), AdminError> {
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

/// `user tsig EMAIL --name KEYNAME [--zone ZONE | --hostname FQDN,...]`: the secret is the last
/// line.
pub(super) fn user_tsig(
    conn: &mut Connection,
    email: &str,
    name: &str,
    zone: Option<&str>,
    hostnames: &[String],
    reserved: &[String],
    out: Out,
) -> Result<(), AdminError> {
    let tx = write_tx(conn)?;
    let u = user(&tx, email)?;
    let secret = crate::domain::dns_update::create_key(&tx, &u, name, zone, hostnames, reserved)
        .map_err(api_refused)?;
    tx.commit()?;
    let scope = match zone {
        Some(z) => format!("the zone {z}"),
        None if hostnames.is_empty() => "everything the user may change".to_string(),
        None => hostnames.join(", "),
    };
    writeln!(
        out,
        "TSIG key '{}' (hmac-sha256) for {} reaching {scope}; nsupdate -y hmac-sha256:{}:SECRET",
        name.trim_end_matches('.').to_ascii_lowercase(),
        u.email,
        name.trim_end_matches('.').to_ascii_lowercase()
    )?;
    writeln!(out, "{secret}")?;
    Ok(())
}

/// `user tsigs EMAIL`: name, reach, created, last used; never a secret.
pub(super) fn user_tsigs(conn: &Connection, email: &str, out: Out) -> Result<(), AdminError> {
    let u = user(conn, email)?;
    writeln!(out, "NAME\tREACHES\tCREATED\tLAST USED")?;
    for k in crate::store::queries::update_keys::of_user(conn, u.id)? {
        let reach = match k.zone_id {
            Some(id) => crate::store::queries::zones::zone_by_id(conn, id)?
                .map(|z| format!("zone {}", z.name))
                .unwrap_or_default(),
            None if k.names.is_empty() => "all".to_string(),
            None => k.names.join(","),
        };
        writeln!(
            out,
            "{}\t{reach}\t{}\t{}",
            k.name,
            k.created_at,
            k.last_used_at.as_deref().unwrap_or("never")
        )?;
    }
    Ok(())
}
