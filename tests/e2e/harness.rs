//! Test harness: temp dirs, the real binaries (found next to this test executable in
//! target/), a server started on 127.0.0.1:0 whose ports are read from its "listening" line,
//! a raw HTTP/1.1 client (exact bytes, no client-side magic) and a DNS client over UDP/TCP.
//! Every wait has a deadline; every child is killed on Drop.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory per test: `<tmp>/lucent-e2e/<name>-<pid>-<n>`.
pub struct TestDir(pub PathBuf);

impl TestDir {
    pub fn new(name: &str) -> TestDir {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
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

/// Create a user and return its update token.
pub fn add_user(dir: &TestDir, email: &str, extra: &[&str]) -> String {
    let mut args = vec!["user", "add", email];
    args.extend_from_slice(extra);
    last_line(&admin(dir, &args))
}

pub struct Server {
    child: Option<Child>,
    pub http: SocketAddr,
    pub dns: SocketAddr,
    pub stdout_lines: Vec<String>,
    pub log: PathBuf,
}

pub struct ServerOpts<'a> {
    pub args: Vec<&'a str>,
    pub env: Vec<(&'a str, &'a str)>,
}

impl Server {
    pub fn start(dir: &TestDir) -> Server {
        Server::start_with(
            dir,
            ServerOpts {
                args: vec![],
                env: vec![],
            },
        )
    }

    pub fn start_with(dir: &TestDir, opts: ServerOpts) -> Server {
        let log = dir.path("server.log");
        let logf = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let mut cmd = Command::new(bin("lucentd"));
        cmd.arg("serve")
            .arg("--db")
            .arg(dir.db())
            .args(["--http", "127.0.0.1:0", "--dns", "127.0.0.1:0"])
            .args(&opts.args)
            .env_remove("DDNS_API_TOKEN")
            .env("RUST_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(logf));
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn lucentd");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut lines = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("lucentd listening ") {
                        let field = |k: &str| -> String {
                            rest.split_whitespace()
                                .find_map(|f| f.strip_prefix(k))
                                .expect("field in listening line")
                                .to_string()
                        };
                        let http = field("http=").parse().expect("http addr");
                        let dns = field("dns=")
                            .split(',')
                            .next()
                            .expect("dns addr")
                            .parse()
                            .expect("dns addr");
                        lines.push(line);
                        return Server {
                            child: Some(child),
                            http,
                            dns,
                            stdout_lines: lines,
                            log,
                        };
                    }
                    lines.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "lucentd did not print its listening line in time; stdout: {lines:?}\nlog:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    /// SIGTERM and wait (deadline 15 s); returns the exit code.
    pub fn stop(&mut self) -> i32 {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(st) = child.try_wait().expect("wait") {
                return st.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("lucentd did not stop within 15 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        let _ = child.kill();
        let _ = child.wait();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    // ---- HTTP shortcuts ----

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> HttpReply {
        http(self.http, "GET", path, headers, None)
    }
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> HttpReply {
        http(self.http, method, path, headers, Some(body.as_bytes()))
    }
    /// JSON request with a Bearer token.
    pub fn json(&self, method: &str, path: &str, token: &str, body: &str) -> HttpReply {
        let auth = format!("Bearer {token}");
        self.send(
            method,
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body,
        )
    }
    pub fn bearer(&self, method: &str, path: &str, token: &str) -> HttpReply {
        let auth = format!("Bearer {token}");
        http(self.http, method, path, &[("Authorization", &auth)], None)
    }

    // ---- DNS shortcuts ----

    pub fn dig(&self, name: &str, rtype: RecordType) -> Message {
        dns_udp(self.dns, name, rtype)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[derive(Debug, Clone)]
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`); the reply must carry
/// Content-Length and no chunking, which is itself a contract (PROTOCOLS.md §2.2).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> HttpReply {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    if let Some(b) = body {
        bytes.extend_from_slice(b);
    }
    let raw = raw_exchange(addr, &bytes);
    parse_reply(&raw)
        .unwrap_or_else(|| panic!("bad HTTP reply: {:?}", String::from_utf8_lossy(&raw)))
}

/// Send bytes, read until EOF (deadline 10 s).
pub fn raw_exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(bytes).expect("write");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    raw
}

pub fn parse_reply(raw: &[u8]) -> Option<HttpReply> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    assert!(
        !headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")),
        "reply is chunked"
    );
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.parse().expect("content-length"))
        .expect("reply without Content-Length");
    assert_eq!(len, body.len(), "Content-Length does not match the body");
    Some(HttpReply {
        status,
        headers,
        body: body.to_string(),
    })
}

// ---- DNS ----

pub fn query_bytes(name: &str, rtype: RecordType, id: u16) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.id = id;
    m.add_query(Query::query(Name::from_ascii(name).expect("name"), rtype));
    m.to_bytes().expect("encode")
}

pub fn dns_udp(addr: SocketAddr, name: &str, rtype: RecordType) -> Message {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    let id = (COUNTER.fetch_add(1, Ordering::SeqCst) & 0xffff) as u16;
    for _ in 0..3 {
        sock.send_to(&query_bytes(name, rtype, id), addr)
            .expect("send");
        let mut buf = [0u8; 4096];
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            let m = Message::from_bytes(&buf[..n]).expect("decode");
            assert_eq!(m.metadata.id, id);
            return m;
        }
    }
    panic!("no DNS answer from {addr} for {name} {rtype}");
}

pub fn dns_tcp(addr: SocketAddr, name: &str, rtype: RecordType) -> Message {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    let q = query_bytes(name, rtype, 7);
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    s.write_all(&framed).expect("write");
    let mut len = [0u8; 2];
    s.read_exact(&mut len).expect("read len");
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut buf).expect("read msg");
    Message::from_bytes(&buf).expect("decode")
}

/// The answer section's RDATA as text, sorted.
pub fn answers(m: &Message) -> Vec<String> {
    let mut v: Vec<String> = m.answers.iter().map(|r| r.data.to_string()).collect();
    v.sort();
    v
}

pub fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

pub fn file_exists(p: &Path) -> bool {
    p.exists()
}
