//! `[[dns.tsig_keys]]` and `[[dns.secondaries]]` (SPEC.md "Zone transfers, secondaries, zone
//! files"), checked into an [`XfrConfig`].

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;

use super::{err, ConfigError};
use crate::dns::tsig::TsigKey;
use crate::dns::xfr::{Secondary, XfrConfig};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTsigKey {
    pub name: String,
    #[serde(default = "d_algorithm")]
    pub algorithm: String,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

fn d_algorithm() -> String {
    "hmac-sha256".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecondary {
    pub notify: String,
    pub key: String,
    #[serde(default = "d_zones")]
    pub zones: Vec<String>,
}

fn d_zones() -> Vec<String> {
    vec!["*".into()]
}

/// Check the keys (algorithm, base64 secret, at least 16 octets, unique names) and the
/// secondaries (address, a key that exists, zone names).
pub fn check(keys: &[RawTsigKey], secondaries: &[RawSecondary]) -> Result<XfrConfig, ConfigError> {
    let mut out = XfrConfig::default();
    for k in keys {
        let secret = match (&k.secret, &k.secret_file) {
            (Some(s), None) => s.clone(),
            (None, Some(p)) => {
                let text = fs::read_to_string(p).map_err(|error| ConfigError::Read {
                    what: "dns.tsig_keys secret_file",
                    path: p.clone(),
                    error,
                })?;
                // A `tsig-keygen` key clause, or the bare base64 secret.
                if text.contains('{') {
                    let parsed = TsigKey::parse_bind(&text)
                        .map_err(|e| ConfigError::Invalid(format!("dns.tsig_keys: {e}")))?;
                    match parsed.into_iter().next() {
                        Some(p) => p.secret_base64(),
                        None => {
                            return err(format!(
                                "dns.tsig_keys {:?}: no key in {}",
                                k.name,
                                p.display()
                            ))
                        }
                    }
                } else {
                    text.trim().to_string()
                }
            }
            _ => {
                return err(format!(
                    "dns.tsig_keys {:?}: give exactly one of secret and secret_file",
                    k.name
                ))
            }
        };
        let key = TsigKey::from_base64(&k.name, &k.algorithm, &secret)
            .map_err(|e| ConfigError::Invalid(format!("dns.tsig_keys: {e}")))?;
        // RFC 8945 §6: the secret should be at least as long as the hash (32 octets for
        // SHA-256); below 16 octets it is refused outright.
        if key.secret_len() < 16 {
            return err(format!(
                "dns.tsig_keys {:?}: the secret is only {} octets; use at least 16 (tsig-keygen makes 32)",
                k.name,
                key.secret_len()
            ));
        }
        if out.key(key.name()).is_some() {
            return err(format!("dns.tsig_keys: key {:?} is listed twice", k.name));
        }
        out.keys.push(Arc::new(key));
    }
    for s in secondaries {
        let notify = s.notify.parse().map_err(|_| {
            ConfigError::Invalid(format!(
                "dns.secondaries notify = {:?}: not ADDR:PORT (e.g. 192.0.2.53:53)",
                s.notify
            ))
        })?;
        let key = out.key(&s.key).ok_or_else(|| {
            ConfigError::Invalid(format!(
                "dns.secondaries: key {:?} is not in [[dns.tsig_keys]]",
                s.key
            ))
        })?;
        if s.zones.is_empty() {
            return err("dns.secondaries zones: list zone names, or [\"*\"] for all");
        }
        let zones = if s.zones.iter().any(|z| z == "*") {
            None
        } else {
            Some(
                s.zones
                    .iter()
                    .map(|z| {
                        crate::model::name::domain_name(z).map_err(|e| {
                            ConfigError::Invalid(format!("dns.secondaries zones: {e}"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            )
        };
        out.secondaries.push(Secondary { notify, key, zones });
    }
    Ok(out)
}
