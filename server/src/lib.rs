//! lucent-server: the library behind `lucentd` — the HTTP APIs (the seed-000 token API with
//! DuckDNS and dyndns2 compatibility, the seed-001 LuaDNS-style API; the "seeds" are the two
//! API documents the server implements, see docs/protocols.md), the authoritative DNS
//! responder, the SQLite store and the admin commands. `main.rs` is a thin shell around
//! `serve::run` and `admin::run`; the fuzz targets and benchmarks use the parsers and
//! validators directly. server/README.md has the layout and what each module may import.

pub mod admin;
pub mod api;
pub mod cli;
pub mod clock;
pub mod config;
pub mod dns;
pub mod dnssec;
pub mod domain;
pub mod error;
pub mod http;
pub mod metrics;
pub mod model;
pub mod ratelimit;
pub mod redact;
pub mod secret;
pub mod serve;
pub mod store;
pub mod urlcode;
pub mod web;
pub mod zonefile;

/// Threads worth running for work that keeps a CPU busy: one per CPU this process may use
/// (affinity and cgroup quota count), 1 to 4. More than that only wake each other: a lucentd
/// pinned to one CPU switched threads about twice as often with two runtime workers.
pub fn usable_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}
