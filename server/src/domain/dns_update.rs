//! DNS UPDATE (RFC 2136) applied to the store: who may change what with a key (`lucentd user
//! tsig`), the prerequisites (§3.2), the update section's checks (§3.4.1) and its changes
//! (§3.4.2), made through the same functions as the HTTP APIs (records of hosted zones with
//! every record rule, hostnames' A/AAAA/TXT in shared zones), so one rule is written once.
//! Everything runs inside one write (a savepoint of a group commit): all or nothing, and
//! answered only once durable. Keys themselves are made and revoked here too.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use rusqlite::Connection;

use crate::clock;
use crate::domain::records::{self as record_ops, Limits, RecordInput};
use crate::error::ApiError;
use crate::model::hostname::fqdn;
use crate::model::name::{self, is_at_or_below};
use crate::model::update::{class, rcode, Refusal, UpdateRequest, UpdateRr, TYPE_ANY};
use crate::model::value::TtlInput;
use crate::model::{content, Changes, RType, Status, TtlRange, User, Zone, ZoneKind};
use crate::store::queries::update_keys::{self, UpdateKeyRow};
use crate::store::queries::{hostnames, records, users, zones};
use crate::store::WriteTx;

/// The prefix DNS-01 challenges use (RFC 8555 §8.4).
const ACME: &str = "_acme-challenge.";

/// What the record rules need from the config.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub ttl: TtlRange,
    pub limits: Limits,
}

fn refused(why: impl Into<String>) -> Refusal {
    Refusal::new(rcode::REFUSED, why)
}

fn from_api(e: ApiError) -> Refusal {
    match e {
        ApiError::Store(e) => Refusal::new(rcode::SERVFAIL, e.to_string()),
        ApiError::Internal(m) => Refusal::new(rcode::SERVFAIL, m),
        ApiError::NotFound(_, m)
        | ApiError::BadRequest(m)
        | ApiError::Forbidden(m)
        | ApiError::Conflict(m)
        | ApiError::Unauthorized(m) => refused(m),
        other => refused(format!("{other:?}")),
    }
}

fn from_sql(e: rusqlite::Error) -> Refusal {
    Refusal::new(rcode::SERVFAIL, e.to_string())
}

/// A store failure inside an update: SERVFAIL. (An `Err` from a write rolls its savepoint
/// back, which is how a refused update changes nothing.)
impl From<rusqlite::Error> for Refusal {
    fn from(e: rusqlite::Error) -> Refusal {
        from_sql(e)
    }
}

/// Types an update may not add or name (RFC 2136 §3.4.1.3: meta types and the like).
fn meta_type(t: u16) -> bool {
    // TSIG, IXFR, AXFR, MAILB, MAILA, ANY (RFC 1035 §3.2.3, RFC 8945), OPT.
    matches!(t, 41 | 249 | 250 | 251 | 252 | 253 | 254)
}

/// A type's mnemonic for messages.
fn tname(t: u16) -> String {
    hickory_proto::rr::RecordType::from(t).to_string()
}

/// The RRsets at one name as an update sees them: type -> (TTL, contents in stored form).
type NameState = BTreeMap<u16, (u32, Vec<String>)>;

/// The state of `name` in zone `z` as the store holds it.
fn state_of(tx: &Connection, z: &Zone, name: &str) -> Result<NameState, Refusal> {
    let mut out = NameState::new();
    match z.kind {
        ZoneKind::Hosted => {
            for r in records::records_at(tx, z.id, name).map_err(from_sql)? {
                let e = out.entry(r.rtype.code()).or_insert((r.ttl, Vec::new()));
                e.0 = r.ttl;
                e.1.push(r.content);
            }
        }
        ZoneKind::Shared => {
            if name == z.name {
                // The apex's SOA and NS are the server's; they exist.
                out.insert(RType::Soa.code(), (0, vec![String::new()]));
                out.insert(RType::Ns.code(), (0, vec![String::new()]));
                return Ok(out);
            }
            let (label, acme) = shared_label(z, name);
            let Some(label) = label else { return Ok(out) };
            let h = hostnames::hostname_by_zone_label(tx, z.id, &label).map_err(from_sql)?;
            let Some(h) = h else { return Ok(out) };
            if let Some(t) = &h.txt {
                out.insert(RType::Txt.code(), (h.ttl, vec![t.clone()]));
            }
            if !acme {
                if let Some(a) = h.ipv4 {
                    out.insert(RType::A.code(), (h.ttl, vec![a.to_string()]));
                }
                if let Some(a) = h.ipv6 {
                    out.insert(RType::Aaaa.code(), (h.ttl, vec![a.to_string()]));
                }
            }
        }
    }
    Ok(out)
}

