//! Server configuration: `RawConfig` mirrors the TOML file (every default in a named function),
//! `Config` holds checked, typed values. Command-line flags are applied by `main` on top of the
//! raw file before validation, so the precedence is: flag > file > default.

use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::dns::ApexConfig;
use crate::model::name;
use crate::secret::Secret;

#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for ConfigError {}

fn err<T>(s: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(s.into()))
}

/// The TOML file as written. See `server/example.toml` for every key with its default.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default = "d_db")]
    pub db: PathBuf,
    #[serde(default)]
    pub operator_token_file: Option<PathBuf>,
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    #[serde(default = "d_reserved")]
    pub reserved_labels: Vec<String>,
    /// The address people reach this server at, for the links and snippets the dashboard
    /// and `user invite` print; default `http://<http.listen>`.
    #[serde(default)]
    pub public_url: Option<String>,
    #[serde(default)]
    pub http: RawHttp,
    #[serde(default)]
    pub dns: RawDns,
    #[serde(default)]
    pub limits: RawLimits,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    #[serde(default = "d_http_listen")]
    pub listen: String,
    #[serde(default = "d_max_connections")]
    pub max_connections: usize,
    #[serde(default = "d_header_timeout")]
    pub header_timeout_secs: u64,
    #[serde(default = "d_workers")]
    pub workers: usize,
    /// Who may read /metrics: addresses or CIDRs.
    #[serde(default = "d_metrics_allow")]
    pub metrics_allow: Vec<String>,
    /// Or a bearer token, from anywhere.
    #[serde(default)]
    pub metrics_token_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDns {
    #[serde(default = "d_dns_listen")]
    pub listen: Vec<String>,
    #[serde(default = "d_nameservers")]
    pub nameservers: Vec<String>,
    #[serde(default = "d_rname")]
    pub soa_contact: String,
    #[serde(default = "d_refresh")]
    pub soa_refresh: u32,
    #[serde(default = "d_retry")]
    pub soa_retry: u32,
    #[serde(default = "d_expire")]
    pub soa_expire: u32,
    #[serde(default = "d_minimum")]
    pub soa_minimum: u32,
    #[serde(default = "d_soa_ttl")]
    pub soa_ttl: u32,
    #[serde(default = "d_ns_ttl")]
    pub ns_ttl: u32,
    /// UDP response rate limiting: answers per second per client network, kind and name;
    /// 0 = off.
    #[serde(default)]
    pub rrl_responses_per_second: u32,
    /// Every n-th answer held back by rate limiting goes out truncated (TC) instead of
    /// dropped; 0 = drop them all.
    #[serde(default = "d_rrl_slip")]
    pub rrl_slip: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    #[serde(default = "d_rpm")]
    pub requests_per_5min: u32,
    #[serde(default = "d_ip_rpm")]
    pub ip_requests_per_5min: u32,
    #[serde(default = "d_min_ttl")]
    pub min_ttl: u32,
    #[serde(default = "d_max_ttl")]
    pub max_ttl: u32,
    #[serde(default = "d_default_ttl")]
    pub default_ttl: u32,
    #[serde(default = "d_record_ttl")]
    pub record_default_ttl: u32,
    #[serde(default = "d_max_body")]
    pub max_body_bytes: usize,
    #[serde(default = "d_max_zones")]
    pub max_zones_per_user: u32,
    #[serde(default = "d_max_records")]
    pub max_records_per_zone: u32,
}

