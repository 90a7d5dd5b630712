//! Fixed-window rate limits (LuaDNS's model: N requests per 5-minute window, with the window's
//! reset time in `x-ratelimit-reset`). Keys are token hashes or client addresses, never
//! secrets. The clock is a parameter, so tests need no sleeping.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

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

pub struct RateLimiter<K> {
    /// Requests per window; 0 = unlimited.
    limit: u32,
    windows: Mutex<HashMap<K, (u64, u32)>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn new(limit: u32) -> Self {
        RateLimiter {
            limit,
            windows: Mutex::new(HashMap::new()),
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
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        // Forget expired windows now and then, so the map stays as large as the active set.
        if map.len() > 10_000 {
            map.retain(|_, (start, _)| now < *start + WINDOW_SECS);
        }
        let entry = map.entry(key.clone()).or_insert((now, 0));
        if now >= entry.0 + WINDOW_SECS {
            *entry = (now, 0);
        }
        let reset = entry.0 + WINDOW_SECS;
        let allowed = entry.1 < self.limit;
        if allowed {
            entry.1 += 1;
        }
        Decision {
            allowed,
            limit: self.limit,
            remaining: self.limit - entry.1,
            reset,
            retry_after: (reset - now).max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            assert!(rl.check(&1u8, i).allowed);
        }
    }
}
