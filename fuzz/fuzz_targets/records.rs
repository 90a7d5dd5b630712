//! Record validators: `content::normalize` for every type, then `content::to_rdata` on its
//! output (what the DNS responder does with stored content), and `name::owner_name`.
//! The canonical form must be a fixed point (a client that GETs a record and PUTs it back
//! unchanged must not see it change or be refused) and must always encode to RDATA.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lucent_server::model::content::{normalize, to_rdata};
use lucent_server::model::name::owner_name;
use lucent_server::model::RType;

const CODES: [u16; 10] = [1, 28, 5, 15, 2, 33, 16, 257, 12, 6];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let content = String::from_utf8_lossy(rest);
    let rtype = RType::from_code(CODES[usize::from(sel) % CODES.len()]).expect("known code");
    if let Ok(n) = normalize(rtype, &content) {
        // Every canonical form is a fixed point (GET-then-PUT changes nothing).
        match normalize(rtype, &n) {
            Ok(again) => assert_eq!(
                again, n,
                "{rtype:?}: canonical form not a fixed point ({content:?})"
            ),
            Err(e) => panic!(
                "{rtype:?}: canonical form {n:?} of {content:?} refused: {}",
                e.0
            ),
        }
        if let Err(e) = to_rdata(rtype, &n) {
            panic!("{rtype:?}: canonical form {n:?} does not encode: {}", e.0);
        }
    }
    if let Ok(n) = owner_name(&content) {
        assert!(n.len() <= 253, "{n:?}");
        assert_eq!(
            owner_name(&n).ok().as_deref(),
            Some(n.as_str()),
            "name not a fixed point"
        );
    }
});
