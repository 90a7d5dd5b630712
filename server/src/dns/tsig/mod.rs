//! TSIG (RFC 8945) on raw DNS wire messages: the key type (`TsigKey`, hmac-sha256/384/512,
//! secret from BIND-style base64 or a `tsig-keygen` key clause), verification of signed
//! requests with the RFC's error results (`verify_request`), signing of single responses and
//! of multi-message TCP responses (`ServerTsig`, `TsigStream`, RFC 8945 §5.3.1), and the client
//! side for messages lucentd sends itself, such as NOTIFY (`sign_request`, `ClientTsig`).
//!
//! Everything works on wire bytes because the MAC covers the message exactly as sent. What
//! this module leaves to others: which keys exist and which zones or names a key may touch
//! (the caller's key lookup and authorisation), the clock (every call takes `now` in unix
//! seconds), building the DNS answer itself and fitting it into a UDP payload
//! (`ServerTsig::tsig_len` says how many bytes the signature will add), and the sockets.
//!
//! How the pieces fit (a NOTIFY-style exchange, both ends here):
//!
//! ```
//! use std::sync::Arc;
//! use lucent_server::dns::tsig::{self, TsigKey, ResponseTsig};
//! let key = Arc::new(TsigKey::from_base64("xfr", "hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0").unwrap());
//! let now = 1_764_000_000;
//! // A request (header + question) signed by the sender ...
//! let mut request = vec![0x12, 0x34, 0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1];
//! let mut client = tsig::sign_request(key.clone(), &mut request, now).unwrap();
//! // ... verified by the receiver with its key lookup, which signs its answer.
//! let server = match tsig::verify_request(&request, now, |name| (name == "xfr").then(|| key.clone())) {
//!     Ok(Some(server)) => server,
//!     Ok(None) => unreachable!("unsigned"),
//!     Err(reject) => panic!("{} (answer with rcode {})", reject.error(), reject.rcode()),
//! };
//! let mut response = vec![0x12, 0x34, 0xA4, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1];
//! server.sign_response(&mut response, now).unwrap();
//! assert_eq!(client.verify(&response, now), Ok(ResponseTsig::Signed));
//! ```
//!
//! HMAC comes from `ring::hmac`: ring is already in the tree through tokio-rustls, so no new
//! crate is compiled, and its SHA-2 code is the same assembly the TLS listener uses.
//!
//! This file holds the constants and re-exports the public API; the code is in the
//! submodules: `key.rs` (algorithms and keys), `record.rs` (the TSIG RR on the wire), `mac.rs`
//! (the digests of RFC 8945 §4.3), `verify.rs` (checking a request, the error codes),
//! `sign.rs` (signing single answers and error answers), `stream.rs` (multi-message
//! responses), `client.rs` (requests we send and their responses) and `tests/`.

/// RR TYPE of TSIG (RFC 8945 §4.1).
pub const TYPE_TSIG: u16 = 250;
/// CLASS ANY, which a TSIG RR must carry (RFC 8945 §4.2).
const CLASS_ANY: u16 = 255;
/// Fudge we put in the TSIG records we make: 300 s, the value RFC 8945 recommends.
pub const DEFAULT_FUDGE: u16 = 300;
/// RCODE FORMERR (RFC 1035 §4.1.1), for a TSIG RR that cannot be interpreted (RFC 8945 §5.2).
pub const RCODE_FORMERR: u8 = 1;
/// RCODE NOTAUTH (RFC 8945 §5.2: every TSIG failure is answered with it).
pub const RCODE_NOTAUTH: u8 = 9;
/// At most this many messages of a multi-message response may go unsigned in a row
/// (RFC 8945 §5.3.1: at least every 100th message is signed).
pub const MAX_UNSIGNED_RUN: usize = 99;

mod client;
mod key;
mod mac;
mod record;
mod sign;
mod stream;
mod verify;

pub use client::{sign_request, ClientTsig, ResponseError, ResponseTsig};
pub use key::{Algorithm, KeyError, TsigKey};
pub use sign::SignError;
pub use stream::TsigStream;
pub use verify::{verify_request, ServerTsig, TsigError, TsigReject};

#[cfg(test)]
mod tests;
