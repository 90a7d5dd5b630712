//! The dashboard (#17), continued: hosted-zone records through the dashboard, Secure cookies
//! behind a trusted HTTPS proxy, two-factor sign-in.

use crate::harness::*;
use hickory_proto::rr::RecordType;

#[test]
fn hosted_zone_records_through_the_dashboard() {
    let dir = TestDir::new("dash_zones");
    add_user(&dir, "fay@example.org", &[]);
    add_user(&dir, "gus@example.org", &[]);
    passwd(&dir, "fay@example.org", "fay's password!");
    admin(
        &dir,
        &["zone", "add", "fay.example", "--owner", "fay@example.org"],
    );
    admin(
        &dir,
        &["zone", "add", "gus.example", "--owner", "gus@example.org"],
    );
    let srv = Server::start(&dir);
    let mut b = Browser::new(&srv);
    let r = b.submit(
        "/login",
        "/login",
        &[
            ("email", "fay@example.org"),
            ("password", "fay's password!"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.get("/zones");
    assert!(page.body.contains("fay.example") && !page.body.contains("gus.example"));
    let at = page.body.find("href=\"/zones/").expect("zone link") + 6;
    let zpath = page.body[at..at + page.body[at..].find('"').expect("end")].to_string();
    // The zone is signed (#15): its page shows the DS records `zone ds` prints, to copy.
    let ds = admin(&dir, &["zone", "ds", "fay.example"]);
    let zone_page = b.get(&zpath);
    assert!(
        zone_page.body.contains("id=\"ds-records\""),
        "{}",
        zone_page.body
    );
    for line in ds.lines() {
        assert!(zone_page.body.contains(line), "{line} not on the zone page");
    }

    let r = b.submit(
        &zpath,
        &zpath,
        &[
            ("name", "www"),
            ("type", "A"),
            ("content", "192.0.2.5"),
            ("ttl", "300"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(a_records(&srv, "www.fay.example"), vec!["192.0.2.5"]);
    // Edit it: the same rules, the new value in DNS.
    let page = b.get(&format!("{zpath}?q=www"));
    let at = page.body.find("\">Edit</a>").expect("an edit link");
    let start = page.body[..at].rfind("href=\"").expect("link start") + 6;
    let edit = page.body[start..at].to_string();
    let r = b.submit(
        &edit,
        &edit,
        &[
            ("name", "www"),
            ("type", "A"),
            ("content", "192.0.2.9"),
            ("ttl", "300"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(a_records(&srv, "www.fay.example"), vec!["192.0.2.9"]);
    let r = b.submit(
        &edit,
        &edit,
        &[("name", "www"), ("type", "A"), ("content", "x")],
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(a_records(&srv, "www.fay.example"), vec!["192.0.2.9"]);
    // The record rules are the API's: a CNAME beside the A is refused, shown on the page.
    let r = b.submit(
        &zpath,
        &zpath,
        &[
            ("name", "www"),
            ("type", "CNAME"),
            ("content", "fay.example."),
        ],
    );
    assert!(
        r.status >= 400 && r.status < 500,
        "{}: {}",
        r.status,
        r.body
    );
    assert!(r.body.contains("class=\"error\""), "{}", r.body);
    let r = b.submit(
        &zpath,
        &zpath,
        &[("name", "x"), ("type", "A"), ("content", "nope")],
    );
    assert_eq!(r.status, 400, "{}", r.body);

    // Filter and delete.
    let page = b.get(&format!("{zpath}?q=www"));
    assert!(page.body.contains("1 records"), "{}", page.body);
    let at = page.body.find("/delete\"").expect("a delete form");
    let start = page.body[..at].rfind("\"/zones/").expect("form start") + 1;
    let action = page.body[start..at + 7].to_string();
    let r = b.submit(&zpath, &action, &[]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(srv.dig("www.fay.example", RecordType::A).answers.is_empty());

    // Someone else's zone (added right after this one) is not there.
    let id: i64 = zpath
        .trim_start_matches("/zones/")
        .parse()
        .expect("zone id");
    assert_eq!(b.get(&format!("/zones/{}", id + 1)).status, 404);
    let r = b.submit(
        &zpath,
        &format!("/zones/{}", id + 1),
        &[("name", "www"), ("type", "A"), ("content", "192.0.2.6")],
    );
    assert_eq!(r.status, 404);
    assert!(srv.dig("www.gus.example", RecordType::A).answers.is_empty());

    // An API key for the zone, from the dashboard: the LuaDNS-style API takes it; revoked, not.
    let r = b.submit("/apikeys", "/apikeys", &[("zone", "fay.example")]);
    assert_eq!(r.status, 200, "{}", r.body);
    let key = token_value(&r.body);
    let auth = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("fay@example.org:{key}")
        )
    );
    let lua = |auth: &str| {
        http(
            srv.http,
            "GET",
            "/v1/zones",
            &[("Authorization", auth), ("Accept", "application/json")],
            None,
        )
    };
    let r = lua(&auth);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("fay.example"), "{}", r.body);
    let r = b.submit("/apikeys", "/apikeys", &[("zone", "gus.example")]);
    assert_eq!(r.status, 403, "another user's zone: {}", r.body);
    let page = b.get("/apikeys");
    let at = page.body.find("/revoke\"").expect("a revoke form");
    let start = page.body[..at].rfind("\"/apikeys/").expect("form start") + 1;
    let action = page.body[start..at + 7].to_string();
    assert_eq!(b.submit("/apikeys", &action, &[]).status, 303);
    assert_eq!(lua(&auth).status, 401);
}

#[test]
fn cookies_are_secure_behind_a_trusted_https_proxy() {
    let dir = TestDir::new("dash_proxy");
    admin(&dir, &["zone", "add", "dyn.test", "--shared"]);
    add_user(&dir, "hal@example.org", &[]);
    passwd(&dir, "hal@example.org", "hal's password!");
    let config = write_config(
        &dir,
        "public_url = \"https://ddns.example.test/\"\ntrusted_proxies = [\"127.0.0.1\"]\n",
    );
    let config = config.to_str().expect("utf-8 path").to_string();
    let srv = Server::start_with(
        &dir,
        ServerOpts {
            args: vec!["--config", &config],
            env: vec![],
        },
    );
    let form = [
        ("email", "hal@example.org"),
        ("password", "hal's password!"),
    ];
    let session_cookie = |b: &Browser| {
        b.set_cookies
            .iter()
            .rfind(|c| c.starts_with("lucent_session="))
            .expect("a session cookie")
            .clone()
    };
    // The proxy says its client used HTTPS: Secure.
    let mut b = Browser::new(&srv);
    b.extra = vec![
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-For", "198.51.100.7"),
    ];
    assert_eq!(b.submit("/login", "/login", &form).status, 303);
    let c = session_cookie(&b);
    assert!(
        c.ends_with("; HttpOnly; SameSite=Lax; Path=/; Secure"),
        "{c}"
    );
    // The session lists the client's address, not the proxy's.
    assert!(b.get("/account").body.contains("198.51.100.7"));
    // Plain HTTP through the same proxy: not Secure (the browser would drop it).
    let mut b = Browser::new(&srv);
    b.extra = vec![("X-Forwarded-Proto", "http")];
    assert_eq!(b.submit("/login", "/login", &form).status, 303);
    assert!(!session_cookie(&b).contains("Secure"));
    // public_url names this server in the guide (trailing slash dropped).
    let r = srv.get("/docs", &[]);
    assert!(
        r.body
            .contains("https://ddns.example.test/update?domains=home.dyn.test"),
        "{}",
        r.body
    );
}

#[test]
fn two_factor_sign_in_with_totp_and_recovery_codes() {
    let dir = TestDir::new("dash_tfa");
    add_user(&dir, "ida@example.org", &[]);
    passwd(&dir, "ida@example.org", "ida's password!");
    let key = last_line(&admin(&dir, &["user", "apikey", "ida@example.org"]));
    let srv = Server::start(&dir);
    let me = || {
        let auth = format!(
            "Basic {}",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                format!("ida@example.org:{key}")
            )
        );
        let r = http(
            srv.http,
            "GET",
            "/v1/users/me",
            &[("Authorization", &auth), ("Accept", "application/json")],
            None,
        );
        r.json()["tfa"].as_bool().expect("tfa")
    };
    assert!(!me());
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs()
    };
    let sign_in = |code: &str| {
        let mut b = Browser::new(&srv);
        let r = b.submit(
            "/login",
            "/login",
            &[
                ("email", "ida@example.org"),
                ("password", "ida's password!"),
                ("code", code),
            ],
        );
        (b, r.status)
    };
    let (mut b, s) = sign_in("");
    assert_eq!(s, 303, "no second factor yet: none asked");

    // Set up: a key to add to an app, confirmed with a code from it; recovery codes once.
    let r = b.submit("/account", "/account/tfa", &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let at = r.body.find(r#"id="tfa-secret">"#).expect("the key") + 16;
    let secret = r.body[at..at + r.body[at..].find('<').expect("end")].to_string();
    assert!(r.body.contains("otpauth://totp/"), "{}", r.body);
    let totp = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        totp_rs::Secret::Encoded(secret).to_bytes().expect("base32"),
    )
    .expect("totp");
    let r = b.submit("/account", "/account/tfa/confirm", &[("code", "000000x")]);
    assert_eq!(r.status, 400, "{}", r.body);
    let t = now();
    let r = b.submit(
        "/account",
        "/account/tfa/confirm",
        &[("code", &totp.generate(t))],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let at = r.body.find(r#"id="recovery-codes">"#).expect("codes") + 20;
    let codes: Vec<String> = r.body[at..at + r.body[at..].find('<').expect("end")]
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(codes.len(), 10, "{codes:?}");
    assert!(me(), "users/me reports tfa");

    // Now sign-in needs a code: none, a wrong one, a spent one are refused (no session).
    assert_eq!(sign_in("").1, 401);
    assert_eq!(sign_in("123456").1, 401);
    assert_eq!(
        sign_in(&totp.generate(t)).1,
        401,
        "the confirming code was spent"
    );
    // A recovery code works once.
    assert_eq!(sign_in(&codes[0]).1, 303);
    assert_eq!(sign_in(&codes[0]).1, 401);
    // The next step's code (within the allowed skew) works, once.
    let next = totp.generate(t + 30);
    let (mut b, s) = sign_in(&next);
    assert_eq!(s, 303);
    assert_eq!(sign_in(&next).1, 401);

    // Turning it off needs a code too.
    let r = b.submit("/account", "/account/tfa/disable", &[("code", "nope")]);
    assert_eq!(r.status, 400, "{}", r.body);
    let r = b.submit("/account", "/account/tfa/disable", &[("code", &codes[1])]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!me());
    assert_eq!(sign_in("").1, 303);
}
