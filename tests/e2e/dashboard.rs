//! The signed-in dashboard (#17) over real HTTP, with a small cookie-keeping client on the
//! harness's raw HTTP: invite link → password → signed in → create a hostname (DNS answers it)
//! → regenerate the token (the new one updates, the old gets 401) → sign out; a wrong
//! password, a form without its CSRF token (403, nothing changed), cookie flags, the CSP
//! header and a note with markup shown as text.

use std::net::SocketAddr;

use hickory_proto::rr::RecordType;

use crate::harness::*;

/// A browser of sorts: keeps the cookies the server sets, sends them back.
struct Browser {
    addr: SocketAddr,
    cookies: Vec<(String, String)>,
    /// Every Set-Cookie header seen, as sent.
    set_cookies: Vec<String>,
    /// Sent with every request (e.g. a proxy's X-Forwarded-Proto).
    extra: Vec<(&'static str, &'static str)>,
}

impl Browser {
    fn new(srv: &Server) -> Browser {
        Browser {
            addr: srv.http,
            cookies: Vec::new(),
            set_cookies: Vec::new(),
            extra: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, r: &HttpReply) {
        for (k, v) in &r.headers {
            if k != "set-cookie" {
                continue;
            }
            self.set_cookies.push(v.clone());
            let first = v.split(';').next().unwrap_or("");
            let (name, value) = first.split_once('=').expect("cookie name=value");
            self.cookies.retain(|(n, _)| n != name);
            if !v.contains("Max-Age=0") {
                self.cookies.push((name.to_string(), value.to_string()));
            }
        }
    }

    fn get(&mut self, path: &str) -> HttpReply {
        let c = self.cookie_header();
        let mut h = vec![("Cookie", c.as_str())];
        h.extend(self.extra.iter().copied());
        let r = http(self.addr, "GET", path, &h, None);
        self.keep(&r);
        r
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> HttpReply {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let c = self.cookie_header();
        let mut h = vec![
            ("Cookie", c.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        h.extend(self.extra.iter().copied());
        let r = http(self.addr, "POST", path, &h, Some(body.as_bytes()));
        self.keep(&r);
        r
    }

    /// GET a page and POST one of its forms with the page's CSRF token added.
    fn submit(&mut self, page: &str, action: &str, form: &[(&str, &str)]) -> HttpReply {
        let p = self.get(page);
        assert_eq!(p.status, 200, "GET {page}: {}", p.body);
        let token = csrf(&p.body);
        let mut f = form.to_vec();
        f.push(("csrf", &token));
        self.post(action, &f)
    }
}

/// Percent-encode a form value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The first form's CSRF token on a page.
fn csrf(page: &str) -> String {
    let at = page
        .find(r#"name="csrf" value=""#)
        .unwrap_or_else(|| panic!("no csrf field in {page}"));
    let rest = &page[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').expect("end of value")].to_string()
}

/// The text of the element with id="token-value".
fn token_value(page: &str) -> String {
    let at = page
        .find(r#"id="token-value">"#)
        .unwrap_or_else(|| panic!("no #token-value in {page}"));
    let rest = &page[at + r#"id="token-value">"#.len()..];
    rest[..rest.find('<').expect("end of element")].to_string()
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                   frame-ancestors 'none'; form-action 'self'";

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
fn passwd(dir: &TestDir, email: &str, password: &str) {
    let out = std::process::Command::new(bin("lucentd"))
        .args(["user", "passwd", email, "--db"])
        .arg(dir.db())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .expect("stdin")
                .write_all(format!("{password}\n").as_bytes())?;
            c.wait_with_output()
        })
        .expect("run lucentd user passwd");
    assert!(out.status.success(), "{out:?}");
}

fn a_records(srv: &Server, name: &str) -> Vec<String> {
    answers(&srv.dig(name, RecordType::A))
}

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
    let page = b.get("/admin");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<h2>shared.test</h2>"), "{}", page.body);
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
