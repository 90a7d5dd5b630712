//! The `[dnssec]` table (SPEC.md "DNSSEC"), checked into a [`DnssecConfig`].

use serde::Deserialize;

use super::{err, ConfigError};
use crate::dnssec::{Algorithm, Denial, DnssecConfig};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDnssec {
    #[serde(default = "d_true")]
    pub enabled: bool,
    #[serde(default = "d_algorithm")]
    pub algorithm: String,
    #[serde(default = "d_denial")]
    pub denial: String,
    #[serde(default = "d_validity")]
    pub signature_validity_days: u32,
    #[serde(default = "d_refresh")]
    pub signature_refresh_days: u32,
}

fn d_true() -> bool {
    true
}
fn d_algorithm() -> String {
    "ecdsap256sha256".into()
}
fn d_denial() -> String {
    "nsec3".into()
}
fn d_validity() -> u32 {
    14
}
fn d_refresh() -> u32 {
    7
}

impl Default for RawDnssec {
    fn default() -> Self {
        super::from_empty()
    }
}

impl RawDnssec {
    pub fn check(&self) -> Result<DnssecConfig, ConfigError> {
        let algorithm = Algorithm::from_config(&self.algorithm).or_else(|_| {
            err(format!(
                "dnssec.algorithm = {:?}: use \"ecdsap256sha256\" (13) or \"ed25519\" (15)",
                self.algorithm
            ))
        })?;
        let denial = match self.denial.to_ascii_lowercase().as_str() {
            "nsec3" => Denial::Nsec3,
            "nsec" => Denial::Nsec,
            _ => {
                return err(format!(
                    "dnssec.denial = {:?}: use \"nsec3\" or \"nsec\"",
                    self.denial
                ))
            }
        };
        let (valid, refresh) = (self.signature_validity_days, self.signature_refresh_days);
        // A refresh needs time to happen before expiry, and signatures older than a year
        // would be replayable for too long.
        if !(2..=365).contains(&valid) {
            return err("dnssec.signature_validity_days must be between 2 and 365");
        }
        if refresh == 0 || refresh >= valid {
            return err(
                "dnssec.signature_refresh_days must be at least 1 and below signature_validity_days",
            );
        }
        Ok(DnssecConfig {
            enabled: self.enabled,
            algorithm,
            denial,
            validity_secs: u64::from(valid) * 86400,
            refresh_secs: u64::from(refresh) * 86400,
        })
    }
}
