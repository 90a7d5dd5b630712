//! The last addresses the server acknowledged, per hostname, kept in a small JSON file so that a
//! restart does not re-push, and the pure "what must be sent now?" decision ([`State::plan`]).
//!
//! Writes go to a temporary file in the same directory, are flushed, then renamed over the old
//! file, so a crash or power cut leaves either the old or the new state. A missing, unreadable or
//! corrupt file is an empty state (with a warning): at worst one extra update. Nothing here talks
//! to the network; the clock is a parameter.

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use crate::detect::Detected;
use crate::json;

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
    /// Server base URL the acknowledgements came from; another server means an empty state.
    pub server: String,
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
    /// True when the only reason is the forced refresh.
    pub forced: bool,
}

impl State {
    /// Reads the state file. Missing means empty; unreadable or corrupt means empty with a
    /// warning; a state written for another server is ignored.
    pub fn load(path: &Path, server: &str) -> State {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                log::debug!("no state file at {} yet", path.display());
                return State::empty(server);
            }
            Err(e) => {
                log::warn!(
                    "cannot read state file {}: {e}; starting empty",
                    path.display()
                );
                return State::empty(server);
            }
        };
        match json::read(&text) {
            Ok(s) if s.server == server => s,
            Ok(_) => {
                log::info!(
                    "state file {} belongs to another server; starting empty",
                    path.display()
                );
                State::empty(server)
            }
            Err(e) => {
                log::warn!(
                    "state file {} is corrupt ({e}); starting empty",
                    path.display()
                );
                State::empty(server)
            }
        }
    }

    pub fn empty(server: &str) -> State {
        State {
            server: server.to_string(),
            hosts: Hosts::default(),
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
            let mut f = std::fs::File::create(tmp)?;
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
    /// detected family, or whose last update is older than `force` (when set). The addresses
    /// sent are everything detected, so one request covers all of them.
    pub fn plan(
        &self,
        hostnames: &[String],
        detected: Detected,
        now: u64,
        force: Option<Duration>,
    ) -> Option<Plan> {
        if detected.v4.is_none() && detected.v6.is_none() {
            return None;
        }
        let mut send = Vec::new();
        let mut any_changed = false;
        for h in hostnames {
            let known = self.hosts.get(h).cloned().unwrap_or_default();
            let differs = detected.v4.is_some_and(|ip| known.ipv4 != Some(ip))
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
            forced: !any_changed,
        })
    }

    /// Records what the server acknowledged for `hostnames` at `now`, and forgets hostnames that
    /// are no longer configured.
    pub fn ack(&mut self, hostnames: &[String], sent: Detected, now: u64, configured: &[String]) {
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

    const V4: Option<Ipv4Addr> = Some(Ipv4Addr::new(203, 0, 113, 7));

    #[test]
    fn missing_and_corrupt_files_are_empty() {
        let d = tmpdir("corrupt");
        let p = d.join("state.json");
        assert_eq!(State::load(&p, "http://s"), State::empty("http://s"));
        std::fs::write(&p, "{not json").unwrap();
        assert_eq!(State::load(&p, "http://s"), State::empty("http://s"));
        std::fs::write(&p, "").unwrap();
        assert_eq!(State::load(&p, "http://s"), State::empty("http://s"));
        std::fs::write(&p, r#"{"server":"http://s","hosts":{"a":{"ipv4":"nope"}}}"#).unwrap();
        assert_eq!(State::load(&p, "http://s"), State::empty("http://s"));
        // A directory where the file should be: unreadable, still no crash.
        assert_eq!(State::load(&d, "http://s"), State::empty("http://s"));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn save_then_load_round_trips_atomically() {
        let d = tmpdir("roundtrip");
        let p = d.join("sub/state.json");
        let mut s = State::empty("http://s");
        s.ack(
            &hosts(&["a"]),
            Detected { v4: V4, v6: None },
            100,
            &hosts(&["a"]),
        );
        s.save(&p).unwrap();
        assert!(!d.join("sub/state.json.tmp").exists());
        assert_eq!(State::load(&p, "http://s"), s);
        // Another server's state is ignored.
        assert_eq!(
            State::load(&p, "http://other"),
            State::empty("http://other")
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn plan_pushes_only_changes_and_stale_entries() {
        let all = hosts(&["a", "b"]);
        let det = Detected { v4: V4, v6: None };
        let mut s = State::empty("x");
        // Nothing known: both hostnames.
        let p = s.plan(&all, det, 1000, None).unwrap();
        assert_eq!(p.hostnames, all);
        assert!(!p.forced);
        s.ack(&all, det, 1000, &all);
        // Same address: nothing to do.
        assert_eq!(s.plan(&all, det, 2000, None), None);
        assert_eq!(
            s.plan(&all, det, 2000, Some(Duration::from_secs(5000))),
            None
        );
        // Forced refresh once the interval has passed.
        let p = s
            .plan(&all, det, 6000, Some(Duration::from_secs(5000)))
            .unwrap();
        assert!(p.forced);
        assert_eq!(p.hostnames, all);
        // A new IPv6 address changes every hostname.
        let det6 = Detected {
            v4: V4,
            v6: Some("2001:db8::1".parse().unwrap()),
        };
        let p = s.plan(&all, det6, 2000, None).unwrap();
        assert_eq!(p.addrs, det6);
        assert!(!p.forced);
        // A family not detected this time is not a change (and is not cleared).
        s.ack(&all, det6, 2000, &all);
        assert_eq!(s.plan(&all, det, 2001, None), None);
        // Only the hostname that differs.
        s.hosts.entry("b").ipv4 = Some(Ipv4Addr::new(198, 51, 100, 1));
        assert_eq!(
            s.plan(&all, det6, 2002, None).unwrap().hostnames,
            hosts(&["b"])
        );
        // Nothing detected: nothing to send.
        assert_eq!(s.plan(&all, Detected::default(), 9999, None), None);
    }

    #[test]
    fn ack_forgets_unconfigured_hosts() {
        let mut s = State::empty("x");
        s.ack(
            &hosts(&["a", "b"]),
            Detected { v4: V4, v6: None },
            1,
            &hosts(&["a", "b"]),
        );
        s.ack(
            &hosts(&["a"]),
            Detected { v4: V4, v6: None },
            2,
            &hosts(&["a"]),
        );
        assert_eq!(s.hosts.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["a"]);
        assert_eq!(s.hosts.get("a").unwrap().updated, 2);
    }
}
