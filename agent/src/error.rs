//! Typed errors of the agent: what went wrong with the configuration ([`ConfigError`]) and why an
//! update or a detection failed ([`Failure`]), plus the process exit codes they map to.
//!
//! Variants carry data, not prose; Display text is short and lowercase. Nothing here ever holds a
//! token: callers pass key names and reasons, never values of secret keys. Whether a failure is
//! retried or stops the agent is decided by the protocol module that saw it (see `client::Outcome`).

use std::fmt;
use std::path::PathBuf;

/// Exit codes of `lucent-agent` (documented in `--help` and the README).
pub mod exit {
    /// One check-and-push succeeded (or nothing needed to be sent).
    pub const OK: i32 = 0;
    /// Any other failure: server error, unexpected answer, DNS back-end error.
    pub const FAILURE: i32 = 1;
    /// Bad command line.
    pub const USAGE: i32 = 2;
    /// The configuration (file, token file or environment) is invalid.
    pub const CONFIG: i32 = 3;
    /// The server refused the token (401, 403, `badauth`, `!donator`, `badagent`).
    pub const UNAUTHORIZED: i32 = 4;
    /// The server refused a hostname (404, `nohost`, `notfqdn`, `numhost`, `abuse`, DuckDNS `KO`).
    pub const HOSTNAME: i32 = 5;
    /// Rate limited (429).
    pub const RATE_LIMITED: i32 = 6;
    /// The server or the address echo service could not be reached (DNS, connect, timeout).
    pub const UNREACHABLE: i32 = 7;
    /// No usable public address was detected for any enabled family.
    pub const NO_ADDRESS: i32 = 8;
}

/// A configuration problem. `key` is the config key (`ipv4.source`) or environment variable.
#[derive(Debug)]
pub enum ConfigError {
    /// A file could not be read (the config file or `token_file`).
    Read { path: PathBuf, err: std::io::Error },
    /// TOML syntax, an unknown key, a wrong type or a missing required key.
    Parse {
        line: Option<usize>,
        key: Option<String>,
        message: String,
    },
    /// A value that parsed but makes no sense.
    Invalid { key: String, reason: String },
}

impl ConfigError {
    pub fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, err } => write!(f, "cannot read {}: {err}", path.display()),
            ConfigError::Parse { line, key, message } => {
                f.write_str("config")?;
                if let Some(line) = line {
                    write!(f, " line {line}")?;
                }
                if let Some(key) = key {
                    write!(f, " (key `{key}`)")?;
                }
                write!(f, ": {message}")
            }
            ConfigError::Invalid { key, reason } => write!(f, "config key `{key}`: {reason}"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Read { err, .. } => Some(err),
            _ => None,
        }
    }
}

/// Why one detection or update did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 401 or `badauth`: the token is missing or wrong.
    Unauthorized,
    /// 403: the account is disabled or banned.
    Forbidden,
    /// 404, `nohost`, `!yours`: the token does not own a hostname.
    HostnameNotFound,
    /// `notfqdn`: the server does not take the hostname as a full name.
    NotFqdn,
    /// `numhost`: too many hostnames in one request.
    TooManyHosts,
    /// `abuse`: the hostname is blocked.
    Abuse,
    /// `badagent`: the server refuses our User-Agent or method.
    BadAgent,
    /// `!donator`, `!active`, `badsys`: an option the account cannot use.
    NotAllowed(String),
    /// DuckDNS-style `KO` with status 200: token or hostname rejected.
    Rejected,
    /// 400: the server rejected the request as malformed.
    BadRequest,
    /// 429.
    RateLimited,
    /// `dnserr`: the server's DNS back end failed.
    DnsError,
    /// `911` or 5xx: the server is in trouble.
    ServerError(u16),
    /// Any other status.
    UnexpectedStatus(u16),
    /// A body we cannot understand (first line, cut short).
    BadResponse(String),
    /// Name resolution, connection or I/O failure (ureq's error text, no URL in it).
    Unreachable(String),
    /// The request timed out.
    Timeout,
    /// An echo service answered an address we must not publish (private, loopback, …).
    NotPublic(std::net::IpAddr),
    /// No usable address was detected for any enabled family.
    NoAddress,
}

