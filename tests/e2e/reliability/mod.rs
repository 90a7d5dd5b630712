//! Reliability under crashes, bad input, abusive clients and load: the real `lucentd` killed
//! with SIGKILL while clients write (every acknowledged write survives, the file stays sound,
//! DNS agrees with the API), a deterministic barrage of malformed HTTP and DNS input (no 5xx,
//! no hang, no change to stored data), slow-loris and idle connections against a small
//! connection cap, rate limits hammered from several threads, and `/metrics` counters that move
//! consistently with what the clients saw. Each test prints its counts (`report!`).
//!
//! One file per concern: `crash`, `barrage` (with its generated `inputs`), `slow`, `limits`.
//! Clients, fixtures, parsers and `report!` are the harness's.

mod barrage;
mod crash;
mod inputs;
mod limits;
mod slow;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
    fn pick_str(&mut self, v: &[&'static str]) -> &'static str {
        v[self.below(v.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn ascii(&mut self, n: usize) -> String {
        const A: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-_.~%+=&?/:;@!$'()*,";
        (0..n).map(|_| *self.pick(A) as char).collect()
    }
}
