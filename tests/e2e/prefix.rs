//! Issue #18, IPv6 prefix updates: one push of a router's prefix (`ipv6prefix`) re-addresses
//! every hostname of the token that has an `ipv6Suffix`, in one write, visible in DNS at once;
//! the FRITZ!Box URL forms; bad prefixes and suffixes refused with nothing changed; and the
//! agent following a prefix change on a LAN interface, in a network namespace of the test's
//! own.

use std::process::{Command, Stdio};

use hickory_proto::rr::RecordType;
use serde_json::json;

use crate::harness::*;

const ZONE: &str = SHARED;

/// A server with a shared zone and a user owning `router` (no suffix), `plain` (a fixed AAAA,
/// no suffix) and `dev1`..`devN` with suffixes `::1:0:0:i`.
fn setup(name: &str, devices: usize) -> Fixture {
    let f = Fixture::shared(name, ZONE, EMAIL)
        .user_args(&["--max-hostnames", "200"])
        .start();
    f.add_hostname(json!({"hostname": "router"}));
    f.add_hostname(json!({"hostname": "plain", "ipv6": "2001:db8::99"}));
    for i in 1..=devices {
        f.add_hostname(
            json!({"hostname": format!("dev{i}"), "ipv6Suffix": format!("::1:0:0:{i:x}")}),
        );
    }
    f
}

fn aaaa(srv: &Server, label: &str) -> Vec<String> {
    answers(&srv.dig(&format!("{label}.{ZONE}."), RecordType::AAAA))
}

fn commits(srv: &Server) -> u64 {
    let m = srv.get("/metrics", &[]).body;
    assert!(
        m.lines()
            .any(|l| l.starts_with("lucent_store_commits_total ")),
        "lucent_store_commits_total"
    );
    metric_sum(&m, "lucent_store_commits_total", &[])
}

