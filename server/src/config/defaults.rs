//! The default of every config key, one named function each (serde calls them for keys the
//! file leaves out; `server/example.toml` documents them).

use std::path::PathBuf;

pub(super) fn d_db() -> PathBuf {
    PathBuf::from("lucent.db")
}

pub(super) fn d_reserved() -> Vec<String> {
    [
        "www",
        "api",
        "ns",
        "ns1",
        "ns2",
        "ns3",
        "ns4",
        "dns",
        "mail",
        "smtp",
        "imap",
        "pop",
        "pop3",
        "webmail",
        "mx",
        "ftp",
        "hostmaster",
        "postmaster",
        "webmaster",
        "abuse",
        "admin",
        "root",
        "wpad",
        "isatap",
        "autoconfig",
        "autodiscover",
        "localhost",
        "status",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

pub(super) fn d_http_listen() -> String {
    "127.0.0.1:8080".into()
}

pub(super) fn d_max_connections() -> usize {
    1024
}

pub(super) fn d_header_timeout() -> u64 {
    10
}

pub(super) fn d_workers() -> usize {
    4
}

pub(super) fn d_write_timeout() -> u64 {
    10
}

pub(super) fn d_max_conns_per_address() -> usize {
    64
}

pub(super) fn d_keepalive_requests() -> u32 {
    1000
}

pub(super) fn d_tcp_max_connections() -> usize {
    512
}

pub(super) fn d_tcp_max_per_address() -> usize {
    16
}

pub(super) fn d_tcp_idle_timeout() -> u64 {
    10
}

pub(super) fn d_tcp_timeout() -> u64 {
    5
}

pub(super) fn d_rrl_rate() -> u32 {
    1000
}

pub(super) fn d_dns_listen() -> Vec<String> {
    vec!["127.0.0.1:5300".into()]
}

pub(super) fn d_nameservers() -> Vec<String> {
    vec!["localhost".into()]
}

pub(super) fn d_rname() -> String {
    "hostmaster.localhost".into()
}

pub(super) fn d_refresh() -> u32 {
    1200
}

pub(super) fn d_retry() -> u32 {
    120
}

pub(super) fn d_expire() -> u32 {
    604800
}

pub(super) fn d_minimum() -> u32 {
    60
}

pub(super) fn d_soa_ttl() -> u32 {
    3600
}

pub(super) fn d_ns_ttl() -> u32 {
    86400
}

pub(super) fn d_rrl_slip() -> u32 {
    2
}

pub(super) fn d_rpm() -> u32 {
    1200
}

pub(super) fn d_ip_rpm() -> u32 {
    6000
}

pub(super) fn d_min_ttl() -> u32 {
    30
}

pub(super) fn d_max_ttl() -> u32 {
    86400
}

pub(super) fn d_default_ttl() -> u32 {
    60
}

pub(super) fn d_record_ttl() -> u32 {
    300
}

pub(super) fn d_max_body() -> usize {
    64 * 1024
}

pub(super) fn d_metrics_allow() -> Vec<String> {
    vec!["127.0.0.0/8".into(), "::1/128".into()]
}

pub(super) fn d_max_zones() -> u32 {
    50
}

pub(super) fn d_max_records() -> u32 {
    5000
}
