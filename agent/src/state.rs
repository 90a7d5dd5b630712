//! The last addresses the server acknowledged, per hostname, kept in a small JSON file so that a
//! restart does not re-push, and the pure "what must be sent now?" decision ([`State::plan`]).
//! The file also records whom the acknowledgements came from ([`Identity`]: server, a hash of
//! the credentials, protocol) and the last IPv6 prefix sent: a change of any of them pushes again
//! (issue #14 item 23: a new, wrong token must not be told "up to date").
//!
//! Writes go to a temporary file in the same directory, are flushed, then renamed over the old
//! file, so a crash or power cut leaves either the old or the new state. A missing, unreadable or
//! corrupt file is an empty state (with a warning): at worst one extra update. Nothing here talks
//! to the network; the clock is a parameter.

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use crate::config::Config;
use crate::detect::Detected;
use crate::json;

/// Whom the acknowledgements were given by: server base URL, [`token_hash`] of the credentials
/// and protocol name. A state of another identity (or of an older agent, which wrote only the
/// server) counts as empty, so everything is pushed once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub server: String,
    pub token_hash: String,
    pub protocol: String,
}

impl Identity {
    pub fn of(cfg: &Config) -> Identity {
        Identity {
            server: cfg.server.clone(),
            token_hash: token_hash(&cfg.username, cfg.token.expose()),
            protocol: cfg.protocol.name().to_string(),
        }
    }
}

/// 64-bit FNV-1a of `username:token` as 16 hex digits: enough to notice new credentials, and
/// never the token itself. A fast hash of a guessable dyndns2 password could still be checked
/// against guesses, which is why [`State::save`] writes the file readable by its owner only.
pub fn token_hash(username: &str, token: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in username.bytes().chain([b':']).chain(token.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut hex = String::with_capacity(16);
    for i in (0..16).rev() {
        hex.push(char::from(
            b"0123456789abcdef"[(h >> (4 * i)) as usize & 15],
        ));
    }
    hex
}

/// What the server acknowledged for one hostname (a missing key in the file is the default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostState {
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
    /// Unix seconds of the last acknowledged update.
    pub updated: u64,
}

/// The whole state file (its JSON form is in json.rs; a missing key is the default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// Who acknowledged; another identity means an empty state (see [`State::adopt`]).
    pub id: Identity,
    /// The /64 (its network address) last acknowledged as `ipv6prefix`.
    pub ipv6prefix: Option<Ipv6Addr>,
    pub hosts: Hosts,
}

/// Hostname -> what was acknowledged, in hostname order (the order the file lists them in):
/// the few map operations the state needs, on a sorted Vec (a handful of entries; a BTreeMap's
/// code was ~6 KiB of the binary).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hosts(Vec<(String, HostState)>);

impl Hosts {
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(name))
    }

    pub fn get(&self, name: &str) -> Option<&HostState> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }

    /// The entry for `name`, added with defaults if missing.
    pub fn entry(&mut self, name: &str) -> &mut HostState {
        let i = match self.find(name) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (name.to_string(), HostState::default()));
                i
            }
        };
        &mut self.0[i].1
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.0.retain(|(k, _)| keep(k));
    }

    /// In hostname order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &HostState)> {
        self.0.iter().map(|(k, h)| (k.as_str(), h))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One update to send: these hostnames, with these addresses (`None` = leave that family alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub hostnames: Vec<String>,
    pub addrs: Detected,
    /// The /64 to send as `ipv6prefix`: when it changed, or with a forced refresh.
    pub prefix: Option<Ipv6Addr>,
    /// True when the only reason is the forced refresh.
    pub forced: bool,
}

