//! Configuration: [`RawConfig`] mirrors the TOML file (or the `LD_*` environment variables) and is
//! turned into a checked, typed [`Config`], the only type that leaves this module.
//!
//! `load(path)` does the file I/O and hands the text to `from_toml(&str)`, so tests parse inline
//! strings and `example.toml`. Reading `token_file` is the one other I/O done here, because a token
//! that cannot be read is a config error. The token lives in a [`Secret`] that prints `***`.
//! Which state file to use when none is named is decided by [`default_state_file`], a pure fn.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::ConfigError;

/// A token. Debug and Display print `***`; only [`Secret::expose`] gives the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The raw value, for the one place that puts it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Which update protocol the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// `GET /update` with `Authorization: Bearer` (Lucent Drift's own server).
    Lucent,
    /// `GET /update?token=…` (DuckDNS itself, or any DuckDNS-compatible server).
    Duckdns,
    /// `GET /nic/update` with Basic auth (Dyn, No-IP, deSEC, … and Lucent Drift).
    Dyndns2,
}

impl Protocol {
    /// The name as the config spells it (also kept in the state file).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Lucent => "lucent",
            Protocol::Duckdns => "duckdns",
            Protocol::Dyndns2 => "dyndns2",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where the address of one family comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Ask an echo service (`GET url` answers the caller's address as plain text).
    Http { url: String },
    /// Read the addresses of a local interface (`None` = every interface).
    Interface { name: Option<String> },
    /// Do not detect or send this family.
    Off,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Http { url } => write!(f, "http({url})"),
            Source::Interface { name: Some(n) } => write!(f, "interface({n})"),
            Source::Interface { name: None } => f.write_str("interface(any)"),
            Source::Off => f.write_str("off"),
        }
    }
}

/// Detection settings of one address family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    pub source: Source,
    /// Accept private, CGNAT/shared, ULA and loopback addresses (LAN-only setups and tests).
    pub allow_private: bool,
}

/// A PEM file of trusted root certificates (checked to hold at least one certificate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaBundle {
    pub path: PathBuf,
    pub pem: Vec<u8>,
}

/// The checked configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Base URL without a trailing slash, e.g. `https://ddns.example.org`.
    pub server: String,
    pub token: Secret,
    /// Basic-auth user name for dyndns2.
    pub username: String,
    /// Lower-case hostnames, in config order.
    pub hostnames: Vec<String>,
    pub interval: Duration,
    /// Push again after this long even when nothing changed (`None` = never).
    pub force_interval: Option<Duration>,
    /// Overall deadline of one HTTP request.
    pub timeout: Duration,
    /// Trusted root certificates replacing the built-in ones (`ca_file`), as read.
    pub ca: Option<CaBundle>,
    pub state_file: PathBuf,
    pub protocol: Protocol,
    pub ipv4: Family,
    pub ipv6: Family,
    /// LAN interface whose global /64 is sent as `ipv6prefix` (`[ipv6prefix]`; `None` = off).
    pub ipv6prefix: Option<String>,
}

impl Config {
    /// One log line describing the config; the token appears as `***`.
    pub fn summary(&self) -> String {
        let Config {
            server,
            token,
            username: _,
            hostnames,
            interval,
            force_interval,
            timeout,
            ca,
            state_file,
            protocol,
            ipv4,
            ipv6,
            ipv6prefix,
        } = self;
        let force = match force_interval {
            Some(d) => format!("{}s", d.as_secs()),
            None => "never".to_string(),
        };
        let ca = match ca {
            Some(c) => c.path.display().to_string(),
            None => "built-in".to_string(),
        };
        format!(
            "server={server} protocol={protocol} token={token} hostnames={} interval={}s \
             force_interval={force} timeout={}s ca={ca} ipv4={} ipv6={} ipv6prefix={} \
             state_file={}",
            hostnames.join(","),
            interval.as_secs(),
            timeout.as_secs(),
            ipv4.source,
            ipv6.source,
            ipv6prefix.as_deref().unwrap_or("off"),
            state_file.display()
        )
    }
}

