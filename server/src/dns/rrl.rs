//! Response rate limiting on UDP (off unless `[dns] rrl_responses_per_second` is set), after
//! the scheme BIND, NSD and Knot share: a forged source address can aim our answers at a
//! victim, so answers to one client network are limited per kind of answer. Each
//! (network, kind, name) has a token bucket refilled at the configured rate, holding at most
//! one second's worth. Past it, answers are dropped, except every `slip`-th, which goes out
//! truncated (header and question, TC set): a real resolver behind that network retries over
//! TCP, which a forged address cannot complete, and a victim receives no more bytes than the
//! forged query carried. TCP is never limited.
//!
//! Networks are IPv4 /24 and IPv6 /56. Kinds: answers and NODATA count per query name;
//! NXDOMAIN and errors count per network alone, so a flood of random names shares one bucket.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use foldhash::fast::RandomState;

/// `[dns]` settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RrlConfig {
    /// Answers per second per (network, kind, name); 0 = off.
    pub responses_per_second: u32,
    /// Every `slip`-th limited answer is sent truncated instead of dropped (0: drop all).
    pub slip: u32,
}

/// What to do with one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// Send only header and question, with TC set (`truncate`).
    Slip,
    Drop,
}

const SHARDS: usize = 16;
/// Buckets per shard before idle ones are swept (64k in all, ~2 MiB at most).
const SHARD_CAP: usize = 4096;
/// Credit is kept in thousandths of an answer, so a millisecond's refill is never lost.
const UNIT: i64 = 1000;

#[derive(Clone, Copy)]
struct Bucket {
    credit: i64,
    /// Milliseconds since `Rrl::epoch` at the last answer counted.
    last_ms: u64,
    limited: u32,
}

pub(crate) struct Rrl {
    cfg: RrlConfig,
    epoch: Instant,
    hasher: RandomState,
    shards: [Mutex<HashMap<u64, Bucket, RandomState>>; SHARDS],
    pub dropped: AtomicU64,
    pub slipped: AtomicU64,
}

impl Rrl {
    /// `None` when the config leaves it off.
    pub fn new(cfg: RrlConfig) -> Option<Rrl> {
        (cfg.responses_per_second > 0).then(|| Rrl {
            cfg,
            epoch: Instant::now(),
            hasher: RandomState::default(),
            shards: std::array::from_fn(|_| Mutex::new(HashMap::default())),
            dropped: AtomicU64::new(0),
            slipped: AtomicU64::new(0),
        })
    }

    /// The verdict for `response` (a whole DNS message we are about to send) to `peer`.
    pub fn check(&self, peer: IpAddr, response: &[u8]) -> Verdict {
        let now_ms = self.epoch.elapsed().as_millis() as u64;
        self.check_at(peer, response, now_ms)
    }

    fn check_at(&self, peer: IpAddr, response: &[u8], now_ms: u64) -> Verdict {
        let key = self.key(peer, response);
        let rate = i64::from(self.cfg.responses_per_second);
        let full = rate * UNIT;
        let shard = &self.shards[(key as usize) % SHARDS];
        let mut map = shard.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= SHARD_CAP && !map.contains_key(&key) {
            // A bucket idle for a second is full again: the same as no bucket at all.
            map.retain(|_, b| now_ms.saturating_sub(b.last_ms) < 1000);
            if map.len() >= SHARD_CAP {
                map.clear();
            }
        }
        let b = map.entry(key).or_insert(Bucket {
            credit: full,
            last_ms: now_ms,
            limited: 0,
        });
        let elapsed = now_ms.saturating_sub(b.last_ms).min(1000) as i64;
        b.credit = (b.credit + elapsed * rate).min(full);
        b.last_ms = now_ms;
        if b.credit >= UNIT {
            b.credit -= UNIT;
            return Verdict::Send;
        }
        b.limited = b.limited.wrapping_add(1);
        let slip = self.cfg.slip > 0 && b.limited % self.cfg.slip == 0;
        drop(map);
        if slip {
            self.slipped.fetch_add(1, Ordering::Relaxed);
            Verdict::Slip
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            Verdict::Drop
        }
    }

