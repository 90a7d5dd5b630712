//! lucent-server: the library behind `lucentd` — the HTTP APIs (seed-000 token API with
//! DuckDNS and dyndns2 compatibility, the LuaDNS-style API), the authoritative DNS responder,
//! the SQLite store and the admin commands. `main.rs` is a thin shell around `serve::run` and
//! `admin::run`; the fuzz targets and benchmarks use the parsers and validators directly.

pub mod admin;
pub mod api;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod dns;
pub mod error;
pub mod http;
pub mod metrics;
pub mod ratelimit;
pub mod records;
pub mod redact;
pub mod secret;
pub mod serve;
pub mod store;
pub mod validate;
