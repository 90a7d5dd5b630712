//! Signing in and staying signed in: the sign-in and invite forms, sessions from cookies, the
//! pre-session cookie that carries the sign-in form's CSRF token, cookie attributes, and the
//! helpers every page answer goes through (security headers, redirects, error pages).

use super::*;

/// Count one sign-in attempt against the address's and the account's limits.
pub(super) fn login_allowed(ctx: &Ctx, req: &ApiRequest, email: &str) -> bool {
    let now = clock::unix_now();
    let by_ip = ctx.login_ip_limits.check(&req.peer, now).allowed;
    let by_account = ctx
        .login_account_limits
        .check(&secret::hash(&email.trim().to_ascii_lowercase()), now)
        .allowed;
    by_ip && by_account
}

pub(super) fn login(ctx: &Ctx, req: &ApiRequest, post: bool) -> Result<Reply, ApiError> {
    if !post {
        if session(ctx, req)?.is_some() {
            return Ok(redirect("/"));
        }
        let (pre, set) = pre_session(req);
        let r = page(200, pages::login(&accounts::csrf_token(&pre), None, ""));
        return Ok(with_pre(r, set, &pre, req));
    }
    let form = Form::of(req);
    let Some(pre) = cookie(req, PRE_COOKIE).filter(|p| accounts::csrf_ok(p, form.get("csrf")))
    else {
        return Err(ApiError::Forbidden(
            "the form's security token is missing or stale: reload the page and try again".into(),
        ));
    };
    let csrf = accounts::csrf_token(&pre);
    let email = form.get("email").unwrap_or("").trim().to_string();
    let password = form.get("password").unwrap_or("");
    if !login_allowed(ctx, req, &email) {
        return Ok(page(
            429,
            pages::login(
                &csrf,
                Some("Too many sign-in attempts: wait a few minutes."),
                &email,
            ),
        ));
    }
    let user = ctx
        .store
        .read(|tx| accounts::sign_in(tx, &email, password))?;
    // The second factor, when the account has one: checked (and a code spent) in a write.
    let user = match user {
        Some(u) => {
            let (uid, code, now) = (
                u.id,
                form.get("code").unwrap_or("").to_string(),
                clock::unix_now(),
            );
            let ok = ctx
                .store
                .write(move |w| accounts::tfa::verify(w.tx, uid, &code, now))?;
            ok.then_some(u)
        }
        None => None,
    };
    let Some(user) = user else {
        log::info!("dashboard sign-in refused from {}", req.peer);
        return Ok(page(
            401,
            pages::login(
                &csrf,
                Some("Wrong email, password or two-factor code."),
                &email,
            ),
        ));
    };
    start(ctx, req, &user)
}

/// Start a session for `user` and send them to the dashboard.
pub(super) fn start(ctx: &Ctx, req: &ApiRequest, user: &User) -> Result<Reply, ApiError> {
    let (uid, addr) = (user.id, req.peer.to_string());
    let ua = req.header("user-agent").unwrap_or("").to_string();
    let sid = ctx
        .store
        .write(move |w| accounts::start_session(w.tx, uid, clock::unix_now(), &addr, &ua))?;
    log::info!("dashboard sign-in of user {uid} from {}", req.peer);
    Ok(redirect("/")
        .with_header("set-cookie", set_cookie(SESSION_COOKIE, sid.expose(), req))
        .with_header("set-cookie", clear_cookie(PRE_COOKIE, req)))
}

pub(super) fn invite(
    ctx: &Ctx,
    req: &ApiRequest,
    token: &str,
    post: bool,
) -> Result<Reply, ApiError> {
    let now = clock::unix_now();
    let gone = || {
        page(
            404,
            pages::message(
                "Link expired",
                "This invite link was used or has expired: ask the operator for a new one.",
            ),
        )
    };
    if !post {
        let Some(u) = ctx.store.read(|tx| accounts::invite_user(tx, token, now))? else {
            return Ok(gone());
        };
        let (pre, set) = pre_session(req);
        let r = page(
            200,
            pages::invite(&u.email, &accounts::csrf_token(&pre), None),
        );
        return Ok(with_pre(r, set, &pre, req));
    }
    let form = Form::of(req);
    let Some(pre) = cookie(req, PRE_COOKIE).filter(|p| accounts::csrf_ok(p, form.get("csrf")))
    else {
        return Err(ApiError::Forbidden(
            "the form's security token is missing or stale: reload the page and try again".into(),
        ));
    };
    let password = form.get("password").unwrap_or("").to_string();
    let t = token.to_string();
    match ctx
        .store
        .write(move |w| accounts::accept_invite(w.tx, &t, &password, now))
    {
        Ok(u) => start(ctx, req, &u),
        Err(ApiError::NotFound(..)) => Ok(gone()),
        Err(e) if e.status() < 500 => {
            let email = ctx
                .store
                .read(|tx| accounts::invite_user(tx, token, now))?
                .map(|u| u.email)
                .unwrap_or_default();
            let csrf = accounts::csrf_token(&pre);
            Ok(page(
                e.status(),
                pages::invite(&email, &csrf, Some(&e.message())),
            ))
        }
        Err(e) => Err(e),
    }
}

