//! `lucent-agent` against the real `lucentd`: first run pushes, an unchanged address sends
//! nothing, a changed address is pushed, the LD_* environment alone works, the three
//! protocols, and clear one-line failures with their exit codes.

use std::path::Path;
use std::process::{Command, Output};

use hickory_proto::rr::RecordType;

use crate::harness::*;

/// The shared zone, the agent's user and its two hostnames `home` and `cabin`.
fn setup(name: &str) -> Fixture {
    Fixture::shared(name, SHARED, "agent@example.org")
        .hostnames(&["home", "cabin"])
        .start()
}

/// Config with the IPv4 address read from an echo URL (the server's own `/ip`, or a stub
/// answering a fixed address) and IPv6 off.
fn config(s: &Fixture, protocol: &str, ipv4_url: &str, token: &str) -> std::path::PathBuf {
    let p = s.dir.path(&format!("agent-{protocol}.toml"));
    std::fs::write(
        &p,
        format!(
            "server = \"http://{}\"\ntoken = \"{token}\"\nhostnames = [\"home.dyn.example.net\", \"cabin.dyn.example.net\"]\n\
             protocol = \"{protocol}\"\nstate_file = \"{}\"\n\n[ipv4]\nsource = \"http\"\nurl = \"{ipv4_url}\"\nallow_private = true\n\n\
             [ipv6]\nsource = \"off\"\n",
            s.srv.http,
            s.dir.path(&format!("state-{protocol}.json")).display()
        ),
    )
    .unwrap();
    p
}

fn run_agent(cfg: Option<&Path>, env: &[(&str, &str)], extra: &[&str]) -> Output {
    let mut c = Command::new(bin("lucent-agent"));
    if let Some(p) = cfg {
        c.arg("--config").arg(p);
    }
    c.arg("--once").args(extra);
    for k in [
        "LD_BASE",
        "LD_TOKEN",
        "LD_TOKEN_FILE",
        "LD_HOST",
        "LD_ALLOW_PRIVATE",
        "RUST_LOG",
    ] {
        c.env_remove(k);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run lucent-agent")
}

/// The agent's own line saying it decided not to push (`--once` logs "up to date" at info
/// level on stderr; `--dry-run` prints "would send: …" on stdout).
fn assert_decided_not_to_push(out: &Output, line: &str) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(line), "agent output without {line:?}: {text}");
}

/// Address lookups (`GET /ip`) in the server's access log.
fn lookups_in_log(srv: &Server) -> usize {
    srv.log_text().matches("GET /ip ").count()
}

fn updates_in_log(srv: &Server) -> usize {
    srv.log_text().matches("GET /update").count()
        + srv.log_text().matches("GET /nic/update").count()
}

/// A one-shot HTTP server answering each request with a fixed address (a stand-in for an
/// echo service that sees another public address).
fn echo_stub(addr: &'static str) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/ip", l.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for s in l.incoming().take(4) {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{addr}",
                addr.len()
            );
        }
    });
    url
}

#[test]
fn lucent_protocol_pushes_only_changes() {
    let s = setup("agent-lucent");
    let ip_url = format!("http://{}/ip", s.srv.http);
    let cfg = config(&s, "lucent", &ip_url, &s.token);

    let out = run_agent(Some(&cfg), &[], &[]);
    assert!(
        out.status.success(),
        "first run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for h in ["home", "cabin"] {
        assert_eq!(s.host(h)["ipv4"], "127.0.0.1");
    }
    wait_until("update logged", || updates_in_log(&s.srv) >= 1);
    let n = updates_in_log(&s.srv);
    assert_eq!(n, 1, "one request for both hostnames");
    assert!(
        !s.srv.log_text().contains(&s.token),
        "token in the server's access log"
    );

    // Same address: nothing is sent (the state file says the server already has it). The agent
    // has exited and logged its decision; the server logs each request before it replies, so
    // once the agent's address lookup is in the log, so is anything else the agent sent.
    let lookups = lookups_in_log(&s.srv);
    let out = run_agent(Some(&cfg), &[], &[]);
    assert!(out.status.success());
    assert_decided_not_to_push(&out, "up to date");
    wait_until("the agent's address lookup logged", || {
        lookups_in_log(&s.srv) > lookups
    });
    assert_eq!(updates_in_log(&s.srv), n, "unchanged address re-pushed");
    assert!(s.dir.path("state-lucent.json").exists());

    // A changed address (another echo answer) is pushed, and DNS serves it.
    let cfg2 = config(&s, "lucent", &echo_stub("198.51.100.77"), &s.token);
    let out = run_agent(Some(&cfg2), &[], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s.host("home")["ipv4"], "198.51.100.77");
    assert_eq!(
        answers(&s.srv.dig("cabin.dyn.example.net", RecordType::A)),
        vec!["198.51.100.77"]
    );

    // --dry-run sends nothing.
    let cfg3 = config(&s, "lucent", &echo_stub("198.51.100.78"), &s.token);
    let before = updates_in_log(&s.srv);
    let out = run_agent(Some(&cfg3), &[], &["--dry-run"]);
    assert!(out.status.success());
    // It has exited (its address came from the stub, so the server saw nothing of it).
    assert_decided_not_to_push(&out, "would send:");
    assert_eq!(updates_in_log(&s.srv), before);
    assert_eq!(s.host("home")["ipv4"], "198.51.100.77");
}

