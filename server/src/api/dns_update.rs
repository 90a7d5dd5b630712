//! The fifth protocol's entry: DNS UPDATE (RFC 2136) reaches the same store and rules as the
//! HTTP APIs. The DNS side (`dns::update`) decodes and checks the TSIG; this handler finds the
//! key (read fresh for every UPDATE, so a revoked key stops working at once), applies the
//! per-key rate limit of the update tokens, and runs `domain::dns_update::apply` as one write
//! of the group commit: the answer goes out once the change is durable and published.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use crate::api::Ctx;
use crate::clock;
use crate::dns::tsig::{Algorithm, TsigKey};
use crate::dns::update::UpdateHandler;
use crate::domain::dns_update::{self, Rules};
use crate::domain::records::Limits;
use crate::model::update::{rcode, Refusal, UpdateRequest};
use crate::store::queries::update_keys;

pub struct Handler {
    pub ctx: Arc<Ctx>,
}

/// The rate-limit key of a TSIG key (the update tokens' limiter is keyed by hashes too).
fn limit_key(name: &str) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, format!("tsig:{name}").as_bytes());
    let mut k = [0u8; 32];
    k.copy_from_slice(d.as_ref());
    k
}

impl UpdateHandler for Handler {
    fn key(&self, name: &str) -> Option<Arc<TsigKey>> {
        let row = self
            .ctx
            .store
            .read(|c| update_keys::by_name(c, name))
            .map_err(|e| log::warn!("update: reading key {name}: {e}"))
            .ok()??;
        let alg = Algorithm::from_name(&row.algorithm)?;
        TsigKey::new(&row.name, alg, row.secret).ok().map(Arc::new)
    }

    fn apply(
        &self,
        key: String,
        req: UpdateRequest,
        from: IpAddr,
    ) -> Pin<Box<dyn Future<Output = u8> + Send>> {
        let ctx = self.ctx.clone();
        Box::pin(async move {
            if !ctx
                .token_limits
                .check(&limit_key(&key), clock::unix_now())
                .allowed
            {
                log::info!("update: key {key} is over its rate limit; refused");
                return rcode::REFUSED;
            }
            let rules = Rules {
                ttl: ctx.ttl_range(),
                limits: Limits {
                    max_records: ctx.config.limits.max_records_per_zone,
                },
            };
            let zone = req.zone.clone();
            let k = key.clone();
            let done = ctx
                .store
                .write_async(move |w| {
                    let row = update_keys::by_name(w.tx, &k)?
                        .ok_or_else(|| Refusal::new(rcode::NOTAUTH, "the key was revoked"))?;
                    // An `Err` rolls the write's savepoint back: a refused update changes
                    // nothing, even after some of its records were rewritten.
                    dns_update::apply(w, &row, &req, from, rules)
                })
                .await;
            match done {
                Ok(changed) => {
                    log::info!(
                        "update: key {key} from {from}: zone {zone} {}",
                        if changed { "changed" } else { "unchanged" }
                    );
                    rcode::NOERROR
                }
                Err(r) if r.rcode == rcode::SERVFAIL => {
                    log::error!("update: key {key}: {}", r.why);
                    r.rcode
                }
                Err(r) => {
                    log::info!(
                        "update: key {key} from {from}: zone {zone}: {} (rcode {})",
                        r.why,
                        r.rcode
                    );
                    r.rcode
                }
            }
        })
    }
}
