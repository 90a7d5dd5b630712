//! The dashboard without a socket: routes, cookie flags, the security headers, CSRF refusals,
//! and escaping, on a real store in a temp dir.

use std::sync::Arc;

use super::*;
use crate::api::handle;
use crate::config::RawConfig;
use crate::dns::DnsView;
use crate::store::queries::users;
use crate::store::Store;

fn ctx(name: &str) -> (Ctx, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("lucent-web-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let raw = RawConfig {
        db: dir.join("t.db"),
        ..RawConfig::default()
    };
    let config = raw.validate(None).unwrap();
    let view = Arc::new(DnsView::new(config.apex.clone()));
    let store = Store::new(&config.db, view, config.apex.clone()).unwrap();
    let mut ctx = Ctx::new(config, store);
    ctx.web = super::handle;
    (ctx, dir)
}

fn header<'a>(r: &'a Reply, name: &str) -> Vec<&'a str> {
    r.headers
        .iter()
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn body(r: &Reply) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// A signed-in user with the session cookie header and the CSRF token.
fn signed_in(ctx: &Ctx) -> (String, String) {
    let uid = ctx
        .store
        .write(|w| {
            let id = users::insert_user(w.tx, "a@example.org", 10, &[7; 32])?;
            accounts::set_password(w.tx, id, "a long password")?;
            Ok::<_, ApiError>(id)
        })
        .unwrap();
    let sid = ctx
        .store
        .write(move |w| accounts::start_session(w.tx, uid, clock::unix_now(), "127.0.0.1", "t"))
        .unwrap();
    (
        format!("{SESSION_COOKIE}={}", sid.expose()),
        accounts::csrf_token(sid.expose()),
    )
}

#[test]
fn routes_parse() {
    assert_eq!(WebRoute::parse(&[]), Some(WebRoute::Home));
    assert_eq!(
        WebRoute::parse(&["hostnames", "host_1", "delete"]),
        Some(WebRoute::HostnameDelete("host_1".into()))
    );
    assert_eq!(WebRoute::parse(&["nope"]), None);
}

#[test]
fn cookies_are_httponly_lax_and_secure_over_https() {
    let mut req = ApiRequest::fake("GET", "/login", &[], "");
    assert_eq!(
        set_cookie("c", "v", &req),
        "c=v; HttpOnly; SameSite=Lax; Path=/"
    );
    req.https = true;
    assert_eq!(
        set_cookie("c", "v", &req),
        "c=v; HttpOnly; SameSite=Lax; Path=/; Secure"
    );
}

#[test]
fn pages_carry_the_security_headers_and_forms_need_their_csrf_token() {
    let (ctx, dir) = ctx("csrf");
    let (_, r) = handle(&ctx, &ApiRequest::fake("GET", "/", &[], ""));
    assert_eq!((r.status, header(&r, "location")), (303, vec!["/login"]));
    assert_eq!(header(&r, "content-security-policy"), vec![CSP]);
    assert_eq!(header(&r, "x-content-type-options"), vec!["nosniff"]);

    let (cookie, csrf) = signed_in(&ctx);
    let h = [("cookie", cookie.as_str())];
    let create = "hostname=home&ipv4=192.0.2.1&note=%3Cscript%3Ex%3C%2Fscript%3E";
    for (form, want) in [
        (create.to_string(), 403),
        (format!("csrf=wrong&{create}"), 403),
    ] {
        let (_, r) = handle(&ctx, &ApiRequest::fake("POST", "/hostnames", &h, &form));
        assert_eq!(r.status, want, "{form}: {}", body(&r));
    }
    ctx.store
        .write(|w| {
            crate::store::queries::zones::insert_zone(
                w.tx,
                "dyn.test",
                crate::model::ZoneKind::Shared,
                None,
            )
        })
        .unwrap();
    let (_, r) = handle(&ctx, &ApiRequest::fake("POST", "/hostnames", &h, create));
    assert_eq!(r.status, 403, "without its token, even with a zone");
    let (_, r) = handle(&ctx, &ApiRequest::fake("GET", "/", &h, ""));
    assert!(body(&r).contains("No hostnames yet"), "nothing changed");
    let form = format!("csrf={csrf}&{create}");
    let (_, r) = handle(&ctx, &ApiRequest::fake("POST", "/hostnames", &h, &form));
    assert_eq!(r.status, 303, "{}", body(&r));
    let (_, r) = handle(&ctx, &ApiRequest::fake("GET", "/?done=created", &h, ""));
    let page = body(&r);
    assert!(page.contains("home.dyn.test"), "{page}");
    assert!(page.contains("&lt;script&gt;x&lt;/script&gt;"), "{page}");
    assert!(!page.contains("<script>x"), "{page}");
    let _ = std::fs::remove_dir_all(&dir);
}
