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
pub enum ConfigError {
    /// A file the config names (or the config itself) could not be read.
    Read {
        /// `config`, `operator_token_file`, `http.metrics_token_file`.
        what: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    /// The TOML does not parse or names an unknown key (the message names it).
    Syntax {
        path: Option<PathBuf>,
        error: Box<toml::de::Error>,
    },
    /// A value is out of its range or malformed; the text names the key.
    Invalid(String),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Read { what, path, error } => {
                write!(f, "cannot read {what} {}: {error}", path.display())
            }
            ConfigError::Syntax {
                path: Some(p),
                error,
            } => {
                write!(f, "{}: config: {error}", p.display())
            }
            ConfigError::Syntax { path: None, error } => write!(f, "config: {error}"),
            ConfigError::Invalid(m) => f.write_str(m),
        }
    }
}
impl std::error::Error for ConfigError {}

mod defaults;
mod dnssec;
mod xfr;
use defaults::*;

fn err<T>(s: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError::Invalid(s.into()))
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
    #[serde(default)]
    pub dnssec: dnssec::RawDnssec,
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
    /// A response must be written out within this many seconds once the client stops taking
    /// bytes (a client that never reads).
    #[serde(default = "d_write_timeout")]
    pub write_timeout_secs: u64,
    /// Open connections per client address (IPv6: per /64); 0 = no cap. Trusted proxies are
    /// exempt.
    #[serde(default = "d_max_conns_per_address")]
    pub max_connections_per_address: usize,
    /// Requests served on one keep-alive connection before it is closed; 0 = no limit.
    #[serde(default = "d_keepalive_requests")]
    pub keepalive_requests: u32,
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
    #[serde(default = "d_rrl_rate")]
    pub rrl_responses_per_second: u32,
    /// Every n-th answer held back by rate limiting goes out truncated (TC) instead of
    /// dropped; 0 = drop them all.
    #[serde(default = "d_rrl_slip")]
    pub rrl_slip: u32,
    /// Open DNS TCP connections in all; 0 = no cap.
    #[serde(default = "d_tcp_max_connections")]
    pub tcp_max_connections: usize,
    /// Open DNS TCP connections per client address (IPv6: per /64); 0 = no cap.
    #[serde(default = "d_tcp_max_per_address")]
    pub tcp_max_connections_per_address: usize,
    /// A DNS TCP connection with no query for this many seconds is closed.
    #[serde(default = "d_tcp_idle_timeout")]
    pub tcp_idle_timeout_secs: u64,
    /// Reading one query (once its first byte arrived) and writing one answer must each take
    /// at most this many seconds.
    #[serde(default = "d_tcp_timeout")]
    pub tcp_timeout_secs: u64,
    /// This server's name for NSID (RFC 5001) and CH TXT `id.server` / `hostname.bind`;
    /// unset = neither is answered.
    #[serde(default)]
    pub server_id: Option<String>,
    /// TSIG keys (`[[dns.tsig_keys]]`): zone transfers, NOTIFY, signed queries.
    #[serde(default)]
    pub tsig_keys: Vec<xfr::RawTsigKey>,
    /// Secondaries that get NOTIFY and may transfer their zones (`[[dns.secondaries]]`).
    #[serde(default)]
    pub secondaries: Vec<xfr::RawSecondary>,
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
    pub dns_tcp: crate::dns::TcpConfig,
    /// NSID and CH TXT `id.server` / `hostname.bind` value; `None` = not answered.
    pub dns_server_id: Option<String>,
    /// Zone transfers: TSIG keys and secondaries.
    pub dns_xfr: crate::dns::xfr::XfrConfig,
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
    pub write_timeout: Duration,
    /// 0 = no cap.
    pub max_connections_per_address: u32,
    /// 0 = no limit.
    pub keepalive_requests: u32,
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
        toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: None,
            error: Box::new(e),
        })
    }

    pub fn load(path: &Path) -> Result<RawConfig, ConfigError> {
        let text = fs::read_to_string(path).map_err(|error| ConfigError::Read {
            what: "config",
            path: path.to_path_buf(),
            error,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Syntax {
            path: Some(path.to_path_buf()),
            error: Box::new(e),
        })
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
            dnssec,
        } = self;
        let dnssec_cfg = dnssec.check()?;

        let operator_token = match (env_token.filter(|t| !t.is_empty()), operator_token_file) {
            (Some(t), _) => Some(t),
            (None, Some(p)) => Some(
                fs::read_to_string(&p)
                    .map_err(|error| ConfigError::Read {
                        what: "operator_token_file",
                        path: p.clone(),
                        error,
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
                    ConfigError::Invalid(format!("trusted_proxies: '{s}' is not an IP address"))
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
            .map(|l| {
                name::host_label(l)
                    .map_err(|e| ConfigError::Invalid(format!("reserved_labels: {e}")))
            })
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
                    ConfigError::Invalid(format!(
                        "http.metrics_allow: '{s}' is not an address or CIDR block"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let metrics_token = match &http.metrics_token_file {
            None => None,
            Some(p) => {
                let t = fs::read_to_string(p)
                    .map_err(|error| ConfigError::Read {
                        what: "http.metrics_token_file",
                        path: p.clone(),
                        error,
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
            .map(|n| {
                name::domain_name(n)
                    .map_err(|e| ConfigError::Invalid(format!("dns.nameservers: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let rname = name::domain_name(&dns.soa_contact.replacen('@', ".", 1))
            .map_err(|e| ConfigError::Invalid(format!("dns.soa_contact: {e}")))?;
        if dns.rrl_slip > 10 {
            return err("dns.rrl_slip must be between 0 and 10");
        }
        for (k, v) in [
            ("http.write_timeout_secs", http.write_timeout_secs),
            ("dns.tcp_idle_timeout_secs", dns.tcp_idle_timeout_secs),
            ("dns.tcp_timeout_secs", dns.tcp_timeout_secs),
        ] {
            if v == 0 || v > 3600 {
                return err(format!("{k} must be between 1 and 3600 seconds"));
            }
        }
        let server_id = match dns.server_id {
            Some(id) if id.is_empty() || id.len() > 255 || id.chars().any(|c| c.is_control()) => {
                // One TXT character-string (RFC 1035 §3.3.14).
                return err("dns.server_id must be 1 to 255 bytes without control characters");
            }
            other => other,
        };
        let dns_xfr = xfr::check(&dns.tsig_keys, &dns.secondaries)?;
        let cap = |k: &str, v: usize| {
            u32::try_from(v).map_err(|_| ConfigError::Invalid(format!("{k} is too large")))
        };

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
                write_timeout: Duration::from_secs(http.write_timeout_secs),
                max_connections_per_address: cap(
                    "http.max_connections_per_address",
                    http.max_connections_per_address,
                )?,
                keepalive_requests: http.keepalive_requests,
            },
            dns_listen,
            dns_rrl: crate::dns::RrlConfig {
                responses_per_second: dns.rrl_responses_per_second,
                slip: dns.rrl_slip,
            },
            dns_tcp: crate::dns::TcpConfig {
                max_connections: dns.tcp_max_connections,
                max_connections_per_address: cap(
                    "dns.tcp_max_connections_per_address",
                    dns.tcp_max_connections_per_address,
                )?,
                idle_timeout: Duration::from_secs(dns.tcp_idle_timeout_secs),
                timeout: Duration::from_secs(dns.tcp_timeout_secs),
            },
            dns_server_id: server_id,
            dns_xfr,
            apex: ApexConfig {
                nameservers,
                rname,
                refresh: dns.soa_refresh,
                retry: dns.soa_retry,
                expire: dns.soa_expire,
                minimum: dns.soa_minimum,
                soa_ttl: dns.soa_ttl,
                ns_ttl: dns.ns_ttl,
                dnssec: dnssec_cfg,
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
        ConfigError::Invalid(format!(
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
                .unwrap_or_else(|e| panic!("{e}\n{enabled}"))
                .validate(None)
                .unwrap();
            assert!(!c.dns_listen.is_empty());
        }
    }

    /// Issue #14 item 13: on by default, at a rate no caching resolver reaches for one name.
    #[test]
    fn rrl_is_on_by_default_and_checked() {
        let c = RawConfig::from_toml("").unwrap().validate(None).unwrap();
        assert_eq!(c.dns_rrl.responses_per_second, 1000);
        let c = RawConfig::from_toml("[dns]\nrrl_responses_per_second = 0")
            .unwrap()
            .validate(None)
            .unwrap();
        assert_eq!(c.dns_rrl.responses_per_second, 0, "0 switches it off");
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

    /// Issue #16: `[[dns.tsig_keys]]` and `[[dns.secondaries]]` as SPEC.md writes them.
    #[test]
    fn tsig_keys_and_secondaries_are_checked() {
        let secret = "KHWCBWOQ9WFgvjHBT0r5O7r+ExUSDWXHRAeb1SH2ehA=";
        let ok = format!(
            "[[dns.tsig_keys]]\nname = \"xfr\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{secret}\"\n\
             [[dns.secondaries]]\nnotify = \"192.0.2.53:53\"\nkey = \"xfr\"\nzones = [\"*\"]\n\
             [[dns.secondaries]]\nnotify = \"[2001:db8::53]:5300\"\nkey = \"XFR.\"\nzones = [\"Example.org\"]"
        );
        let c = RawConfig::from_toml(&ok).unwrap().validate(None).unwrap();
        let x = &c.dns_xfr;
        assert_eq!(x.keys.len(), 1);
        assert_eq!(x.secondaries.len(), 2);
        assert!(x.secondaries[0].follows("anything.test"));
        assert!(x.secondaries[1].follows("example.org"));
        assert!(!x.secondaries[1].follows("example.net"));
        assert!(x.may_transfer(&x.keys[0], "example.net"));
        // None configured: no transfers at all.
        let c = RawConfig::from_toml("").unwrap().validate(None).unwrap();
        assert!(c.dns_xfr.keys.is_empty() && c.dns_xfr.secondaries.is_empty());
        let key = |extra: &str| format!("[[dns.tsig_keys]]\nname = \"xfr\"\n{extra}");
        for (text, want) in [
            (key("secret = \"c2hvcnQ=\""), "at least 16"),
            (key("algorithm = \"hmac-md5\"\nsecret = \"c2hvcnQ=\""), "unsupported algorithm"),
            (key("secret = \"!!notbase64\""), "base64"),
            (key(""), "exactly one of secret and secret_file"),
            (
                format!("{}\n{}", key(&format!("secret = \"{secret}\"")), key(&format!("secret = \"{secret}\""))),
                "listed twice",
            ),
            (
                format!("{}\n[[dns.secondaries]]\nnotify = \"192.0.2.53\"\nkey = \"xfr\"", key(&format!("secret = \"{secret}\""))),
                "not ADDR:PORT",
            ),
            (
                format!("{}\n[[dns.secondaries]]\nnotify = \"192.0.2.53:53\"\nkey = \"nokey\"", key(&format!("secret = \"{secret}\""))),
                "not in [[dns.tsig_keys]]",
            ),
            (
                format!("{}\n[[dns.secondaries]]\nnotify = \"192.0.2.53:53\"\nkey = \"xfr\"\nzones = []", key(&format!("secret = \"{secret}\""))),
                "zones",
            ),
        ] {
            let e = invalid(&text);
            assert!(e.contains(want), "{text}: {e}");
        }
        // secret_file: a `tsig-keygen` clause or the bare secret.
        let dir = std::env::temp_dir().join(format!("lucent-cfg-xfr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("xfr.key");
        std::fs::write(
            &f,
            format!("key \"xfr\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{secret}\";\n}};\n"),
        )
        .unwrap();
        let text = key(&format!("secret_file = {:?}", f.display().to_string()));
        let c = RawConfig::from_toml(&text).unwrap().validate(None).unwrap();
        assert_eq!(c.dns_xfr.keys[0].secret_base64(), secret);
        std::fs::write(&f, format!("{secret}\n")).unwrap();
        let c = RawConfig::from_toml(&text).unwrap().validate(None).unwrap();
        assert_eq!(c.dns_xfr.keys[0].secret_base64(), secret);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Issue #14 items 1, 3 and 22: the connection limits, timeouts and server id.
    #[test]
    fn connection_limits_have_defaults_and_are_checked() {
        let c = RawConfig::from_toml("").unwrap().validate(None).unwrap();
        assert_eq!(c.http.write_timeout, Duration::from_secs(10));
        assert_eq!(c.http.max_connections_per_address, 64);
        assert_eq!(c.http.keepalive_requests, 1000);
        assert_eq!(c.dns_tcp.max_connections, 512);
        assert_eq!(c.dns_tcp.max_connections_per_address, 16);
        assert_eq!(c.dns_tcp.idle_timeout, Duration::from_secs(10));
        assert_eq!(c.dns_tcp.timeout, Duration::from_secs(5));
        assert_eq!(c.dns_server_id, None);
        let c = RawConfig::from_toml(
            "[http]\nwrite_timeout_secs = 2\nmax_connections_per_address = 0\n\
             keepalive_requests = 5\n[dns]\ntcp_max_connections = 7\n\
             tcp_max_connections_per_address = 3\ntcp_idle_timeout_secs = 4\n\
             tcp_timeout_secs = 1\nserver_id = \"ns-a.example\"",
        )
        .unwrap()
        .validate(None)
        .unwrap();
        assert_eq!(c.http.write_timeout, Duration::from_secs(2));
        assert_eq!(c.http.max_connections_per_address, 0);
        assert_eq!(c.http.keepalive_requests, 5);
        assert_eq!(c.dns_tcp.max_connections, 7);
        assert_eq!(c.dns_tcp.max_connections_per_address, 3);
        assert_eq!(c.dns_tcp.idle_timeout, Duration::from_secs(4));
        assert_eq!(c.dns_tcp.timeout, Duration::from_secs(1));
        assert_eq!(c.dns_server_id.as_deref(), Some("ns-a.example"));
        for (text, key) in [
            ("[http]\nwrite_timeout_secs = 0", "http.write_timeout_secs"),
            ("[dns]\ntcp_timeout_secs = 0", "dns.tcp_timeout_secs"),
            (
                "[dns]\ntcp_idle_timeout_secs = 99999",
                "dns.tcp_idle_timeout_secs",
            ),
            ("[dns]\nserver_id = \"\"", "dns.server_id"),
            ("[dns]\nserver_id = \"a\\nb\"", "dns.server_id"),
        ] {
            let e = invalid(text);
            assert!(e.contains(key), "{text}: {e}");
        }
        let long = format!("[dns]\nserver_id = \"{}\"", "x".repeat(256));
        assert!(invalid(&long).contains("dns.server_id"));
    }

    /// The validation error of a config that parses but must be refused.
    fn invalid(text: &str) -> String {
        RawConfig::from_toml(text)
            .unwrap()
            .validate(None)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn errors_name_the_key() {
        let e = RawConfig::from_toml("bogus = 1").unwrap_err().to_string();
        assert!(e.contains("bogus"), "{e}");
        let e = RawConfig::from_toml("[limits]\nrequests_per_5min = \"x\"")
            .unwrap_err()
            .to_string();
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