/// The signed-in session of the request's cookie, if live (touching `last_seen` now and then).
pub(super) fn session(ctx: &Ctx, req: &ApiRequest) -> Result<Option<Session>, ApiError> {
    let Some(id) = cookie(req, SESSION_COOKIE) else {
        return Ok(None);
    };
    let now = clock::unix_now();
    let Some((row, user)) = ctx.store.read(|tx| accounts::session(tx, &id, now))? else {
        return Ok(None);
    };
    let role = ctx.store.read(|tx| accounts::role(tx, user.id))?;
    if now >= row.last_seen + accounts::TOUCH_SECS {
        let h = row.id_hash.clone();
        ctx.store.write(move |w| q::touch_session(w.tx, &h, now))?;
    }
    Ok(Some(Session {
        csrf: accounts::csrf_token(&id),
        id,
        user,
        role,
    }))
}

/// The pre-sign-in cookie's value: the request's, or a new one (`true`: set it).
pub(super) fn pre_session(req: &ApiRequest) -> (String, bool) {
    match cookie(req, PRE_COOKIE).filter(|v| v.len() == 40) {
        Some(v) => (v, false),
        None => (secret::new_token().expose().to_string(), true),
    }
}

pub(super) fn with_pre(r: Reply, set: bool, pre: &str, req: &ApiRequest) -> Reply {
    if set {
        r.with_header("set-cookie", set_cookie(PRE_COOKIE, pre, req))
    } else {
        r
    }
}

/// A cookie of the request by name.
pub(super) fn cookie(req: &ApiRequest, name: &str) -> Option<String> {
    req.headers
        .iter()
        .filter(|(k, _)| k == "cookie")
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// `HttpOnly; SameSite=Lax; Path=/`, and `Secure` when the client came over HTTPS.
pub fn set_cookie(name: &str, value: &str, req: &ApiRequest) -> String {
    let secure = if req.https { "; Secure" } else { "" };
    format!("{name}={value}; HttpOnly; SameSite=Lax; Path=/{secure}")
}

pub(super) fn clear_cookie(name: &str, req: &ApiRequest) -> String {
    format!("{}; Max-Age=0", set_cookie(name, "", req))
}

pub(super) fn page(status: u16, body: maud::Markup) -> Reply {
    Reply {
        status,
        content_type: HTML,
        headers: Vec::new(),
        body: body.into_string().into_bytes(),
    }
}

pub(super) fn redirect(to: &str) -> Reply {
    Reply {
        status: 303,
        content_type: HTML,
        headers: Vec::new(),
        body: Vec::new(),
    }
    .with_header("location", to)
}

pub(super) fn error_page(req: &ApiRequest, e: &ApiError) -> Reply {
    if let Some(d) = e.detail() {
        log::error!("request {}: {d}", req.id);
    }
    let title = crate::error::reason(e.status());
    let r = page(e.status(), pages::message(title, &e.message()));
    match e {
        ApiError::RateLimited(s) => r.with_header("retry-after", s.to_string()),
        _ => r,
    }
}

/// The headers of every dashboard answer.
pub(super) fn secured(r: Reply) -> Reply {
    r.with_header("content-security-policy", CSP)
        .with_header("x-content-type-options", "nosniff")
        .with_header("referrer-policy", "no-referrer")
        .with_header("cache-control", "no-store")
}

pub(super) fn asset(content_type: &'static str, body: &'static str) -> Reply {
    Reply {
        status: 200,
        content_type,
        headers: Vec::new(),
        body: body.as_bytes().to_vec(),
    }
    .with_header("x-content-type-options", "nosniff")
    .with_header("cache-control", "public, max-age=3600")
}
