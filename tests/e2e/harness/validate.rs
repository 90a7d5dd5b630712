//! DNSSEC validation with BIND's `delv` (Debian package bind9-dnsutils): a trust anchor made
//! from `lucentd zone ds` lines, a query at one server with only that anchor, and the check
//! that the answer was fully validated.

use std::net::SocketAddr;
use std::process::Command;

use super::TestDir;

/// `delv` at `addr` with `anchor` as the only trust anchor, for `zone`: its output.
pub fn delv(addr: SocketAddr, anchor: &str, zone: &str, name: &str, t: &str) -> String {
    let out = Command::new("delv")
        .args(["-a", anchor, &format!("+root={zone}")])
        .arg(format!("@{}", addr.ip()))
        .args(["-p", &addr.port().to_string(), name, t])
        .output()
        .expect("run delv (Debian package bind9-dnsutils)");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `trust-anchors` for delv from `zone ds` lines (`NAME. TTL IN DS TAG ALG DT HEX`), in
/// `file`; returns its path.
pub fn delv_anchor(dir: &TestDir, ds_lines: &str, file: &str) -> String {
    let mut body = String::from("trust-anchors {\n");
    for l in ds_lines.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        assert_eq!(f.get(3), Some(&"DS"), "{l}");
        body.push_str(&format!(
            "  {} static-ds {} {} {} \"{}\";\n",
            f[0], f[4], f[5], f[6], f[7]
        ));
    }
    body.push_str("};\n");
    let p = dir.path(file);
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

/// `delv` reported the answer (or the proof) fully validated.
pub fn assert_validated(out: &str, what: &str) {
    assert!(out.contains("; fully validated"), "{what}: {out}");
}
