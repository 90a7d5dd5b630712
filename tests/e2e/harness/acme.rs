//! Real RFC 2136 clients and a real ACME CA for the DNS UPDATE tests (issue #19): BIND's
//! `nsupdate` and `dig` (Debian bind9-dnsutils), certbot with its dns-rfc2136 plugin (Debian
//! certbot, python3-certbot-dns-rfc2136), lego with its rfc2136 provider (Debian lego), and
//! Pebble, Let's Encrypt's test CA (Debian pebble), on a loopback port with lucentd as its only
//! resolver. Debian's pebble ships no test certificate, so `loopback_ca` makes one with
//! `openssl`. Each program runs under a deadline and is killed when it passes; Pebble is killed
//! on Drop. What the tests expect of lucentd is theirs, not this file's.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::TestDir;

/// What a program printed and how it ended.
pub struct Ran {
    pub code: i32,
    pub out: String,
    pub err: String,
}

impl Ran {
    /// stdout then stderr, for assertion messages.
    pub fn text(&self) -> String {
        format!("exit {}\n{}{}", self.code, self.out, self.err)
    }

    /// The RCODE of the update `nsupdate` sent: NOERROR when it exited 0, else the word it
    /// printed after "update failed:" (with BIND's TSIG error in parentheses when there was one,
    /// e.g. `NOTAUTH(BADSIG)`). Panics when nsupdate failed before an answer (no such line).
    pub fn update_rcode(&self) -> String {
        if self.code == 0 {
            return "NOERROR".into();
        }
        self.err
            .lines()
            .find_map(|l| l.trim().strip_prefix("update failed: "))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("nsupdate got no answer: {}", self.text()))
    }
}

/// Run `cmd` (stdin from `input`, or none) until it exits; killed and a panic after `limit`.
pub fn run_for(cmd: &mut Command, input: Option<&[u8]>, limit: Duration) -> Ran {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e} (see .ci/run for its package)"));
    if let Some(text) = input {
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(text).expect("write stdin");
    }
    // Readers on their own threads, so that a chatty program never blocks on a full pipe.
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let (o, e) = (
                out.join().unwrap_or_default(),
                err.join().unwrap_or_default(),
            );
            panic!("{what} still running after {limit:?}; it printed:\n{o}{e}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ran {
        code: status.code().unwrap_or(-1),
        out: out.join().unwrap_or_default(),
        err: err.join().unwrap_or_default(),
    }
}

// ---- BIND's tools

/// `nsupdate` sending `script` (its commands, without `server` and `send`, which this adds)
/// to lucentd at `dns`, signed with `key` = (name, base64 secret) as `-y hmac-sha256:NAME:SECRET`
/// or unsigned; over TCP (`-v`) when `tcp`. Timeouts per nsupdate(1): `-t` for the whole
/// update, `-u` between UDP tries, `-r` retries.
pub fn nsupdate(dns: SocketAddr, key: Option<(&str, &str)>, tcp: bool, script: &str) -> Ran {
    let mut cmd = Command::new("nsupdate");
    cmd.args(["-t", "5", "-u", "1", "-r", "2"]);
    if tcp {
        cmd.arg("-v");
    }
    if let Some((name, secret)) = key {
        cmd.arg("-y").arg(format!("hmac-sha256:{name}:{secret}"));
    }
    let text = format!("server {} {}\n{script}send\n", dns.ip(), dns.port());
    run_for(&mut cmd, Some(text.as_bytes()), Duration::from_secs(15))
}

/// `dig +norec @dns NAME TYPE` with ARGS before it: its whole output.
pub fn dig(dns: SocketAddr, args: &[&str], name: &str, rtype: &str) -> String {
    let mut cmd = Command::new("dig");
    cmd.args([
        "+norec",
        "+time=2",
        "+tries=2",
        "-p",
        &dns.port().to_string(),
    ])
    .arg(format!("@{}", dns.ip()))
    .args(args)
    .args([name, rtype]);
    let r = run_for(&mut cmd, None, Duration::from_secs(10));
    assert_eq!(r.code, 0, "dig {name} {rtype}: {}", r.text());
    r.out
}

