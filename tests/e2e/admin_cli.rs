//! The operator's command line against the real binary: listing and revoking API keys,
//! deleting a user or one hostname while a server runs (DNS follows within the sync tick),
//! refusing a missing database except in the commands that set one up, per-command help,
//! a closed stdout, the DNS bind error, one listening line, `backup` never overwriting by
//! accident, counts in the singular, and README's quick start matching `serve --demo`.

use std::net::UdpSocket;
use std::process::{Command, Stdio};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::harness::*;

/// `GET /v1/users/me` with Basic auth (email : API key); the status.
fn users_me(srv: &Server, email: &str, key: &str) -> u16 {
    Lua::new(srv, email, key).get("/v1/users/me").status
}

/// The rows of `user apikeys`: (id, scope, created).
fn apikeys(dir: &TestDir, email: &str) -> Vec<(String, String, String)> {
    let out = admin(dir, &["user", "apikeys", email]);
    let mut lines = out.lines();
    let head = lines.next().expect("header");
    assert!(
        head.contains("ID") && head.contains("SCOPE") && head.contains("CREATED"),
        "{out}"
    );
    lines
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 3, "{l}");
            (f[0].to_string(), f[1].to_string(), f[2].to_string())
        })
        .collect()
}

#[test]
fn apikeys_are_listed_without_secrets_and_revoked_at_once() {
    let dir = TestDir::new("apikeys");
    let email = "keys@example.org";
    let token = add_user(&dir, email, &[]);
    add_user(&dir, "other@example.org", &[]);
    admin(&dir, &["zone", "add", "keys.example", "--owner", email]);
    let global = last_line(&admin(&dir, &["user", "apikey", email]));
    let scoped = last_line(&admin(
        &dir,
        &["user", "apikey", email, "--zone", "keys.example"],
    ));
    let out = admin(&dir, &["user", "apikeys", email]);
    for s in [&token, &global, &scoped] {
        assert!(!out.contains(s.as_str()), "a secret in the list: {out}");
    }
    let keys = apikeys(&dir, email);
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(keys[0].1, "global");
    assert_eq!(keys[1].1, "keys.example");
    assert!(keys.iter().all(|k| k.2.starts_with("20")), "{keys:?}");
    assert!(apikeys(&dir, "other@example.org").is_empty());

    let srv = Server::start(&dir);
    assert_eq!(users_me(&srv, email, &global), 200);
    assert_eq!(users_me(&srv, email, &scoped), 200);
    // Another user cannot be used to revoke this user's key; an unknown id fails clearly.
    let (code, _, err) = admin_status(
        &dir,
        &["user", "apikey-revoke", "other@example.org", &keys[0].0],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no API key"), "{err}");
    let (code, _, err) = admin_status(&dir, &["user", "apikey-revoke", email, "999999"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no API key 999999"), "{err}");
    assert_eq!(users_me(&srv, email, &global), 200);

    let out = admin(&dir, &["user", "apikey-revoke", email, &keys[0].0]);
    assert!(out.contains("revoked API key"), "{out}");
    assert!(!out.contains(&global) && !out.contains(&scoped), "{out}");
    // At once: the very next request.
    assert_eq!(users_me(&srv, email, &global), 401);
    assert_eq!(users_me(&srv, email, &scoped), 200, "the other key works");
    let left = apikeys(&dir, email);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].0, keys[1].0);
}

#[test]
fn user_rm_needs_yes_and_takes_the_users_names_out_of_dns() {
    let dir = TestDir::new("user-rm");
    admin(&dir, &["zone", "add", "dyn.example.net", "--shared"]);
    let gone = "gone@example.org";
    let t = add_user(&dir, gone, &[]);
    let t2 = add_user(&dir, "stays@example.org", &[]);
    admin(&dir, &["zone", "add", "gone.example", "--owner", gone]);
    let key = last_line(&admin(&dir, &["user", "apikey", gone]));
    let srv = Server::start(&dir);
    for (tok, label) in [(&t, "home"), (&t2, "neighbour")] {
        let body = format!(r#"{{"hostname":"{label}","ipv4":"192.0.2.7"}}"#);
        let r = srv.json("POST", "/v1/hostnames", tok, &body);
        assert_eq!(r.status, 201, "{}", r.body);
    }
    assert_eq!(
        answers(&srv.dig("home.dyn.example.net", RecordType::A)),
        ["192.0.2.7"]
    );
    assert_eq!(
        rcode(&srv.dig("gone.example", RecordType::SOA)),
        ResponseCode::NoError
    );

    // Without --yes: refused, says what it would delete, changes nothing.
    let (code, out, err) = admin_status(&dir, &["user", "rm", gone]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("--yes"), "{err}");
    assert!(err.contains("1 hostname (home.dyn.example.net)"), "{err}");
    assert!(admin(&dir, &["user", "list"]).contains(gone), "still there");
    // A later admin change is picked up by the server's next sync pass, which reloads every zone
    // changed since the last one: once it is served, the refusal had nothing to publish.
    admin(&dir, &["zone", "add", "sync-marker.test", "--shared"]);
    wait_until("the server to pick up a later change", || {
        rcode(&srv.dig("sync-marker.test", RecordType::SOA)) == ResponseCode::NoError
    });
    assert_eq!(
        answers(&srv.dig("home.dyn.example.net", RecordType::A)),
        ["192.0.2.7"]
    );

    let out = admin(&dir, &["user", "rm", gone, "--yes"]);
    assert!(out.contains("removed user gone@example.org"), "{out}");
    assert!(
        out.contains("1 hostname (home.dyn.example.net)")
            && out.contains("1 hosted zone (gone.example)")
            && out.contains("1 API key"),
        "{out}"
    );
    assert!(!out.contains(&t) && !out.contains(&key), "{out}");
    // Within the server's sync tick: the shared-zone hostname is NXDOMAIN, the hosted zone is
    // no longer served, the neighbour in the same zone is untouched.
    wait_until("home.dyn.example.net to go NXDOMAIN", || {
        rcode(&srv.dig("home.dyn.example.net", RecordType::A)) == ResponseCode::NXDomain
    });
    wait_until("gone.example to stop being served", || {
        rcode(&srv.dig("gone.example", RecordType::SOA)) == ResponseCode::Refused
    });
    assert_eq!(
        answers(&srv.dig("neighbour.dyn.example.net", RecordType::A)),
        ["192.0.2.7"]
    );
    // Token and key are dead; the user is gone from the list.
    assert_eq!(srv.bearer("GET", "/v1/hostnames", &t).status, 401);
    assert_eq!(users_me(&srv, gone, &key), 401);
    assert_eq!(srv.bearer("GET", "/v1/hostnames", &t2).status, 200);
    assert!(!admin(&dir, &["user", "list"]).contains(gone));
    let (code, _, err) = admin_status(&dir, &["user", "rm", gone, "--yes"]);
    assert_eq!(code, 1);
    assert!(err.contains("no user"), "{err}");
}

#[test]
fn hostname_rm_removes_a_users_name_or_an_operator_name() {
    let op = "operator-token-0123456789abcdef";
    let Fixture {
        dir, srv, token: t, ..
    } = Fixture::shared("hostname-rm", SHARED, "h@example.org")
        .env("DDNS_API_TOKEN", op)
        .start();
    let r = srv.json(
        "POST",
        "/v1/hostnames",
        &t,
        r#"{"hostname":"home","ipv4":"192.0.2.9","txt":"hi"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = srv.get(
        &format!("/update?domains=_acme-challenge.dyn.example.net&token={op}&txt=tok123"),
        &[],
    );
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    assert_eq!(
        answers(&srv.dig("_acme-challenge.dyn.example.net", RecordType::TXT)),
        ["tok123"]
    );

    let out = admin(&dir, &["hostname", "rm", "HOME.dyn.example.net."]);
    assert!(
        out.contains("removed hostname home.dyn.example.net (owned by h@example.org)"),
        "{out}"
    );
    wait_until("home.dyn.example.net to go NXDOMAIN", || {
        rcode(&srv.dig("home.dyn.example.net", RecordType::A)) == ResponseCode::NXDomain
    });
    assert_eq!(
        rcode(&srv.dig("home.dyn.example.net", RecordType::TXT)),
        ResponseCode::NXDomain
    );
    assert_eq!(srv.bearer("GET", "/v1/hostnames/home", &t).status, 404);

    let out = admin(&dir, &["hostname", "rm", "_acme-challenge.dyn.example.net"]);
    assert!(out.contains("operator-managed"), "{out}");
    wait_until("the operator name to go NXDOMAIN", || {
        rcode(&srv.dig("_acme-challenge.dyn.example.net", RecordType::TXT))
            == ResponseCode::NXDomain
    });

    // Unknown names fail clearly, and say why.
    for (name, needle) in [
        ("home.dyn.example.net", "no hostname 'home.dyn.example.net'"),
        ("x.not-served.example", "no zone serves"),
        ("bad..name", "name"),
    ] {
        let (code, out, err) = admin_status(&dir, &["hostname", "rm", name]);
        assert_eq!(code, 1, "{name}: {out}{err}");
        assert!(err.contains(needle), "{name}: {err}");
    }
}

#[test]
fn only_setup_commands_create_a_missing_database() {
    let dir = TestDir::new("missing-db");
    let db = dir.db();
    let path = db.display().to_string();
    for args in [
        vec!["backup", "copy.db"],
        vec!["user", "list"],
        vec!["zone", "list"],
        vec!["zone", "rm", "x.example"],
        vec!["user", "token", "a@example.org"],
        vec!["user", "set", "a@example.org", "--max-hostnames", "3"],
        vec!["user", "apikey", "a@example.org"],
        vec!["user", "apikeys", "a@example.org"],
        vec!["user", "rm", "a@example.org", "--yes"],
        vec!["hostname", "rm", "h.x.example"],
    ] {
        let (code, out, err) = admin_status(&dir, &args);
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(
            err.contains("no database") && err.contains(&path),
            "{args:?}: {err}"
        );
        assert!(out.is_empty(), "{args:?}: {out}");
        assert!(!file_exists(&db), "{args:?} created {path}");
    }
    assert!(!file_exists(&dir.path("copy.db")));

    // Setting up creates it, and says so on stderr (once).
    let (code, out, err) = admin_status(&dir, &["user", "add", "a@example.org"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("created new database {path}")),
        "{err}"
    );
    assert!(!out.contains("created new database"), "stdout: {out}");
    let (code, _, err) = admin_status(&dir, &["user", "add", "b@example.org"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("created new database"), "{err}");
    let out = admin(&dir, &["user", "list"]);
    assert!(out.contains("a@example.org"), "{out}");

    let dir2 = TestDir::new("missing-db-zone");
    let (code, _, err) = admin_status(&dir2, &["zone", "add", "z.example", "--shared"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("created new database"), "{err}");

    let dir3 = TestDir::new("missing-db-serve");
    let mut srv = Server::start(&dir3);
    assert!(
        srv.log_text()
            .contains(&format!("created new database {}", dir3.db().display())),
        "{}",
        srv.log_text()
    );
    assert_eq!(srv.stop(), 0);
}

#[test]
fn help_per_command_and_for_everything() {
    let dir = TestDir::new("help");
    let (code, whole, err) = lucentd(&["help"]);
    assert_eq!(code, 0, "{err}");
    for cmd in [
        "lucentd serve",
        "lucentd zone add",
        "lucentd user apikeys EMAIL",
        "lucentd user apikey-revoke EMAIL ID",
        "lucentd user rm EMAIL --yes",
        "lucentd hostname rm FQDN",
        "lucentd backup FILE [--force]",
    ] {
        assert!(whole.contains(cmd), "{cmd} missing:\n{whole}");
    }
    let (code, again, _) = lucentd(&["--help"]);
    assert_eq!((code, again.as_str()), (0, whole.as_str()));

    // One command: its synopsis and what it does, not the others; --db does not matter.
    let (code, out, err) = admin_status(&dir, &["zone", "add", "--help"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("lucentd zone add NAME [--shared] [--owner EMAIL]"),
        "{out}"
    );
    assert!(
        !out.contains("lucentd user add") && !out.contains("zone list"),
        "{out}"
    );
    assert!(!file_exists(&dir.db()), "help opened the database");
    let (code, out, _) = lucentd(&["user", "rm", "--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("--yes") && out.contains("Refuses without --yes"),
        "{out}"
    );
    let (code, out, _) = lucentd(&["help", "backup"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("--force") && !out.contains("lucentd zone add"),
        "{out}"
    );
    let (code, out, _) = lucentd(&["zone", "-h"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("zone list") && out.contains("zone rm"),
        "{out}"
    );
    let (code, _, err) = lucentd(&["frobnicate", "--help"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown command"), "{err}");
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = TestDir::new("epipe");
    admin(&dir, &["zone", "add", "z.example", "--shared"]);
    let db = dir.db();
    let db = db.to_str().expect("utf-8 path");
    for args in [
        vec!["--help"],
        vec!["help"],
        vec!["zone", "list", "--db", db],
        vec!["user", "list", "--db", db],
    ] {
        // The reading end is closed before lucentd has even started: its first write fails.
        let mut child = Command::new(bin("lucentd"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

#[test]
fn dns_bind_error_names_the_address() {
    let dir = TestDir::new("dns-bind");
    admin(&dir, &["zone", "add", "z.example", "--shared"]);
    let taken = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let db = dir.db();
    let (code, _, err) = lucentd(&[
        "serve",
        "--db",
        db.to_str().expect("utf-8 path"),
        "--http",
        "127.0.0.1:0",
        "--dns",
        "127.0.0.1:0",
        "--dns",
        &addr,
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("DNS listen on {addr}: ")),
        "the address is named: {err}"
    );
    assert!(err.to_lowercase().contains("in use"), "{err}");
}

#[test]
fn one_listening_line_and_readme_matches_the_demo() {
    let dir = TestDir::new("listen-line");
    let mut srv = Server::start_with(
        &dir,
        ServerOpts {
            args: vec!["--demo"],
            env: vec![],
        },
    );
    let listening: Vec<&String> = srv
        .stdout_lines
        .iter()
        .filter(|l| l.contains("listening"))
        .collect();
    assert_eq!(listening.len(), 1, "{:?}", srv.stdout_lines);
    assert!(listening[0].starts_with("lucentd listening http="));
    let log = srv.log_text();
    assert!(
        !log.contains("listening http="),
        "logged as well as printed: {log}"
    );
    // README's token-API examples use the name `serve --demo` prints.
    let host = srv
        .stdout_lines
        .iter()
        .find_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("LD_HOST="))
        })
        .expect("LD_HOST in the demo output")
        .to_string();
    let label = host.split('.').next().expect("label");
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"),
    )
    .expect("README.md");
    assert!(
        readme.contains(&format!("LD_HOST={host}")),
        "README's LD_HOST"
    );
    assert!(
        readme.contains(&format!("\"hostname\":\"{label}\"")),
        "README creates {label}"
    );
    assert!(
        readme.contains(&format!("{host} A +norec")),
        "README digs {host}"
    );
    assert!(!readme.contains("client-demo"), "an old demo name");
    assert_eq!(srv.stop(), 0);
}

#[test]
fn backup_never_overwrites_by_accident_and_counts_in_the_singular() {
    let Fixture { dir, srv: _srv, .. } =
        Fixture::shared("backup-force", "b.example.net", "b@example.org")
            .hostnames(&["only"])
            .start();
    let copy = dir.path("copy.db");
    let copy_s = copy.to_str().expect("utf-8 path");
    let out = admin(&dir, &["backup", copy_s]);
    assert!(out.contains("(1 hostname)"), "{out}");

    std::fs::write(&copy, b"precious").expect("write");
    let (code, out, err) = admin_status(&dir, &["backup", copy_s]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(copy_s) && err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&copy).expect("read"),
        b"precious",
        "untouched"
    );

    let out = admin(&dir, &["backup", copy_s, "--force"]);
    assert!(out.contains("(1 hostname)"), "{out}");
    let c = rusqlite::Connection::open(&copy).expect("open copy");
    let n: i64 = c
        .query_row("SELECT COUNT(*) FROM hostnames", [], |r| r.get(0))
        .expect("count");
    assert_eq!(n, 1);

    // The database itself is never a backup target, --force or not.
    let db = dir.db();
    let (code, _, err) = admin_status(&dir, &["backup", db.to_str().expect("path"), "--force"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("the database itself"), "{err}");
}
