//! The signed-in dashboard (#17) over real HTTP, with a small cookie-keeping client on the
//! harness's raw HTTP: invite link → password → signed in → create a hostname (DNS answers it)
//! → regenerate the token (the new one updates, the old gets 401) → sign out; a wrong
//! password, a form without its CSRF token (403, nothing changed), cookie flags, the CSP
//! header and a note with markup shown as text.

use hickory_proto::rr::RecordType;

use crate::harness::*;

/// A browser of sorts: keeps the cookies the server sets, sends them back.
#[test]
fn invite_sign_in_hostname_token_and_sign_out() {
    let dir = TestDir::new("dash_flow");
    admin(&dir, &["zone", "add", "dyn.test", "--shared"]);
    let old_token = add_user(&dir, "ann@example.org", &[]);
    let link = last_line(&admin(&dir, &["user", "invite", "ann@example.org"]));
    let path = &link[link.find("/invite/").expect("invite path")..];
    let srv = Server::start(&dir);
    let mut b = Browser::new(&srv);

    // Not signed in: the dashboard sends to /login; every page has the CSP.
    let r = b.get("/");
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    assert_eq!(r.header("content-security-policy"), Some(CSP));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));

    // The invite link: set a password (too short first), and be signed in.
    let r = b.submit(path, path, &[("password", "short")]);
    assert_eq!(r.status, 400, "{}", r.body);
    let r = b.submit(path, path, &[("password", "correct horse battery")]);
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/")),
        "{}",
        r.body
    );
    let session = b
        .set_cookies
        .iter()
        .find(|c| c.starts_with("lucent_session="))
        .expect("session cookie")
        .clone();
    assert!(
        session.ends_with("; HttpOnly; SameSite=Lax; Path=/"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "plain HTTP: {session}");
    // The link works once.
    let r = b.get(path);
    assert_eq!(r.status, 404);

    // A form post without its CSRF token: 403 and nothing changed.
    let r = b.post(
        "/hostnames",
        &[("hostname", "home"), ("zoneDomain", "dyn.test")],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = b.post(
        "/hostnames",
        &[
            ("hostname", "home"),
            ("zoneDomain", "dyn.test"),
            ("csrf", "0000"),
        ],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let page = b.get("/");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("No hostnames yet"), "{}", page.body);
    assert_eq!(page.header("content-security-policy"), Some(CSP));
    assert!(srv.dig("home.dyn.test", RecordType::A).answers.is_empty());

    // Create a hostname with a note holding markup: DNS answers it, the note shows as text.
    let note = r#"<script>alert("x")</script><b>bold</b>"#;
    let r = b.submit(
        "/",
        "/hostnames",
        &[
            ("hostname", "home"),
            ("zoneDomain", "dyn.test"),
            ("ipv4", "192.0.2.10"),
            ("txt", "hello"),
            ("ttl", "120"),
            ("note", note),
        ],
    );
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/?done=created")),
        "{}",
        r.body
    );
    assert_eq!(
        answers(&srv.dig("home.dyn.test", RecordType::A)),
        vec!["192.0.2.10"]
    );
    let page = b.get("/?done=created");
    assert!(page.body.contains("Hostname created."), "{}", page.body);
    assert!(page.body.contains("home.dyn.test"));
    assert!(
        page.body
            .contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    // A bad value is refused with the API's message and changes nothing.
    let r = b.submit(
        "/",
        "/hostnames",
        &[
            ("hostname", "other"),
            ("zoneDomain", "dyn.test"),
            ("ipv4", "300.1.1.1"),
        ],
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(srv.dig("other.dyn.test", RecordType::A).answers.is_empty());

    // Regenerate the token: shown once; the new one updates, the old one gets 401.
    let r = b.submit("/token", "/token", &[]);
    assert_eq!(r.status, 400, "no confirmation: {}", r.body);
    let r = b.submit("/token", "/token", &[("confirm", "yes")]);
    assert_eq!(r.status, 200, "{}", r.body);
    let new_token = token_value(&r.body);
    assert_eq!(new_token.len(), 40, "{new_token}");
    let r = srv.get(
        &format!("/update?domains=home&token={new_token}&ip=192.0.2.11"),
        &[],
    );
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    assert_eq!(
        answers(&srv.dig("home.dyn.test", RecordType::A)),
        vec!["192.0.2.11"]
    );
    let r = srv.get(
        &format!("/update?domains=home&token={old_token}&ip=192.0.2.12"),
        &[],
    );
    assert_eq!((r.status, r.body.as_str()), (401, "KO"));
    assert!(!b.get("/token").body.contains(&new_token), "shown once");

    // Delete through the dashboard: gone from DNS.
    let page = b.get("/");
    let id_at = page.body.find("/hostnames/host_").expect("a hostname link");
    let id: String = page.body[id_at + "/hostnames/".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let r = b.submit("/", &format!("/hostnames/{id}/delete"), &[]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(srv.dig("home.dyn.test", RecordType::A).answers.is_empty());

    // Sign out: the session cookie no longer opens anything.
    let stolen = b.cookie_header();
    let r = b.submit("/", "/logout", &[]);
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    let r = http(srv.http, "GET", "/", &[("Cookie", &stolen)], None);
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));

    // A wrong password is refused (no session); the right one signs in.
    let before = b.set_cookies.len();
    let r = b.submit(
        "/login",
        "/login",
        &[
            ("email", "ann@example.org"),
            ("password", "wrong horse battery"),
        ],
    );
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.body.contains("Wrong email, password or two-factor code."));
    let invite_token = path.trim_start_matches("/invite/");
    assert!(
        !srv.log_text().contains(invite_token),
        "the invite token in the log"
    );
    assert!(!b.set_cookies[before..]
        .iter()
        .any(|c| c.starts_with("lucent_session=")));
    let r = b.submit(
        "/login",
        "/login",
        &[
            ("email", "ann@example.org"),
            ("password", "correct horse battery"),
        ],
    );
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/")),
        "{}",
        r.body
    );
    assert_eq!(b.get("/").status, 200);
}