fn d_db() -> PathBuf {
    PathBuf::from("lucent.db")
}
fn d_reserved() -> Vec<String> {
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
fn d_http_listen() -> String {
    "127.0.0.1:8080".into()
}
fn d_max_connections() -> usize {
    1024
}
fn d_header_timeout() -> u64 {
    10
}
fn d_workers() -> usize {
    4
}
fn d_dns_listen() -> Vec<String> {
    vec!["127.0.0.1:5300".into()]
}
fn d_nameservers() -> Vec<String> {
    vec!["localhost".into()]
}
fn d_rname() -> String {
    "hostmaster.localhost".into()
}
fn d_refresh() -> u32 {
    1200
}
fn d_retry() -> u32 {
    120
}
fn d_expire() -> u32 {
    604800
}
fn d_minimum() -> u32 {
    60
}
fn d_soa_ttl() -> u32 {
    3600
}
fn d_ns_ttl() -> u32 {
    86400
}
fn d_rrl_slip() -> u32 {
    2
}
fn d_rpm() -> u32 {
    1200
}
fn d_ip_rpm() -> u32 {
    6000
}
fn d_min_ttl() -> u32 {
    30
}
fn d_max_ttl() -> u32 {
    86400
}
fn d_default_ttl() -> u32 {
    60
}
fn d_record_ttl() -> u32 {
    300
}
fn d_max_body() -> usize {
    64 * 1024
}
fn d_metrics_allow() -> Vec<String> {
    vec!["127.0.0.0/8".into(), "::1/128".into()]
}
fn d_max_zones() -> u32 {
    50
}
fn d_max_records() -> u32 {
    5000
}

impl Default for RawHttp {
    fn default() -> Self {
        from_empty()
    }
}
impl Default for RawDns {
    fn default() -> Self {
        from_empty()
    }
}
impl Default for RawLimits {
    fn default() -> Self {
        from_empty()
    }
}
impl Default for RawConfig {
    fn default() -> Self {
        from_empty()
    }
}

/// Every table's defaults come from its serde defaults, so they are written once.
fn from_empty<T: serde::de::DeserializeOwned>() -> T {
    // An empty table always deserialises: every field has a default.
    toml::from_str("").expect("all fields have defaults")
}

/// `public_url` when the config does not set it: the HTTP listener's address.
pub fn default_public_url(tls: bool, listen: SocketAddr) -> String {
    format!("{}://{listen}", if tls { "https" } else { "http" })
}

/// Checked configuration; only this leaves the module.
#[derive(Debug, Clone)]
pub struct Config {
    pub db: PathBuf,
    pub operator_token: Option<Secret>,
    pub trusted_proxies: Vec<IpAddr>,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub reserved_labels: Vec<String>,
    /// Without a trailing slash.
    pub public_url: String,
    pub http: HttpConfig,
    pub dns_listen: Vec<SocketAddr>,
    pub dns_rrl: crate::dns::RrlConfig,
    pub apex: ApexConfig,
    pub limits: Limits,
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Who may read /metrics without the token.
    pub metrics_allow: Vec<Cidr>,
    pub metrics_token: Option<Secret>,
    pub listen: SocketAddr,
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub workers: usize,
}

#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests per 5 minutes per token or API key; 0 = unlimited.
    pub requests_per_5min: u32,
    /// Requests per 5 minutes per client address; 0 = unlimited.
    pub ip_requests_per_5min: u32,
    pub min_ttl: u32,
    pub max_ttl: u32,
    pub default_ttl: u32,
    pub record_default_ttl: u32,
    pub max_body_bytes: usize,
    /// Hosted zones one user may have; 0 = unlimited.
    pub max_zones_per_user: u32,
    /// Records one hosted zone may hold (and one request may carry); 0 = unlimited.
    pub max_records_per_zone: u32,
}