/// `dig +short`: the answer's RDATA lines, sorted.
pub fn dig_rrs(dns: SocketAddr, name: &str, rtype: &str) -> Vec<String> {
    let mut v: Vec<String> = dig(dns, &["+short"], name, rtype)
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// The status dig read from the header (NOERROR, NXDOMAIN, ...).
pub fn dig_status(dns: SocketAddr, name: &str, rtype: &str) -> String {
    let out = dig(dns, &[], name, rtype);
    out.split("status: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or_else(|| panic!("no status in dig's output: {out}"))
        .to_string()
}

// ---- a CA for Pebble's HTTPS listener

/// A CA and a certificate it signed for 127.0.0.1, made with `openssl` (PEM files).
pub struct LoopbackCa {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn openssl(dir: &TestDir, args: &[&str]) {
    let mut cmd = Command::new("openssl");
    cmd.args(args).current_dir(&dir.0);
    let r = run_for(&mut cmd, None, Duration::from_secs(20));
    assert_eq!(r.code, 0, "openssl {args:?}: {}", r.text());
}

/// Make the CA (`ca.pem`) and a P-256 server certificate for IP 127.0.0.1 and localhost in
/// `dir`. Clients trust `ca.pem` alone (REQUESTS_CA_BUNDLE, LEGO_CA_CERTIFICATES).
pub fn loopback_ca(dir: &TestDir) -> LoopbackCa {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend_from_slice(&ec);
    ca.extend_from_slice(&["-keyout", "ca.key", "-out", "ca.pem", "-days", "2"]);
    ca.extend_from_slice(&["-subj", "/CN=lucent e2e loopback CA"]);
    openssl(dir, &ca);
    let mut csr = vec!["req"];
    csr.extend_from_slice(&ec);
    csr.extend_from_slice(&[
        "-keyout",
        "srv.key",
        "-out",
        "srv.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(dir, &csr);
    std::fs::write(
        dir.path("srv.ext"),
        "subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = critical, CA:FALSE\n",
    )
    .expect("write ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "srv.ext",
            "-out",
            "srv.pem",
        ],
    );
    LoopbackCa {
        ca: dir.path("ca.pem"),
        cert: dir.path("srv.pem"),
        key: dir.path("srv.key"),
    }
}

/// A TCP port free on 127.0.0.1 when asked (Pebble takes a fixed address, not port 0).
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

// ---- Pebble

/// Pebble on 127.0.0.1 with lucentd as its DNS resolver, so that the DNS-01 TXT it checks is
/// the one lucentd serves. Killed on Drop.
pub struct Pebble {
    child: Option<Child>,
    /// The ACME directory URL.
    pub directory: String,
    /// The CA that Pebble's HTTPS certificate chains to.
    pub https_ca: PathBuf,
    /// The management interface (Pebble's roots are published there).
    pub management: SocketAddr,
    pub log: PathBuf,
}

impl Pebble {
    /// Start Pebble with `-dnsserver dns` and the environment its README documents for
    /// deterministic tests: no random validation sleeps (PEBBLE_VA_NOSLEEP), real validation
    /// (PEBBLE_VA_ALWAYS_VALID=0), no spurious badNonce (PEBBLE_WFE_NONCEREJECT=0) and a fresh
    /// authorization, hence a fresh challenge, for every order (PEBBLE_AUTHZREUSE=0).
    pub fn start(dir: &TestDir, dns: SocketAddr) -> Pebble {
        let tls = loopback_ca(dir);
        // The ports are free when picked but not held; should another process take one
        // before Pebble binds it, Pebble exits and is started again on new ones.
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Pebble::try_start(dir, dns, &tls) {
                Ok(p) => return p,
                Err(why) => failures.push(why),
            }
        }
        panic!("pebble did not start: {failures:#?}");
    }

    /// One start: Err with Pebble's log when it exited before listening.
    fn try_start(dir: &TestDir, dns: SocketAddr, tls: &LoopbackCa) -> Result<Pebble, String> {
        let listen: SocketAddr = ([127, 0, 0, 1], free_tcp_port()).into();
        let management: SocketAddr = ([127, 0, 0, 1], free_tcp_port()).into();
        let config = serde_json::json!({"pebble": {
            "listenAddress": listen.to_string(),
            "managementListenAddress": management.to_string(),
            "certificate": tls.cert,
            "privateKey": tls.key,
            // Where the VA would connect for http-01 and tls-alpn-01; these tests use dns-01.
            "httpPort": 5002,
            "tlsPort": 5001,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }});
        let cfg = dir.path("pebble.json");
        std::fs::write(&cfg, config.to_string()).expect("write pebble.json");
        let log = dir.path("pebble.log");
        let logf = std::fs::File::create(&log).expect("pebble.log");
        let child = Command::new("pebble")
            .arg("-config")
            .arg(&cfg)
            .arg("-dnsserver")
            .arg(dns.to_string())
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_VA_ALWAYS_VALID", "0")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(Stdio::from(logf.try_clone().expect("log fd")))
            .stderr(Stdio::from(logf))
            .spawn()
            .expect("start pebble (Debian package pebble)");
        let mut p = Pebble {
            child: Some(child),
            directory: format!("https://{listen}/dir"),
            https_ca: tls.ca.clone(),
            management,
            log,
        };
        // Pebble logs its address before it binds: ready is when both ports take connections.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let up = |a: &SocketAddr| TcpStream::connect_timeout(a, Duration::from_millis(200));
            if up(&listen).is_ok() && up(&management).is_ok() {
                return Ok(p);
            }
            let exited = p.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                return Err(format!("{status}: {}", p.log_text()));
            }
            assert!(
                Instant::now() < deadline,
                "pebble did not listen on {listen} within 10 s:\n{}",
                p.log_text()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Check with `openssl verify` that `cert` chains (through the intermediates in `chain`)
    /// to the root this Pebble run generated (from its management interface, `/roots/0`), and
    /// that its subjectAltName is exactly `DNS:name`.
    pub fn assert_issued(&self, dir: &TestDir, cert: &Path, chain: &Path, name: &str) {
        let root = dir.path("pebble-root.pem");
        let mut curl = Command::new("curl");
        curl.args(["-sS", "--fail", "--max-time", "5", "--cacert"])
            .arg(&self.https_ca)
            .arg(format!("https://{}/roots/0", self.management))
            .arg("-o")
            .arg(&root);
        let r = run_for(&mut curl, None, Duration::from_secs(10));
        assert_eq!(r.code, 0, "Pebble's root: {}", r.text());
        let mut verify = Command::new("openssl");
        verify
            .args(["verify", "-CAfile"])
            .arg(&root)
            .arg("-untrusted")
            .arg(chain)
            .arg(cert);
        let r = run_for(&mut verify, None, Duration::from_secs(10));
        assert!(r.code == 0 && r.out.contains(": OK"), "{}", r.text());
        let mut san = Command::new("openssl");
        san.args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
            .arg(cert);
        let r = run_for(&mut san, None, Duration::from_secs(10));
        let names: Vec<&str> = r
            .out
            .lines()
            .skip(1)
            .flat_map(|l| l.split(','))
            .map(str::trim)
            .collect();
        assert_eq!(names, [format!("DNS:{name}")], "{}", r.text());
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

// ---- ACME clients

/// `certbot certonly` for `domain` from Pebble with the dns-rfc2136 authenticator, which finds
/// the zone by a TSIG-signed SOA query and adds, then deletes, the TXT by UPDATE over TCP
/// (certbot-dns-rfc2136's documentation lists the credentials keys used here). Everything
/// certbot writes stays under `dir`/certbot. Returns the run and the `live/<domain>` folder.
pub fn certbot_rfc2136(
    dir: &TestDir,
    pebble: &Pebble,
    dns: SocketAddr,
    key: (&str, &str),
    domain: &str,
) -> (Ran, PathBuf) {
    let base = dir.path("certbot");
    let creds = dir.path("rfc2136.ini");
    std::fs::write(
        &creds,
        format!(
            "dns_rfc2136_server = {}\ndns_rfc2136_port = {}\ndns_rfc2136_name = {}\n\
             dns_rfc2136_secret = {}\ndns_rfc2136_algorithm = HMAC-SHA256\n",
            dns.ip(),
            dns.port(),
            key.0,
            key.1
        ),
    )
    .expect("write credentials");
    // certbot warns about credentials files others can read.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let mut cmd = Command::new("certbot");
    cmd.args(["certonly", "--non-interactive", "--agree-tos"])
        .args([
            "--register-unsafely-without-email",
            "--server",
            &pebble.directory,
        ])
        .arg("--config-dir")
        .arg(base.join("config"))
        .arg("--work-dir")
        .arg(base.join("work"))
        .arg("--logs-dir")
        .arg(base.join("logs"))
        .args([
            "--authenticator",
            "dns-rfc2136",
            "--dns-rfc2136-credentials",
        ])
        .arg(&creds)
        // lucentd answers an UPDATE once the change is served: nothing to wait for.
        .args(["--dns-rfc2136-propagation-seconds", "0", "-d", domain])
        // Python's requests reads the CA bundle it trusts from here.
        .env("REQUESTS_CA_BUNDLE", &pebble.https_ca);
    let ran = run_for(&mut cmd, None, Duration::from_secs(60));
    (ran, base.join("config").join("live").join(domain))
}

/// `lego run` for `domain` from Pebble with the rfc2136 DNS provider (configured by the
/// environment variables `lego dnshelp -c rfc2136` lists), lucentd as its resolver
/// (`--dns.resolvers`) and no check of the zone's NS hosts (`--dns.disable-cp`: they are names
/// on port 53, not this test's server). Returns the run and lego's `certificates` folder.
pub fn lego_rfc2136(
    dir: &TestDir,
    pebble: &Pebble,
    dns: SocketAddr,
    key: (&str, &str),
    domain: &str,
) -> (Ran, PathBuf) {
    let path = dir.path("lego");
    let mut cmd = Command::new("lego");
    cmd.args(["--server", &pebble.directory, "--accept-tos"])
        .args(["--email", "acme@example.org", "--path"])
        .arg(&path)
        .args(["--dns", "rfc2136", "--dns.disable-cp", "--dns.resolvers"])
        .arg(dns.to_string())
        .args(["-d", domain, "run"])
        // lego's documented way to trust a private ACME server's HTTPS certificate.
        .env("LEGO_CA_CERTIFICATES", &pebble.https_ca)
        .env("RFC2136_NAMESERVER", dns.to_string())
        .env("RFC2136_TSIG_KEY", key.0)
        .env("RFC2136_TSIG_SECRET", key.1)
        // miekg/dns names algorithms as absolute domain names.
        .env("RFC2136_TSIG_ALGORITHM", "hmac-sha256.")
        .env("RFC2136_PROPAGATION_TIMEOUT", "10")
        .env("RFC2136_POLLING_INTERVAL", "1");
    let ran = run_for(&mut cmd, None, Duration::from_secs(60));
    (ran, path.join("certificates"))
}

/// HMAC-SHA256 of `data` under `key` (RFC 2104), computed by `openssl dgst`: a TSIG MAC made
/// by a program other than lucentd.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let hexkey: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let mut cmd = Command::new("openssl");
    cmd.args(["dgst", "-sha256", "-mac", "HMAC", "-macopt"])
        .arg(format!("hexkey:{hexkey}"));
    let r = run_for(&mut cmd, Some(data), Duration::from_secs(10));
    assert_eq!(r.code, 0, "openssl dgst: {}", r.text());
    // "HMAC-SHA2-256(stdin)= <hex>"
    let hex = r.out.trim().rsplit(' ').next().unwrap_or_default();
    assert_eq!(hex.len(), 64, "{}", r.out);
    (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}