    /// Which bucket an answer counts against.
    fn key(&self, peer: IpAddr, response: &[u8]) -> u64 {
        let net: [u8; 8] = match peer {
            IpAddr::V4(a) => net4(a.octets()),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => net4(v4.octets()),
                // /56
                None => {
                    let o = a.octets();
                    [6, o[0], o[1], o[2], o[3], o[4], o[5], o[6]]
                }
            },
        };
        let rcode = response.get(3).map_or(2, |b| b & 0x0f);
        let answers = super::fast::be16(response, 6).unwrap_or(0);
        let mut h = self.hasher.build_hasher();
        h.write(&net);
        match rcode {
            // Answers and NODATA: per name (lowercased, as asked).
            0 => {
                h.write_u8(u8::from(answers > 0));
                if let Some(name) = question_name(response) {
                    for &c in name {
                        h.write_u8(c.to_ascii_lowercase());
                    }
                }
            }
            3 => h.write_u8(3),
            _ => h.write_u8(4),
        }
        h.finish()
    }
}

fn net4(o: [u8; 4]) -> [u8; 8] {
    [4, o[0], o[1], o[2], 0, 0, 0, 0]
}

/// The question's name in wire form (labels, root included), if the message has one
/// uncompressed question name (ours always does).
fn question_name(msg: &[u8]) -> Option<&[u8]> {
    if msg.get(4..6)? == [0, 0] {
        return None;
    }
    let mut at = 12;
    loop {
        let len = usize::from(*msg.get(at)?);
        if len == 0 {
            return msg.get(12..=at);
        }
        if len > 63 {
            return None;
        }
        at += 1 + len;
    }
}