fn default_interval() -> u64 {
    300
}
fn default_force_interval() -> u64 {
    7 * 24 * 3600
}
fn default_timeout() -> u64 {
    20
}
fn default_protocol() -> Protocol {
    Protocol::Lucent
}
fn default_username() -> &'static str {
    "lucent-agent"
}

/// The TOML file as written. Every default lives in a named fn above.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    server: String,
    token: Option<String>,
    token_file: Option<PathBuf>,
    username: Option<String>,
    hostnames: Vec<String>,
    #[serde(default = "default_interval")]
    interval: u64,
    #[serde(default = "default_force_interval")]
    force_interval: u64,
    #[serde(default = "default_timeout")]
    timeout: u64,
    ca_file: Option<PathBuf>,
    state_file: Option<PathBuf>,
    #[serde(default = "default_protocol")]
    protocol: Protocol,
    #[serde(default)]
    ipv4: RawFamily,
    #[serde(default)]
    ipv6: RawFamily,
    #[serde(default)]
    ipv6prefix: RawFamily,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RawSource {
    Http,
    Interface,
    Off,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFamily {
    /// `http`, `interface` or `off`, read as a string and checked in [`check_family`]: a serde
    /// enum visitor for it cost ~2 KiB of binary (and the same words come from `LD_IPV4`).
    source: Option<String>,
    url: Option<String>,
    interface: Option<String>,
    #[serde(default)]
    allow_private: bool,
}

/// Reads and checks a config file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|err| ConfigError::Read {
        path: path.to_path_buf(),
        err,
    })?;
    from_toml(&text)
}

/// Parses and checks config text; `state_file` defaults use the process environment.
pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| parse_error(text, &e))?;
    validate(raw, &|k| std::env::var(k).ok())
}

/// Builds the config from `LD_BASE`, `LD_TOKEN` or `LD_TOKEN_FILE`, and `LD_HOST` (comma list);
/// `LD_ALLOW_PRIVATE=1` sets `allow_private` for both families (LAN-only servers and tests);
/// `LD_IPV4` / `LD_IPV6` set a family's `source` (`http`, `interface` or `off`);
/// every other key takes its default. `env` is `std::env::var` outside tests.
pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let server = get("LD_BASE").ok_or_else(|| {
        ConfigError::invalid("LD_BASE", "not set (give --config FILE or set LD_BASE)")
    })?;
    let hosts = get("LD_HOST").ok_or_else(|| ConfigError::invalid("LD_HOST", "not set"))?;
    let allow_private = get("LD_ALLOW_PRIVATE")
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"));
    let family = |var| RawFamily {
        source: get(var).map(|v| v.trim().to_string()),
        allow_private,
        ..RawFamily::default()
    };
    let raw = RawConfig {
        server,
        token: get("LD_TOKEN"),
        token_file: get("LD_TOKEN_FILE").map(PathBuf::from),
        username: None,
        hostnames: hosts.split(',').map(|h| h.trim().to_string()).collect(),
        interval: default_interval(),
        force_interval: default_force_interval(),
        timeout: default_timeout(),
        ca_file: None,
        state_file: None,
        protocol: default_protocol(),
        ipv4: family("LD_IPV4"),
        ipv6: family("LD_IPV6"),
        ipv6prefix: RawFamily::default(),
    };
    validate(raw, env).map_err(|e| match e {
        // Name the variables, not the TOML keys, when the environment was the source.
        ConfigError::Invalid { key, reason } => {
            let var = match key.as_str() {
                "server" => "LD_BASE",
                "token" => "LD_TOKEN",
                "token_file" => "LD_TOKEN_FILE",
                "token or token_file" => "LD_TOKEN or LD_TOKEN_FILE",
                "hostnames" => "LD_HOST",
                "ipv4.source" => "LD_IPV4",
                "ipv6.source" => "LD_IPV6",
                _ => return ConfigError::Invalid { key, reason },
            };
            ConfigError::invalid(var, reason)
        }
        other => other,
    })
}

