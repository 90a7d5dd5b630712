//! Per-key limits for the HTTP side and the listeners: fixed-window request limits (LuaDNS's
//! model: N requests per 5-minute window, with the window's reset time in
//! `x-ratelimit-reset`) and caps on the connections one client holds at once. Keys are token
//! hashes or client addresses, never secrets; an IPv6 client is keyed by its /64 (one host
//! usually owns a whole /64, RFC 4291 §2.5.1 interface identifiers), an IPv4-mapped address
//! as the IPv4 address it is. The clock is a parameter, so tests need no sleeping. What the
//! limits are and what happens past them is the callers' business (api/, http.rs, dns/tcp.rs).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

pub const WINDOW_SECS: u64 = 300;

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Unix time when the window resets.
    pub reset: u64,
    /// Seconds until then (≥ 1).
    pub retry_after: u64,
}

/// What a limiter counts against: the key itself, or for addresses the network they stand for.
pub trait LimitKey: Hash + Eq + Clone {
    fn limit_key(&self) -> Self {
        self.clone()
    }
}

impl LimitKey for [u8; 32] {}

impl LimitKey for IpAddr {
    /// IPv4 as is; IPv4-mapped IPv6 as the IPv4 address; other IPv6 by its /64.
    fn limit_key(&self) -> Self {
        match self {
            IpAddr::V4(_) => *self,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let bits = u128::from(*v6) & !((1u128 << 64) - 1);
                    IpAddr::V6(Ipv6Addr::from(bits))
                }
            },
        }
    }
}

/// Fixed windows per key, in two generations so that forgetting expired windows costs O(1)
/// per request (amortised): every `WINDOW_SECS` the current table becomes the previous one
/// and the old previous one is dropped whole. A window lives `WINDOW_SECS` from its first
/// request, so everything in a table two generations old has expired; a live window found in
/// the previous table moves to the current one on its next request.
pub struct RateLimiter<K> {
    /// Requests per window; 0 = unlimited.
    limit: u32,
    tables: Mutex<Tables<K>>,
}

struct Tables<K> {
    /// Unix time the current generation began.
    since: u64,
    current: HashMap<K, (u64, u32)>,
    previous: HashMap<K, (u64, u32)>,
}

impl<K: LimitKey> RateLimiter<K> {
    pub fn new(limit: u32) -> Self {
        RateLimiter {
            limit,
            tables: Mutex::new(Tables {
                since: 0,
                current: HashMap::new(),
                previous: HashMap::new(),
            }),
        }
    }

    /// Count one request for `key` at unix time `now`.
    pub fn check(&self, key: &K, now: u64) -> Decision {
        if self.limit == 0 {
            return Decision {
                allowed: true,
                limit: 0,
                remaining: 0,
                reset: now,
                retry_after: 1,
            };
        }
        let key = key.limit_key();
        let mut t = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        let mut expired = None;
        if now >= t.since.saturating_add(WINDOW_SECS) {
            let current = std::mem::take(&mut t.current);
            expired = Some(std::mem::replace(&mut t.previous, current));
            t.since = now;
        }
        if !t.current.contains_key(&key) {
            if let Some(live) = t.previous.remove(&key) {
                t.current.insert(key.clone(), live);
            }
        }
        let entry = t.current.entry(key).or_insert((now, 0));
        if now >= entry.0.saturating_add(WINDOW_SECS) {
            *entry = (now, 0);
        }
        let reset = entry.0 + WINDOW_SECS;
        let allowed = entry.1 < self.limit;
        if allowed {
            entry.1 += 1;
        }
        let remaining = self.limit - entry.1;
        drop(t);
        // Freed outside the lock: a large table takes a while to drop.
        drop(expired);
        Decision {
            allowed,
            limit: self.limit,
            remaining,
            reset,
            retry_after: reset.saturating_sub(now).max(1),
        }
    }

    /// Windows held in memory (both generations).
    #[cfg(test)]
    fn len(&self) -> usize {
        let t = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        t.current.len() + t.previous.len()
    }
}

/// Open connections per client address (by `LimitKey`), capped: `acquire` hands out a guard
/// that gives the slot back when dropped. Shared between the accept loop and the connection
/// tasks through an `Arc`.
pub struct ConnCap {
    /// Connections per address; 0 = no cap.
    max: u32,
    open: Mutex<HashMap<IpAddr, u32>>,
}

/// One connection's slot in a `ConnCap`.
pub struct ConnSlot {
    cap: Arc<ConnCap>,
    key: IpAddr,
}

