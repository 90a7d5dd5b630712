//! Test harness shared by every e2e file: temp dirs and the real binaries (found next to this
//! test executable in target/), admin commands, a server started on 127.0.0.1:0 whose ports are
//! read from its "listening" line (`server`), the two common fixtures (`fixtures`), the HTTP
//! clients (`http`: one request per connection and raw exchanges that never panic; `lua`: the
//! LuaDNS client), the DNS client over UDP/TCP (`dns`), and the `/metrics` and database checks
//! (`checks`); `report!` for a test's summary line. Every wait has a deadline; every child is
//! killed on Drop.

#![allow(dead_code)]

/// A test's summary line (what it sent, survived and verified), written to stderr directly so
/// that `cargo test` shows it for passing tests too: the harness captures `eprintln!`, not this.
macro_rules! report {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($t)*);
    }};
}
pub(crate) use report;

pub mod acme;
mod browser;
mod checks;
mod dns;
mod fixtures;
mod http;
mod lua;
pub mod secondary;
mod server;
mod validate;

pub use browser::*;
pub use checks::*;
pub use dns::*;
pub use fixtures::*;
pub use http::*;
pub use lua::*;
pub use server::*;
pub use validate::*;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Per-process counter for unique directory names and DNS message ids.
static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn next_id() -> usize {
    COUNTER.fetch_add(1, Ordering::SeqCst)
}

/// A fresh directory per test: `<tmp>/lucent-e2e/<name>-<pid>-<n>`.
pub struct TestDir(pub PathBuf);

impl TestDir {
    pub fn new(name: &str) -> TestDir {
        let n = next_id();
        let p = std::env::temp_dir()
            .join("lucent-e2e")
            .join(format!("{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create test dir");
        TestDir(p)
    }
    pub fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
    pub fn db(&self) -> PathBuf {
        self.path("lucent.db")
    }
}

/// Write `lucentd.toml` (TOML text) into the test dir; its path.
pub fn write_config(dir: &TestDir, text: &str) -> PathBuf {
    let p = dir.path("lucentd.toml");
    std::fs::write(&p, text).expect("write config");
    p
}

/// A binary of the workspace, next to the test executable (target/<profile>/).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe
        .parent()
        .expect("deps dir")
        .parent()
        .expect("profile dir");
    let p = dir.join(name);
    assert!(
        p.exists(),
        "{} not found: run `cargo build --workspace --bins` first",
        p.display()
    );
    p
}

/// Run `lucentd ARGS --db DB`; panics unless it exits 0. Returns stdout.
pub fn admin(dir: &TestDir, args: &[&str]) -> String {
    let (code, out, err) = admin_status(dir, args);
    assert_eq!(code, 0, "lucentd {args:?} failed: {err}");
    out
}

/// Run an admin command and return (exit code, stdout, stderr).
pub fn admin_status(dir: &TestDir, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin("lucentd"))
        .args(args)
        .arg("--db")
        .arg(dir.db())
        .env_remove("DDNS_API_TOKEN")
        .output()
        .expect("run lucentd");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The secret a command printed: its last stdout line.
pub fn last_line(s: &str) -> String {
    s.lines().last().unwrap_or("").trim().to_string()
}

/// Run `lucentd ARGS` as given (no `--db` added): (exit code, stdout, stderr); killed after
/// 20 s.
pub fn lucentd(args: &[&str]) -> (i32, String, String) {
    let mut child = Command::new(bin("lucentd"))
        .args(args)
        .env_remove("DDNS_API_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn lucentd");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("lucentd {args:?} still running after 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    let mut err = String::new();
    let _ = child.stdout.take().expect("out").read_to_string(&mut out);
    let _ = child.stderr.take().expect("err").read_to_string(&mut err);
    (status.code().unwrap_or(-1), out, err)
}

/// Create a user and return its update token.
pub fn add_user(dir: &TestDir, email: &str, extra: &[&str]) -> String {
    let mut args = vec!["user", "add", email];
    args.extend_from_slice(extra);
    last_line(&admin(dir, &args))
}

/// Create a global API key for `email` (or one restricted to `zone`); the key.
pub fn add_apikey(dir: &TestDir, email: &str, zone: Option<&str>) -> String {
    let mut args = vec!["user", "apikey", email];
    if let Some(z) = zone {
        args.extend_from_slice(&["--zone", z]);
    }
    last_line(&admin(dir, &args))
}

pub fn file_exists(p: &Path) -> bool {
    p.exists()
}

/// Poll `f` until it holds; panics after 10 s.
pub fn wait_until(what: &str, f: impl FnMut() -> bool) {
    wait_for(what, Duration::from_secs(10), Duration::from_millis(25), f);
}

/// Poll `f` every `every` until it holds; panics after `limit`.
pub fn wait_for(what: &str, limit: Duration, every: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(every);
    }
}