/// Turns a toml error into one line naming the line and, when we can tell, the key.
fn parse_error(text: &str, e: &toml::de::Error) -> ConfigError {
    let message = e.message().trim().replace('\n', " ");
    let Some(span) = e.span() else {
        return ConfigError::Parse {
            line: None,
            key: None,
            message,
        };
    };
    let start = span.start.min(text.len());
    let line_no = text[..start].matches('\n').count() + 1;
    let mut table: Option<String> = None;
    let mut key = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') && !t.starts_with("[[") {
            table = Some(t.trim_matches(|c| c == '[' || c == ']').trim().to_string());
        }
        if i + 1 == line_no {
            if let Some((k, _)) = t.split_once('=') {
                let k = k.trim().trim_matches('"');
                key = Some(match &table {
                    Some(tbl) => format!("{tbl}.{k}"),
                    None => k.to_string(),
                });
            } else if t.starts_with('[') {
                key = table.clone();
            }
            break;
        }
    }
    ConfigError::Parse {
        line: Some(line_no),
        key,
        message,
    }
}

fn validate(raw: RawConfig, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    let RawConfig {
        server,
        token,
        token_file,
        username,
        hostnames,
        interval,
        force_interval,
        timeout,
        ca_file,
        state_file,
        protocol,
        ipv4,
        ipv6,
        ipv6prefix,
    } = raw;

    let server = check_url("server", &server)?;
    let token = match (token, token_file) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::invalid(
                "token or token_file",
                "give only one of them",
            ))
        }
        (None, None) => {
            return Err(ConfigError::invalid(
                "token or token_file",
                "one is required",
            ))
        }
        (Some(t), None) => check_token("token", t.trim())?,
        (None, Some(path)) => {
            let text =
                std::fs::read_to_string(&path).map_err(|err| ConfigError::Read { path, err })?;
            check_token("token_file", text.trim())?
        }
    };
    let username = match username {
        Some(u) if u.is_empty() || u.contains(':') || u.chars().any(char::is_control) => {
            return Err(ConfigError::invalid(
                "username",
                "must be non-empty, without ':' or control characters",
            ))
        }
        Some(u) => u,
        None => default_username().to_string(),
    };

    if hostnames.is_empty() {
        return Err(ConfigError::invalid(
            "hostnames",
            "at least one is required",
        ));
    }
    let mut hosts = Vec::with_capacity(hostnames.len());
    for h in &hostnames {
        let h = check_hostname(h)?;
        if !hosts.contains(&h) {
            hosts.push(h);
        }
    }

    if interval == 0 {
        return Err(ConfigError::invalid(
            "interval",
            "must be at least 1 second",
        ));
    }
    if timeout == 0 || timeout > 300 {
        return Err(ConfigError::invalid("timeout", "must be 1..=300 seconds"));
    }

    let ca = ca_file.map(check_ca_file).transpose()?;
    let ipv4 = check_family("ipv4", ipv4, RawSource::Http, &server)?;
    let ipv6 = check_family("ipv6", ipv6, RawSource::Interface, &server)?;
    if ipv4.source == Source::Off && ipv6.source == Source::Off {
        return Err(ConfigError::invalid(
            "ipv4.source",
            "ipv4 and ipv6 are both off: nothing to detect",
        ));
    }

    let ipv6prefix = check_prefix(ipv6prefix)?;

    let state_file = match state_file {
        Some(p) if p.as_os_str().is_empty() => {
            return Err(ConfigError::invalid("state_file", "must not be empty"))
        }
        Some(p) => p,
        None => default_state_file(env, &dir_is_writable),
    };

    Ok(Config {
        server,
        token,
        username,
        hostnames: hosts,
        interval: Duration::from_secs(interval),
        force_interval: (force_interval > 0).then(|| Duration::from_secs(force_interval)),
        timeout: Duration::from_secs(timeout),
        ca,
        state_file,
        protocol,
        ipv4,
        ipv6,
        ipv6prefix,
    })
}