impl ConnCap {
    pub fn new(max: u32) -> Arc<ConnCap> {
        Arc::new(ConnCap {
            max,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for one more connection from `ip`, or `None` when it already holds `max`.
    pub fn acquire(self: &Arc<Self>, ip: IpAddr) -> Option<ConnSlot> {
        let key = ip.limit_key();
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(key).or_insert(0);
        if self.max > 0 && *n >= self.max {
            return None;
        }
        *n += 1;
        Some(ConnSlot {
            cap: self.clone(),
            key,
        })
    }

    /// Connections `ip` holds now.
    pub fn open(&self, ip: IpAddr) -> u32 {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.get(&ip.limit_key()).copied().unwrap_or(0)
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        let mut open = self.cap.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl LimitKey for &'static str {}
    impl LimitKey for u32 {}

    #[test]
    fn window_counts_and_resets() {
        let rl = RateLimiter::new(3);
        let t0 = 1_000_000;
        for i in 0..3 {
            let d = rl.check(&"a", t0 + i);
            assert!(d.allowed);
            assert_eq!(d.remaining, 2 - i as u32);
        }
        let d = rl.check(&"a", t0 + 10);
        assert!(!d.allowed);
        assert_eq!(d.retry_after, 290);
        assert_eq!(d.reset, t0 + 300);
        assert!(rl.check(&"b", t0 + 10).allowed, "keys are independent");
        assert!(rl.check(&"a", t0 + 300).allowed, "new window");
    }

    #[test]
    fn zero_is_unlimited() {
        let rl = RateLimiter::new(0);
        for i in 0..10_000 {
            assert!(rl.check(&1u32, i).allowed);
        }
    }

    /// A window that began late in one generation keeps its count across the swap.
    #[test]
    fn live_windows_survive_the_generation_swap() {
        let rl = RateLimiter::new(2);
        let t0 = 1_000_000;
        assert!(rl.check(&"x", t0).allowed); // generation starts at t0
        assert!(rl.check(&"a", t0 + 290).allowed);
        assert!(rl.check(&"a", t0 + 291).allowed);
        // t0 + 300: swap; "a"'s window (from t0 + 290) still runs until t0 + 590.
        let d = rl.check(&"a", t0 + 300);
        assert!(!d.allowed, "count carried over the swap");
        assert_eq!(d.reset, t0 + 590);
        // Another swap at t0 + 600: the window has expired, a new one starts.
        assert!(rl.check(&"a", t0 + 600).allowed);
    }

    /// Expired windows are forgotten within two window periods, without any request
    /// scanning the table: 20,000 one-off clients leave nothing behind.
    #[test]
    fn expired_windows_are_dropped_by_generation() {
        let rl = RateLimiter::new(5);
        let t0 = 1_000_000;
        for i in 0..20_000u32 {
            assert!(rl.check(&i, t0 + u64::from(i % 100)).allowed);
        }
        assert_eq!(rl.len(), 20_000);
        rl.check(&1_000_000, t0 + 300); // swap: the 20,000 are now the previous generation
        assert_eq!(rl.len(), 20_001);
        rl.check(&1_000_001, t0 + 600); // second swap: dropped whole
        assert_eq!(rl.len(), 2);
    }

    #[test]
    fn ipv6_is_keyed_by_its_64_and_mapped_ipv4_as_ipv4() {
        let rl = RateLimiter::new(2);
        let t0 = 1_000_000;
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(rl.check(&a, t0).allowed);
        assert!(rl.check(&b, t0).allowed);
        assert!(!rl.check(&a, t0).allowed, "one /64 shares one window");
        assert!(
            rl.check(&other, t0).allowed,
            "the next /64 is another client"
        );
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert!(rl.check(&v4, t0).allowed);
        assert!(rl.check(&mapped, t0).allowed);
        assert!(
            !rl.check(&v4, t0).allowed,
            "mapped and plain IPv4 are one client"
        );
    }

    #[test]
    fn connection_cap_counts_per_address_and_frees_on_drop() {
        let cap = ConnCap::new(2);
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let a2: IpAddr = "2001:db8::2".parse().unwrap();
        let b: IpAddr = "192.0.2.1".parse().unwrap();
        let s1 = cap.acquire(a).unwrap();
        let s2 = cap.acquire(a2).unwrap();
        assert!(cap.acquire(a).is_none(), "same /64: full");
        let s3 = cap.acquire(b).unwrap();
        assert_eq!(cap.open(a), 2);
        drop(s1);
        assert_eq!(cap.open(a), 1);
        let s4 = cap.acquire(a).unwrap();
        drop((s2, s3, s4));
        assert_eq!(cap.open(a), 0);
        assert!(cap.open.lock().unwrap().is_empty(), "nothing left behind");
        let unlimited = ConnCap::new(0);
        let slots: Vec<_> = (0..100).map(|_| unlimited.acquire(b).unwrap()).collect();
        assert_eq!(unlimited.open(b), 100);
        drop(slots);
    }
}
