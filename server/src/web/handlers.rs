//! The dashboard's page handlers behind `dispatch`: hostnames, tokens, API keys, hosted zones
//! and their records, the admin page, the account page. Each goes through the same domain code
//! as the JSON API; sessions, cookies and page helpers are in `session.rs`.

use super::session::*;
use super::*;
use crate::store::queries::hostnames;

/// The hostnames page, with a notice or an error from a form.
pub(super) fn home(
    ctx: &Ctx,
    s: &Session,
    notice: Option<Notice>,
    error: Option<String>,
    status: u16,
) -> Result<Reply, ApiError> {
    let since = clock::unix_now().saturating_sub(charts::DAYS * 86_400);
    let (hosts, zones, changes) = ctx.store.read(|tx| {
        let (hosts, zones) = host_ops::list(tx, &s.user)?;
        let changes = hostnames::address_changes_of_user(tx, s.user.id, since)?;
        Ok::<_, ApiError>((hosts, zones, changes))
    })?;
    Ok(page(
        status,
        pages::home(s, &hosts, &changes, &zones, notice, error.as_deref()),
    ))
}

/// A hostname's page: when and from where it was last changed, its address changes, the
/// edit form (with an error from it).
pub(super) fn edit_page(
    ctx: &Ctx,
    s: &Session,
    id: &str,
    error: Option<&str>,
    status: u16,
) -> Result<Reply, ApiError> {
    let since = clock::unix_now().saturating_sub(charts::DAYS * 86_400);
    let (h, changes) = ctx.store.read(|tx| {
        let h = host_ops::find_owned(tx, &s.user, id)?;
        let changes = hostnames::address_changes(tx, &h.id, since)?;
        Ok::<_, ApiError>((h, changes))
    })?;
    Ok(page(status, pages::edit(s, &h, &changes, error)))
}

/// The value fields of a hostname form, as the JSON API's (an empty field clears the value).
pub(super) fn value_fields(form: &Form) -> ValueFields {
    let text = |k: &str| match form.get(k) {
        None => Field::Absent,
        Some(v) => Field::Str(v.trim().to_string()),
    };
    let ttl = match form.get("ttl").map(str::trim) {
        None | Some("") => Field::Absent,
        Some(v) => match v.parse::<u64>() {
            Ok(n) => Field::Num(n.into()),
            Err(_) => Field::Str(v.to_string()),
        },
    };
    ValueFields {
        ipv4: text("ipv4"),
        ipv6: text("ipv6"),
        txt: text("txt"),
        ttl,
        note: text("note"),
        ipv6_suffix: Field::Absent,
    }
}

pub(super) fn create_hostname(
    ctx: &Ctx,
    req: &ApiRequest,
    s: &Session,
    form: &Form,
) -> Result<Reply, ApiError> {
    let nonempty = |k: &str| {
        form.get(k)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from)
    };
    let result = value_fields(form)
        .changes(ctx.ttl_range())
        .and_then(|changes| {
            let new = NewName {
                hostname: nonempty("hostname"),
                zone: nonempty("zoneDomain"),
                fqdn: None,
            };
            api_hostnames::create_hostname(ctx, &s.user, new, changes, unmap(req.peer))
        });
    match result {
        Ok(_) => Ok(redirect("/?done=created")),
        Err(e) if e.status() < 500 => home(ctx, s, None, Some(e.message()), e.status()),
        Err(e) => Err(e),
    }
}

pub(super) fn edit_hostname(
    ctx: &Ctx,
    req: &ApiRequest,
    s: &Session,
    id: &str,
    form: &Form,
) -> Result<Reply, ApiError> {
    let result = value_fields(form)
        .changes(ctx.ttl_range())
        .and_then(|c| api_hostnames::change_hostname(ctx, &s.user, id, c, unmap(req.peer)));
    match result {
        Ok(_) => Ok(redirect("/?done=saved")),
        Err(e) if e.status() < 500 && e.status() != 404 => {
            edit_page(ctx, s, id, Some(&e.message()), e.status())
        }
        Err(e) => Err(e),
    }
}

/// The scoped tokens page: the list, the create form, and a new token once.
pub(super) fn tokens(
    ctx: &Ctx,
    s: &Session,
    new_token: Option<&str>,
    error: Option<&str>,
    status: u16,
) -> Result<Reply, ApiError> {
    let (list, (hosts, _)) = ctx.store.read(|tx| {
        Ok::<_, ApiError>((
            scoped_tokens::list(tx, s.user.id)?,
            host_ops::list(tx, &s.user)?,
        ))
    })?;
    Ok(page(
        status,
        pages::tokens(s, &list, &hosts, new_token, error),
    ))
}