/// The truncated form of `msg` sent on a slip: header and question only, TC set, no records
/// (EDNS included). Returns false (and leaves `msg` alone) when the question cannot be read.
pub fn truncate(msg: &mut Vec<u8>) -> bool {
    let Some(name) = question_name(msg) else {
        return false;
    };
    let end = 12 + name.len() + 4;
    if msg.len() < end {
        return false;
    }
    msg.truncate(end);
    msg[2] |= 0x02; // TC
    msg[4..6].copy_from_slice(&1u16.to_be_bytes());
    msg[6..12].fill(0);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response: header (QR, AA, `rcode`, one question, `answers` answers), the question
    /// for `name` A IN, and `answers` bytes standing for the answer records.
    fn resp(name: &str, rcode: u8, answers: u16) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x84, rcode, 0, 1];
        m.extend_from_slice(&answers.to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 1]);
        for l in name.split('.').filter(|l| !l.is_empty()) {
            m.push(l.len() as u8);
            m.extend_from_slice(l.as_bytes());
        }
        m.extend_from_slice(&[0, 0, 1, 0, 1]);
        m.extend(std::iter::repeat_n(0xAB, usize::from(answers) * 16));
        m
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn rrl(rate: u32, slip: u32) -> Rrl {
        Rrl::new(RrlConfig {
            responses_per_second: rate,
            slip,
        })
        .expect("on")
    }

    #[test]
    fn off_unless_a_rate_is_set() {
        assert!(Rrl::new(RrlConfig::default()).is_none());
        assert!(Rrl::new(RrlConfig {
            responses_per_second: 0,
            slip: 2
        })
        .is_none());
    }

    #[test]
    fn a_burst_of_one_second_then_the_rate_with_every_second_limited_answer_slipped() {
        let r = rrl(5, 2);
        let a = resp("h1.dyn.example.net", 0, 1);
        let peer = ip("192.0.2.10");
        let v: Vec<Verdict> = (0..9).map(|_| r.check_at(peer, &a, 0)).collect();
        use Verdict::*;
        assert_eq!(v, [Send, Send, Send, Send, Send, Drop, Slip, Drop, Slip]);
        assert_eq!(r.dropped.load(Ordering::Relaxed), 2);
        assert_eq!(r.slipped.load(Ordering::Relaxed), 2);
        // 200 ms at 5/s refills one answer.
        assert_eq!(r.check_at(peer, &a, 200), Send);
        assert_eq!(r.check_at(peer, &a, 200), Drop);
        // A second later the whole burst is back, and never more than that.
        let later: Vec<Verdict> = (0..6).map(|_| r.check_at(peer, &a, 5000)).collect();
        assert_eq!(later, [Send, Send, Send, Send, Send, Slip]);
        // slip 0: every limited answer is dropped; slip 1: every one is truncated.
        let none = rrl(1, 0);
        assert_eq!(none.check_at(peer, &a, 0), Send);
        assert_eq!(none.check_at(peer, &a, 0), Drop);
        assert_eq!(none.check_at(peer, &a, 0), Drop);
        let all = rrl(1, 1);
        assert_eq!(all.check_at(peer, &a, 0), Send);
        assert_eq!(all.check_at(peer, &a, 0), Slip);
        assert_eq!(all.check_at(peer, &a, 0), Slip);
    }

    #[test]
    fn buckets_are_per_network_kind_and_name() {
        let r = rrl(1, 0);
        let a1 = resp("h1.dyn.example.net", 0, 1);
        assert_eq!(r.check_at(ip("192.0.2.1"), &a1, 0), Verdict::Send);
        // Same /24, same answer (the name's case does not matter): limited.
        let a1_upper = resp("H1.DYN.example.net", 0, 1);
        assert_eq!(r.check_at(ip("192.0.2.200"), &a1_upper, 0), Verdict::Drop);
        assert_eq!(r.check_at(ip("::ffff:192.0.2.7"), &a1, 0), Verdict::Drop);
        // Another /24, another name, NODATA for the same name: buckets of their own.
        assert_eq!(r.check_at(ip("192.0.3.1"), &a1, 0), Verdict::Send);
        let a2 = resp("h2.dyn.example.net", 0, 1);
        assert_eq!(r.check_at(ip("192.0.2.1"), &a2, 0), Verdict::Send);
        let nodata1 = resp("h1.dyn.example.net", 0, 0);
        assert_eq!(r.check_at(ip("192.0.2.1"), &nodata1, 0), Verdict::Send);
        // NXDOMAIN: one bucket per network whatever the name (random-name floods).
        let nx1 = resp("nx1.dyn.example.net", 3, 0);
        let nx2 = resp("nx2.dyn.example.net", 3, 0);
        assert_eq!(r.check_at(ip("192.0.2.1"), &nx1, 0), Verdict::Send);
        assert_eq!(r.check_at(ip("192.0.2.1"), &nx2, 0), Verdict::Drop);
        // Errors (REFUSED here) likewise, apart from NXDOMAIN.
        let refused = resp("example.com", 5, 0);
        assert_eq!(r.check_at(ip("192.0.2.1"), &refused, 0), Verdict::Send);
        assert_eq!(
            r.check_at(ip("192.0.2.1"), &resp("x.com", 5, 0), 0),
            Verdict::Drop
        );
        // IPv6: one /56.
        assert_eq!(r.check_at(ip("2001:db8:0:100::1"), &a1, 0), Verdict::Send);
        assert_eq!(r.check_at(ip("2001:db8:0:1ff::2"), &a1, 0), Verdict::Drop);
        assert_eq!(r.check_at(ip("2001:db8:0:200::1"), &a1, 0), Verdict::Send);
    }

    #[test]
    fn the_table_stays_bounded() {
        let r = rrl(1, 0);
        let a = resp("h1.dyn.example.net", 0, 1);
        for i in 0..(SHARDS * SHARD_CAP * 2) as u32 {
            let peer = IpAddr::from((i << 8).to_be_bytes());
            assert_eq!(r.check_at(peer, &a, 0), Verdict::Send);
        }
        for s in &r.shards {
            assert!(s.lock().unwrap().len() <= SHARD_CAP);
        }
    }

    #[test]
    fn truncate_keeps_header_and_question_with_tc() {
        let mut m = resp("h1.dyn.example.net", 0, 3);
        let q_end = 12 + "h1.dyn.example.net".len() + 2 + 4;
        assert!(truncate(&mut m));
        assert_eq!(m.len(), q_end);
        assert_eq!(&m[..2], &[0x12, 0x34], "same id");
        assert_eq!(m[2] & 0x02, 0x02, "TC");
        assert_eq!(m[2] & 0x80, 0x80, "still a response");
        assert_eq!(&m[4..12], &[0, 1, 0, 0, 0, 0, 0, 0]);
        // No question: nothing to truncate to.
        let mut bare = vec![0u8; 12];
        assert!(!truncate(&mut bare));
        assert_eq!(bare.len(), 12);
    }
}
