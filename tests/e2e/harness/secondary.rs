//! Real secondaries of lucentd on loopback: NSD (`nsd -d`) and Knot (`knotd`) from Debian's
//! packages, each with a config written here that names lucentd as its primary with a TSIG key
//! (and lets tests AXFR its copy with the same key), started as the current user with nothing
//! privileged (a port above 1024 picked free for UDP and TCP, no user switch, no chroot) in a
//! directory of its own and a process group of its own (NSD forks its xfrd and server
//! processes), ready once it answers on its port, queried over UDP with short timeouts, its log
//! read back, and stopped (SIGTERM to the group, then SIGKILL after a deadline) on Drop.
//!
//! Config references: nsd.conf(5) of NSD 4 (`request-xfr`, `allow-notify`, `key:`,
//! `xfrd-reload-timeout`) and the Knot DNS 3.2 reference manual ("Configuration", sections
//! server, key, remote, acl, template, zone).

use std::io::Read;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};

use super::{next_id, query, TestDir};

/// A port free on 127.0.0.1 for both TCP and UDP at the time of asking (DNS servers listen on
/// both). Another process can still take it before the caller binds it; the window is short.
pub fn free_port() -> u16 {
    for _ in 0..100 {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind tcp");
        let port = tcp.local_addr().expect("addr").port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both TCP and UDP on 127.0.0.1 after 100 tries");
}

/// A TSIG key (RFC 8945) shared by lucentd and one secondary: hmac-sha256 with 32 random
/// bytes, base64 as the three configs and `dig -y` take it.
#[derive(Clone, Debug)]
pub struct XfrKey {
    pub name: String,
    pub algorithm: &'static str,
    pub secret: String,
}

impl XfrKey {
    pub fn random(name: &str) -> XfrKey {
        let mut bytes = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .expect("read /dev/urandom");
        XfrKey::new(
            name,
            &base64::engine::general_purpose::STANDARD.encode(bytes),
        )
    }

    pub fn new(name: &str, secret: &str) -> XfrKey {
        XfrKey {
            name: name.to_string(),
            algorithm: "hmac-sha256",
            secret: secret.to_string(),
        }
    }

    /// `ALG:NAME:SECRET`, the argument of `dig -y` and `kdig -y`.
    pub fn dig_arg(&self) -> String {
        format!("{}:{}:{}", self.algorithm, self.name, self.secret)
    }

    /// The key's `[[dns.tsig_keys]]` table for lucentd's config (SPEC.md "Zone transfers").
    pub fn lucentd_toml(&self) -> String {
        format!(
            "[[dns.tsig_keys]]\nname = \"{}\"\nalgorithm = \"{}\"\nsecret = \"{}\"\n",
            self.name, self.algorithm, self.secret
        )
    }
}

/// Which secondary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Nsd,
    Knot,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Nsd => "nsd",
            Kind::Knot => "knot",
        }
    }
}

/// A running NSD or Knot, secondary for `zones` of the primary at `primary`.
pub struct Secondary {
    pub kind: Kind,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    child: Option<Child>,
}