/// `lucentd user passwd EMAIL` with the password on stdin.

#[test]
fn scoped_tokens_reach_their_hostnames_only() {
    let dir = TestDir::new("dash_scoped");
    admin(&dir, &["zone", "add", "dyn.test", "--shared"]);
    let main = add_user(&dir, "ann@example.org", &[]);
    passwd(&dir, "ann@example.org", "correct horse battery");
    let srv = Server::start(&dir);
    for l in ["home", "cam", "nas"] {
        let body = format!(r#"{{"hostname":"{l}","ipv4":"192.0.2.1"}}"#);
        assert_eq!(srv.json("POST", "/v1/hostnames", &main, &body).status, 201);
    }

    // The command: a token for home only; the main token is unchanged.
    let out = admin(
        &dir,
        &[
            "user",
            "token",
            "ann@example.org",
            "--hostname",
            "home.dyn.test",
            "--label",
            "router",
        ],
    );
    let scoped = last_line(&out);
    assert_eq!(scoped.len(), 40, "{out}");
    let (code, _, err) = admin_status(
        &dir,
        &[
            "user",
            "token",
            "ann@example.org",
            "--hostname",
            "other.dyn.test",
            "--label",
            "x",
        ],
    );
    assert_ne!(code, 0, "a hostname the user does not have");
    assert!(!err.is_empty());

    // /update: its hostname, nothing else.
    let up = |t: &str, d: &str, ip: &str| {
        srv.get(&format!("/update?domains={d}&token={t}&ip={ip}"), &[])
    };
    assert_eq!(up(&scoped, "home", "192.0.2.20").body, "OK");
    assert_eq!(a_records(&srv, "home.dyn.test"), vec!["192.0.2.20"]);
    let r = up(&scoped, "cam", "192.0.2.21");
    assert_eq!(r.body, "KO");
    assert_eq!(a_records(&srv, "cam.dyn.test"), vec!["192.0.2.1"]);
    assert_eq!(
        up(&main, "cam", "192.0.2.22").body,
        "OK",
        "the main token still works"
    );

    // dyndns2 with Basic auth.
    let auth = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("router:{scoped}")
        )
    );
    let r = srv.get(
        "/nic/update?hostname=home.dyn.test,nas.dyn.test&myip=192.0.2.30",
        &[("Authorization", &auth)],
    );
    assert_eq!(r.body, "good 192.0.2.30\nnohost", "{}", r.body);
    assert_eq!(a_records(&srv, "nas.dyn.test"), vec!["192.0.2.1"]);

    // /v1/hostnames: lists and patches its hostname only; no create, no delete.
    let r = srv.bearer("GET", "/v1/hostnames", &scoped);
    let names: Vec<String> = r.json()["hostnames"]
        .as_array()
        .expect("list")
        .iter()
        .map(|h| h["fqdn"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(names, vec!["home.dyn.test"]);
    let r = srv.json("PATCH", "/v1/hostnames/home", &scoped, r#"{"txt":"hi"}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = srv.json("PATCH", "/v1/hostnames/cam", &scoped, r#"{"txt":"hi"}"#);
    assert_eq!(r.status, 404, "{}", r.body);
    let r = srv.json("POST", "/v1/hostnames", &scoped, r#"{"hostname":"new"}"#);
    assert_eq!(r.status, 403, "{}", r.body);
    let r = srv.bearer("DELETE", "/v1/hostnames/home", &scoped);
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(a_records(&srv, "home.dyn.test"), vec!["192.0.2.30"]);

    // `user tokens`: label, hostnames, last use; never the secret.
    wait_until("the last use is recorded", || {
        let out = admin(&dir, &["user", "tokens", "ann@example.org"]);
        out.contains("router\thome.dyn.test\t") && !out.contains("never")
    });
    assert!(!admin(&dir, &["user", "tokens", "ann@example.org"]).contains(&scoped));

    // The dashboard: create one for nas (shown once), see it listed, revoke it.
    let mut b = Browser::new(&srv);
    let r = b.submit(
        "/login",
        "/login",
        &[
            ("email", "ann@example.org"),
            ("password", "correct horse battery"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.get("/tokens");
    assert!(page.body.contains("router"), "{}", page.body);
    let nas_at = page.body.find(">nas.dyn.test<").expect("nas checkbox");
    let id_at = page.body[..nas_at].rfind("value=\"host_").expect("its id") + 7;
    let id_len = page.body[id_at..].find('"').expect("end of id");
    let nas_id = page.body[id_at..id_at + id_len].to_string();
    let r = b.submit(
        "/tokens",
        "/tokens",
        &[("label", "nas-box"), ("hostname", &nas_id)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let nas_token = token_value(&r.body);
    assert_eq!(up(&nas_token, "nas", "192.0.2.40").body, "OK");
    assert_eq!(up(&nas_token, "home", "192.0.2.40").body, "KO");
    let r = b.submit(
        "/tokens",
        "/tokens",
        &[("label", "nas-box"), ("hostname", &nas_id)],
    );
    assert_eq!(r.status, 409, "a label is used once: {}", r.body);
    let r = b.submit("/tokens", "/tokens/revoke", &[("label", "nas-box")]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(up(&nas_token, "nas", "192.0.2.41").status, 401);

    // The command revokes too.
    admin(&dir, &["user", "token-revoke", "ann@example.org", "router"]);
    assert_eq!(up(&scoped, "home", "192.0.2.50").status, 401);
    assert_eq!(up(&main, "home", "192.0.2.50").body, "OK");
}

#[test]
fn admin_commands_set_passwords_and_roles() {
    let dir = TestDir::new("dash_admin");
    add_user(&dir, "bob@example.org", &[]);
    let (code, _, err) = admin_status(&dir, &["user", "set", "bob@example.org", "--role", "root"]);
    assert_ne!(code, 0);
    assert!(err.contains("--role"), "{err}");
    admin(&dir, &["user", "set", "bob@example.org", "--role", "admin"]);
    passwd(&dir, "bob@example.org", "a fine password");
    let srv = Server::start(&dir);
    let mut b = Browser::new(&srv);
    let r = b.submit(
        "/login",
        "/login",
        &[
            ("email", "bob@example.org"),
            ("password", "a fine password"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.get("/");
    assert!(
        page.body.contains("Signed in as bob@example.org (admin)"),
        "{}",
        page.body
    );

    // The admin page: a new user gets an invite link there; a normal user is refused it.
    add_user(&dir, "cat@example.org", &[]);
    admin(&dir, &["zone", "add", "shared.test", "--shared"]);
    let zones = b.get("/admin/zones");
    assert_eq!(zones.status, 200, "{}", zones.body);
    assert!(
        zones.body.contains("<h2>shared.test</h2>"),
        "{}",
        zones.body
    );
    let page = b.get("/admin");
    assert_eq!(page.status, 200, "{}", page.body);
    let at = page.body.find("cat@example.org").expect("cat listed");
    let form_at = at + page.body[at..].find("/invite\"").expect("invite form");
    let id_start = page.body[..form_at]
        .rfind("/admin/users/")
        .expect("user id")
        + 13;
    let cat_id = page.body[id_start..form_at].to_string();
    let r = b.submit("/admin", &format!("/admin/users/{cat_id}/invite"), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let at = r.body.find(r#"id="invite-link">"#).expect("link shown") + 18;
    let link = &r.body[at..at + r.body[at..].find('<').expect("end")];
    let path = &link[link.find("/invite/").expect("path")..];
    let mut c = Browser::new(&srv);
    let r = c.submit(path, path, &[("password", "cat's password")]);
    assert_eq!(r.status, 303, "{}", r.body);
    let r = c.get("/admin");
    assert_eq!(r.status, 403, "{}", r.body);
    let r = c.submit("/", &format!("/admin/users/{cat_id}"), &[("role", "admin")]);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(!c.get("/").body.contains("href=\"/admin\""));
    // The admin makes cat an admin: now the page opens.
    let r = b.submit(
        "/admin",
        &format!("/admin/users/{cat_id}"),
        &[("role", "admin")],
    );
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/admin")),
        "{}",
        r.body
    );
    assert_eq!(c.get("/admin").status, 200);
}

#[test]
fn sign_in_is_rate_limited_per_account() {
    let dir = TestDir::new("dash_limit");
    add_user(&dir, "dan@example.org", &[]);
    passwd(&dir, "dan@example.org", "the right password");
    let srv = Server::start(&dir);
    let mut b = Browser::new(&srv);
    let mut statuses = Vec::new();
    for _ in 0..11 {
        let r = b.submit(
            "/login",
            "/login",
            &[
                ("email", "dan@example.org"),
                ("password", "a wrong password"),
            ],
        );
        statuses.push(r.status);
    }
    assert_eq!(&statuses[..10], &[401; 10]);
    assert_eq!(statuses[10], 429);
    // Even the right password waits now.
    let r = b.submit(
        "/login",
        "/login",
        &[
            ("email", "dan@example.org"),
            ("password", "the right password"),
        ],
    );
    assert_eq!(r.status, 429, "{}", r.body);
}

#[test]
fn setup_snippets_and_the_api_guide_name_this_server() {
    let dir = TestDir::new("dash_setup");
    let srv = Server::start_with(
        &dir,
        ServerOpts {
            args: vec!["--demo"],
            env: vec![],
        },
    );
    let base = format!("http://{}", srv.http);
    // --demo prints a sign-in (invite) link with the bound address.
    let link = srv
        .stdout_lines
        .iter()
        .find_map(|l| l.split_whitespace().find(|w| w.contains("/invite/")))
        .expect("an invite link in the demo output")
        .to_string();
    assert!(link.starts_with(&format!("{base}/invite/")), "{link}");
    let token = srv
        .stdout_lines
        .iter()
        .skip_while(|l| *l != "demo token:")
        .nth(1)
        .expect("the demo token")
        .clone();
    let r = srv.json("POST", "/v1/hostnames", &token, r#"{"hostname":"hello"}"#);
    assert_eq!(r.status, 201, "{}", r.body);

    // The API guide is public and names this server and its shared zone.
    let r = srv.get("/docs", &[]);
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .contains(&format!("{base}/update?domains=home.demo.test")),
        "{}",
        r.body
    );
    assert_eq!(
        r.header("content-security-policy")
            .map(|c| c.contains("frame-ancestors 'none'")),
        Some(true)
    );

    let path = &link[link.find("/invite/").expect("path")..];
    let mut b = Browser::new(&srv);
    let r = b.submit(path, path, &[("password", "a demo password")]);
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.get("/");
    let at = page.body.find("/setup\"").expect("a setup link");
    let start = page.body[..at].rfind("\"/hostnames/").expect("link start") + 1;
    let setup = b.get(&page.body[start..at + 6]);
    assert_eq!(setup.status, 200, "{}", setup.body);
    for want in [
        format!("{base}/update?domains=hello.demo.test&amp;token=YOUR_TOKEN"),
        format!("server = &quot;{base}&quot;"),
        format!("server={}", srv.http),
        "protocol=dyndns2".to_string(),
        format!("ddns-server = &quot;{}&quot;", srv.http),
        "option domain 'hello.demo.test'".to_string(),
        "Hostname: hello.demo.test".to_string(),
    ] {
        assert!(setup.body.contains(&want), "{want} in {}", setup.body);
    }
}

#[test]
fn password_change_and_sign_out_everywhere_end_other_sessions() {
    let dir = TestDir::new("dash_account");
    add_user(&dir, "eve@example.org", &[]);
    passwd(&dir, "eve@example.org", "the first password");
    let srv = Server::start(&dir);
    let sign_in = |password: &str| {
        let mut b = Browser::new(&srv);
        let r = b.submit(
            "/login",
            "/login",
            &[("email", "eve@example.org"), ("password", password)],
        );
        (b, r.status)
    };
    let (mut phone, s) = sign_in("the first password");
    assert_eq!(s, 303);
    let (mut laptop, s) = sign_in("the first password");
    assert_eq!(s, 303);
    let page = laptop.get("/account");
    assert_eq!(
        page.body.matches("<li class=\"card\">").count(),
        2,
        "{}",
        page.body
    );
    assert_eq!(page.body.matches("(this session)").count(), 1);

    // A wrong current password changes nothing.
    let r = laptop.submit(
        "/account",
        "/account/password",
        &[
            ("current", "not the password"),
            ("password", "the second password"),
        ],
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(phone.get("/").status, 200);
    // The right one: this session stays, the other ends, the old password no longer works.
    let r = laptop.submit(
        "/account",
        "/account/password",
        &[
            ("current", "the first password"),
            ("password", "the second password"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Password changed"), "{}", r.body);
    assert_eq!(laptop.get("/").status, 200);
    assert_eq!(phone.get("/").status, 303);
    assert_eq!(sign_in("the first password").1, 401);
    let (mut phone, s) = sign_in("the second password");
    assert_eq!(s, 303);

    // Sign out everywhere: both sessions end.
    let r = laptop.submit("/account", "/account/signout-all", &[]);
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    assert_eq!(laptop.get("/").status, 303);
    assert_eq!(phone.get("/").status, 303);
}
