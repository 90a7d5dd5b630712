//! DNS UPDATE (RFC 2136) as lucentd applies it: `dns::update::decode` on the raw input, and
//! every request that decodes applied by `domain::dns_update::apply` to a real store (an
//! SQLite file with a user, a hosted zone with records and a key for it), as one write. The
//! TSIG check is left out (a fuzzer cannot sign), so the input reaches the update rules.
//! Oracles: no panic; an update refused with any RCODE changes nothing (the zone's records
//! and serial are as before).
#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use lucent_server::dns::{ApexConfig, DnsView};
use lucent_server::domain::dns_update::{self, Rules};
use lucent_server::domain::records::Limits;
use lucent_server::model::{TtlRange, ZoneKind};
use lucent_server::store::queries::{records, update_keys, zones};
use lucent_server::store::Store;

struct Fixture {
    store: Store,
    _dir: std::path::PathBuf,
}

fn apex() -> ApexConfig {
    ApexConfig {
        nameservers: vec!["ns1.example.net".into()],
        rname: "hostmaster.example.net".into(),
        refresh: 3600,
        retry: 600,
        expire: 604800,
        minimum: 60,
        soa_ttl: 3600,
        ns_ttl: 86400,
        dnssec: lucent_server::dnssec::DnssecConfig {
            enabled: false,
            ..Default::default()
        },
    }
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let base = std::env::var_os("LUCENT_FUZZ_TMP").map_or_else(std::env::temp_dir, Into::into);
        let dir = base.join(format!("lucent-fuzz-update-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let view = Arc::new(DnsView::new(apex()));
        let store = Store::new(&dir.join("db"), view, apex()).expect("store");
        store
            .write(|w| {
                let (uid, _) = lucent_server::domain::users::add(w.tx, "f@example.org", None, None)
                    .expect("user");
                let z = lucent_server::domain::zones::create(
                    w,
                    &apex(),
                    "example.org",
                    ZoneKind::Hosted,
                    Some(uid),
                )
                .expect("zone");
                update_keys::insert(
                    w.tx,
                    uid,
                    "k",
                    "hmac-sha256",
                    &[7; 32],
                    Some(z.id),
                    &[],
                    "now",
                )?;
                Ok::<_, rusqlite::Error>(())
            })
            .expect("fixture");
        Fixture { store, _dir: dir }
    })
}

fn snapshot(store: &Store) -> (u32, Vec<(String, String, String, u32)>) {
    store
        .read(|c| {
            let z = zones::zone_by_name(c, "example.org")?.expect("zone");
            let mut recs: Vec<(String, String, String, u32)> = records::records_of_zone(c, z.id)?
                .into_iter()
                .map(|r| (r.name, r.rtype.as_str().to_string(), r.content, r.ttl))
                .collect();
            recs.sort();
            Ok::<_, rusqlite::Error>((z.serial, recs))
        })
        .expect("read")
}

fuzz_target!(|data: &[u8]| {
    let Ok(req) = lucent_server::dns::update::decode(data) else {
        return;
    };
    let f = fixture();
    let before = snapshot(&f.store);
    let rules = Rules {
        ttl: TtlRange {
            min: 30,
            max: 86400,
        },
        limits: Limits { max_records: 200 },
    };
    let from = IpAddr::V4(Ipv4Addr::LOCALHOST);
    // As the server runs it (api/dns_update.rs): an `Err` rolls the write back.
    let outcome = f.store.write(move |w| {
        let key = update_keys::by_name(w.tx, "k")?.expect("key");
        dns_update::apply(w, &key, &req, from, rules)
    });
    if let Err(refusal) = outcome {
        assert_ne!(refusal.rcode, 0, "a refusal with NOERROR");
        assert_ne!(refusal.rcode, 2, "a store failure: {refusal:?}");
        assert_eq!(
            snapshot(&f.store),
            before,
            "refused ({refusal:?}) yet changed"
        );
    }
});
