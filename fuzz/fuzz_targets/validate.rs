//! Input rules of `validate`: labels, names, IP literals, TXT, notes. Every accepted value's
//! canonical form must be accepted again unchanged; IPs must round-trip through their text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lucent_server::validate;

fn fixed_point(f: fn(&str) -> Result<String, String>, what: &str, s: &str) {
    if let Ok(out) = f(s) {
        assert_eq!(
            f(&out).as_deref(),
            Ok(out.as_str()),
            "{what}: {s:?} -> {out:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let s = s.as_ref();
    fixed_point(validate::host_label, "host_label", s);
    fixed_point(validate::dns_label, "dns_label", s);
    fixed_point(validate::domain_name, "domain_name", s);
    fixed_point(validate::zone_name, "zone_name", s);
    fixed_point(validate::txt, "txt", s);
    fixed_point(validate::note, "note", s);
    if let Ok(l) = validate::host_label(s) {
        assert!(l.len() <= 63 && validate::dns_label(&l).is_ok());
    }
    if let Ok(n) = validate::zone_name(s) {
        assert!(validate::domain_name(&n).is_ok());
    }
    if let Ok(a) = validate::ipv4(s) {
        assert_eq!(validate::ipv4(&a.to_string()), Ok(a));
    }
    if let Ok(a) = validate::ipv6(s) {
        assert_eq!(validate::ipv6(&a.to_string()), Ok(a));
    }
    if let Ok(a) = validate::ip(s) {
        assert_eq!(validate::ip(&a.to_string()), Ok(a));
    }
    let p = validate::printable(s);
    assert!(
        !p.chars().any(char::is_control),
        "printable kept a control character"
    );
});