/// In a shared zone: the hostname label a name stands for (`home` for `home.zone` and for
/// `_acme-challenge.home.zone`), and whether it is the challenge name.
fn shared_label(z: &Zone, name: &str) -> (Option<String>, bool) {
    let Some(rel) = name.strip_suffix(&format!(".{}", z.name)) else {
        return (None, false);
    };
    let (rel, acme) = match rel.strip_prefix(ACME) {
        Some(r) => (r, true),
        None => (rel, false),
    };
    (
        (!rel.is_empty() && !rel.contains('.')).then(|| rel.to_string()),
        acme,
    )
}

/// A record's content in stored form, for comparing and adding.
fn normalized(rr: &UpdateRr) -> Result<(RType, String), Refusal> {
    let rtype = RType::from_code(rr.rtype)
        .ok_or_else(|| refused(format!("type {} cannot be changed here", tname(rr.rtype))))?;
    let text = match &rr.content {
        Some(Ok(t)) => t,
        Some(Err(e)) => return Err(refused(e.clone())),
        None => return Err(Refusal::new(rcode::FORMERR, "a record without RDATA")),
    };
    let c = content::normalize(rtype, text).map_err(|e| refused(e.0))?;
    Ok((rtype, c))
}

/// Check and apply one update signed with `key`. `Ok(true)` when something changed. Run it as
/// a write whose error is this function's (`Store::write*` rolls an `Err` back): a refusal
/// after some records were already rewritten must undo them.
pub fn apply(
    w: &mut WriteTx,
    key: &UpdateKeyRow,
    req: &UpdateRequest,
    from: IpAddr,
    rules: Rules,
) -> Result<bool, Refusal> {
    let user = users::user_by_id(w.tx, key.user_id)
        .map_err(from_sql)?
        .ok_or_else(|| Refusal::new(rcode::NOTAUTH, "the key's user is gone"))?;
    if user.status != Status::Active {
        return Err(refused(format!("the account is {}", user.status.as_str())));
    }
    // §3.1: the zone.
    let z = zones::zone_by_name(w.tx, &req.zone)
        .map_err(from_sql)?
        .ok_or_else(|| Refusal::new(rcode::NOTAUTH, format!("no zone {}", req.zone)))?;
    if key.zone_id.is_some_and(|id| id != z.id) {
        return Err(refused(format!("the key is not for the zone {}", z.name)));
    }
    if z.kind == ZoneKind::Hosted && z.owner_id != Some(user.id) {
        return Err(refused(format!(
            "the zone {} is not the key owner's",
            z.name
        )));
    }
    // Every name inside the zone (§3.2.?, §3.4.1.3: NOTZONE), and inside the key's names.
    for rr in req.prereqs.iter().chain(&req.updates) {
        if !is_at_or_below(&rr.name, &z.name) {
            return Err(Refusal::new(
                rcode::NOTZONE,
                format!("{} is not inside the zone {}", rr.name, z.name),
            ));
        }
        if !key.names.is_empty()
            && !key
                .names
                .iter()
                .any(|n| rr.name == *n || rr.name.strip_prefix(ACME) == Some(n.as_str()))
        {
            return Err(refused(format!("the key may not change {}", rr.name)));
        }
    }
    check_prerequisites(w.tx, &z, &req.prereqs)?;
    prescan(&z, &req.updates)?;
    // §3.4.2 on a working copy of every touched name, then written through the API's rules.
    let mut before: HashMap<String, NameState> = HashMap::new();
    let mut after: HashMap<String, NameState> = HashMap::new();
    for u in &req.updates {
        if !after.contains_key(&u.name) {
            let s = state_of(w.tx, &z, &u.name)?;
            before.insert(u.name.clone(), s.clone());
            after.insert(u.name.clone(), s);
        }
        let state = after.get_mut(&u.name).unwrap_or_else(|| unreachable!());
        update_one(state, &z, u, rules)?;
    }
    let mut names: Vec<&String> = after.keys().collect();
    names.sort();
    let changed: Vec<(String, NameState, NameState)> = names
        .into_iter()
        .filter(|n| before.get(*n) != after.get(*n))
        .map(|n| (n.clone(), before[n].clone(), after[n].clone()))
        .collect();
    if changed.is_empty() {
        return Ok(false);
    }
    match z.kind {
        ZoneKind::Hosted => write_hosted(w, &z, &changed, rules)?,
        ZoneKind::Shared => write_shared(w, &z, &user, &changed, from)?,
    }
    update_keys::touch(w.tx, key.id, &clock::now_rfc3339()).map_err(from_sql)?;
    Ok(true)
}