impl Failure {
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Unauthorized
            | Failure::Forbidden
            | Failure::BadAgent
            | Failure::NotAllowed(_) => exit::UNAUTHORIZED,
            Failure::HostnameNotFound
            | Failure::NotFqdn
            | Failure::TooManyHosts
            | Failure::Abuse
            | Failure::Rejected => exit::HOSTNAME,
            Failure::RateLimited => exit::RATE_LIMITED,
            Failure::Unreachable(_) | Failure::Timeout => exit::UNREACHABLE,
            Failure::NoAddress | Failure::NotPublic(_) => exit::NO_ADDRESS,
            Failure::BadRequest
            | Failure::DnsError
            | Failure::ServerError(_)
            | Failure::UnexpectedStatus(_)
            | Failure::BadResponse(_) => exit::FAILURE,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Unauthorized => f.write_str("unauthorized: the server refused the token"),
            Failure::Forbidden => f.write_str("forbidden: the account is disabled or banned"),
            Failure::HostnameNotFound => {
                f.write_str("hostname not found: the token does not own a configured hostname")
            }
            Failure::NotFqdn => f.write_str("hostname is not a fully qualified name (notfqdn)"),
            Failure::TooManyHosts => f.write_str("too many hostnames in one request (numhost)"),
            Failure::Abuse => f.write_str("hostname blocked for abuse"),
            Failure::BadAgent => f.write_str("the server refused this client (badagent)"),
            Failure::NotAllowed(code) => write!(f, "the server refused the request ({code})"),
            Failure::Rejected => f.write_str("the server answered KO: token or hostname rejected"),
            Failure::BadRequest => f.write_str("the server rejected the request as invalid (400)"),
            Failure::RateLimited => f.write_str("rate limited by the server (429)"),
            Failure::DnsError => f.write_str("the server reported a DNS error (dnserr)"),
            Failure::ServerError(911) => f.write_str("the server is in maintenance (911)"),
            Failure::ServerError(s) => write!(f, "server error (HTTP {s})"),
            Failure::UnexpectedStatus(s) => write!(f, "unexpected answer (HTTP {s})"),
            Failure::BadResponse(body) => write!(f, "unexpected answer: {body:?}"),
            Failure::Unreachable(why) => write!(f, "unreachable: {why}"),
            Failure::Timeout => f.write_str("unreachable: request timed out"),
            // allow_private lives in the family's table ([ipv4] / [ipv6]), not at top level.
            Failure::NotPublic(ip) => write!(
                f,
                "detected address {ip} is not public ({}.allow_private = true or \
                 LD_ALLOW_PRIVATE=1 accepts it)",
                if ip.is_ipv4() { "ipv4" } else { "ipv6" }
            ),
            Failure::NoAddress => f.write_str("no usable public address detected"),
        }
    }
}

impl std::error::Error for Failure {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_distinct_per_class() {
        assert_eq!(Failure::Unauthorized.exit_code(), exit::UNAUTHORIZED);
        assert_eq!(Failure::HostnameNotFound.exit_code(), exit::HOSTNAME);
        assert_eq!(Failure::RateLimited.exit_code(), exit::RATE_LIMITED);
        assert_eq!(Failure::Timeout.exit_code(), exit::UNREACHABLE);
        assert_eq!(Failure::NoAddress.exit_code(), exit::NO_ADDRESS);
        assert_eq!(Failure::ServerError(503).exit_code(), exit::FAILURE);
    }

    /// Issue #14 item 23: the hint names the key as it is written, inside its table.
    #[test]
    fn not_public_hint_names_the_real_key() {
        let v4 = Failure::NotPublic("10.0.0.1".parse().unwrap()).to_string();
        assert!(v4.contains("ipv4.allow_private = true"), "{v4}");
        let v6 = Failure::NotPublic("fd00::1".parse().unwrap()).to_string();
        assert!(v6.contains("ipv6.allow_private = true"), "{v6}");
        assert!(v6.contains("LD_ALLOW_PRIVATE=1"), "{v6}");
    }

    #[test]
    fn config_error_display_is_one_line() {
        let e = ConfigError::Parse {
            line: Some(3),
            key: Some("ipv4.source".into()),
            message: "unknown variant `x`".into(),
        };
        assert_eq!(
            e.to_string(),
            "config line 3 (key `ipv4.source`): unknown variant `x`"
        );
        assert!(!e.to_string().contains('\n'));
    }
}