impl Secondary {
    /// Write the config into `<test dir>/<kind>/`, start the server on 127.0.0.1:`port` and wait
    /// (10 s) until it answers there. It then transfers each zone from `primary` with `key`,
    /// accepts NOTIFY from 127.0.0.1 signed with `key`, and serves AXFR of its copy to
    /// requests from 127.0.0.1 signed with `key` (so that tests can compare whole zones).
    pub fn start(
        kind: Kind,
        dir: &TestDir,
        port: u16,
        primary: SocketAddr,
        key: &XfrKey,
        zones: &[&str],
    ) -> Secondary {
        let d = dir.path(kind.name());
        std::fs::create_dir_all(&d).expect("secondary dir");
        let conf = d.join(match kind {
            Kind::Nsd => "nsd.conf",
            Kind::Knot => "knot.conf",
        });
        let text = match kind {
            Kind::Nsd => nsd_conf(&d, port, primary, key, zones),
            Kind::Knot => knot_conf(&d, port, primary, key, zones),
        };
        std::fs::write(&conf, text).expect("write secondary config");
        let out = std::fs::File::create(d.join("stdout.log")).expect("stdout file");
        let err = std::fs::File::create(d.join("stderr.log")).expect("stderr file");
        let mut cmd = match kind {
            // -d: in the foreground (nsd(8)); its log goes to `logfile`.
            Kind::Nsd => {
                let mut c = Command::new("nsd");
                c.arg("-d").arg("-c").arg(&conf);
                c
            }
            // knotd stays in the foreground unless -d is given; logs to stderr (config).
            Kind::Knot => {
                let mut c = Command::new("knotd");
                c.arg("-c").arg(&conf);
                c
            }
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // A group of its own: NSD's forked processes are stopped with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("run {} (Debian package {}): {e}", kind.name(), kind.name())
            });
        let mut s = Secondary {
            kind,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir: d,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = s.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!(
                    "{} exited at start-up ({st}):\n{}",
                    kind.name(),
                    s.log_text()
                );
            }
            // Any answer will do (the zone may not be there yet: SERVFAIL or REFUSED).
            if quick_udp(
                s.addr,
                zones[0],
                RecordType::SOA,
                Duration::from_millis(200),
            )
            .is_some()
            {
                return s;
            }
            if Instant::now() > deadline {
                panic!(
                    "{} did not answer on {} within 10 s:\n{}",
                    kind.name(),
                    s.addr,
                    s.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Its log: NSD's `logfile` then stderr; Knot's stderr.
    pub fn log_text(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
        match self.kind {
            Kind::Nsd => format!("{}{}", read("nsd.log"), read("stderr.log")),
            Kind::Knot => read("stderr.log"),
        }
    }

    /// `name rtype` over UDP (three tries of 1 s).
    pub fn dig(&self, name: &str, rtype: RecordType) -> Message {
        for _ in 0..3 {
            if let Some(m) = quick_udp(self.addr, name, rtype, Duration::from_secs(1)) {
                return m;
            }
        }
        panic!("no answer from {} for {name} {rtype}", self.kind.name())
    }

    /// The serial of `zone` it serves with authority (None: no answer, or not loaded yet).
    pub fn serial(&self, zone: &str) -> Option<u32> {
        let m = quick_udp(self.addr, zone, RecordType::SOA, Duration::from_millis(300))?;
        if m.metadata.response_code != ResponseCode::NoError || !m.metadata.authoritative {
            return None;
        }
        m.answers.iter().find_map(|r| match &r.data {
            RData::SOA(s) => Some(s.serial),
            _ => None,
        })
    }

    /// Wait until it serves `zone` at `serial` (or a later one, RFC 1982 arithmetic); how long
    /// that took. Panics after `limit` with the end of its log.
    pub fn wait_serial(&self, zone: &str, serial: u32, limit: Duration) -> Duration {
        let start = Instant::now();
        loop {
            let got = self.serial(zone);
            if got.is_some_and(|s| s == serial || serial_lt(serial, s)) {
                return start.elapsed();
            }
            if start.elapsed() > limit {
                panic!(
                    "{} did not serve {zone} at serial {serial} within {limit:?} (it has {got:?}); \
                     its log ends:\n{}",
                    self.kind.name(),
                    tail(&self.log_text(), 40)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Poll `name rtype` every 10 ms until `ok` holds for the answer; how long that took, or
    /// None after `limit`.
    pub fn poll(
        &self,
        name: &str,
        rtype: RecordType,
        limit: Duration,
        mut ok: impl FnMut(&Message) -> bool,
    ) -> Option<Duration> {
        let start = Instant::now();
        loop {
            if let Some(m) = quick_udp(self.addr, name, rtype, Duration::from_millis(200)) {
                if ok(&m) {
                    return Some(start.elapsed());
                }
            }
            if start.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM to its process group, then SIGKILL if it is not gone within 5 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let group = format!("-{}", child.id());
        let _ = Command::new("kill")
            .args(["-TERM", "--", &group])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Whatever of the group is left (NSD's server processes exit after their parent).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Secondary {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `a < b` in serial number arithmetic (RFC 1982 §3.2).
fn serial_lt(a: u32, b: u32) -> bool {
    a != b && b.wrapping_sub(a) < 0x8000_0000
}

/// The last `n` lines of `s`.
pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// One UDP query (no RD) with a fresh id and one wait of `timeout`; None without an answer.
pub fn quick_udp(
    addr: SocketAddr,
    name: &str,
    rtype: RecordType,
    timeout: Duration,
) -> Option<Message> {
    let id = (next_id() & 0xffff) as u16;
    let q = query(name, rtype, id).to_bytes().expect("encode");
    let sock = UdpSocket::bind("127.0.0.1:0").ok()?;
    sock.set_read_timeout(Some(timeout)).ok()?;
    sock.send_to(&q, addr).ok()?;
    let mut buf = vec![0u8; 65535];
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let Ok((n, _)) = sock.recv_from(&mut buf) else {
            return None;
        };
        if let Ok(m) = Message::from_bytes(&buf[..n]) {
            if m.metadata.id == id {
                return Some(m);
            }
        }
    }
    None
}

fn nsd_conf(
    d: &std::path::Path,
    port: u16,
    primary: SocketAddr,
    key: &XfrKey,
    zones: &[&str],
) -> String {
    let d = d.display();
    let mut s = format!(
        "server:\n\
         \x20   ip-address: 127.0.0.1@{port}\n\
         \x20   port: {port}\n\
         \x20   do-ip6: no\n\
         \x20   server-count: 1\n\
         \x20   username: \"\"\n\
         \x20   chroot: \"\"\n\
         \x20   zonesdir: \"{d}\"\n\
         \x20   database: \"\"\n\
         \x20   zonelistfile: \"{d}/zone.list\"\n\
         \x20   xfrdfile: \"{d}/xfrd.state\"\n\
         \x20   xfrdir: \"{d}\"\n\
         \x20   pidfile: \"{d}/nsd.pid\"\n\
         \x20   logfile: \"{d}/nsd.log\"\n\
         \x20   verbosity: 2\n\
         \x20   # The default (1) throttles reloads after transfers to one a second; the test\n\
         \x20   # sends changes faster than that and measures how soon each is served.\n\
         \x20   xfrd-reload-timeout: 0\n\
         remote-control:\n\
         \x20   control-enable: no\n\
         key:\n\
         \x20   name: \"{name}\"\n\
         \x20   algorithm: {alg}\n\
         \x20   secret: \"{secret}\"\n",
        name = key.name,
        alg = key.algorithm,
        secret = key.secret,
    );
    for z in zones {
        // request-xfr without AXFR: IXFR first, AXFR as a fallback (nsd.conf(5)).
        s.push_str(&format!(
            "zone:\n\
             \x20   name: \"{z}\"\n\
             \x20   zonefile: \"{z}.zone\"\n\
             \x20   request-xfr: {ip}@{p} {k}\n\
             \x20   allow-notify: {ip} {k}\n\
             \x20   provide-xfr: 127.0.0.1 {k}\n",
            ip = primary.ip(),
            p = primary.port(),
            k = key.name,
        ));
    }
    s
}

fn knot_conf(
    d: &std::path::Path,
    port: u16,
    primary: SocketAddr,
    key: &XfrKey,
    zones: &[&str],
) -> String {
    let d = d.display();
    let mut s = format!(
        "server:\n\
         \x20   rundir: \"{d}\"\n\
         \x20   listen: 127.0.0.1@{port}\n\
         log:\n\
         \x20 - target: stderr\n\
         \x20   any: info\n\
         database:\n\
         \x20   storage: \"{d}\"\n\
         key:\n\
         \x20 - id: {name}\n\
         \x20   algorithm: {alg}\n\
         \x20   secret: {secret}\n\
         remote:\n\
         \x20 - id: primary\n\
         \x20   address: {ip}@{p}\n\
         \x20   key: {name}\n\
         acl:\n\
         \x20 - id: notify-from-primary\n\
         \x20   address: {ip}\n\
         \x20   key: {name}\n\
         \x20   action: notify\n\
         \x20 - id: transfer-to-tests\n\
         \x20   address: 127.0.0.1\n\
         \x20   key: {name}\n\
         \x20   action: transfer\n\
         template:\n\
         \x20 - id: default\n\
         \x20   storage: \"{d}\"\n\
         \x20   # Zone contents from the primary only: no zone file read or written.\n\
         \x20   zonefile-load: none\n\
         \x20   zonefile-sync: -1\n\
         \x20   journal-content: changes\n\
         zone:\n",
        name = key.name,
        alg = key.algorithm,
        secret = key.secret,
        ip = primary.ip(),
        p = primary.port(),
    );
    for z in zones {
        s.push_str(&format!(
            "\x20 - domain: {z}\n\
             \x20   master: primary\n\
             \x20   acl: [notify-from-primary, transfer-to-tests]\n"
        ));
    }
    s
}
