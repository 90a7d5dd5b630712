//! The routing table, as a table: every (method, path) the APIs accept maps to its route and
//! label, and near-misses map to 404 or to 405 with an `Allow` header.

use std::sync::Arc;

use super::*;
use crate::config::RawConfig;
use crate::dns::DnsView;

fn route(method: &str, target: &str) -> (Route, bool) {
    let req = ApiRequest::fake(method, target, &[], "");
    let r = Route::parse(&req);
    let allowed = r.methods().is_empty() || r.methods().contains(&method);
    (r, allowed)
}

#[test]
fn every_accepted_method_and_path_maps_to_its_route() {
    let s = |x: &str| x.to_string();
    let table: Vec<(&str, &str, Route, &str)> = vec![
        ("GET", "/healthz", Route::Healthz, "healthz"),
        ("HEAD", "/healthz", Route::Healthz, "healthz"),
        ("GET", "/metrics", Route::Metrics, "metrics"),
        ("GET", "/ip", Route::Ip, "ip"),
        ("HEAD", "/ip", Route::Ip, "ip"),
        ("GET", "/v1/hostnames", Route::Hostnames, "hostnames"),
        ("POST", "/v1/hostnames", Route::Hostnames, "hostnames"),
        (
            "GET",
            "/v1/hostnames/home",
            Route::Hostname(s("home")),
            "hostname",
        ),
        (
            "PATCH",
            "/v1/hostnames/home.dyn.example.net",
            Route::Hostname(s("home.dyn.example.net")),
            "hostname",
        ),
        (
            "DELETE",
            "/v1/hostnames/host_1",
            Route::Hostname(s("host_1")),
            "hostname",
        ),
        ("GET", "/update?domains=a&token=t", Route::Update, "update"),
        ("POST", "/update", Route::Update, "update"),
        (
            "GET",
            "/update/home/tok",
            Route::UpdatePath {
                domain: s("home"),
                token: s("tok"),
                ip: None,
            },
            "update_path",
        ),
        (
            "GET",
            "/update/home/tok/192.0.2.1",
            Route::UpdatePath {
                domain: s("home"),
                token: s("tok"),
                ip: Some(s("192.0.2.1")),
            },
            "update_path",
        ),
        ("GET", "/nic/update?hostname=a.b", Route::Dyndns2, "dyndns2"),
        ("POST", "/nic/update", Route::Dyndns2, "dyndns2"),
        ("GET", "/v3/update?hostname=a.b", Route::Dyndns2, "dyndns2"),
        (
            "GET",
            "/update?hostname=a.b&myip=1.2.3.4",
            Route::Dyndns2,
            "dyndns2",
        ),
        ("GET", "/v1/users/me", Route::LuaMe, "lua_me"),
        ("GET", "/v1/zones", Route::LuaZones, "lua_zones"),
        ("POST", "/v1/zones", Route::LuaZones, "lua_zones"),
        ("GET", "/v1/zones/3", Route::LuaZone(s("3")), "lua_zone"),
        ("PUT", "/v1/zones/3", Route::LuaZone(s("3")), "lua_zone"),
        ("DELETE", "/v1/zones/3", Route::LuaZone(s("3")), "lua_zone"),
        (
            "GET",
            "/v1/zones/3/records",
            Route::LuaRecords(s("3")),
            "lua_records",
        ),
        (
            "POST",
            "/v1/zones/3/records",
            Route::LuaRecords(s("3")),
            "lua_records",
        ),
        (
            "GET",
            "/v1/zones/3/records/9",
            Route::LuaRecord(s("3"), s("9")),
            "lua_record",
        ),
        (
            "PUT",
            "/v1/zones/3/records/9",
            Route::LuaRecord(s("3"), s("9")),
            "lua_record",
        ),
        (
            "DELETE",
            "/v1//zones/3/records/9",
            Route::LuaRecord(s("3"), s("9")),
            "lua_record",
        ),
        (
            "GET",
            "/v1/zones/3/ds_records",
            Route::LuaDs(s("3")),
            "lua_ds",
        ),
    ];
    for (method, target, want, label) in table {
        let (got, allowed) = route(method, target);
        assert_eq!(got, want, "{method} {target}");
        assert_eq!(got.label(), label, "{method} {target}");
        assert!(allowed, "{method} {target} should be allowed");
    }
}

#[test]
fn near_misses_are_404_or_405() {
    for target in [
        "/v2/hostnames",
        "/update/a",
        "/healthz/x",
        "/nic",
        "/static/x.js",
    ] {
        assert_eq!(route("GET", target).0, Route::NotFound, "{target}");
    }
    // `/` is the dashboard (#17).
    assert_eq!(route("GET", "/").0, Route::Web(crate::web::WebRoute::Home));
    for target in ["/v1/zones/3/records/9/x", "/v1/users", "/v1/zones/3/nope"] {
        assert_eq!(route("GET", target).0, Route::LuaNotFound, "{target}");
    }
    for (method, target) in [
        ("PUT", "/v1/hostnames"),
        ("POST", "/v1/hostnames/home"),
        ("DELETE", "/update"),
        ("POST", "/metrics"),
        ("PATCH", "/v1/zones/3"),
        ("POST", "/v1/zones/3/ds_records"),
        ("POST", "/update/home/tok"),
    ] {
        assert!(!route(method, target).1, "{method} {target} should be 405");
    }
}

#[test]
fn method_not_allowed_names_the_allowed_methods() {
    let dir = std::env::temp_dir().join(format!("lucent-route-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let raw = RawConfig {
        db: dir.join("t.db"),
        ..RawConfig::default()
    };
    let config = raw.validate(None).unwrap();
    let view = Arc::new(DnsView::new(config.apex.clone()));
    let store = Store::new(&config.db, view, config.apex.clone()).unwrap();
    let ctx = Ctx::new(config, store);
    for (method, target, allow, family_shape) in [
        ("PUT", "/v1/hostnames", "GET, POST", "error"),
        ("DELETE", "/update", "GET, POST", "KO"),
        ("POST", "/healthz", "GET, HEAD", "error"),
    ] {
        let (_, r) = handle(&ctx, &ApiRequest::fake(method, target, &[], ""));
        assert_eq!(r.status, 405, "{method} {target}");
        let got = r
            .headers
            .iter()
            .find(|(k, _)| *k == "allow")
            .map(|(_, v)| v.as_str());
        assert_eq!(got, Some(allow), "{method} {target}");
        assert!(
            String::from_utf8_lossy(&r.body).contains(family_shape),
            "{method} {target}: {:?}",
            String::from_utf8_lossy(&r.body)
        );
    }
    let (label, r) = handle(&ctx, &ApiRequest::fake("GET", "/nope", &[], ""));
    assert_eq!((label, r.status), ("not_found", 404));
    let _ = std::fs::remove_dir_all(&dir);
}
