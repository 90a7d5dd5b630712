//! Seed 001, the LuaDNS-style REST API under `/v1`: every example of the API guide against the
//! real server (users/me, zones, records, DS records), the raw JSON shape that regex-based
//! clients (acme.sh, OpenWrt) parse, list options and pagination headers, rate limiting, every
//! error status with its `{status, request_id, message}` body, validation that changes nothing,
//! isolation between users and between zone-restricted keys, the quirks of real clients
//! (PROTOCOLS.md §3, §7), and DNS answers following every acknowledged change at once.
//!
//! One file per concern: `zones`, `records`, `auth`, `validation`, `clients`, `dns`. The client
//! (`Lua`) and the fixture (`Fixture::hosted`: a user with a global API key and the hosted zone
//! `example.org`) are the harness's.

mod auth;
mod clients;
mod dns;
mod records;
mod validation;
mod zones;

use crate::harness::*;

/// The error body of seed 001: exactly `status`, `request_id`, `message`.
fn assert_error(r: &HttpReply, status: u16, word: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let j = r.json();
    assert_eq!(j["status"], word, "{}", r.body);
    assert!(
        j["request_id"].as_str().is_some_and(|s| !s.is_empty()),
        "{}",
        r.body
    );
    assert!(
        j["message"].as_str().is_some_and(|s| !s.is_empty()),
        "{}",
        r.body
    );
    assert_eq!(j.as_object().unwrap().len(), 3, "{}", r.body);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
}