/// The DNS UPDATE keys page: the keys (never their secrets), the create form, a new key once
/// (its name and secret).
pub(super) fn tsig_page(
    ctx: &Ctx,
    s: &Session,
    new_key: Option<(&str, &str)>,
    error: Option<&str>,
    status: u16,
) -> Result<Reply, ApiError> {
    let (keys, zones, (hosts, _)) = ctx.store.read(|tx| {
        let keys = crate::store::queries::update_keys::of_user(tx, s.user.id)?;
        let zones = crate::store::queries::zones::zones_of_user(tx, s.user.id)?;
        let reach: Vec<(crate::store::queries::update_keys::UpdateKeyRow, String)> = keys
            .into_iter()
            .map(|k| {
                let r = match k.zone_id {
                    Some(id) => zones
                        .iter()
                        .find(|z| z.id == id)
                        .map(|z| format!("the zone {}", z.name))
                        .unwrap_or_default(),
                    None if k.names.is_empty() => "everything you may change".to_string(),
                    None => k.names.join(", "),
                };
                (k, r)
            })
            .collect();
        Ok::<_, ApiError>((reach, zones, host_ops::list(tx, &s.user)?))
    })?;
    Ok(page(
        status,
        super::tsig_pages::tsig(
            s,
            &keys,
            &zones,
            &hosts,
            new_key,
            error,
            &ctx.config.public_url,
        ),
    ))
}

/// The API keys page: the keys (never their secrets), the create form, a new key once.
pub(super) fn api_keys_page(
    ctx: &Ctx,
    s: &Session,
    new_key: Option<&str>,
    error: Option<&str>,
    status: u16,
) -> Result<Reply, ApiError> {
    let (keys, zones) = ctx.store.read(|tx| {
        Ok::<_, ApiError>((
            crate::store::queries::api_keys::api_keys_of_user(tx, s.user.id)?,
            crate::store::queries::zones::zones_of_user(tx, s.user.id)?,
        ))
    })?;
    Ok(page(
        status,
        pages::api_keys(s, &keys, &zones, new_key, error),
    ))
}

/// A hosted zone of the signed-in user (404 otherwise, as for anyone else's).
pub(super) fn own_zone(ctx: &Ctx, s: &Session, id: i64) -> Result<crate::model::Zone, ApiError> {
    ctx.store
        .read(|tx| crate::store::queries::zones::zone_by_id(tx, id))?
        .filter(|z| z.owner_id == Some(s.user.id) && z.kind == crate::model::ZoneKind::Hosted)
        .ok_or_else(|| ApiError::NotFound("zone_not_found", "no such zone".into()))
}

/// Records per page on the zone page.
const RECORDS_PER_PAGE: usize = 50;

/// The zone page: records filtered by `q` (name or content), sorted by `sort` (name, type,
/// content or ttl), `page` by page.
pub(super) fn zone_page(
    ctx: &Ctx,
    req: &ApiRequest,
    s: &Session,
    id: i64,
    error: Option<&str>,
    status: u16,
) -> Result<Reply, ApiError> {
    let z = own_zone(ctx, s, id)?;
    let since = clock::unix_now() / 86_400 - (charts::DAYS - 1);
    let ds_ttl = ctx.config.apex.soa_ttl;
    let (mut records, daily, ds) = ctx.store.read(|tx| {
        Ok::<_, ApiError>((
            crate::store::queries::records::records_of_zone(tx, z.id)?,
            crate::store::queries::zones::daily_queries(tx, z.id, since)?,
            crate::domain::dnssec::ds_records(tx, &z, ds_ttl)?,
        ))
    })?;
    let ds: Vec<String> = ds.into_iter().map(|d| d.text).collect();
    let q = req.param("q").unwrap_or("").trim().to_ascii_lowercase();
    if !q.is_empty() {
        records.retain(|r| {
            r.name.contains(&q)
                || r.content.to_ascii_lowercase().contains(&q)
                || r.rtype.to_string().eq_ignore_ascii_case(&q)
        });
    }
    let sort = ["type", "content", "ttl"]
        .into_iter()
        .find(|k| req.param("sort") == Some(*k))
        .unwrap_or("name");
    match sort {
        "type" => records
            .sort_by(|a, b| (a.rtype.to_string(), &a.name).cmp(&(b.rtype.to_string(), &b.name))),
        "content" => records.sort_by(|a, b| (&a.content, &a.name).cmp(&(&b.content, &b.name))),
        "ttl" => records.sort_by_key(|r| (r.ttl, r.name.clone())),
        _ => records
            .sort_by(|a, b| (&a.name, a.rtype.to_string()).cmp(&(&b.name, b.rtype.to_string()))),
    }
    let pages = records.len().div_ceil(RECORDS_PER_PAGE).max(1);
    let page_no = req
        .param("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, pages);
    let total = records.len();
    let shown: Vec<_> = records
        .into_iter()
        .skip((page_no - 1) * RECORDS_PER_PAGE)
        .take(RECORDS_PER_PAGE)
        .collect();
    let view = pages::ZoneView {
        zone: &z,
        records: &shown,
        total,
        q: &q,
        sort,
        page: page_no,
        pages,
        daily: &daily,
        ds: &ds,
    };
    Ok(page(status, pages::zone(s, &view, error)))
}

/// A record form's fields as the LuaDNS-style API's JSON object, for its input rules.
pub(super) fn record_fields(form: &Form) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    for k in ["name", "type", "content"] {
        m.insert(k.into(), form.get(k).unwrap_or("").trim().into());
    }
    match form.get("ttl").map(str::trim) {
        None | Some("") => {}
        Some(t) => {
            let v = t
                .parse::<u64>()
                .map(serde_json::Value::from)
                .unwrap_or_else(|_| t.into());
            m.insert("ttl".into(), v);
        }
    }
    m
}