#[test]
fn environment_alone_works() {
    let s = setup("agent-env");
    let base = format!("http://{}", s.srv.http);
    let state = s.dir.path("xdg");
    let out = run_agent(
        None,
        &[
            ("LD_BASE", &base),
            ("LD_TOKEN", &s.token),
            ("LD_HOST", "home.dyn.example.net"),
            ("LD_ALLOW_PRIVATE", "1"),
            ("XDG_STATE_HOME", state.to_str().unwrap()),
            ("STATE_DIRECTORY", state.to_str().unwrap()),
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s.host("home")["ipv4"], "127.0.0.1");
    assert!(
        s.host("cabin")["ipv4"].is_null(),
        "only LD_HOST was touched"
    );
}

#[test]
fn duckdns_and_dyndns2_protocols() {
    let s = setup("agent-protocols");
    let cfg = config(&s, "duckdns", &echo_stub("203.0.113.5"), &s.token);
    let out = run_agent(Some(&cfg), &[], &[]);
    assert!(
        out.status.success(),
        "duckdns: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s.host("home")["ipv4"], "203.0.113.5");
    let cfg = config(&s, "dyndns2", &echo_stub("203.0.113.6"), &s.token);
    let out = run_agent(Some(&cfg), &[], &[]);
    assert!(
        out.status.success(),
        "dyndns2: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s.host("cabin")["ipv4"], "203.0.113.6");
    assert_eq!(
        answers(&s.srv.dig("home.dyn.example.net", RecordType::A)),
        vec!["203.0.113.6"]
    );
}

#[test]
fn failures_are_one_clear_line_and_nonzero() {
    let s = setup("agent-failures");
    let ip_url = format!("http://{}/ip", s.srv.http);
    // Wrong token: unauthorized, exit 4, the token never printed.
    let wrong = "0123456789abcdef0123456789abcdef01234567";
    let cfg = config(&s, "lucent", &ip_url, wrong);
    let out = run_agent(Some(&cfg), &[], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.to_lowercase().contains("unauthorized") || err.contains("401"),
        "{err}"
    );
    assert!(!err.contains(wrong));
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");

    // A hostname the token does not own: exit 5.
    let p = s.dir.path("nohost.toml");
    std::fs::write(
        &p,
        format!(
            "server = \"http://{}\"\ntoken = \"{}\"\nhostnames = [\"other.dyn.example.net\"]\nstate_file = \"{}\"\n[ipv4]\nsource = \"http\"\nurl = \"{ip_url}\"\nallow_private = true\n[ipv6]\nsource = \"off\"\n",
            s.srv.http,
            s.token,
            s.dir.path("st2.json").display()
        ),
    )
    .unwrap();
    let out = run_agent(Some(&p), &[], &[]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Unreachable server: exit 7.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let base = format!("http://127.0.0.1:{port}");
    let out = run_agent(
        None,
        &[
            ("LD_BASE", &base),
            ("LD_TOKEN", &s.token),
            ("LD_HOST", "home.dyn.example.net"),
            ("LD_ALLOW_PRIVATE", "1"),
        ],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(!err.contains(&s.token));

    // A config error names the key and exits 3.
    let bad = s.dir.path("bad.toml");
    std::fs::write(
        &bad,
        "server = \"http://x\"\ntoken = \"t\"\nhostnames = [\"a.b\"]\nbogus_key = 1\n",
    )
    .unwrap();
    let out = run_agent(Some(&bad), &[], &[]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bogus_key"));
}
