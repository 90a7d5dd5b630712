//! dyndns2 (`/nic/update`, `/v3/update`, `/update?hostname=`) against the real server: return
//! codes byte for byte (PROTOCOLS.md §2.2), one line per host, Basic auth with any username.

use crate::harness::*;

#[test]
fn dyndns2_codes() {
    let Fixture { srv, token: t, .. } = Fixture::shared("dyndns2", SHARED, "d@example.org")
        .hostnames(&["home", "nas"])
        .start();
    let auth = basic("anything", &t);
    let a = [
        ("Authorization", auth.as_str()),
        ("User-Agent", "ddclient/3.10.0"),
    ];

    let r = srv.get(
        "/nic/update?system=dyndns&hostname=home.dyn.example.net&myip=192.0.2.10&wildcard=OFF",
        &a,
    );
    assert_eq!((r.status, r.body.as_str()), (200, "good 192.0.2.10"));
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let r = srv.get(
        "/nic/update?hostname=home.dyn.example.net&myip=192.0.2.10",
        &a,
    );
    assert_eq!(r.body, "nochg 192.0.2.10");
    // Several hosts, one line each in order; unknown and non-fqdn names.
    let r = srv.get("/nic/update?hostname=home.dyn.example.net,other.dyn.example.net,nas,nas.dyn.example.net&myip=192.0.2.11", &a);
    assert_eq!(r.body, "good 192.0.2.11\nnohost\nnotfqdn\ngood 192.0.2.11");
    // Dual stack in one myip (ddclient 4.x), and IPv6 only.
    let r = srv.get(
        "/v3/update?hostname=nas.dyn.example.net&myip=192.0.2.12,2001:db8::12",
        &a,
    );
    assert_eq!(r.body, "good 192.0.2.12,2001:db8::12");
    let r = srv.get(
        "/nic/update?hostname=nas.dyn.example.net&myipv6=2001:db8::13",
        &a,
    );
    assert_eq!(r.body, "good 2001:db8::13");
    let h = srv.bearer("GET", "/v1/hostnames/nas", &t).json();
    assert_eq!(
        (h["ipv4"].as_str(), h["ipv6"].as_str()),
        (Some("192.0.2.12"), Some("2001:db8::13")),
        "missing family untouched"
    );
    // No myip: the source address. /update with dyndns2 parameters.
    let r = srv.get("/update?hostname=home.dyn.example.net", &a);
    assert_eq!(r.body, "good 127.0.0.1");
    // The email as username works as well.
    let auth2 = basic("d@example.org", &t);
    let r = srv.get(
        "/nic/update?hostname=home.dyn.example.net&myip=192.0.2.14",
        &[("Authorization", auth2.as_str())],
    );
    assert_eq!(r.body, "good 192.0.2.14");
    // No hostname, too many hostnames.
    assert_eq!(srv.get("/nic/update?myip=192.0.2.1", &a).body, "notfqdn");
    let many = (0..21)
        .map(|i| format!("h{i}.dyn.example.net"))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        srv.get(&format!("/nic/update?hostname={many}"), &a).body,
        "numhost"
    );
    // Bad credentials: 401 + challenge + badauth; no credentials likewise.
    let bad = basic("x", "wrong");
    let r = srv.get(
        "/nic/update?hostname=home.dyn.example.net&myip=192.0.2.1",
        &[("Authorization", bad.as_str())],
    );
    assert_eq!((r.status, r.body.as_str()), (401, "badauth"));
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));
    let r = srv.get(
        "/nic/update?hostname=home.dyn.example.net&myip=192.0.2.1",
        &[],
    );
    assert_eq!((r.status, r.body.as_str()), (401, "badauth"));
    // A bad address changes nothing.
    let r = srv.get(
        "/nic/update?hostname=home.dyn.example.net&myip=192.0.2.300",
        &a,
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        srv.bearer("GET", "/v1/hostnames/home", &t).json()["ipv4"],
        "192.0.2.14"
    );
    // DNS serves the result.
    let m = srv.dig("home.dyn.example.net", hickory_proto::rr::RecordType::A);
    assert_eq!(answers(&m), vec!["192.0.2.14"]);
}
