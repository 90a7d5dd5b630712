//! Input rules of `model::name` and `model::value`: labels, names, IP literals, TXT, notes. Every accepted value's
//! canonical form must be accepted again unchanged; IPs must round-trip through their text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lucent_server::model::{name, value, Invalid};

fn fixed_point(f: fn(&str) -> Result<String, Invalid>, what: &str, s: &str) {
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
    fixed_point(name::host_label, "host_label", s);
    fixed_point(name::domain_name, "domain_name", s);
    fixed_point(name::owner_name, "owner_name", s);
    fixed_point(name::zone_name, "zone_name", s);
    fixed_point(value::txt, "txt", s);
    fixed_point(value::note, "note", s);
    if let Ok(l) = name::host_label(s) {
        // A hostname label is a valid name on its own (one label rule for every name).
        assert!(l.len() <= 63 && name::domain_name(&l).is_ok());
    }
    if let Ok(n) = name::zone_name(s) {
        assert!(name::domain_name(&n).is_ok());
    }
    if let Ok(n) = name::domain_name(s) {
        assert!(name::owner_name(&n).is_ok());
    }
    if let Ok(a) = value::ipv4(s) {
        assert_eq!(value::ipv4(&a.to_string()), Ok(a));
    }
    if let Ok(a) = value::ipv6(s) {
        assert_eq!(value::ipv6(&a.to_string()), Ok(a));
    }
    if let Ok(a) = value::ip(s) {
        assert_eq!(value::ip(&a.to_string()), Ok(a));
    }
    let p = name::printable(s);
    assert!(
        !p.chars().any(char::is_control),
        "printable kept a control character"
    );
});
