//! The HTTP API handlers without a socket: `api::handle` (routing, auth, rate limits, JSON
//! bodies of the hostname, update, dyndns2 and LuaDNS APIs) over a real store in a temporary
//! file, driven by a request built from the fuzz input: byte 0 picks method and route, byte 1
//! the credentials, the bytes up to the first newline become the query string and the rest the
//! body. Oracle: no panic and never a 5xx.
#![no_main]

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use lucent_server::api::{self, ApiRequest, Ctx};
use lucent_server::config::RawConfig;
use lucent_server::dns::DnsView;
use lucent_server::domain::zones as zone_ops;
use lucent_server::model::ZoneKind;
use lucent_server::secret;
use lucent_server::store::queries::{api_keys, users, zones};
use lucent_server::store::{self, Store, WriteTx};

struct Fixture {
    ctx: Ctx,
    token: String,
    basic: String,
    zid: i64,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        // `LUCENT_FUZZ_TMP` (tests/fuzz.sh sets and removes it), else tmpfs when there is
        // one (the store fsyncs every commit), else the temp dir.
        let base = if let Some(d) = std::env::var_os("LUCENT_FUZZ_TMP") {
            PathBuf::from(d)
        } else if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("lucent-fuzz-api-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let db = dir.join("fuzz.db");
        let config =
            RawConfig::from_toml("[limits]\nrequests_per_5min = 0\nip_requests_per_5min = 0\n")
                .expect("config")
                .validate(None)
                .expect("valid config");
        let token = secret::new_token().expose().to_string();
        let key = secret::new_token().expose().to_string();
        let zid = {
            let conn = store::open(&db).expect("open db");
            zones::insert_zone(&conn, "dyn.example.net", ZoneKind::Shared, None).expect("zone");
            let uid = users::insert_user(&conn, "me@example.org", 10, &secret::hash(&token))
                .expect("user");
            let mut w = WriteTx::detached(&conn);
            let z = zone_ops::create(
                &mut w,
                &config.apex,
                "example.org",
                ZoneKind::Hosted,
                Some(uid),
            )
            .expect("hosted zone");
            api_keys::insert_api_key(&conn, uid, &secret::hash(&key), None, "").expect("key");
            z.id
        };
        let view = Arc::new(DnsView::new(config.apex.clone()));
        let store = Store::new(&db, view, config.apex.clone()).expect("store");
        let basic = format!("Basic {}", b64(format!("me@example.org:{key}").as_bytes()));
        let ctx = Ctx::new(config, store);
        // A hostname to patch and update.
        let f = Fixture {
            ctx,
            token,
            basic,
            zid,
        };
        let (_, r) = api::handle(
            &f.ctx,
            &request(
                &f,
                "POST",
                "/v1/hostnames",
                0,
                br#"{"hostname":"alpha","ipv4":"192.0.2.1"}"#,
            ),
        );
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        f
    })
}

fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn request(f: &Fixture, method: &str, target: &str, auth: u8, body: &[u8]) -> ApiRequest {
    let (segments, query) = api::parse_target(target);
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    match auth % 6 {
        0 => headers.push(("authorization".into(), format!("Bearer {}", f.token))),
        1 => headers.push(("authorization".into(), f.basic.clone())),
        2 => headers.push(("x-lucent-token".into(), f.token.clone())),
        3 => headers.push(("authorization".into(), "Bearer nope".into())),
        4 => {
            headers.retain(|(k, _)| k != "content-type");
            headers.push((
                "authorization".into(),
                format!("Basic {}", b64(format!("x:{}", f.token).as_bytes())),
            ));
        }
        _ => {}
    }
    if auth & 0x80 != 0 {
        headers.push(("accept".into(), "application/json".into()));
    }
    ApiRequest {
        id: "fuzz".into(),
        method: method.into(),
        target: target.into(),
        segments,
        query,
        headers,
        body: body.to_vec(),
        peer: IpAddr::from([127, 0, 0, 1]),
        https: false,
    }
}

const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let [sel, auth, rest @ ..] = data else {
        return;
    };
    let (q, body) = match rest.iter().position(|b| *b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&[][..], rest),
    };
    let q = String::from_utf8_lossy(q);
    let zid = f.zid;
    let paths = [
        "/v1/hostnames".to_string(),
        "/v1/hostnames/alpha".to_string(),
        "/v1/hostnames/alpha.dyn.example.net".to_string(),
        "/update".to_string(),
        "/nic/update".to_string(),
        "/v1/zones".to_string(),
        format!("/v1/zones/{zid}"),
        format!("/v1/zones/{zid}/records"),
        format!("/v1/zones/{zid}/records/1"),
        format!("/v1/zones/{zid}/ds_records"),
        "/v1/users/me".to_string(),
        "/ip".to_string(),
    ];
    let method = METHODS[usize::from(*sel) % METHODS.len()];
    let path = &paths[usize::from(*sel / 8) % paths.len()];
    let target = if q.is_empty() {
        path.clone()
    } else {
        format!("{path}?{q}")
    };
    let req = request(f, method, &target, *auth, body);
    let (route, reply) = api::handle(&f.ctx, &req);
    assert!(
        reply.status < 500,
        "{method} {target} ({route}) body {:?} -> {} {}",
        String::from_utf8_lossy(body),
        reply.status,
        String::from_utf8_lossy(&reply.body)
    );
});