/// RFC 2136 §3.2.
fn check_prerequisites(tx: &Connection, z: &Zone, prereqs: &[UpdateRr]) -> Result<(), Refusal> {
    let formerr = |why: &str| Refusal::new(rcode::FORMERR, why);
    // Value-dependent prerequisites are compared per RRset once all are read (§3.2.3).
    let mut wanted: BTreeMap<(String, u16), Vec<String>> = BTreeMap::new();
    for p in prereqs {
        if p.ttl != 0 {
            return Err(formerr("a prerequisite with a TTL other than 0"));
        }
        match p.class {
            class::ANY | class::NONE => {
                if p.content.is_some() {
                    return Err(formerr("a prerequisite of class ANY or NONE with RDATA"));
                }
                let state = state_of(tx, z, &p.name)?;
                let exists = if p.rtype == TYPE_ANY {
                    !state.is_empty()
                } else {
                    state.contains_key(&p.rtype)
                };
                match (p.class, p.rtype == TYPE_ANY, exists) {
                    (class::ANY, true, false) => {
                        return Err(Refusal::new(
                            rcode::NXDOMAIN,
                            format!("{} is not in use", p.name),
                        ))
                    }
                    (class::ANY, false, false) => {
                        return Err(Refusal::new(
                            rcode::NXRRSET,
                            format!("no {} RRset at {}", tname(p.rtype), p.name),
                        ))
                    }
                    (class::NONE, true, true) => {
                        return Err(Refusal::new(
                            rcode::YXDOMAIN,
                            format!("{} is in use", p.name),
                        ))
                    }
                    (class::NONE, false, true) => {
                        return Err(Refusal::new(
                            rcode::YXRRSET,
                            format!("there is a {} RRset at {}", tname(p.rtype), p.name),
                        ))
                    }
                    _ => {}
                }
            }
            class::IN => {
                if p.rtype == TYPE_ANY || meta_type(p.rtype) {
                    return Err(formerr("a value prerequisite of a meta type"));
                }
                let (_, c) = normalized(p).map_err(|r| Refusal::new(rcode::NXRRSET, r.why))?;
                wanted.entry((p.name.clone(), p.rtype)).or_default().push(c);
            }
            _ => return Err(formerr("a prerequisite of an unknown class")),
        }
    }
    for ((name, rtype), mut want) in wanted {
        let state = state_of(tx, z, &name)?;
        let mut have = state.get(&rtype).map(|s| s.1.clone()).unwrap_or_default();
        want.sort();
        want.dedup();
        have.sort();
        if want != have {
            return Err(Refusal::new(
                rcode::NXRRSET,
                format!("the {} RRset at {name} is not as required", tname(rtype)),
            ));
        }
    }
    Ok(())
}

/// RFC 2136 §3.4.1, plus what stays the server's: the SOA and the apex NS.
fn prescan(z: &Zone, updates: &[UpdateRr]) -> Result<(), Refusal> {
    let formerr = |why: &str| Refusal::new(rcode::FORMERR, why);
    for u in updates {
        match u.class {
            class::IN => {
                if u.rtype == TYPE_ANY || meta_type(u.rtype) || u.content.is_none() {
                    return Err(formerr("an addition of a meta type or without RDATA"));
                }
            }
            class::ANY => {
                if u.ttl != 0 || u.content.is_some() || (meta_type(u.rtype) && u.rtype != TYPE_ANY)
                {
                    return Err(formerr("a deletion of class ANY with a TTL or RDATA"));
                }
            }
            class::NONE => {
                if u.ttl != 0 || u.rtype == TYPE_ANY || meta_type(u.rtype) || u.content.is_none() {
                    return Err(formerr("a deletion of class NONE that names no record"));
                }
            }
            _ => return Err(formerr("an update of an unknown class")),
        }
        let apex_ns = u.name == z.name && u.rtype == RType::Ns.code();
        if u.rtype == RType::Soa.code() || apex_ns {
            return Err(refused("the SOA and the apex NS are managed by the server"));
        }
    }
    Ok(())
}

