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

/// WCAG 2.x contrast ratio of two `#rrggbb` colours.
fn contrast(a: &str, b: &str) -> f64 {
    let lum = |h: &str| {
        let c = |i: usize| {
            let v = u8::from_str_radix(&h[1 + 2 * i..3 + 2 * i], 16).unwrap() as f64 / 255.0;
            if v <= 0.03928 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * c(0) + 0.7152 * c(1) + 0.0722 * c(2)
    };
    let (x, y) = (lum(a), lum(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

#[test]
fn the_stylesheet_colours_pass_wcag_aa() {
    // (what, foreground, background, least ratio): 4.5 for text, 3 for what is not text
    // (WCAG 1.4.3, 1.4.11). Every colour named must be in the stylesheet (or the pictures),
    // so changing one there without changing it here fails.
    let pairs = [
        ("text", "#1b1f24", "#f4f6f8", 4.5),
        ("text on a card", "#1b1f24", "#ffffff", 4.5),
        ("header", "#ffffff", "#123c5a", 4.5),
        ("hints and labels", "#4a5560", "#f4f6f8", 4.5),
        ("hints on a card", "#4a5560", "#ffffff", 4.5),
        ("buttons", "#ffffff", "#0b5394", 4.5),
        ("danger buttons", "#ffffff", "#a4161a", 4.5),
        ("links", "#0b5394", "#ffffff", 4.5),
        ("links on the page", "#0b5394", "#f4f6f8", 4.5),
        ("code blocks", "#1b1f24", "#eef1f4", 4.5),
        ("notices", "#1b1f24", "#dff3e4", 4.5),
        ("errors", "#1b1f24", "#fde2e1", 4.5),
        ("input borders", "#8c959f", "#ffffff", 3.0),
        ("focus ring", "#1b1f24", "#ffffff", 3.0),
        ("focus ring on the page", "#1b1f24", "#f4f6f8", 3.0),
        ("focus ring in the header", "#f0b400", "#123c5a", 3.0),
        ("picture marks", "#0b5394", "#eef1f4", 3.0),
    ];
    let charts = include_str!("charts.rs");
    for (what, fg, bg, least) in pairs {
        for c in [fg, bg] {
            let short = if c == "#ffffff" { "#fff" } else { c };
            assert!(
                STYLE.contains(short) || charts.contains(c),
                "{what}: {c} is not used any more; update this table"
            );
        }
        let r = contrast(fg, bg);
        assert!(
            r >= least,
            "{what}: {fg} on {bg} is {r:.2}:1, below {least}:1"
        );
    }
    assert!(
        contrast("#f0b400", "#ffffff") < 3.0,
        "the amber ring is only for the header"
    );
}

#[test]
fn pages_have_a_language_landmarks_and_labelled_inputs() {
    let (ctx, dir) = ctx("a11y");
    let (_, r) = handle(&ctx, &ApiRequest::fake("GET", "/login", &[], ""));
    let page = body(&r);
    assert!(
        page.starts_with("<!DOCTYPE html><html lang=\"en\">"),
        "{page}"
    );
    for landmark in ["<header>", "<nav aria-label=\"Main\">", "<main>"] {
        assert!(page.contains(landmark), "{landmark}");
    }
    // Every visible input names a label that exists.
    let mut rest = page.as_str();
    while let Some(at) = rest.find("<input ") {
        let tag = &rest[at..at + rest[at..].find('>').unwrap()];
        rest = &rest[at + 1..];
        if tag.contains("type=\"hidden\"") {
            continue;
        }
        let id = tag
            .split("id=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(page.contains(&format!("<label for=\"{id}\">")), "{tag}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
