//! The store seen from outside: admin commands against a running server, secrets only as
//! hashes, durability across SIGKILL, schema migration of an older file, online backup.

use crate::harness::*;

#[test]
fn admin_commands_print_secrets_last_and_store_hashes() {
    let dir = TestDir::new("admin");
    let out = admin(&dir, &["zone", "add", "dyn.example.net", "--shared"]);
    assert!(out.contains("dyn.example.net"));
    let token = add_user(&dir, "op@example.org", &["--max-hostnames", "3"]);
    assert_eq!(token.len(), 40, "160-bit hex token");
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
    let list = admin(&dir, &["user", "list"]);
    assert!(
        list.contains("op@example.org") && list.contains("active"),
        "{list}"
    );
    assert!(!list.contains(&token));
    let zl = admin(&dir, &["zone", "list"]);
    assert!(
        zl.contains("dyn.example.net") && zl.contains("shared"),
        "{zl}"
    );
    // Hosted zone + API keys (global and zone-restricted).
    admin(
        &dir,
        &["zone", "add", "example.org", "--owner", "op@example.org"],
    );
    let k1 = last_line(&admin(&dir, &["user", "apikey", "op@example.org"]));
    let k2 = last_line(&admin(
        &dir,
        &["user", "apikey", "op@example.org", "--zone", "example.org"],
    ));
    assert_ne!(k1, k2);
    // No secret in the file.
    let raw = std::fs::read(dir.db()).unwrap();
    let mut all = raw.clone();
    if let Ok(wal) = std::fs::read(dir.path("lucent.db-wal")) {
        all.extend(wal);
    }
    for s in [&token, &k1, &k2] {
        assert!(
            !all.windows(s.len()).any(|w| w == s.as_bytes()),
            "secret stored in clear"
        );
    }
    // Errors are clear and non-zero.
    for (args, needle) in [
        (
            vec!["zone", "add", "dyn.example.net", "--shared"],
            "already exists",
        ),
        (
            vec!["zone", "add", "sub.dyn.example.net", "--shared"],
            "inside",
        ),
        (vec!["zone", "add", "x.example"], "--shared"),
        (vec!["user", "add", "not-an-email"], "email"),
        (vec!["user", "add", "op@example.org"], "already exists"),
        (vec!["user", "token", "nobody@example.org"], "no user"),
        (
            vec!["user", "set", "op@example.org", "--status", "gone"],
            "status",
        ),
        (vec!["zone", "rm", "nope.example"], "no zone"),
    ] {
        let (code, _, err) = admin_status(&dir, &args);
        assert_ne!(code, 0, "{args:?}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let (code, _, err) = admin_status(&dir, &["frobnicate"]);
    assert_eq!(code, 2, "usage error exit code: {err}");
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let Fixture {
        dir,
        mut srv,
        token: t,
        ..
    } = Fixture::shared("sigkill", SHARED, "k@example.org")
        .hostnames(&["h"])
        .start();
    let mut last = String::new();
    for i in 1..=50 {
        let ip = format!("192.0.2.{i}");
        let r = srv.get(&format!("/update?domains=h&token={t}&ip={ip}"), &[]);
        assert_eq!(r.body, "OK");
        last = ip;
    }
    srv.kill9();
    let srv = Server::start(&dir);
    let h = srv.bearer("GET", "/v1/hostnames/h", &t).json();
    assert_eq!(h["ipv4"], last.as_str());
}

#[test]
fn server_sees_admin_changes_while_running() {
    let dir = TestDir::new("admin-live");
    admin(&dir, &["zone", "add", "one.example.net", "--shared"]);
    let srv = Server::start(&dir);
    // A user and a zone added while serving work at once (the store is shared).
    let t = add_user(&dir, "live@example.org", &[]);
    admin(&dir, &["zone", "add", "two.example.net", "--shared"]);
    let r = srv.json(
        "POST",
        "/v1/hostnames",
        &t,
        r#"{"fqdn":"x.two.example.net"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    admin(
        &dir,
        &["user", "set", "live@example.org", "--max-hostnames", "1"],
    );
    let r = srv.json("POST", "/v1/hostnames", &t, r#"{"hostname":"y"}"#);
    assert_eq!(r.status, 409);
}

#[test]
fn older_schema_file_is_migrated() {
    let dir = TestDir::new("migrate");
    // A file as an earlier lucentd left it: schema version 0 with unrelated content.
    {
        let c = rusqlite::Connection::open(dir.db()).unwrap();
        c.execute_batch("CREATE TABLE leftover (x); INSERT INTO leftover VALUES (1);")
            .unwrap();
    }
    admin(&dir, &["zone", "add", "m.example.net", "--shared"]);
    let c = rusqlite::Connection::open(dir.db()).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(v >= 1);
    let fk: i64 = {
        let c2 = rusqlite::Connection::open(dir.db()).unwrap();
        c2.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
            .map(|m| (m == "wal") as i64)
            .unwrap()
    };
    assert_eq!(fk, 1, "WAL mode persists in the file");
    // A file from the future is refused with a clear message.
    c.pragma_update(None, "user_version", 999).unwrap();
    drop(c);
    let (code, _, err) = admin_status(&dir, &["zone", "list"]);
    assert_ne!(code, 0);
    assert!(err.contains("newer"), "{err}");
}

#[test]
fn online_backup_while_serving() {
    let Fixture {
        dir, srv, token: t, ..
    } = Fixture::shared("backup", "b.example.net", "b@example.org")
        .user_args(&["--max-hostnames", "100"])
        .start();
    for i in 0..40 {
        let r = srv.json(
            "POST",
            "/v1/hostnames",
            &t,
            &format!(r#"{{"hostname":"h{i}","ipv4":"192.0.2.{i}"}}"#),
        );
        assert_eq!(r.status, 201);
    }
    // Writes keep flowing while the backup runs.
    let addr = srv.http;
    let t2 = t.clone();
    let writer = std::thread::spawn(move || {
        for i in 0..200 {
            let r = http(
                addr,
                "GET",
                &format!(
                    "/update?domains=h{}&token={t2}&ip=198.51.100.{}",
                    i % 40,
                    i % 250
                ),
                &[],
                None,
            );
            assert_eq!(r.body, "OK");
        }
    });
    let out = admin(&dir, &["backup", dir.path("copy.db").to_str().unwrap()]);
    writer.join().unwrap();
    assert!(out.contains("40 hostnames"), "{out}");
    let c = rusqlite::Connection::open(dir.path("copy.db")).unwrap();
    let n: i64 = c
        .query_row("SELECT COUNT(*) FROM hostnames", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 40);
    assert_eq!(integrity_check(&dir.path("copy.db")), "ok");
}

/// The SOA and NS come from the config: changing them (with no write at all) moves every
/// zone's serial at the next start, so secondaries transfer the new apex (RFC 1034 §4.3.5).
/// Restarting with the same config leaves the serial alone.
#[test]
fn an_apex_config_change_moves_the_serial_at_the_next_start() {
    let dir = TestDir::new("apex-serial");
    admin(&dir, &["zone", "add", "apex.example.net", "--shared"]);
    let cfg = write_config(&dir, "[dns]\nnameservers = [\"ns1.example.net\"]\n");
    let mut srv = Server::start_cfg(&dir, &cfg);
    let first = srv.soa_serial("apex.example.net");
    srv.stop();
    let mut srv = Server::start_cfg(&dir, &cfg);
    assert_eq!(
        srv.soa_serial("apex.example.net"),
        first,
        "same config, same serial"
    );
    srv.stop();
    let cfg = write_config(
        &dir,
        "[dns]\nnameservers = [\"ns1.example.net\", \"ns2.example.net\"]\nsoa_expire = 1209600\n",
    );
    let srv = Server::start_cfg(&dir, &cfg);
    let after = srv.soa_serial("apex.example.net");
    assert_eq!(
        after,
        first.wrapping_add(1),
        "a new NS set and expire move the serial"
    );
    let ns = answers(&srv.dig("apex.example.net.", hickory_proto::rr::RecordType::NS));
    assert_eq!(ns.len(), 2, "{ns:?}");
}