/// One update record on the working copy of its name (§3.4.2).
fn update_one(state: &mut NameState, z: &Zone, u: &UpdateRr, rules: Rules) -> Result<(), Refusal> {
    let apex = u.name == z.name;
    let kept = |t: u16| apex && (t == RType::Soa.code() || t == RType::Ns.code());
    match u.class {
        class::IN => {
            let (rtype, c) = normalized(u)?;
            let ttl = rules
                .ttl
                .check(TtlInput::Number(Some(u64::from(u.ttl))), "TTL")
                .map_err(|e| refused(e.0))?;
            let cname = RType::Cname.code();
            // §3.4.2.2: a CNAME is not added beside other data, nor other data beside it.
            if rtype == RType::Cname && state.keys().any(|t| *t != cname) {
                return Ok(());
            }
            if rtype != RType::Cname && state.contains_key(&cname) {
                return Ok(());
            }
            let set = state.entry(rtype.code()).or_insert((ttl, Vec::new()));
            set.0 = ttl;
            if rtype == RType::Cname {
                set.1.clear();
            }
            if !set.1.contains(&c) {
                set.1.push(c);
            }
        }
        class::ANY if u.rtype == TYPE_ANY => state.retain(|t, _| kept(*t)),
        class::ANY => {
            state.remove(&u.rtype);
        }
        _ => {
            // NONE: delete one record.
            let (rtype, c) = normalized(u)?;
            if let Some(set) = state.get_mut(&rtype.code()) {
                set.1.retain(|x| *x != c);
                if set.1.is_empty() {
                    state.remove(&rtype.code());
                }
            }
        }
    }
    Ok(())
}

/// Hosted zone: replace each changed RRset through the record rules (deletions first, so a
/// CNAME replacing other data, or the reverse, passes them).
fn write_hosted(
    w: &mut WriteTx,
    z: &Zone,
    changed: &[(String, NameState, NameState)],
    rules: Rules,
) -> Result<(), Refusal> {
    let mut adds = Vec::new();
    for (name, before, after) in changed {
        let types: std::collections::BTreeSet<u16> =
            before.keys().chain(after.keys()).copied().collect();
        for t in types {
            if before.get(&t) == after.get(&t) {
                continue;
            }
            for r in records::records_at(w.tx, z.id, name).map_err(from_sql)? {
                if r.rtype.code() == t {
                    record_ops::delete(w, z, &r.id.to_string()).map_err(from_api)?;
                }
            }
            if let (Some((ttl, contents)), Some(rtype)) = (after.get(&t), RType::from_code(t)) {
                for c in contents {
                    adds.push(RecordInput {
                        name: name.clone(),
                        rtype,
                        content: c.clone(),
                        ttl: *ttl,
                        external_id: None,
                    });
                }
            }
        }
    }
    for input in adds {
        record_ops::create(w, z, input, rules.limits).map_err(from_api)?;
    }
    Ok(())
}

/// Shared zone: the A, AAAA and TXT of the user's hostnames (one value each).
fn write_shared(
    w: &mut WriteTx,
    z: &Zone,
    user: &User,
    changed: &[(String, NameState, NameState)],
    from: IpAddr,
) -> Result<(), Refusal> {
    // Changes per hostname label.
    let mut per: BTreeMap<String, Changes> = BTreeMap::new();
    for (n, before, after) in changed {
        let (Some(label), acme) = shared_label(z, n) else {
            return Err(refused(format!("{n} is not a hostname")));
        };
        let ch = per.entry(label).or_default();
        let types: std::collections::BTreeSet<u16> =
            before.keys().chain(after.keys()).copied().collect();
        for t in types {
            if before.get(&t) == after.get(&t) {
                continue;
            }
            let values = after.get(&t).map(|s| s.1.clone()).unwrap_or_default();
            if values.len() > 1 {
                return Err(refused(format!("{n} holds one value per type here")));
            }
            let one = values.into_iter().next();
            match RType::from_code(t) {
                Some(RType::A) if !acme => {
                    ch.ipv4 = Some(
                        one.map(|v| v.parse())
                            .transpose()
                            .map_err(|_| refused("bad A"))?,
                    );
                }
                Some(RType::Aaaa) if !acme => {
                    ch.ipv6 = Some(
                        one.map(|v| v.parse())
                            .transpose()
                            .map_err(|_| refused("bad AAAA"))?,
                    );
                }
                Some(RType::Txt) => ch.txt = Some(one.map(|v| content::txt_value(&v))),
                _ => {
                    return Err(refused(format!(
                        "a hostname in a shared zone holds A, AAAA and TXT only ({n})"
                    )))
                }
            }
        }
    }
    for (label, ch) in per {
        let mut h = hostnames::hostname_by_zone_label(w.tx, z.id, &label)
            .map_err(from_sql)?
            .filter(|h| h.user_id == Some(user.id))
            .ok_or_else(|| {
                refused(format!(
                    "{} is not the key owner's hostname",
                    fqdn(&label, &z.name)
                ))
            })?;
        crate::domain::hostnames::save(w, &mut h, &ch, from).map_err(from_api)?;
    }
    Ok(())
}