/// An `http://` or `https://` URL without credentials, query or fragment; trailing `/` removed.
fn check_url(key: &str, url: &str) -> Result<String, ConfigError> {
    let url = url.trim();
    let rest = if let Some(r) = url.strip_prefix("https://") {
        if !cfg!(feature = "tls") {
            return Err(ConfigError::invalid(
                key,
                "https is not available: this build has no TLS (feature `tls`)",
            ));
        }
        r
    } else if let Some(r) = url.strip_prefix("http://") {
        r
    } else {
        return Err(ConfigError::invalid(
            key,
            "must start with http:// or https://",
        ));
    };
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() {
        return Err(ConfigError::invalid(key, "has no host"));
    }
    if rest.contains('@') || rest.contains('?') || rest.contains('#') {
        return Err(ConfigError::invalid(
            key,
            "must not contain credentials, a query or a fragment",
        ));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConfigError::invalid(key, "contains whitespace"));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// Reads `ca_file` and checks it holds at least one PEM certificate.
fn check_ca_file(path: PathBuf) -> Result<CaBundle, ConfigError> {
    if !cfg!(feature = "tls") {
        return Err(ConfigError::invalid(
            "ca_file",
            "this build has no TLS (feature `tls`)",
        ));
    }
    let pem = std::fs::read(&path).map_err(|err| ConfigError::Read {
        path: path.clone(),
        err,
    })?;
    #[cfg(feature = "tls")]
    {
        let certs = crate::client::parse_certs(&pem);
        if certs.is_empty() {
            return Err(ConfigError::invalid(
                "ca_file",
                format!("{} holds no PEM certificate", path.display()),
            ));
        }
    }
    Ok(CaBundle { path, pem })
}

fn check_token(key: &str, t: &str) -> Result<Secret, ConfigError> {
    if t.is_empty() {
        return Err(ConfigError::invalid(key, "the token is empty"));
    }
    // Never echo the value: a token with odd characters is reported by key only.
    if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConfigError::invalid(
            key,
            "the token contains whitespace or control characters",
        ));
    }
    Ok(Secret::new(t))
}

/// A hostname or a bare label: LDH labels of 1..=63 bytes, at most 253 bytes, lower-cased.
pub fn check_hostname(h: &str) -> Result<String, ConfigError> {
    let h = h.trim().trim_end_matches('.').to_ascii_lowercase();
    let bad = |why: &str| ConfigError::invalid("hostnames", format!("{h:?}: {why}"));
    if h.is_empty() {
        return Err(bad("empty hostname"));
    }
    if h.len() > 253 {
        return Err(bad("longer than 253 bytes"));
    }
    for label in h.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(bad("each label must be 1..=63 bytes"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad("only letters, digits, '-' and '_' are allowed"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("a label cannot start or end with '-'"));
        }
    }
    Ok(h)
}

/// `[ipv6prefix]`: the interface named with `source = "interface"`, `None` when off.
fn check_prefix(raw: RawFamily) -> Result<Option<String>, ConfigError> {
    // The [ipv4]/[ipv6] table type and checks, for one serde visitor less (~6 KiB of binary);
    // of its keys only `source` (interface or off) and `interface` apply here.
    if raw.allow_private {
        return Err(ConfigError::invalid(
            "ipv6prefix.allow_private",
            "only applies to [ipv4] and [ipv6]",
        ));
    }
    if !matches!(raw.source.as_deref(), None | Some("interface" | "off")) {
        return Err(ConfigError::invalid(
            "ipv6prefix.source",
            "must be \"interface\" or \"off\"",
        ));
    }
    match check_family("ipv6prefix", raw, RawSource::Off, "")?.source {
        Source::Interface { name: Some(n) } => Ok(Some(n)),
        Source::Interface { name: None } => Err(ConfigError::invalid(
            "ipv6prefix.interface",
            "required with source = \"interface\" (the LAN-side device, e.g. br-lan)",
        )),
        _ => Ok(None),
    }
}

fn check_family(
    name: &str,
    raw: RawFamily,
    default: RawSource,
    server: &str,
) -> Result<Family, ConfigError> {
    let RawFamily {
        source,
        url,
        interface,
        allow_private,
    } = raw;
    let source = match source.as_deref() {
        None => default,
        Some("http") => RawSource::Http,
        Some("interface") => RawSource::Interface,
        Some("off") => RawSource::Off,
        Some(_) => {
            return Err(ConfigError::invalid(
                format!("{name}.source"),
                "must be \"http\", \"interface\" or \"off\"",
            ))
        }
    };
    if url.is_some() && source != RawSource::Http {
        return Err(ConfigError::invalid(
            format!("{name}.url"),
            "only applies to source = \"http\"",
        ));
    }
    if interface.is_some() && source != RawSource::Interface {
        return Err(ConfigError::invalid(
            format!("{name}.interface"),
            "only applies to source = \"interface\"",
        ));
    }
    let source = match source {
        RawSource::Http => Source::Http {
            url: match url {
                Some(u) => check_url(&format!("{name}.url"), &u)?,
                None => format!("{server}/ip"),
            },
        },
        RawSource::Interface => match interface {
            Some(i) if i.trim().is_empty() => {
                return Err(ConfigError::invalid(
                    format!("{name}.interface"),
                    "must not be empty (leave it out to use every interface)",
                ))
            }
            i => Source::Interface {
                name: i.map(|s| s.trim().to_string()),
            },
        },
        RawSource::Off => Source::Off,
    };
    Ok(Family {
        source,
        allow_private,
    })
}