impl State {
    /// Reads the state file. Missing means empty; unreadable or corrupt means empty with a
    /// warning; a state written for another identity is ignored.
    pub fn load(path: &Path, id: Identity) -> State {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                log::debug!("no state file at {} yet", path.display());
                return State::empty(id);
            }
            Err(e) => {
                log::warn!(
                    "cannot read state file {}: {e}; starting empty",
                    path.display()
                );
                return State::empty(id);
            }
        };
        match json::read(&text) {
            Ok(mut s) => {
                s.adopt(id);
                s
            }
            Err(e) => {
                log::warn!(
                    "state file {} is corrupt ({e}); starting empty",
                    path.display()
                );
                State::empty(id)
            }
        }
    }

    pub fn empty(id: Identity) -> State {
        State {
            id,
            ..State::default()
        }
    }

    /// Forgets what was acknowledged for another server, token or protocol (or by an agent that
    /// did not record them), so that everything is pushed again under `id`.
    pub fn adopt(&mut self, id: Identity) {
        if self.id != id {
            // debug: the push that follows logs its own line (and a failing `--once` one only).
            if !self.hosts.is_empty() {
                log::debug!(
                    "server, token or protocol changed since the last update; pushing again"
                );
            }
            *self = State::empty(id);
        }
    }

    /// Writes atomically: `<file>.tmp` in the same directory, fsync, rename.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut tmp_name = path.as_os_str().to_owned();
        tmp_name.push(".tmp");
        let tmp = Path::new(&tmp_name);
        let json = json::write(self);
        let result = (|| {
            let mut open = std::fs::OpenOptions::new();
            open.write(true).create(true).truncate(true);
            // Owner only: the file holds a hash of the credentials.
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
            let mut f = open.open(tmp)?;
            f.write_all(json.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            std::fs::rename(tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(tmp);
        }
        result
    }

    /// Decides what to send: hostnames whose acknowledged addresses differ from `now` for a
    /// detected family, or whose last update is older than `force` (when set); every hostname
    /// when the detected `prefix` differs from the acknowledged one. The addresses sent are
    /// everything detected, so one request covers all of them. (Call [`State::adopt`] first.)
    pub fn plan(
        &self,
        hostnames: &[String],
        detected: Detected,
        prefix: Option<Ipv6Addr>,
        now: u64,
        force: Option<Duration>,
    ) -> Option<Plan> {
        // Never a prefix alone: without addresses, DuckDNS-style servers would take the
        // request's source address for the hostnames.
        if detected.v4.is_none() && detected.v6.is_none() {
            return None;
        }
        let new_prefix = prefix.is_some() && prefix != self.ipv6prefix;
        let mut send = Vec::new();
        let mut any_changed = false;
        for h in hostnames {
            let known = self.hosts.get(h).cloned().unwrap_or_default();
            let differs = new_prefix
                || detected.v4.is_some_and(|ip| known.ipv4 != Some(ip))
                || detected.v6.is_some_and(|ip| known.ipv6 != Some(ip));
            let too_old = force.is_some_and(|f| now.saturating_sub(known.updated) >= f.as_secs());
            if differs || too_old {
                any_changed |= differs;
                send.push(h.clone());
            }
        }
        if send.is_empty() {
            return None;
        }
        Some(Plan {
            hostnames: send,
            addrs: detected,
            // An unchanged prefix rides along only with the forced refresh.
            prefix: prefix.filter(|_| new_prefix || !any_changed),
            forced: !any_changed,
        })
    }

    /// Records what the server acknowledged for `hostnames` (and the `prefix` sent with them) at
    /// `now`, and forgets hostnames that are no longer configured.
    pub fn ack(
        &mut self,
        hostnames: &[String],
        sent: Detected,
        prefix: Option<Ipv6Addr>,
        now: u64,
        configured: &[String],
    ) {
        if prefix.is_some() && !hostnames.is_empty() {
            self.ipv6prefix = prefix;
        }
        for h in hostnames {
            let e = self.hosts.entry(h);
            if let Some(ip) = sent.v4 {
                e.ipv4 = Some(ip);
            }
            if let Some(ip) = sent.v6 {
                e.ipv6 = Some(ip);
            }
            e.updated = now;
        }
        self.hosts.retain(|h| configured.iter().any(|c| c == h));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn tmpdir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("la-state-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// The identity of `server` with token `t` over lucent.
    fn id(server: &str) -> Identity {
        Identity {
            server: server.into(),
            token_hash: token_hash("lucent-agent", "t"),
            protocol: "lucent".into(),
        }
    }

    const V4: Option<Ipv4Addr> = Some(Ipv4Addr::new(203, 0, 113, 7));

    fn p64(s: &str) -> Option<Ipv6Addr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn missing_and_corrupt_files_are_empty() {
        let d = tmpdir("corrupt");
        let p = d.join("state.json");
        let s = id("http://s");
        assert_eq!(State::load(&p, s.clone()), State::empty(s.clone()));
        std::fs::write(&p, "{not json").unwrap();
        assert_eq!(State::load(&p, s.clone()), State::empty(s.clone()));
        std::fs::write(&p, "").unwrap();
        assert_eq!(State::load(&p, s.clone()), State::empty(s.clone()));
        std::fs::write(&p, r#"{"server":"http://s","hosts":{"a":{"ipv4":"nope"}}}"#).unwrap();
        assert_eq!(State::load(&p, s.clone()), State::empty(s.clone()));
        // A directory where the file should be: unreadable, still no crash.
        assert_eq!(State::load(&d, s.clone()), State::empty(s.clone()));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn save_then_load_round_trips_atomically() {
        let d = tmpdir("roundtrip");
        let p = d.join("sub/state.json");
        let mut s = State::empty(id("http://s"));
        s.ack(
            &hosts(&["a"]),
            Detected { v4: V4, v6: None },
            p64("2001:db8:1:2::"),
            100,
            &hosts(&["a"]),
        );
        s.save(&p).unwrap();
        assert!(!d.join("sub/state.json.tmp").exists());
        assert_eq!(State::load(&p, id("http://s")), s);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Another server's state is ignored.
        let other = id("http://other");
        assert_eq!(State::load(&p, other.clone()), State::empty(other.clone()));
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// Issue #14 item 23: a state file of an older agent (server only) is read, and counts as
    /// acknowledged for nobody, so the first run pushes once.
    #[test]
    fn old_state_file_without_identity_pushes_once() {
        let d = tmpdir("old");
        let p = d.join("state.json");
        let old = r#"{"server":"http://s","hosts":{"a":{"ipv4":"203.0.113.7","ipv6":null,"updated":100}}}"#;
        std::fs::write(&p, old).unwrap();
        let read = json::read(old).unwrap();
        assert_eq!(read.id.server, "http://s");
        assert_eq!(read.hosts.get("a").unwrap().ipv4, V4);
        let s = State::load(&p, id("http://s"));
        let det = Detected { v4: V4, v6: None };
        assert!(s.plan(&hosts(&["a"]), det, None, 200, None).is_some());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn token_hash_is_stable_and_hides_the_token() {
        // FNV-1a 64 of "lucent-agent:t0k3n": fixed, so old files keep matching.
        let h = token_hash("lucent-agent", "t0k3n");
        assert_eq!(h.len(), 16);
        assert_eq!(h, token_hash("lucent-agent", "t0k3n"));
        assert!(!h.contains("t0k3n"));
        assert_ne!(h, token_hash("lucent-agent", "t0k3m"));
        assert_ne!(h, token_hash("other", "t0k3n"));
        // Test vector: FNV-1a 64 of "a:" (username "a", empty token).
        assert_eq!(token_hash("a", ""), "089c0c07b5453942");
    }

    /// The tick's decision after [`State::adopt`]: a new server, token or protocol, a new
    /// hostname or a new prefix pushes; nothing else does.
    #[test]
    fn identity_hostnames_and_prefix_changes_push_again() {
        let all = hosts(&["a", "b"]);
        let det = Detected { v4: V4, v6: None };
        let base = id("http://s");
        let acked = || {
            let mut s = State::empty(base.clone());
            s.ack(&all, det, p64("2001:db8:1:2::"), 1000, &all);
            s
        };
        let plan_for = |id: &Identity, names: &[String], prefix| {
            let mut s = acked();
            s.adopt(id.clone());
            s.plan(names, det, prefix, 1001, None)
        };
        let same = p64("2001:db8:1:2::");
        assert_eq!(plan_for(&base, &all, same), None);
        // A detected prefix that vanished is no change (like an undetected family).
        assert_eq!(plan_for(&base, &all, None), None);
        let changed = [
            Identity {
                token_hash: token_hash("lucent-agent", "wrong"),
                ..base.clone()
            },
            Identity {
                server: "http://other".into(),
                ..base.clone()
            },
            Identity {
                protocol: "duckdns".into(),
                ..base.clone()
            },
        ];
        for other in &changed {
            let p = plan_for(other, &all, same).expect("identity changed: push");
            assert_eq!(p.hostnames, all, "{other:?}");
            assert!(!p.forced);
            // Nothing is known for the new identity, so the prefix goes out again too.
            assert_eq!(p.prefix, same);
        }
        // A hostname added to the config is pushed (alone).
        let more = hosts(&["a", "b", "c"]);
        let p = plan_for(&base, &more, same).unwrap();
        assert_eq!(p.hostnames, hosts(&["c"]));
        assert_eq!(p.prefix, None);
        // A new prefix goes out with every hostname and the addresses.
        let p = plan_for(&base, &all, p64("2001:db8:1:3::")).unwrap();
        assert_eq!(p.hostnames, all);
        assert_eq!(p.addrs, det);
        assert_eq!(p.prefix, p64("2001:db8:1:3::"));
        assert!(!p.forced);
        // An unchanged prefix rides along with the forced refresh only.
        let s = acked();
        let p = s
            .plan(&all, det, same, 9000, Some(Duration::from_secs(5000)))
            .unwrap();
        assert!(p.forced);
        assert_eq!(p.prefix, same);
        // The acknowledged prefix is remembered; a prefix without any acked host is not.
        let mut s = acked();
        s.ack(&[], det, p64("2001:db8:9::"), 1002, &all);
        assert_eq!(s.ipv6prefix, same);
        // No address: no prefix alone.
        assert_eq!(
            s.plan(&all, Detected::default(), p64("2001:db8:9::"), 1003, None),
            None
        );
    }

    #[test]
    fn plan_pushes_only_changes_and_stale_entries() {
        let all = hosts(&["a", "b"]);
        let det = Detected { v4: V4, v6: None };
        let mut s = State::empty(id("x"));
        // Nothing known: both hostnames.
        let p = s.plan(&all, det, None, 1000, None).unwrap();
        assert_eq!(p.hostnames, all);
        assert!(!p.forced);
        s.ack(&all, det, None, 1000, &all);
        // Same address: nothing to do.
        assert_eq!(s.plan(&all, det, None, 2000, None), None);
        assert_eq!(
            s.plan(&all, det, None, 2000, Some(Duration::from_secs(5000))),
            None
        );
        // Forced refresh once the interval has passed.
        let p = s
            .plan(&all, det, None, 6000, Some(Duration::from_secs(5000)))
            .unwrap();
        assert!(p.forced);
        assert_eq!(p.hostnames, all);
        // A new IPv6 address changes every hostname.
        let det6 = Detected {
            v4: V4,
            v6: Some("2001:db8::1".parse().unwrap()),
        };
        let p = s.plan(&all, det6, None, 2000, None).unwrap();
        assert_eq!(p.addrs, det6);
        assert!(!p.forced);
        // A family not detected this time is not a change (and is not cleared).
        s.ack(&all, det6, None, 2000, &all);
        assert_eq!(s.plan(&all, det, None, 2001, None), None);
        // Only the hostname that differs.
        s.hosts.entry("b").ipv4 = Some(Ipv4Addr::new(198, 51, 100, 1));
        assert_eq!(
            s.plan(&all, det6, None, 2002, None).unwrap().hostnames,
            hosts(&["b"])
        );
        // Nothing detected: nothing to send.
        assert_eq!(s.plan(&all, Detected::default(), None, 9999, None), None);
    }

    #[test]
    fn ack_forgets_unconfigured_hosts() {
        let mut s = State::empty(id("x"));
        s.ack(
            &hosts(&["a", "b"]),
            Detected { v4: V4, v6: None },
            None,
            1,
            &hosts(&["a", "b"]),
        );
        s.ack(
            &hosts(&["a"]),
            Detected { v4: V4, v6: None },
            None,
            2,
            &hosts(&["a"]),
        );
        assert_eq!(s.hosts.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["a"]);
        assert_eq!(s.hosts.get("a").unwrap().updated, 2);
    }
}
