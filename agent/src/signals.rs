//! Waiting between ticks: an interruptible sleep that wakes at once on SIGTERM/SIGINT (exit) or
//! SIGHUP (reload), and the jitter and backoff arithmetic that decides how long to wait.
//!
//! Signals come through signal-hook (the workspace forbids our own `unsafe`): each signal sets a
//! flag and writes a byte to a socket pair; the sleep is a read with a timeout on the other end,
//! so there is no polling and no helper thread. Jitter uses std's randomly seeded `RandomState`
//! instead of a rand crate. Nothing here knows about updates or configs.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Why a sleep ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The full duration passed.
    Timeout,
    /// SIGTERM or SIGINT: finish up and exit.
    Terminate,
    /// SIGHUP: re-read the configuration.
    Reload,
}

#[cfg(unix)]
mod imp {
    use super::Wake;
    use std::io::{ErrorKind, Read};
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    use signal_hook::{flag, low_level::pipe};

    static TERMINATE: AtomicBool = AtomicBool::new(false);
    static RELOAD: AtomicBool = AtomicBool::new(false);

    /// The installed handlers and the read end of the wake-up socket.
    pub struct Signals {
        wake: UnixStream,
    }

    impl Signals {
        /// Installs the handlers (once per process).
        pub fn install() -> std::io::Result<Signals> {
            let (wake, notify) = UnixStream::pair()?;
            for sig in [SIGTERM, SIGINT] {
                // The flag is set before the byte is written (actions run in order), so a woken
                // sleep always sees it.
                flag::register(sig, &TERMINATE)?;
                pipe::register(sig, notify.try_clone()?)?;
            }
            flag::register(SIGHUP, &RELOAD)?;
            pipe::register(SIGHUP, notify)?;
            Ok(Signals { wake })
        }

        /// Sleeps for `d`, or less if a signal arrives (also one that arrived since the last
        /// call, e.g. during an HTTP request).
        pub fn sleep(&self, d: Duration) -> Wake {
            let deadline = Instant::now() + d;
            let mut buf = [0u8; 64];
            loop {
                if TERMINATE.swap(false, Ordering::SeqCst) {
                    return Wake::Terminate;
                }
                if RELOAD.swap(false, Ordering::SeqCst) {
                    return Wake::Reload;
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Wake::Timeout;
                }
                // A zero timeout is an error for set_read_timeout; never ask for less than 1 ms.
                let wait = left.max(Duration::from_millis(1));
                if self.wake.set_read_timeout(Some(wait)).is_err() {
                    std::thread::sleep(wait);
                    continue;
                }
                match (&self.wake).read(&mut buf) {
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                        ) => {}
                    Err(_) => std::thread::sleep(wait),
                }
            }
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use super::Wake;
    use std::time::Duration;

    /// Without Unix signals the process is simply killed; sleeping is plain.
    pub struct Signals;

    impl Signals {
        pub fn install() -> std::io::Result<Signals> {
            Ok(Signals)
        }
        pub fn sleep(&self, d: Duration) -> Wake {
            std::thread::sleep(d);
            Wake::Timeout
        }
    }
}

pub use imp::Signals;

/// A random number without a rand crate: std seeds `RandomState` from the OS per process and
/// varies it per instance; time and pid are mixed in for good measure.
fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    h.finish()
}

/// `d` scaled by a factor drawn from `[1 - spread, 1 + spread]` (`r` is the random draw).
pub fn jitter_with(d: Duration, spread: f64, r: u64) -> Duration {
    let unit = (r >> 11) as f64 / (1u64 << 53) as f64; // uniform in [0, 1)
    d.mul_f64(1.0 - spread + 2.0 * spread * unit)
}

/// `d` with ±`spread` random jitter, so many agents restarted together spread out.
pub fn jitter(d: Duration, spread: f64) -> Duration {
    jitter_with(d, spread, random_u64())
}

/// First retry delay after a failure.
const BACKOFF_BASE: Duration = Duration::from_secs(30);
/// The backoff never exceeds max(interval, this).
const BACKOFF_CAP: Duration = Duration::from_secs(600);

/// Delay before retry number `failures` (1, 2, …): 30 s doubling, at most
/// max(`interval`, 10 min), and never more than the interval when the interval is shorter than
/// 30 s (test setups and impatient operators).
pub fn backoff(failures: u32, interval: Duration) -> Duration {
    if interval < BACKOFF_BASE {
        return interval;
    }
    let exp = BACKOFF_BASE.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    exp.min(interval.max(BACKOFF_CAP))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let i = Duration::from_secs(300);
        let got: Vec<u64> = (1..=7).map(|n| backoff(n, i).as_secs()).collect();
        assert_eq!(got, vec![30, 60, 120, 240, 480, 600, 600]);
        assert_eq!(backoff(50, i), Duration::from_secs(600));
        // A long interval is the cap.
        assert_eq!(
            backoff(20, Duration::from_secs(3600)),
            Duration::from_secs(3600)
        );
        // A short interval is never exceeded.
        assert_eq!(backoff(5, Duration::from_secs(2)), Duration::from_secs(2));
    }

    #[test]
    fn jitter_stays_in_range() {
        let d = Duration::from_secs(100);
        assert_eq!(jitter_with(d, 0.2, 0), Duration::from_secs(80));
        let hi = jitter_with(d, 0.2, u64::MAX);
        assert!(hi <= Duration::from_secs(120) && hi > Duration::from_secs(119));
        for _ in 0..100 {
            let j = jitter(d, 0.1);
            assert!(j >= Duration::from_secs(90) && j <= Duration::from_secs(110));
        }
        assert_ne!(random_u64(), random_u64());
    }

    #[cfg(unix)]
    #[test]
    fn sleep_times_out() {
        let s = Signals::install().unwrap();
        let t = std::time::Instant::now();
        assert_eq!(s.sleep(Duration::from_millis(50)), Wake::Timeout);
        assert!(t.elapsed() >= Duration::from_millis(50));
    }
}
