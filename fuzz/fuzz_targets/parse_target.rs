//! Request-target parsing: `api::parse_target` (path segments + query) and `api::parse_form`
//! (query strings and form bodies) on arbitrary text. Beyond "no panic": segments are never
//! empty (empty ones are dropped), and text without `%`, `+` or separators comes back as is.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lucent_server::api::{parse_form, parse_target};

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let (segments, query) = parse_target(&s);
    assert!(
        segments.iter().all(|seg| !seg.is_empty()),
        "{s:?} -> {segments:?}"
    );
    let pairs = parse_form(&s);
    if !s.contains(['%', '+', '&', '=']) && !s.is_empty() {
        assert_eq!(pairs, vec![(s.to_string(), String::new())]);
    }
    if let Some((_, q)) = s.split_once('?') {
        assert_eq!(query, parse_form(q));
    } else {
        assert!(query.is_empty());
    }
});