/// The state file used when the config names none, first match wins:
/// `$STATE_DIRECTORY/state.json` (systemd `StateDirectory=`),
/// `$XDG_STATE_HOME/lucent-agent/state.json`, `/var/lib/lucent-agent/state.json` when
/// `/var/lib/lucent-agent` (or `/var/lib`, to create it in) is writable,
/// `$HOME/.local/state/lucent-agent/state.json`, else `lucent-agent-state.json` in the
/// working directory.
pub fn default_state_file(
    env: &dyn Fn(&str) -> Option<String>,
    writable: &dyn Fn(&Path) -> bool,
) -> PathBuf {
    let non_empty = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(dir) = non_empty("STATE_DIRECTORY") {
        // systemd may pass several directories separated by ':'; the first is ours.
        let first = dir.split(':').next().unwrap_or(&dir).to_string();
        return Path::new(&first).join("state.json");
    }
    if let Some(dir) = non_empty("XDG_STATE_HOME") {
        return Path::new(&dir).join("lucent-agent/state.json");
    }
    let var_lib = Path::new("/var/lib/lucent-agent");
    if writable(var_lib) || (!var_lib.exists() && writable(Path::new("/var/lib"))) {
        return var_lib.join("state.json");
    }
    if let Some(home) = non_empty("HOME") {
        return Path::new(&home).join(".local/state/lucent-agent/state.json");
    }
    PathBuf::from("lucent-agent-state.json")
}