#[test]
fn issue18_one_push_readdresses_every_suffix_hostname_in_one_write() {
    let Fixture {
        dir: _dir,
        token,
        srv,
        ..
    } = setup("prefix-push", 5);
    let before = commits(&srv);
    let r = srv.get(
        &format!(
            "/update?domains=router&token={token}&ip=192.0.2.1&ipv6=2001:db8:1:2::1\
             &ipv6prefix=2001:db8:1:2::/64&verbose=true"
        ),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let lines: Vec<&str> = r.body.lines().collect();
    assert_eq!(
        lines[..4],
        ["OK", "192.0.2.1", "2001:db8:1:2::1", "UPDATED"]
    );
    assert_eq!(lines.len(), 4 + 5, "{}", r.body);
    assert!(
        lines.contains(&"dev3.dyn.example.net 2001:db8:1:2:1::3 UPDATED"),
        "{}",
        r.body
    );
    assert_eq!(commits(&srv), before + 1, "one write for the whole push");
    // Every device answers at once with prefix + suffix; the others keep what they had.
    for i in 1..=5 {
        assert_eq!(
            aaaa(&srv, &format!("dev{i}")),
            [format!("2001:db8:1:2:1::{i}")]
        );
    }
    assert_eq!(aaaa(&srv, "router"), ["2001:db8:1:2::1"]);
    assert_eq!(aaaa(&srv, "plain"), ["2001:db8::99"]);
    // The same push again changes nothing; a new prefix moves them all.
    let r = srv.get(
        &format!("/update?domains=router&token={token}&ipv6prefix=2001:db8:1:2::/64&ip=192.0.2.1&ipv6=2001:db8:1:2::1&verbose=true"),
        &[],
    );
    assert!(
        r.body.lines().skip(4).all(|l| l.ends_with("NOCHANGE")),
        "{}",
        r.body
    );
    let r = srv.json(
        "POST",
        "/update",
        &token,
        &json!({"ipv6prefix": "2001:db8:aa:bb::/64"}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["prefix"].as_array().unwrap().len(), 5);
    for i in 1..=5 {
        assert_eq!(
            aaaa(&srv, &format!("dev{i}")),
            [format!("2001:db8:aa:bb:1::{i}")]
        );
    }
    assert_eq!(aaaa(&srv, "plain"), ["2001:db8::99"]);
}

#[test]
fn issue18_fritzbox_urls_with_their_placeholders_filled() {
    let Fixture {
        dir: _dir,
        token,
        srv,
        ..
    } = setup("prefix-fritz", 2);
    let auth = basic("fritz", &token);
    // Update URL: /nic/update?hostname=<domain>&myip=<ipaddr>,<ip6addr>&ipv6prefix=<ip6lanprefix>
    let r = srv.get(
        &format!(
            "/nic/update?hostname=router.{ZONE}&myip=192.0.2.7,2001:db8:7:7::1\
             &ipv6prefix=2001:db8:7:7::/64"
        ),
        &[("Authorization", &auth)],
    );
    assert_eq!(r.body, "good 192.0.2.7,2001:db8:7:7::1");
    assert_eq!(aaaa(&srv, "dev2"), ["2001:db8:7:7:1::2"]);
    // Without IPv6 the box leaves <ip6addr> and <ip6lanprefix> empty: IPv4 only, devices kept.
    let r = srv.get(
        &format!("/nic/update?hostname=router.{ZONE}&myip=192.0.2.8,&ipv6prefix="),
        &[("Authorization", &auth)],
    );
    assert_eq!(r.body, "good 192.0.2.8");
    assert_eq!(aaaa(&srv, "dev2"), ["2001:db8:7:7:1::2"]);
    // The DuckDNS-style form: /update?domains=<domain>&token=<pass>&ip=<ipaddr>&ipv6=<ip6addr>
    // &ipv6prefix=<ip6lanprefix>
    let r = srv.get(
        &format!(
            "/update?domains=router&token={token}&ip=192.0.2.9&ipv6=2001:db8:8:8::1\
             &ipv6prefix=2001:db8:8:8::/64"
        ),
        &[],
    );
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    assert_eq!(aaaa(&srv, "dev1"), ["2001:db8:8:8:1::1"]);
}

#[test]
fn issue18_bad_prefixes_and_suffixes_are_refused_and_change_nothing() {
    let Fixture {
        dir: _dir,
        token,
        srv,
        ..
    } = setup("prefix-bad", 2);
    let r = srv.get(
        &format!("/update?token={token}&ipv6prefix=2001:db8:1:2::/64"),
        &[],
    );
    assert_eq!(r.status, 200, "a prefix alone needs no domains: {}", r.body);
    for p in [
        "2001:db8::/40",
        "2001:db8::/65",
        "2001:db8:1:2::",
        "fe80::/64",
        "fd12:3456::/64",
        "ff02::/64",
        "192.0.2.0/24",
        "nonsense",
        "auto",
    ] {
        let r = srv.get(
            &format!("/update?token={token}&ipv6prefix={p}&verbose=true"),
            &[],
        );
        assert_eq!((r.status, r.body.as_str()), (400, "KO"), "{p}");
    }
    for s in ["2001:db8::1", "::", "1::", "x"] {
        let r = srv.json(
            "PATCH",
            "/v1/hostnames/dev1",
            &token,
            &json!({"ipv6Suffix": s}).to_string(),
        );
        assert_eq!(r.status, 400, "{s}: {}", r.body);
    }
    // A suffix with subnet bits fits a /56 but not a /64: that push fails whole.
    let r = srv.json(
        "PATCH",
        "/v1/hostnames/dev2",
        &token,
        &json!({"ipv6Suffix": "::5:0:0:0:7"}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = srv.get(
        &format!("/update?token={token}&ipv6prefix=2001:db8:3:4::/64"),
        &[],
    );
    assert_eq!((r.status, r.body.as_str()), (400, "KO"));
    assert_eq!(aaaa(&srv, "dev1"), ["2001:db8:1:2:1::1"], "nothing changed");
    let r = srv.json(
        "POST",
        "/update",
        &token,
        &json!({"ipv6prefix": "2001:db8:3:400::/56"}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(aaaa(&srv, "dev2"), ["2001:db8:3:405::7"]);
    assert_eq!(aaaa(&srv, "dev1"), ["2001:db8:3:400:1::1"]);
    let r = srv.bearer("GET", "/v1/hostnames/dev2", &token);
    assert_eq!(r.json()["ipv6Suffix"], "::5:0:0:0:7");
}

/// Set when this test runs inside its own network namespace.
const NETNS: &str = "LUCENT_E2E_IN_NETNS";

fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().expect("run ip(8)");
    assert!(st.success(), "ip {args:?}");
}

/// The agent on a router: its LAN interface's /64 is pushed as `ipv6prefix` with its own
/// addresses, and a prefix change reaches DNS within one agent interval. The test runs itself
/// again inside a new user and network namespace (`unshare -rn`), where it owns `lo` and a
/// veth pair standing in for the LAN interface: nothing on the host is touched.
#[test]
fn issue18_agent_pushes_a_prefix_change_within_one_interval() {
    const NAME: &str = "prefix::issue18_agent_pushes_a_prefix_change_within_one_interval";
    if std::env::var_os(NETNS).is_none() {
        let out = Command::new("unshare")
            .arg("-rn")
            .arg(std::env::current_exe().expect("test binary"))
            .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
            .env(NETNS, "1")
            .output()
            .expect("run unshare (util-linux)");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "inner run failed:\n{stdout}\n{stderr}"
        );
        return;
    }
    ip(&["link", "set", "lo", "up"]);
    ip(&[
        "link", "add", "lan0", "type", "veth", "peer", "name", "lan1",
    ]);
    ip(&["link", "set", "lan0", "up"]);
    ip(&["link", "set", "lan1", "up"]);
    ip(&["addr", "add", "2001:db8:1:2::1/64", "dev", "lan0", "nodad"]);
    let Fixture {
        dir, token, srv, ..
    } = setup("prefix-agent", 3);
    let interval = 2;
    let cfg = dir.path("agent.toml");
    std::fs::write(
        &cfg,
        format!(
            "server = \"http://{}\"\ntoken = \"{token}\"\nhostnames = [\"router.{ZONE}\"]\n\
             interval = {interval}\nstate_file = \"{}\"\n\
             [ipv4]\nsource = \"off\"\n\
             [ipv6]\nsource = \"interface\"\ninterface = \"lan0\"\n\
             [ipv6prefix]\nsource = \"interface\"\ninterface = \"lan0\"\n",
            srv.http,
            dir.path("agent.state").display()
        ),
    )
    .unwrap();
    let mut agent = Command::new(bin("lucent-agent"))
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.path("agent.log")).unwrap(),
        ))
        .spawn()
        .expect("spawn lucent-agent");
    let log = || std::fs::read_to_string(dir.path("agent.log")).unwrap_or_default();
    wait_until("the first push", || {
        aaaa(&srv, "dev3") == ["2001:db8:1:2:1::3"] && aaaa(&srv, "router") == ["2001:db8:1:2::1"]
    });
    // The ISP hands out a new prefix: the LAN address changes.
    ip(&["addr", "del", "2001:db8:1:2::1/64", "dev", "lan0"]);
    ip(&["addr", "add", "2001:db8:9:9::1/64", "dev", "lan0", "nodad"]);
    let changed = std::time::Instant::now();
    wait_until("the new prefix in DNS", || {
        (1..=3).all(|i| aaaa(&srv, &format!("dev{i}")) == [format!("2001:db8:9:9:1::{i}")])
    });
    let took = changed.elapsed();
    let _ = agent.kill();
    let _ = agent.wait();
    assert!(
        took.as_secs() <= interval + 2,
        "the change took {took:?}, more than one {interval} s interval:\n{}",
        log()
    );
    assert_eq!(aaaa(&srv, "router"), ["2001:db8:9:9::1"]);
    assert_eq!(aaaa(&srv, "plain"), ["2001:db8::99"]);
}