/// `lucentd user tsig`: a new hmac-sha256 key named `key_name` for `u`, limited to the hosted
/// zone `zone` the user owns, or to `names` (the user's hostnames, or names inside the user's
/// hosted zones), or (neither) reaching what the user may change. Returns the secret in base64 (32 random octets, as `tsig-keygen` makes).
pub fn create_key(
    c: &Connection,
    u: &User,
    key_name: &str,
    zone: Option<&str>,
    names: &[String],
    reserved: &[String],
) -> Result<String, ApiError> {
    let bad = ApiError::BadRequest;
    let key_name = name::domain_name(key_name.trim_end_matches('.'))?;
    if reserved.iter().any(|r| r.eq_ignore_ascii_case(&key_name))
        || update_keys::by_name(c, &key_name)?.is_some()
    {
        return Err(ApiError::Conflict(format!(
            "a TSIG key named '{key_name}' exists"
        )));
    }
    let (zone_id, names) = match (zone, names.is_empty()) {
        (Some(zn), true) => {
            let zn = name::domain_name(zn)?;
            let z = zones::zone_by_name(c, &zn)?
                .filter(|z| z.kind == ZoneKind::Hosted && z.owner_id == Some(u.id))
                .ok_or_else(|| bad(format!("{zn} is not a hosted zone of {}", u.email)))?;
            (Some(z.id), Vec::new())
        }
        (None, false) => {
            let mut out = Vec::new();
            for n in names {
                let n = name::owner_name(n)?;
                let z = zones::zone_for_name(c, &n)?.map(|(z, _)| z);
                let ok = match z {
                    Some(z) if z.kind == ZoneKind::Hosted => z.owner_id == Some(u.id),
                    Some(z) => shared_label(&z, &n).0.is_some_and(|l| {
                        hostnames::hostname_by_zone_label(c, z.id, &l)
                            .ok()
                            .flatten()
                            .is_some_and(|h| h.user_id == Some(u.id))
                    }),
                    None => false,
                };
                if !ok {
                    return Err(bad(format!("{n} is not a hostname or name of {}", u.email)));
                }
                out.push(n);
            }
            (None, out)
        }
        // No limit: what the user may change through the APIs (every hosted zone of theirs,
        // the A/AAAA/TXT of their hostnames).
        (None, true) => (None, Vec::new()),
        (Some(_), false) => {
            return Err(bad(
                "give either --zone ZONE or --hostname FQDN[,FQDN...], not both".into(),
            ))
        }
    };
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| ApiError::Internal(e.to_string()))?;
    update_keys::insert(
        c,
        u.id,
        &key_name,
        "hmac-sha256",
        &secret,
        zone_id,
        &names,
        &clock::now_rfc3339(),
    )?;
    use base64::Engine as _;
    Ok(base64::engine::general_purpose::STANDARD.encode(secret))
}

/// `lucentd user tsig-revoke`: the key stops working at once (the next UPDATE reads it).
pub fn revoke_key(c: &Connection, u: &User, key_name: &str) -> Result<(), ApiError> {
    let key_name = key_name.trim_end_matches('.').to_ascii_lowercase();
    if update_keys::delete(c, u.id, &key_name)? {
        Ok(())
    } else {
        Err(ApiError::NotFound(
            "not_found",
            format!("{} has no TSIG key named '{key_name}'", u.email),
        ))
    }
}