/// Whether we may create files in `dir` (it exists, is a directory and is not read-only to us).
fn dir_is_writable(dir: &Path) -> bool {
    // A cheap probe: create and remove a file. Metadata permission bits do not account for
    // uid, read-only mounts or ACLs.
    if !dir.is_dir() {
        return false;
    }
    let probe = dir.join(format!(".lucent-agent-probe-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            true
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const MINIMAL: &str = r#"
server = "http://127.0.0.1:8080/"
token = "t0k3n-secret"
hostnames = ["Home.Demo.Test"]
state_file = "/tmp/x.json"
"#;

    fn err(text: &str) -> String {
        from_toml(text).unwrap_err().to_string()
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = from_toml(MINIMAL).unwrap();
        assert_eq!(c.server, "http://127.0.0.1:8080");
        assert_eq!(c.hostnames, vec!["home.demo.test"]);
        assert_eq!(c.interval, Duration::from_secs(300));
        assert_eq!(c.force_interval, Some(Duration::from_secs(604800)));
        assert_eq!(c.protocol, Protocol::Lucent);
        assert_eq!(c.username, "lucent-agent");
        assert_eq!(
            c.ipv4.source,
            Source::Http {
                url: "http://127.0.0.1:8080/ip".into()
            }
        );
        assert_eq!(c.ipv6.source, Source::Interface { name: None });
        assert!(!c.ipv4.allow_private);
        assert_eq!(c.ipv6prefix, None);
    }

    /// Issue #18: `[ipv6prefix]` with `source = "interface" | "off"`.
    #[test]
    fn ipv6prefix_table() {
        let on =
            format!("{MINIMAL}[ipv6prefix]\nsource = \"interface\"\ninterface = \" br-lan \"\n");
        assert_eq!(
            from_toml(&on).unwrap().ipv6prefix.as_deref(),
            Some("br-lan")
        );
        assert!(from_toml(&on)
            .unwrap()
            .summary()
            .contains("ipv6prefix=br-lan"));
        let off = format!("{MINIMAL}[ipv6prefix]\nsource = \"off\"\n");
        assert_eq!(from_toml(&off).unwrap().ipv6prefix, None);
        assert_eq!(
            from_toml(&format!("{MINIMAL}[ipv6prefix]\n"))
                .unwrap()
                .ipv6prefix,
            None
        );
        for (bad, words) in [
            ("source = \"interface\"\n", "ipv6prefix.interface"),
            (
                "source = \"interface\"\ninterface = \" \"\n",
                "ipv6prefix.interface",
            ),
            ("interface = \"br-lan\"\n", "only applies"),
            ("source = \"off\"\ninterface = \"br-lan\"\n", "only applies"),
            ("source = \"http\"\n", "ipv6prefix.source"),
            ("source = \"lan\"\n", "ipv6prefix.source"),
            ("url = \"http://x/ip\"\n", "ipv6prefix.url"),
            ("allow_private = true\n", "ipv6prefix.allow_private"),
            ("interface = 5\n", "ipv6prefix.interface"),
        ] {
            let e = err(&format!("{MINIMAL}[ipv6prefix]\n{bad}"));
            assert!(e.contains(words), "{bad:?}: {e}");
        }
    }

    #[test]
    fn example_toml_parses() {
        let text = include_str!("../example.toml");
        // The sample uses https; a plain-HTTP build (no `tls` feature) rejects that by design.
        let text = if cfg!(feature = "tls") {
            text.to_string()
        } else {
            text.replace("https://", "http://")
        };
        let c = from_toml(&text).expect("example.toml must stay valid");
        assert_eq!(c.protocol, Protocol::Lucent);
        assert!(!c.hostnames.is_empty());
        assert_eq!(c.ipv6prefix, None);
        // Its commented-out [ipv6prefix] lines, switched on, are valid too.
        let on = text
            .replace("source = \"off\"", "source = \"interface\"")
            .replace("# interface = \"br-lan\"", "interface = \"br-lan\"");
        assert_eq!(
            from_toml(&on).unwrap().ipv6prefix.as_deref(),
            Some("br-lan")
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let e = err(&format!("{MINIMAL}\nintervall = 5\n"));
        assert!(e.contains("intervall"), "{e}");
        let e = err(&format!("{MINIMAL}\n[ipv6]\nsourse = \"off\"\n"));
        assert!(e.contains("sourse"), "{e}");
    }

    #[test]
    fn wrong_type_names_key_and_line() {
        let e = err(&format!("{MINIMAL}interval = \"five\"\n"));
        assert!(e.contains("`interval`"), "{e}");
        assert!(e.contains("line 6"), "{e}");
        assert!(!e.contains('\n'), "{e}");
        let e = err(&format!("{MINIMAL}[ipv4]\nallow_private = \"yes\"\n"));
        assert!(e.contains("`ipv4.allow_private`"), "{e}");
        let e = err(&format!("{MINIMAL}protocol = \"nsupdate\"\n"));
        assert!(e.contains("`protocol`"), "{e}");
    }

    #[test]
    fn missing_required_key() {
        let e = err("token = \"x\"\nhostnames = [\"a\"]\n");
        assert!(e.contains("server"), "{e}");
    }

    #[test]
    fn token_errors_never_echo_the_token() {
        let text = MINIMAL.replace("t0k3n-secret", "t0k3n secret");
        let e = err(&text);
        assert!(e.contains("whitespace"), "{e}");
        assert!(!e.contains("t0k3n"), "{e}");
        let both = format!("{MINIMAL}token_file = \"/nonexistent\"\n");
        assert!(err(&both).contains("only one"));
    }

    #[test]
    fn token_file_is_read_and_trimmed() {
        let dir = std::env::temp_dir().join(format!("la-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("token");
        std::fs::write(&f, "abc123\n").unwrap();
        let text = MINIMAL.replace(
            "token = \"t0k3n-secret\"",
            &format!("token_file = {:?}", f.display().to_string()),
        );
        let c = from_toml(&text).unwrap();
        assert_eq!(c.token.expose(), "abc123");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_values() {
        assert!(err(&MINIMAL.replace("http://", "ftp://")).contains("`server`"));
        assert!(err(&MINIMAL.replace("Home.Demo.Test", "bad host")).contains("hostnames"));
        assert!(err(&MINIMAL.replace("Home.Demo.Test", "-x.test")).contains("hostnames"));
        assert!(err(&format!("{MINIMAL}interval = 0\n")).contains("interval"));
        let off = format!("{MINIMAL}[ipv4]\nsource = \"off\"\n[ipv6]\nsource = \"off\"\n");
        assert!(err(&off).contains("both off"));
        let dns = format!("{MINIMAL}[ipv4]\nsource = \"dns\"\n");
        assert!(
            err(&dns).contains("`ipv4.source`: must be"),
            "{}",
            err(&dns)
        );
        let url = format!("{MINIMAL}[ipv6]\nurl = \"http://x/ip\"\n");
        assert!(err(&url).contains("ipv6.url"));
        let creds = MINIMAL.replace("127.0.0.1:8080/", "u:p@127.0.0.1:8080");
        assert!(err(&creds).contains("credentials"));
    }

    /// A throwaway self-signed test CA (no key is kept anywhere).
    const TEST_CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBhzCCAS2gAwIBAgIUHWqH2bxCyNLoRho8bpKURdewCo8wCgYIKoZIzj0EAwIw\nGTEXMBUGA1UEAwwObHVjZW50LXRlc3QtY2EwHhcNMjYxMTI1MDYxODE0WhcNMzYx\nMTIyMDYxODE0WjAZMRcwFQYDVQQDDA5sdWNlbnQtdGVzdC1jYTBZMBMGByqGSM49\nAgEGCCqGSM49AwEHA0IABKnjJZ0yzElKLKqDtcE0+EoLpyIg6Z1u5xCfLRTohBGC\nibySrWQZK7M06GRshX5Clh2HdGVp90efKB82rvTcmPCjUzBRMB0GA1UdDgQWBBRJ\nBAgArrX4ssRDtWkmrRpn7WuUujAfBgNVHSMEGDAWgBRJBAgArrX4ssRDtWkmrRpn\n7WuUujAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCICTDdyx2y5eN\nqrb7gKcPeyegWhvcnS2A8tzNKwRysaahAiEAoyjRdWyNNftXaDi/IKbBR5BRU518\n2BlrqZdvC+Ez6Q0=\n-----END CERTIFICATE-----\n";

    #[test]
    fn ca_file_must_hold_a_certificate() {
        let dir = std::env::temp_dir().join(format!("la-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("ca.pem");
        std::fs::write(&good, TEST_CA).unwrap();
        let bad = dir.join("bad.pem");
        std::fs::write(&bad, "not a certificate\n").unwrap();
        let with = |p: &Path| {
            from_toml(&format!(
                "{MINIMAL}ca_file = {:?}\n",
                p.display().to_string()
            ))
        };
        if cfg!(feature = "tls") {
            let c = with(&good).unwrap();
            assert_eq!(c.ca.unwrap().path, good);
            assert!(with(&bad)
                .unwrap_err()
                .to_string()
                .contains("no PEM certificate"));
        } else {
            assert!(with(&good).unwrap_err().to_string().contains("no TLS"));
        }
        assert!(with(&dir.join("missing.pem")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn https_needs_the_tls_feature() {
        let r = from_toml(&MINIMAL.replace("http://", "https://"));
        if cfg!(feature = "tls") {
            assert!(r.is_ok());
        } else {
            assert!(r.unwrap_err().to_string().contains("no TLS"));
        }
    }

    #[test]
    fn family_settings() {
        let text = format!(
            "{MINIMAL}protocol = \"dyndns2\"\nusername = \"me\"\nforce_interval = 0\n\
             [ipv4]\nsource = \"interface\"\ninterface = \"wan\"\nallow_private = true\n\
             [ipv6]\nsource = \"http\"\nurl = \"http://[::1]:9/ip\"\n"
        );
        let c = from_toml(&text).unwrap();
        assert_eq!(c.protocol, Protocol::Dyndns2);
        assert_eq!(c.username, "me");
        assert_eq!(c.force_interval, None);
        assert_eq!(
            c.ipv4,
            Family {
                source: Source::Interface {
                    name: Some("wan".into())
                },
                allow_private: true
            }
        );
        assert_eq!(
            c.ipv6.source,
            Source::Http {
                url: "http://[::1]:9/ip".into()
            }
        );
    }

    #[test]
    fn summary_hides_token() {
        let c = from_toml(MINIMAL).unwrap();
        let s = c.summary();
        assert!(!s.contains("t0k3n"), "{s}");
        assert!(s.contains("token=***"));
        assert!(!format!("{c:?}").contains("t0k3n"));
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn env_config() {
        let env = env_of(&[
            ("LD_BASE", "http://127.0.0.1:8080"),
            ("LD_TOKEN", "tok"),
            ("LD_HOST", "a.demo.test, b.demo.test"),
            ("XDG_STATE_HOME", "/tmp/xdg"),
        ]);
        let c = from_env(&env).unwrap();
        assert_eq!(c.hostnames, vec!["a.demo.test", "b.demo.test"]);
        assert_eq!(c.token.expose(), "tok");
        assert_eq!(
            c.state_file,
            PathBuf::from("/tmp/xdg/lucent-agent/state.json")
        );

        let e = from_env(&env_of(&[("LD_TOKEN", "x"), ("LD_HOST", "a")])).unwrap_err();
        assert!(e.to_string().contains("LD_BASE"), "{e}");
        let e = from_env(&env_of(&[("LD_BASE", "http://x"), ("LD_HOST", "a")])).unwrap_err();
        assert!(e.to_string().contains("LD_TOKEN"), "{e}");
        let e = from_env(&env_of(&[
            ("LD_BASE", "gopher://x"),
            ("LD_TOKEN", "x"),
            ("LD_HOST", "a"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("LD_BASE"), "{e}");
    }

    /// Issue #14 item 23: either family can be switched off (or its source chosen) without a
    /// config file.
    #[test]
    fn env_family_sources() {
        let base = [
            ("LD_BASE", "http://127.0.0.1:8080"),
            ("LD_TOKEN", "tok"),
            ("LD_HOST", "a"),
        ];
        let with = |extra: &[(&str, &str)]| from_env(&env_of(&[&base[..], extra].concat()));
        let c = with(&[("LD_IPV6", "off")]).unwrap();
        assert_eq!(c.ipv6.source, Source::Off);
        assert!(matches!(c.ipv4.source, Source::Http { .. }));
        let c = with(&[("LD_IPV4", " off "), ("LD_IPV6", "http")]).unwrap();
        assert_eq!(c.ipv4.source, Source::Off);
        assert!(matches!(c.ipv6.source, Source::Http { .. }));
        let c = with(&[("LD_IPV4", "interface"), ("LD_ALLOW_PRIVATE", "1")]).unwrap();
        assert_eq!(c.ipv4.source, Source::Interface { name: None });
        assert!(c.ipv4.allow_private && c.ipv6.allow_private);
        let e = with(&[("LD_IPV6", "no")]).unwrap_err().to_string();
        assert!(e.contains("LD_IPV6") && e.contains("off"), "{e}");
        let e = with(&[("LD_IPV4", "off"), ("LD_IPV6", "off")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("LD_IPV4") && e.contains("both off"), "{e}");
    }

    #[test]
    fn default_state_file_order() {
        let never = |_: &Path| false;
        let always = |_: &Path| true;
        let p = default_state_file(&env_of(&[("STATE_DIRECTORY", "/s:/t")]), &always);
        assert_eq!(p, PathBuf::from("/s/state.json"));
        let p = default_state_file(&env_of(&[("XDG_STATE_HOME", "/x")]), &always);
        assert_eq!(p, PathBuf::from("/x/lucent-agent/state.json"));
        let p = default_state_file(&env_of(&[("HOME", "/h")]), &always);
        assert_eq!(p, PathBuf::from("/var/lib/lucent-agent/state.json"));
        let p = default_state_file(&env_of(&[("HOME", "/h")]), &never);
        assert_eq!(p, PathBuf::from("/h/.local/state/lucent-agent/state.json"));
        let p = default_state_file(&env_of(&[]), &never);
        assert_eq!(p, PathBuf::from("lucent-agent-state.json"));
    }
}