/// Change a record: the API's input rules and `domain::records::update`.
pub(super) fn edit_record(
    ctx: &Ctx,
    s: &Session,
    id: i64,
    rid: &str,
    form: &Form,
) -> Result<Reply, ApiError> {
    use crate::api::luadns::records::{parse_input, InputRules};
    let z = own_zone(ctx, s, id)?;
    let m = record_fields(form);
    let (zone, rid_owned) = (z.clone(), rid.to_string());
    let r = parse_input(InputRules::of(ctx), &z, &m).and_then(|input| {
        ctx.store
            .write(move |w| crate::domain::records::update(w, &zone, &rid_owned, input, false))
    });
    match r {
        Ok(_) => Ok(redirect(&format!("/zones/{id}"))),
        Err(e) if e.status() < 500 && e.status() != 404 => {
            let rec = ctx
                .store
                .read(|tx| crate::domain::records::get(tx, &z, rid))?;
            Ok(page(
                e.status(),
                pages::record(s, &z, &rec, Some(&e.message())),
            ))
        }
        Err(e) => Err(e),
    }
}

/// Add a record: the form's fields through the LuaDNS-style API's input rules and
/// `domain::records::create`.
pub(super) fn add_record(
    ctx: &Ctx,
    req: &ApiRequest,
    s: &Session,
    id: i64,
    form: &Form,
) -> Result<Reply, ApiError> {
    use crate::api::luadns::records::{parse_input, InputRules};
    let z = own_zone(ctx, s, id)?;
    let m = record_fields(form);
    let rules = InputRules::of(ctx);
    let zone = z.clone();
    let r = parse_input(rules, &z, &m).and_then(|input| {
        ctx.store
            .write(move |w| crate::domain::records::create(w, &zone, input, rules.limits))
    });
    match r {
        Ok(_) => Ok(redirect(&format!("/zones/{id}"))),
        Err(e) if e.status() < 500 => zone_page(ctx, req, s, id, Some(&e.message()), e.status()),
        Err(e) => Err(e),
    }
}

pub(super) fn account(
    ctx: &Ctx,
    s: &Session,
    msg: Option<(bool, &str)>,
    status: u16,
) -> Result<Reply, ApiError> {
    let (sessions, tfa) = ctx.store.read(|tx| {
        let on = accounts::tfa::enabled(tx, s.user.id)?;
        let pending = accounts::tfa::pending(tx, s.user.id)?;
        let left = q::recovery_codes_left(tx, s.user.id)?;
        Ok::<_, ApiError>((
            q::sessions_of_user(tx, s.user.id)?,
            pages::TfaState {
                on,
                pending: pending.map(|p| (accounts::tfa::uri(&p, &s.user.email), p)),
                codes_left: left,
            },
        ))
    })?;
    let current = secret::hash(&s.id);
    Ok(page(
        status,
        pages::account(s, &sessions, &current, &tfa, msg),
    ))
}

pub(super) fn change_password(
    ctx: &Ctx,
    req: &ApiRequest,
    s: &Session,
    form: &Form,
) -> Result<Reply, ApiError> {
    let current = form.get("current").unwrap_or("");
    let new = form.get("password").unwrap_or("").to_string();
    if !login_allowed(ctx, req, &s.user.email) {
        return account(
            ctx,
            s,
            Some((false, "Too many attempts: wait a few minutes.")),
            429,
        );
    }
    let ok = ctx
        .store
        .read(|tx| accounts::sign_in(tx, &s.user.email, current))?
        .is_some();
    if !ok {
        return account(
            ctx,
            s,
            Some((false, "The current password is not right.")),
            400,
        );
    }
    let (uid, keep) = (s.user.id, secret::hash(&s.id));
    let r = ctx.store.write(move |w| {
        accounts::set_password(w.tx, uid, &new)?;
        // Every other session ends with the old password.
        for o in q::sessions_of_user(w.tx, uid)? {
            if o.id_hash != keep {
                q::delete_session(w.tx, &o.id_hash)?;
            }
        }
        Ok::<_, ApiError>(())
    });
    match r {
        Ok(()) => account(
            ctx,
            s,
            Some((true, "Password changed; other sessions were signed out.")),
            200,
        ),
        Err(e) if e.status() < 500 => account(ctx, s, Some((false, &e.message())), e.status()),
        Err(e) => Err(e),
    }
}
