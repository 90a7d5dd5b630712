//! `lucentd serve` on 127.0.0.1:0 (optionally under `ulimit -n`) with its ports read from the
//! "listening" line, stopped with SIGTERM or SIGKILL, killed on Drop; HTTP and DNS shortcuts
//! against it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use super::{bin, dns_udp, http, soa_serial, HttpReply, TestDir};

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

    /// Started with `--config CFG`.
    pub fn start_cfg(dir: &TestDir, cfg: &Path) -> Server {
        let c = cfg.to_str().expect("utf-8 path");
        Server::start_with(
            dir,
            ServerOpts {
                args: vec!["--config", c],
                env: vec![],
            },
        )
    }

    pub fn start_with(dir: &TestDir, opts: ServerOpts) -> Server {
        Server::start_with_nofile(dir, opts, None)
    }

    /// `start_with`, under `ulimit -n N` (soft and hard) when `nofile` is `Some(N)`.
    pub fn start_with_nofile(dir: &TestDir, opts: ServerOpts, nofile: Option<u32>) -> Server {
        let log = dir.path("server.log");
        let logf = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let mut cmd = match nofile {
            None => Command::new(bin("lucentd")),
            Some(n) => {
                // The shell sets the limit, then becomes lucentd (same pid: kill and SIGTERM
                // reach the server).
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                    .arg(bin("lucentd"));
                c
            }
        };
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

    /// The server's stderr: its log, with one debug line per HTTP request (written before the
    /// reply is sent).
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
    /// `GET /v1/hostnames/{name}` with `token`: the JSON body.
    pub fn hostname(&self, token: &str, name: &str) -> serde_json::Value {
        self.bearer("GET", &format!("/v1/hostnames/{name}"), token)
            .json()
    }

    // ---- DNS shortcuts ----

    pub fn dig(&self, name: &str, rtype: RecordType) -> Message {
        dns_udp(self.dns, name, rtype)
    }
    /// The serial of `zone`'s SOA as served (the answer must be NOERROR).
    pub fn soa_serial(&self, zone: &str) -> u32 {
        let m = self.dig(zone, RecordType::SOA);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        soa_serial(&m)
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
