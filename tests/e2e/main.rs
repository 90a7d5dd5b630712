//! End-to-end tests: the real `lucentd` (and `lucent-agent`) binaries on ephemeral loopback
//! ports with a temporary database each, driven over real sockets. One test binary for the
//! whole suite (faster linking, shared harness). Build the binaries first:
//! `cargo build --workspace --bins` (the README's test command does).

mod harness;

mod admin_cli;
mod agent;
mod dashboard;
mod dashboard_more;
mod dashboard_pictures;
mod dns;
mod dns_update;
mod dnssec;
mod dyndns2;
mod hardening;
mod hardening_api;
mod hostnames;
mod luadns;
mod prefix;
mod reliability;
mod secondaries;
mod store;
mod update;
mod zonefiles;