/// An address block (`192.0.2.0/24`, `::1/128`, or a plain address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub len: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, len) = match s.trim().split_once('/') {
            Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = len.unwrap_or(max);
        (len <= max).then_some(Cidr { addr, len })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let len = u32::from(self.len);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl RawConfig {
    pub fn from_toml(text: &str) -> Result<RawConfig, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError(format!("config: {e}")))
    }

    pub fn load(path: &Path) -> Result<RawConfig, ConfigError> {
        let text = fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read config {}: {e}", path.display())))?;
        Self::from_toml(&text).map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))
    }

    /// Check and type every value. `env_token` is `DDNS_API_TOKEN` from the environment.
    pub fn validate(self, env_token: Option<String>) -> Result<Config, ConfigError> {
        let RawConfig {
            db,
            operator_token_file,
            trusted_proxies,
            tls_cert,
            tls_key,
            reserved_labels,
            public_url,
            http,
            dns,
            limits,
        } = self;

        let operator_token = match (env_token.filter(|t| !t.is_empty()), operator_token_file) {
            (Some(t), _) => Some(t),
            (None, Some(p)) => Some(
                fs::read_to_string(&p)
                    .map_err(|e| {
                        ConfigError(format!(
                            "cannot read operator_token_file {}: {e}",
                            p.display()
                        ))
                    })?
                    .trim()
                    .to_string(),
            ),
            (None, None) => None,
        };
        if let Some(t) = &operator_token {
            if t.len() < 16 {
                return err("the operator token must be at least 16 characters");
            }
        }

        let trusted_proxies = trusted_proxies
            .iter()
            .map(|s| {
                s.parse::<IpAddr>().map_err(|_| {
                    ConfigError(format!("trusted_proxies: '{s}' is not an IP address"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;

        let tls = match (tls_cert, tls_key) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => return err("tls_cert and tls_key must be given together"),
        };

        let reserved_labels = reserved_labels
            .iter()
            .map(|l| name::host_label(l).map_err(|e| ConfigError(format!("reserved_labels: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;

        let listen = parse_addr("http.listen", &http.listen)?;
        let public_url = match public_url {
            None => default_public_url(tls.is_some(), listen),
            Some(u) if u.starts_with("https://") || u.starts_with("http://") => {
                u.trim_end_matches('/').to_string()
            }
            Some(u) => {
                return err(format!(
                    "public_url: '{u}' must start with https:// or http://"
                ))
            }
        };
        let metrics_allow = http
            .metrics_allow
            .iter()
            .map(|s| {
                Cidr::parse(s).ok_or_else(|| {
                    ConfigError(format!(
                        "http.metrics_allow: '{s}' is not an address or CIDR block"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let metrics_token = match &http.metrics_token_file {
            None => None,
            Some(p) => {
                let t = fs::read_to_string(p)
                    .map_err(|e| {
                        ConfigError(format!(
                            "cannot read http.metrics_token_file {}: {e}",
                            p.display()
                        ))
                    })?
                    .trim()
                    .to_string();
                if t.len() < 16 {
                    return err("the metrics token must be at least 16 characters");
                }
                Some(Secret::new(t))
            }
        };
        if http.max_connections == 0 || http.workers == 0 {
            return err("http.max_connections and http.workers must be at least 1");
        }
        let dns_listen = dns
            .listen
            .iter()
            .map(|s| parse_addr("dns.listen", s))
            .collect::<Result<Vec<_>, _>>()?;
        if dns.nameservers.is_empty() {
            return err("dns.nameservers must name at least one name server");
        }
        let nameservers = dns
            .nameservers
            .iter()
            .map(|n| name::domain_name(n).map_err(|e| ConfigError(format!("dns.nameservers: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let rname = name::domain_name(&dns.soa_contact.replacen('@', ".", 1))
            .map_err(|e| ConfigError(format!("dns.soa_contact: {e}")))?;
        if dns.rrl_slip > 10 {
            return err("dns.rrl_slip must be between 0 and 10");
        }

        if limits.min_ttl > limits.max_ttl {
            return err("limits.min_ttl is above limits.max_ttl");
        }
        for (k, v) in [
            ("limits.default_ttl", limits.default_ttl),
            ("limits.record_default_ttl", limits.record_default_ttl),
        ] {
            if v < limits.min_ttl || v > limits.max_ttl {
                return err(format!("{k} = {v} is outside min_ttl..=max_ttl"));
            }
        }
        if limits.max_ttl > 2_147_483_647 {
            return err("limits.max_ttl is above 2147483647 (RFC 2181 §8)");
        }
        if limits.max_body_bytes < 1024 {
            return err("limits.max_body_bytes must be at least 1024");
        }

        Ok(Config {
            db,
            operator_token: operator_token.map(Secret::new),
            trusted_proxies,
            tls,
            reserved_labels,
            public_url,
            http: HttpConfig {
                metrics_allow,
                metrics_token,
                listen,
                max_connections: http.max_connections,
                header_timeout: Duration::from_secs(http.header_timeout_secs.max(1)),
                workers: http.workers,
            },
            dns_listen,
            dns_rrl: crate::dns::RrlConfig {
                responses_per_second: dns.rrl_responses_per_second,
                slip: dns.rrl_slip,
            },
            apex: ApexConfig {
                nameservers,
                rname,
                refresh: dns.soa_refresh,
                retry: dns.soa_retry,
                expire: dns.soa_expire,
                minimum: dns.soa_minimum,
                soa_ttl: dns.soa_ttl,
                ns_ttl: dns.ns_ttl,
            },
            limits: Limits {
                requests_per_5min: limits.requests_per_5min,
                ip_requests_per_5min: limits.ip_requests_per_5min,
                min_ttl: limits.min_ttl,
                max_ttl: limits.max_ttl,
                default_ttl: limits.default_ttl,
                record_default_ttl: limits.record_default_ttl,
                max_body_bytes: limits.max_body_bytes,
                max_zones_per_user: limits.max_zones_per_user,
                max_records_per_zone: limits.max_records_per_zone,
            },
        })
    }
}

fn parse_addr(key: &str, s: &str) -> Result<SocketAddr, ConfigError> {
    s.parse().map_err(|_| {
        ConfigError(format!(
            "{key}: '{s}' is not ADDR:PORT (e.g. 127.0.0.1:8080, [::1]:53)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = RawConfig::from_toml("").unwrap().validate(None).unwrap();
        assert_eq!(c.db, PathBuf::from("lucent.db"));
        assert_eq!(c.http.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.dns_listen[0].to_string(), "127.0.0.1:5300");
        assert_eq!(c.limits.requests_per_5min, 1200);
        assert_eq!(c.limits.ip_requests_per_5min, 6000);
        assert!(c.operator_token.is_none());
        assert!(c.reserved_labels.contains(&"www".to_string()));
    }

    #[test]
    fn example_file_parses() {
        let text = include_str!("../example.toml");
        let c = RawConfig::from_toml(text).unwrap().validate(None).unwrap();
        assert_eq!(c.limits.requests_per_5min, 1200);
    }

    /// The configs the packages install parse, also with their placeholders switched on.
    #[test]
    fn packaged_configs_parse() {
        for text in [
            include_str!("../../packaging/lucentd.toml"),
            include_str!("../../openwrt/lucent-drift/files/lucentd.toml"),
        ] {
            RawConfig::from_toml(text).unwrap().validate(None).unwrap();
            let enabled: String = text
                .lines()
                .map(|l| match l.strip_prefix("# ") {
                    Some(rest)
                        if rest.starts_with('[')
                            || rest.starts_with("listen")
                            || rest.starts_with("nameservers")
                            || rest.starts_with("soa_contact")
                            || rest.starts_with("rrl_") =>
                    {
                        rest
                    }
                    _ => l,
                })
                .collect::<Vec<_>>()
                .join("\n");
            let c = RawConfig::from_toml(&enabled)
                .unwrap_or_else(|e| panic!("{}\n{enabled}", e.0))
                .validate(None)
                .unwrap();
            assert!(!c.dns_listen.is_empty());
        }
    }

    #[test]
    fn rrl_is_off_by_default_and_checked() {
        let c = RawConfig::from_toml("").unwrap().validate(None).unwrap();
        assert_eq!(c.dns_rrl.responses_per_second, 0);
        assert_eq!(c.dns_rrl.slip, 2);
        let c = RawConfig::from_toml("[dns]\nrrl_responses_per_second = 20\nrrl_slip = 0")
            .unwrap()
            .validate(None)
            .unwrap();
        assert_eq!(
            c.dns_rrl,
            crate::dns::RrlConfig {
                responses_per_second: 20,
                slip: 0
            }
        );
        let e = invalid("[dns]\nrrl_slip = 11");
        assert!(e.contains("dns.rrl_slip"), "{e}");
    }

    /// The validation error of a config that parses but must be refused.
    fn invalid(text: &str) -> String {
        RawConfig::from_toml(text)
            .unwrap()
            .validate(None)
            .unwrap_err()
            .0
    }

    #[test]
    fn errors_name_the_key() {
        let e = RawConfig::from_toml("bogus = 1").unwrap_err().0;
        assert!(e.contains("bogus"), "{e}");
        let e = RawConfig::from_toml("[limits]\nrequests_per_5min = \"x\"")
            .unwrap_err()
            .0;
        assert!(e.contains("requests_per_5min"), "{e}");
        let e = invalid("[http]\nlisten = \"nope\"");
        assert!(e.contains("http.listen"), "{e}");
        let e = invalid("tls_cert = \"a.pem\"");
        assert!(e.contains("tls_key"), "{e}");
    }

    #[test]
    fn cidr_blocks() {
        let c = |s: &str| Cidr::parse(s).unwrap();
        assert!(c("127.0.0.0/8").contains("127.9.9.9".parse().unwrap()));
        assert!(!c("127.0.0.0/8").contains("128.0.0.1".parse().unwrap()));
        assert!(c("::1/128").contains("::1".parse().unwrap()));
        assert!(!c("::1/128").contains("127.0.0.1".parse().unwrap()));
        assert!(c("0.0.0.0/0").contains("192.0.2.1".parse().unwrap()));
        assert!(c("2001:db8::/32").contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(c("192.0.2.7").contains("192.0.2.7".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nope").is_none());
        let e = invalid("[http]\nmetrics_allow = [\"x\"]");
        assert!(e.contains("metrics_allow"), "{e}");
        let d = RawConfig::from_toml("").unwrap().validate(None).unwrap();
        assert_eq!(d.http.metrics_allow.len(), 2);
        assert_eq!(d.limits.max_zones_per_user, 50);
        assert_eq!(d.limits.max_records_per_zone, 5000);
    }

    #[test]
    fn operator_token_from_env_and_redacted() {
        let c = RawConfig::default()
            .validate(Some("0123456789abcdef-operator".into()))
            .unwrap();
        assert!(!format!("{c:?}").contains("0123456789abcdef"));
        assert!(RawConfig::default().validate(Some("short".into())).is_err());
    }
}
