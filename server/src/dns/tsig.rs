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

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use ring::hmac;

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

/// The TSIG algorithms lucentd supports (RFC 8945 §6; hmac-sha256 is the mandatory one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl Algorithm {
    /// The algorithm name as written in configs and on the wire (without the trailing dot).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::HmacSha384 => "hmac-sha384",
            Algorithm::HmacSha512 => "hmac-sha512",
        }
    }

    /// Parse an algorithm name: case-insensitive, a trailing dot allowed.
    pub fn from_name(s: &str) -> Option<Self> {
        let s = s.strip_suffix('.').unwrap_or(s);
        [
            Algorithm::HmacSha256,
            Algorithm::HmacSha384,
            Algorithm::HmacSha512,
        ]
        .into_iter()
        .find(|a| a.name().eq_ignore_ascii_case(s))
    }

    /// Length in octets of the untruncated MAC.
    pub fn mac_len(self) -> usize {
        match self {
            Algorithm::HmacSha256 => 32,
            Algorithm::HmacSha384 => 48,
            Algorithm::HmacSha512 => 64,
        }
    }

    fn ring(self) -> hmac::Algorithm {
        match self {
            Algorithm::HmacSha256 => hmac::HMAC_SHA256,
            Algorithm::HmacSha384 => hmac::HMAC_SHA384,
            Algorithm::HmacSha512 => hmac::HMAC_SHA512,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a key could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(pub String);

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

/// A TSIG key: name, algorithm and secret. Debug shows name and algorithm, never the secret.
#[derive(Clone)]
pub struct TsigKey {
    /// Lowercase, without trailing dot (`xfr`, `tsig-key.example.org`).
    name: String,
    algorithm: Algorithm,
    secret: Vec<u8>,
    hmac: hmac::Key,
    /// The key name in canonical wire form (RFC 8945 §4.3.3: lowercase, uncompressed).
    name_wire: Vec<u8>,
}

impl fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field("secret", &"***")
            .finish()
    }
}

impl TsigKey {
    /// A key from its parts. The name is a domain name (case-insensitive, trailing dot
    /// optional); the secret must not be empty.
    pub fn new(name: &str, algorithm: Algorithm, secret: Vec<u8>) -> Result<Self, KeyError> {
        let name = key_name(name)?;
        if secret.is_empty() {
            return Err(KeyError(format!("TSIG key '{name}': the secret is empty")));
        }
        let name_wire = name_to_wire(&name);
        let hmac = hmac::Key::new(algorithm.ring(), &secret);
        Ok(TsigKey {
            name,
            algorithm,
            secret,
            hmac,
            name_wire,
        })
    }

    /// A key with its secret in base64 as BIND, `tsig-keygen` and `dig -y` write it (blanks
    /// inside the base64 are ignored, as BIND does).
    pub fn from_base64(name: &str, algorithm: &str, secret: &str) -> Result<Self, KeyError> {
        let alg = Algorithm::from_name(algorithm).ok_or_else(|| {
            KeyError(format!(
                "TSIG key '{name}': unsupported algorithm '{algorithm}' (hmac-sha256, hmac-sha384 or hmac-sha512)"
            ))
        })?;
        let compact: String = secret.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|_| KeyError(format!("TSIG key '{name}': the secret is not valid base64")))?;
        Self::new(name, alg, bytes)
    }

    /// Every `key "NAME" { algorithm ALG; secret "BASE64"; };` clause of a BIND config
    /// fragment, as `tsig-keygen` prints it (comments with `#`, `//` and `/* */` allowed).
    pub fn parse_bind(text: &str) -> Result<Vec<TsigKey>, KeyError> {
        let tokens = bind_tokens(text)?;
        let mut keys = Vec::new();
        let mut i = 0;
        let bad = |what: &str| KeyError(format!("BIND key clause: {what}"));
        while i < tokens.len() {
            if !tokens[i].eq_ignore_ascii_case("key") {
                return Err(bad(&format!("expected 'key', found '{}'", tokens[i])));
            }
            let name = tokens.get(i + 1).ok_or_else(|| bad("missing key name"))?;
            if tokens.get(i + 2).map(String::as_str) != Some("{") {
                return Err(bad("expected '{' after the key name"));
            }
            i += 3;
            let (mut alg, mut secret) = (None, None);
            while tokens.get(i).map(String::as_str) != Some("}") {
                let field = tokens.get(i).ok_or_else(|| bad("missing '}'"))?;
                let value = tokens.get(i + 1).ok_or_else(|| bad("missing value"))?;
                if tokens.get(i + 2).map(String::as_str) != Some(";") {
                    return Err(bad(&format!("expected ';' after {field}")));
                }
                match field.to_ascii_lowercase().as_str() {
                    "algorithm" => alg = Some(value.clone()),
                    "secret" => secret = Some(value.clone()),
                    other => return Err(bad(&format!("unknown field '{other}'"))),
                }
                i += 3;
            }
            // `}` then `;`
            if tokens.get(i + 1).map(String::as_str) != Some(";") {
                return Err(bad("expected ';' after '}'"));
            }
            i += 2;
            let alg = alg.ok_or_else(|| bad(&format!("key '{name}' has no algorithm")))?;
            let secret = secret.ok_or_else(|| bad(&format!("key '{name}' has no secret")))?;
            keys.push(Self::from_base64(name, &alg, &secret)?);
        }
        Ok(keys)
    }

    /// Lowercase key name without trailing dot.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The secret in base64 (for `lucentd user tsig` to print once); never logged by this module.
    pub fn secret_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.secret)
    }
}

/// Split a BIND config fragment into tokens: words, quoted strings (unquoted), `{`, `}`, `;`.
fn bind_tokens(text: &str) -> Result<Vec<String>, KeyError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                loop {
                    match chars.next() {
                        Some('/') if prev == '*' => break,
                        Some(c) => prev = c,
                        None => {
                            return Err(KeyError("BIND key clause: unterminated /* comment".into()))
                        }
                    }
                }
            }
            '{' | '}' | ';' => out.push(c.to_string()),
            '"' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some(c) => s.push(c),
                        None => {
                            return Err(KeyError("BIND key clause: unterminated string".into()))
                        }
                    }
                }
                out.push(s);
            }
            c => {
                let mut s = c.to_string();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '{' | '}' | ';' | '"') {
                        break;
                    }
                    s.push(c);
                    chars.next();
                }
                out.push(s);
            }
        }
    }
    Ok(out)
}

/// Check and lowercase a key name: labels of 1..=63 printable non-blank ASCII octets without
/// `.` `\` `"`, at most 253 characters (RFC 1035 §2.3.4).
fn key_name(name: &str) -> Result<String, KeyError> {
    let bad = |why: &str| KeyError(format!("TSIG key name '{name}': {why}"));
    let n = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if n.is_empty() {
        return Err(bad("empty"));
    }
    if n.len() > 253 {
        return Err(bad("longer than 253 characters"));
    }
    for label in n.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(bad("labels must be 1 to 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'\\' && b != b'"')
        {
            return Err(bad(
                "only printable ASCII without blanks, quotes or backslashes",
            ));
        }
    }
    Ok(n)
}

/// A dotted name (no trailing dot, labels already checked) in uncompressed wire form.
fn name_to_wire(name: &str) -> Vec<u8> {
    let mut w = Vec::with_capacity(name.len() + 2);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        // Labels are at most 63 octets (checked by `key_name`; algorithm names are constants).
        w.push(label.len() as u8);
        w.extend_from_slice(label.as_bytes());
    }
    w.push(0);
    w
}

/// TSIG error codes (RFC 8945 §3, the TSIG Error field) this module reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsigError {
    /// The TSIG RR could not be interpreted, or is not the last record: answer FORMERR
    /// without a TSIG (RFC 8945 §5.2).
    FormErr,
    /// 16: the MAC does not verify (RFC 8945 §5.2.2).
    BadSig,
    /// 17: unknown key name or algorithm (RFC 8945 §5.2.1).
    BadKey,
    /// 18: Time Signed outside now ± fudge (RFC 8945 §5.2.3).
    BadTime,
    /// 22: the MAC is truncated below what we accept (RFC 8945 §5.2.4).
    BadTrunc,
}

impl TsigError {
    /// The value of the TSIG Error field (0 for FormErr, which has no TSIG answer).
    pub fn code(self) -> u16 {
        match self {
            TsigError::FormErr => 0,
            TsigError::BadSig => 16,
            TsigError::BadKey => 17,
            TsigError::BadTime => 18,
            TsigError::BadTrunc => 22,
        }
    }

    fn from_code(code: u16) -> Option<Self> {
        match code {
            16 => Some(TsigError::BadSig),
            17 => Some(TsigError::BadKey),
            18 => Some(TsigError::BadTime),
            22 => Some(TsigError::BadTrunc),
            _ => None,
        }
    }

    /// The message RCODE of the answer: FORMERR for FormErr, NOTAUTH for the others (RFC 8945 §5.2).
    pub fn rcode(self) -> u8 {
        match self {
            TsigError::FormErr => RCODE_FORMERR,
            _ => RCODE_NOTAUTH,
        }
    }
}

impl fmt::Display for TsigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TsigError::FormErr => "FORMERR",
            TsigError::BadSig => "BADSIG",
            TsigError::BadKey => "BADKEY",
            TsigError::BadTime => "BADTIME",
            TsigError::BadTrunc => "BADTRUNC",
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Wire parsing

/// A message that is not well-formed DNS, or whose TSIG RR is malformed.
#[derive(Debug)]
struct Malformed;

type Wire<T> = Result<T, Malformed>;

fn be16(msg: &[u8], pos: usize) -> Wire<u16> {
    match msg.get(pos..pos + 2) {
        Some(b) => Ok(u16::from_be_bytes([b[0], b[1]])),
        None => Err(Malformed),
    }
}

fn be48(msg: &[u8], pos: usize) -> Wire<u64> {
    let b = msg.get(pos..pos + 6).ok_or(Malformed)?;
    Ok(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
}

/// Read a possibly compressed name (RFC 1035 §4.1.4): the name lowercased in canonical wire
/// form and the position after it in the message.
fn read_name(msg: &[u8], mut pos: usize) -> Wire<(Vec<u8>, usize)> {
    let mut wire = Vec::new();
    let mut end = None;
    let mut jumps = 0;
    loop {
        let len = *msg.get(pos).ok_or(Malformed)? as usize;
        match len & 0xC0 {
            0x00 if len == 0 => {
                wire.push(0);
                if wire.len() > 255 {
                    return Err(Malformed);
                }
                return Ok((wire, end.unwrap_or(pos + 1)));
            }
            0x00 => {
                let label = msg.get(pos + 1..pos + 1 + len).ok_or(Malformed)?;
                wire.push(len as u8);
                wire.extend(label.iter().map(u8::to_ascii_lowercase));
                if wire.len() > 255 {
                    return Err(Malformed);
                }
                pos += 1 + len;
            }
            0xC0 => {
                let low = *msg.get(pos + 1).ok_or(Malformed)? as usize;
                end.get_or_insert(pos + 2);
                jumps += 1;
                // 128 pointers cannot be needed by a name of at most 255 octets: a loop.
                if jumps > 128 {
                    return Err(Malformed);
                }
                pos = ((len & 0x3F) << 8) | low;
            }
            _ => return Err(Malformed),
        }
    }
}

/// Position after a possibly compressed name.
fn skip_name(msg: &[u8], mut pos: usize) -> Wire<usize> {
    loop {
        let len = *msg.get(pos).ok_or(Malformed)? as usize;
        match len & 0xC0 {
            0x00 if len == 0 => return Ok(pos + 1),
            0x00 => pos += 1 + len,
            0xC0 if pos + 2 <= msg.len() => return Ok(pos + 2),
            _ => return Err(Malformed),
        }
    }
}

/// Wire name (canonical) to text: lowercase, no trailing dot, unusual octets as `\DDD`.
fn wire_to_text(wire: &[u8]) -> String {
    let mut out = String::new();
    let mut pos = 0;
    while let Some(&len) = wire.get(pos) {
        if len == 0 {
            break;
        }
        if !out.is_empty() {
            out.push('.');
        }
        for &b in wire.get(pos + 1..pos + 1 + len as usize).unwrap_or(&[]) {
            if b.is_ascii_graphic() && b != b'.' && b != b'\\' && b != b'"' {
                out.push(b as char);
            } else {
                out.push_str(&format!("\\{b:03}"));
            }
        }
        pos += 1 + len as usize;
    }
    out
}

/// The TSIG RR of a message, as found by `find_tsig`.
#[derive(Debug, Clone)]
struct TsigRr {
    /// Offset of the RR (its owner name) in the message: the MAC covers `msg[..start]`.
    start: usize,
    /// Key name, canonical wire form.
    key_wire: Vec<u8>,
    /// Algorithm name, canonical wire form.
    alg_wire: Vec<u8>,
    time_signed: u64,
    fudge: u16,
    mac: Vec<u8>,
    original_id: u16,
    error: u16,
    other: Vec<u8>,
}

/// Walk the whole message and return its TSIG RR, if any. A TSIG RR anywhere but as the last
/// additional record, with a class other than ANY or TTL other than 0, or a message with
/// bytes after its last record, is malformed (RFC 8945 §4.2, §5.2).
fn find_tsig(msg: &[u8]) -> Wire<Option<TsigRr>> {
    if msg.len() < 12 {
        return Err(Malformed);
    }
    let qd = be16(msg, 4)?;
    let total_rrs = usize::from(be16(msg, 6)?) + usize::from(be16(msg, 8)?);
    let ar = usize::from(be16(msg, 10)?);
    let mut pos = 12;
    for _ in 0..qd {
        pos = skip_name(msg, pos)? + 4;
    }
    let count = total_rrs + ar;
    for i in 0..count {
        let start = pos;
        pos = skip_name(msg, pos)?;
        let rtype = be16(msg, pos)?;
        let rdlen = usize::from(be16(msg, pos + 8)?);
        let rdata = pos + 10;
        let next = rdata + rdlen;
        if next > msg.len() {
            return Err(Malformed);
        }
        if rtype == TYPE_TSIG {
            if i + 1 != count || i < total_rrs || next != msg.len() {
                return Err(Malformed);
            }
            let class = be16(msg, pos + 2)?;
            let ttl = msg.get(pos + 4..pos + 8).ok_or(Malformed)?;
            if class != CLASS_ANY || ttl != [0, 0, 0, 0] {
                return Err(Malformed);
            }
            let (key_wire, _) = read_name(msg, start)?;
            return parse_tsig_rdata(&msg[..next], rdata, start, key_wire).map(Some);
        }
        pos = next;
    }
    if pos != msg.len() {
        return Err(Malformed);
    }
    Ok(None)
}

fn parse_tsig_rdata(msg: &[u8], rdata: usize, start: usize, key_wire: Vec<u8>) -> Wire<TsigRr> {
    // RFC 8945 §4.2: the algorithm name MUST NOT be compressed.
    let mut pos = rdata;
    let mut alg_wire = Vec::new();
    loop {
        let len = *msg.get(pos).ok_or(Malformed)? as usize;
        if len & 0xC0 != 0 {
            return Err(Malformed);
        }
        let label = msg.get(pos..pos + 1 + len).ok_or(Malformed)?;
        alg_wire.extend(label.iter().map(u8::to_ascii_lowercase));
        pos += 1 + len;
        if len == 0 {
            break;
        }
    }
    let time_signed = be48(msg, pos)?;
    let fudge = be16(msg, pos + 6)?;
    let mac_size = usize::from(be16(msg, pos + 8)?);
    let mac = msg
        .get(pos + 10..pos + 10 + mac_size)
        .ok_or(Malformed)?
        .to_vec();
    pos += 10 + mac_size;
    let original_id = be16(msg, pos)?;
    let error = be16(msg, pos + 2)?;
    let other_len = usize::from(be16(msg, pos + 4)?);
    let other = msg
        .get(pos + 6..pos + 6 + other_len)
        .ok_or(Malformed)?
        .to_vec();
    if pos + 6 + other_len != msg.len() {
        return Err(Malformed);
    }
    Ok(TsigRr {
        start,
        key_wire,
        alg_wire,
        time_signed,
        fudge,
        mac,
        original_id,
        error,
        other,
    })
}

// ---------------------------------------------------------------------------------------------
// MAC computation (RFC 8945 §4.3)

/// Digest `msg[..end]` as RFC 8945 §4.3.3 says: the message as it was before the TSIG RR was
/// added, i.e. with ARCOUNT one less (when `tsig_removed`) and the Original ID as message ID.
/// Callers have checked that `msg` holds a header (`find_tsig` or `check_header`), so the
/// slicing cannot panic.
fn digest_message(
    ctx: &mut hmac::Context,
    msg: &[u8],
    end: usize,
    original_id: u16,
    tsig_removed: bool,
) {
    let mut header = [0u8; 12];
    header.copy_from_slice(&msg[..12]);
    header[..2].copy_from_slice(&original_id.to_be_bytes());
    if tsig_removed {
        let ar = u16::from_be_bytes([header[10], header[11]]).wrapping_sub(1);
        header[10..12].copy_from_slice(&ar.to_be_bytes());
    }
    ctx.update(&header);
    ctx.update(&msg[12..end]);
}

/// The TSIG variables (RFC 8945 §4.3.3): key name, class, TTL, algorithm name (both names in
/// canonical form), Time Signed, Fudge, Error, Other Len, Other Data.
fn digest_variables(
    ctx: &mut hmac::Context,
    key_wire: &[u8],
    alg_wire: &[u8],
    time_signed: u64,
    fudge: u16,
    error: u16,
    other: &[u8],
) {
    ctx.update(key_wire);
    ctx.update(&CLASS_ANY.to_be_bytes());
    ctx.update(&0u32.to_be_bytes());
    ctx.update(alg_wire);
    digest_timers(ctx, time_signed, fudge);
    ctx.update(&error.to_be_bytes());
    ctx.update(&(other.len() as u16).to_be_bytes());
    ctx.update(other);
}

/// Time Signed (48 bits) and Fudge: all the TSIG variables later messages of a multi-message
/// response digest (RFC 8945 §5.3.1).
fn digest_timers(ctx: &mut hmac::Context, time_signed: u64, fudge: u16) {
    ctx.update(&time_signed.to_be_bytes()[2..]);
    ctx.update(&fudge.to_be_bytes());
}

/// A previous MAC as it enters a digest: MAC Size then MAC (RFC 8945 §4.3.1, §4.3.2, §5.3.1).
fn digest_prior_mac(ctx: &mut hmac::Context, mac: &[u8]) {
    ctx.update(&(mac.len() as u16).to_be_bytes());
    ctx.update(mac);
}

/// Constant-time comparison of the first `b.len()` octets of `full` with `b`.
fn mac_matches(full: &[u8], b: &[u8]) -> bool {
    if b.is_empty() || b.len() > full.len() {
        return false;
    }
    full.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Append a TSIG RR to `msg` and increment ARCOUNT (RFC 8945 §4.2). `msg` holds a header
/// (checked by every caller).
#[allow(clippy::too_many_arguments)]
fn append_tsig(
    msg: &mut Vec<u8>,
    key_wire: &[u8],
    alg_wire: &[u8],
    time_signed: u64,
    fudge: u16,
    mac: &[u8],
    original_id: u16,
    error: u16,
    other: &[u8],
) {
    let rdlen = alg_wire.len() + 6 + 2 + 2 + mac.len() + 2 + 2 + 2 + other.len();
    msg.extend_from_slice(key_wire);
    msg.extend_from_slice(&TYPE_TSIG.to_be_bytes());
    msg.extend_from_slice(&CLASS_ANY.to_be_bytes());
    msg.extend_from_slice(&0u32.to_be_bytes());
    msg.extend_from_slice(&(rdlen as u16).to_be_bytes());
    msg.extend_from_slice(alg_wire);
    msg.extend_from_slice(&time_signed.to_be_bytes()[2..]);
    msg.extend_from_slice(&fudge.to_be_bytes());
    msg.extend_from_slice(&(mac.len() as u16).to_be_bytes());
    msg.extend_from_slice(mac);
    msg.extend_from_slice(&original_id.to_be_bytes());
    msg.extend_from_slice(&error.to_be_bytes());
    msg.extend_from_slice(&(other.len() as u16).to_be_bytes());
    msg.extend_from_slice(other);
    let ar = u16::from_be_bytes([msg[10], msg[11]]).wrapping_add(1);
    msg[10..12].copy_from_slice(&ar.to_be_bytes());
}

/// Bytes a TSIG RR adds for this key with a full MAC and `other_len` octets of Other Data.
fn tsig_rr_len(key: &TsigKey, other_len: usize) -> usize {
    let alg_wire_len = key.algorithm.name().len() + 2;
    key.name_wire.len() + 10 + alg_wire_len + 10 + key.algorithm.mac_len() + 6 + other_len
}

/// Messages shorter than a header cannot be signed; everything else here needs one.
fn check_header(msg: &[u8]) -> Result<(), SignError> {
    if msg.len() < 12 {
        Err(SignError::NotAMessage)
    } else {
        Ok(())
    }
}

/// A message could not be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignError {
    /// Shorter than a DNS header.
    NotAMessage,
    /// The first message and the last of a multi-message response, and every 100th, must be
    /// signed (RFC 8945 §5.3.1).
    MustSign,
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignError::NotAMessage => "not a DNS message (shorter than a header)",
            SignError::MustSign => "this message of the response must be signed (RFC 8945 5.3.1)",
        })
    }
}

impl std::error::Error for SignError {}

// ---------------------------------------------------------------------------------------------
// Server side

/// A request whose TSIG verified: the key (for authorisation) and what signing the answer
/// needs (RFC 8945 §4.3.2: the request MAC).
#[derive(Debug, Clone)]
pub struct ServerTsig {
    key: Arc<TsigKey>,
    request_mac: Vec<u8>,
    original_id: u16,
}

/// A signed request that failed verification, with what its answer needs (RFC 8945 §5.2,
/// §5.3.2).
#[derive(Debug, Clone)]
pub struct TsigReject {
    error: TsigError,
    /// The request's TSIG, to echo key and algorithm names and (BADTIME) its Time Signed
    /// (boxed: rejections travel in `Err` and should stay small).
    rr: Option<Box<TsigRr>>,
    /// The key, when the MAC verified (BADTIME, BADTRUNC answers are signed with it).
    key: Option<Arc<TsigKey>>,
}

/// Verify the TSIG of a received request (RFC 8945 §5.2): `Ok(None)` for an unsigned message,
/// `Ok(Some(_))` when key, MAC, time and MAC length are all good, otherwise the rejection to
/// answer with. `lookup` gets the key name (lowercase, no trailing dot) and returns the key
/// the caller knows by that name; a key whose algorithm differs from the request's is BADKEY.
///
/// Checks run in the RFC's order: key (§5.2.1), MAC (§5.2.2), time (§5.2.3), truncation
/// (§5.2.4). A MAC shorter than the larger of 10 octets and half the hash, or longer than the
/// hash, is FORMERR (§5.2.2.1); a shorter MAC that verifies is BADTRUNC, as lucentd's local
/// policy accepts only untruncated MACs. A message with additional records that does not
/// parse as DNS at all (records running past its end, bytes after the last one) is FormErr
/// too, whether or not it carries a TSIG.
pub fn verify_request<F>(msg: &[u8], now: u64, lookup: F) -> Result<Option<ServerTsig>, TsigReject>
where
    F: FnOnce(&str) -> Option<Arc<TsigKey>>,
{
    let reject = |error, rr: Option<&TsigRr>, key: Option<&Arc<TsigKey>>| TsigReject {
        error,
        rr: rr.cloned().map(Box::new),
        key: key.cloned(),
    };
    // Most queries carry no additional record at all: no need to walk them.
    if msg.len() >= 12 && msg[10..12] == [0, 0] {
        return Ok(None);
    }
    let rr = match find_tsig(msg) {
        Ok(Some(rr)) => rr,
        Ok(None) => return Ok(None),
        Err(Malformed) => return Err(reject(TsigError::FormErr, None, None)),
    };
    // §5.2.1: key name and algorithm must both match a key we have.
    let key = match lookup(&wire_to_text(&rr.key_wire)) {
        Some(k) if alg_wire(k.algorithm) == rr.alg_wire => k,
        _ => return Err(reject(TsigError::BadKey, Some(&rr), None)),
    };
    let full = key.algorithm.mac_len();
    // §5.2.2.1: MAC sizes outside [max(10, L/2), L] cannot be checked at all.
    if rr.mac.len() > full || rr.mac.len() < (full / 2).max(10) {
        return Err(reject(TsigError::FormErr, Some(&rr), None));
    }
    // §5.2.2 with the digest of §4.3.1 / §4.3.3.
    let mut ctx = hmac::Context::with_key(&key.hmac);
    digest_message(&mut ctx, msg, rr.start, rr.original_id, true);
    digest_variables(
        &mut ctx,
        &rr.key_wire,
        &rr.alg_wire,
        rr.time_signed,
        rr.fudge,
        rr.error,
        &rr.other,
    );
    if !mac_matches(ctx.sign().as_ref(), &rr.mac) {
        return Err(reject(TsigError::BadSig, Some(&rr), None));
    }
    // §5.2.3: only after the MAC, so an attacker cannot probe our clock.
    if now.abs_diff(rr.time_signed) > u64::from(rr.fudge) {
        return Err(reject(TsigError::BadTime, Some(&rr), Some(&key)));
    }
    // §5.2.4.
    if rr.mac.len() < full {
        return Err(reject(TsigError::BadTrunc, Some(&rr), Some(&key)));
    }
    Ok(Some(ServerTsig {
        key,
        request_mac: rr.mac,
        original_id: rr.original_id,
    }))
}

fn alg_wire(alg: Algorithm) -> Vec<u8> {
    name_to_wire(alg.name())
}

impl ServerTsig {
    /// The key that signed the request.
    pub fn key(&self) -> &Arc<TsigKey> {
        &self.key
    }

    /// Bytes the TSIG RR adds to a response: leave this much room under the UDP payload size.
    pub fn tsig_len(&self) -> usize {
        tsig_rr_len(&self.key, 0)
    }

    /// Sign a single-message response (RFC 8945 §4.3.2, §5.3): `response` is the complete
    /// answer without TSIG; the TSIG RR is appended and ARCOUNT incremented.
    pub fn sign_response(&self, response: &mut Vec<u8>, now: u64) -> Result<(), SignError> {
        let mut stream = TsigStream::new(self.clone());
        stream.sign(response, now)
    }

    /// The signer for a multi-message response (AXFR, IXFR over TCP, RFC 8945 §5.3.1).
    pub fn into_stream(self) -> TsigStream {
        TsigStream::new(self)
    }
}

impl TsigReject {
    pub fn error(&self) -> TsigError {
        self.error
    }

    /// RCODE for the answer's header: FORMERR or NOTAUTH.
    pub fn rcode(&self) -> u8 {
        self.error.rcode()
    }

    /// The key name the request named, when it could be read (for logs).
    pub fn key_name(&self) -> Option<String> {
        self.rr.as_ref().map(|rr| wire_to_text(&rr.key_wire))
    }

    /// Bytes `sign_error_response` adds (0 for FORMERR).
    pub fn tsig_len(&self) -> usize {
        match (&self.rr, self.error) {
            (None, _) | (_, TsigError::FormErr) => 0,
            (Some(rr), e) => {
                let signed = self.key.as_ref().map_or(0, |k| k.algorithm.mac_len());
                let other = if e == TsigError::BadTime { 6 } else { 0 };
                rr.key_wire.len() + 10 + rr.alg_wire.len() + 10 + signed + 6 + other
            }
        }
    }

    /// Append the TSIG RR an error answer carries (RFC 8945 §5.3.2): none for FORMERR; for
    /// BADKEY and BADSIG an unsigned one (MAC Size 0) naming the request's key and algorithm;
    /// for BADTIME one signed with the key, the request's Time Signed and our time in Other
    /// Data (§5.2.3); for BADTRUNC one signed with the key. `response` is the answer with
    /// the header RCODE already set (see `rcode`).
    pub fn sign_error_response(&self, response: &mut Vec<u8>, now: u64) -> Result<(), SignError> {
        check_header(response)?;
        let Some(rr) = &self.rr else { return Ok(()) };
        if self.error == TsigError::FormErr {
            return Ok(());
        }
        let code = self.error.code();
        match &self.key {
            None => {
                append_tsig(
                    response,
                    &rr.key_wire,
                    &rr.alg_wire,
                    now,
                    DEFAULT_FUDGE,
                    &[],
                    rr.original_id,
                    code,
                    &[],
                );
            }
            Some(key) => {
                let (time, other) = if self.error == TsigError::BadTime {
                    (rr.time_signed, now.to_be_bytes()[2..].to_vec())
                } else {
                    (now, Vec::new())
                };
                let mut ctx = hmac::Context::with_key(&key.hmac);
                digest_prior_mac(&mut ctx, &rr.mac);
                digest_message(&mut ctx, response, response.len(), rr.original_id, false);
                digest_variables(
                    &mut ctx,
                    &key.name_wire,
                    &rr.alg_wire,
                    time,
                    DEFAULT_FUDGE,
                    code,
                    &other,
                );
                let mac = ctx.sign();
                append_tsig(
                    response,
                    &key.name_wire,
                    &rr.alg_wire,
                    time,
                    DEFAULT_FUDGE,
                    mac.as_ref(),
                    rr.original_id,
                    code,
                    &other,
                );
            }
        }
        Ok(())
    }
}

/// Signs the messages of one multi-message response in order (RFC 8945 §5.3.1): the first
/// with the request MAC and all TSIG variables, later ones with the previous MAC, every
/// message sent since it, and the timers only. The transfer loop calls `sign` or `pass` for
/// every message it sends; `next` does the bookkeeping with a fixed signing interval.
pub struct TsigStream {
    key: Arc<TsigKey>,
    original_id: u16,
    /// The MAC the next signature chains from: the request MAC, then our last one.
    prior_mac: Vec<u8>,
    /// Digest of prior MAC and the unsigned messages since, once the first message is signed.
    running: Option<hmac::Context>,
    /// Unsigned messages since the last signed one.
    unsigned: usize,
    /// Sign every `interval`-th message (1..=100) in `next`.
    interval: usize,
    since_signed: usize,
}

impl fmt::Debug for TsigStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigStream")
            .field("key", &self.key.name)
            .field("unsigned", &self.unsigned)
            .field("interval", &self.interval)
            .finish()
    }
}

impl TsigStream {
    fn new(server: ServerTsig) -> Self {
        TsigStream {
            key: server.key,
            original_id: server.original_id,
            prior_mac: server.request_mac,
            running: None,
            unsigned: 0,
            interval: 1,
            since_signed: 0,
        }
    }

    /// Let `next` sign only every `n`-th message (clamped to 1..=100) besides the first and
    /// the last. Signing costs one HMAC finalisation and ~100 bytes per message; the hashing
    /// of the message bytes happens either way.
    pub fn with_interval(mut self, n: usize) -> Self {
        self.interval = n.clamp(1, MAX_UNSIGNED_RUN + 1);
        self
    }

    /// Bytes a signed message grows by.
    pub fn tsig_len(&self) -> usize {
        tsig_rr_len(&self.key, 0)
    }

    /// Process the next message of the response: sign it when it is the first, the last
    /// (`last`) or the interval's turn, else digest it unsigned. Returns whether it was signed.
    pub fn next(&mut self, msg: &mut Vec<u8>, last: bool, now: u64) -> Result<bool, SignError> {
        let first = self.running.is_none();
        if first || last || self.since_signed + 1 >= self.interval {
            self.sign(msg, now)?;
            Ok(true)
        } else {
            self.pass(msg)?;
            Ok(false)
        }
    }

    /// Send this message unsigned: it enters the digest of the next signed one. Refused for
    /// the first message and after 99 unsigned ones in a row.
    pub fn pass(&mut self, msg: &[u8]) -> Result<(), SignError> {
        check_header(msg)?;
        let Some(ctx) = self.running.as_mut() else {
            return Err(SignError::MustSign);
        };
        if self.unsigned >= MAX_UNSIGNED_RUN {
            return Err(SignError::MustSign);
        }
        ctx.update(msg);
        self.unsigned += 1;
        self.since_signed += 1;
        Ok(())
    }

    /// Sign this message (appending its TSIG RR).
    pub fn sign(&mut self, msg: &mut Vec<u8>, now: u64) -> Result<(), SignError> {
        check_header(msg)?;
        let alg = alg_wire(self.key.algorithm);
        let mac = match self.running.take() {
            None => {
                // §4.3.2: request MAC, this message, all TSIG variables.
                let mut ctx = hmac::Context::with_key(&self.key.hmac);
                digest_prior_mac(&mut ctx, &self.prior_mac);
                digest_message(&mut ctx, msg, msg.len(), self.original_id, false);
                digest_variables(
                    &mut ctx,
                    &self.key.name_wire,
                    &alg,
                    now,
                    DEFAULT_FUDGE,
                    0,
                    &[],
                );
                ctx.sign()
            }
            Some(mut ctx) => {
                // §5.3.1: prior MAC and unsigned messages (already in `ctx`), this message,
                // the timers.
                digest_message(&mut ctx, msg, msg.len(), self.original_id, false);
                digest_timers(&mut ctx, now, DEFAULT_FUDGE);
                ctx.sign()
            }
        };
        append_tsig(
            msg,
            &self.key.name_wire,
            &alg,
            now,
            DEFAULT_FUDGE,
            mac.as_ref(),
            self.original_id,
            0,
            &[],
        );
        self.prior_mac = mac.as_ref().to_vec();
        let mut ctx = hmac::Context::with_key(&self.key.hmac);
        digest_prior_mac(&mut ctx, &self.prior_mac);
        self.running = Some(ctx);
        self.unsigned = 0;
        self.since_signed = 0;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Client side (requests lucentd sends: NOTIFY, and tests that play secondary)

/// Sign a request (RFC 8945 §5.1): `msg` is the complete request; the TSIG RR is appended. The
/// returned `ClientTsig` verifies the response(s).
pub fn sign_request(
    key: Arc<TsigKey>,
    msg: &mut Vec<u8>,
    now: u64,
) -> Result<ClientTsig, SignError> {
    check_header(msg)?;
    let original_id = u16::from_be_bytes([msg[0], msg[1]]);
    let alg = alg_wire(key.algorithm);
    let mut ctx = hmac::Context::with_key(&key.hmac);
    digest_message(&mut ctx, msg, msg.len(), original_id, false);
    digest_variables(&mut ctx, &key.name_wire, &alg, now, DEFAULT_FUDGE, 0, &[]);
    let mac = ctx.sign();
    append_tsig(
        msg,
        &key.name_wire,
        &alg,
        now,
        DEFAULT_FUDGE,
        mac.as_ref(),
        original_id,
        0,
        &[],
    );
    Ok(ClientTsig {
        key,
        prior_mac: mac.as_ref().to_vec(),
        running: None,
        unsigned: 0,
    })
}

/// What a response carried, when it verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseTsig {
    /// Signed and verified.
    Signed,
    /// An intermediate message of a multi-message response without TSIG (allowed by RFC 8945
    /// §5.3.1); it is covered by the next signed one.
    Unsigned,
}

/// A response that did not verify (RFC 8945 §5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseError {
    /// Not a DNS message or a malformed TSIG RR.
    Malformed,
    /// No TSIG where one is required: the first message, or after 99 unsigned ones.
    Unsigned,
    /// The TSIG names another key or algorithm.
    WrongKey,
    /// The MAC does not verify, or is truncated (we accept full MACs only, §5.4.4).
    BadSig,
    /// Time Signed outside now ± fudge (§5.4.3).
    BadTime,
    /// The server answered with a TSIG error (§5.4.1–§5.4.4): BADKEY and BADSIG answers are
    /// unsigned, so nothing about them is verified.
    Server(u16),
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::Malformed => f.write_str("malformed response or TSIG record"),
            ResponseError::Unsigned => f.write_str("response is not signed"),
            ResponseError::WrongKey => f.write_str("response signed with another key"),
            ResponseError::BadSig => f.write_str("response MAC does not verify"),
            ResponseError::BadTime => f.write_str("response signed outside the time window"),
            ResponseError::Server(code) => match TsigError::from_code(*code) {
                Some(e) => write!(f, "server answered TSIG error {e}"),
                None => write!(f, "server answered TSIG error {code}"),
            },
        }
    }
}

impl std::error::Error for ResponseError {}

/// Verifies the response(s) to a request we signed, single or multi-message (RFC 8945 §5.4,
/// §5.3.1).
pub struct ClientTsig {
    key: Arc<TsigKey>,
    prior_mac: Vec<u8>,
    /// Digest of prior MAC and unsigned messages since, after the first signed response.
    running: Option<hmac::Context>,
    unsigned: usize,
}

impl fmt::Debug for ClientTsig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTsig")
            .field("key", &self.key.name)
            .field("unsigned", &self.unsigned)
            .finish()
    }
}

impl ClientTsig {
    /// Verify the next response message.
    pub fn verify(&mut self, msg: &[u8], now: u64) -> Result<ResponseTsig, ResponseError> {
        let rr = match find_tsig(msg) {
            Err(Malformed) => return Err(ResponseError::Malformed),
            Ok(None) => {
                let Some(ctx) = self.running.as_mut() else {
                    return Err(ResponseError::Unsigned);
                };
                if self.unsigned >= MAX_UNSIGNED_RUN {
                    return Err(ResponseError::Unsigned);
                }
                ctx.update(msg);
                self.unsigned += 1;
                return Ok(ResponseTsig::Unsigned);
            }
            Ok(Some(rr)) => rr,
        };
        if rr.key_wire != self.key.name_wire || rr.alg_wire != alg_wire(self.key.algorithm) {
            return Err(ResponseError::WrongKey);
        }
        if rr.mac.is_empty() && rr.error != 0 {
            // §5.4.1, §5.4.2: BADKEY / BADSIG answers come unsigned.
            return Err(ResponseError::Server(rr.error));
        }
        if rr.mac.len() != self.key.algorithm.mac_len() {
            return Err(ResponseError::BadSig);
        }
        let mac = match self.running.take() {
            None => {
                let mut ctx = hmac::Context::with_key(&self.key.hmac);
                digest_prior_mac(&mut ctx, &self.prior_mac);
                digest_message(&mut ctx, msg, rr.start, rr.original_id, true);
                digest_variables(
                    &mut ctx,
                    &rr.key_wire,
                    &rr.alg_wire,
                    rr.time_signed,
                    rr.fudge,
                    rr.error,
                    &rr.other,
                );
                ctx.sign()
            }
            Some(mut ctx) => {
                digest_message(&mut ctx, msg, rr.start, rr.original_id, true);
                digest_timers(&mut ctx, rr.time_signed, rr.fudge);
                ctx.sign()
            }
        };
        if !mac_matches(mac.as_ref(), &rr.mac) {
            return Err(ResponseError::BadSig);
        }
        if rr.error != 0 {
            // A signed error (BADTIME with the server's clock in Other Data, BADTRUNC).
            return Err(ResponseError::Server(rr.error));
        }
        if now.abs_diff(rr.time_signed) > u64::from(rr.fudge) {
            return Err(ResponseError::BadTime);
        }
        self.prior_mac = rr.mac;
        let mut ctx = hmac::Context::with_key(&self.key.hmac);
        digest_prior_mac(&mut ctx, &self.prior_mac);
        self.running = Some(ctx);
        self.unsigned = 0;
        Ok(ResponseTsig::Signed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, UdpSocket};
    use std::process::{Command, Stdio};
    use std::time::Duration;

    const SECRET: &str = "KHWCBWOQ9WFgvjHBT0r5O7r+ExUSDWXHRAeb1SH2ehA=";
    const OTHER_SECRET: &str = "q3Uf0RPUQ1C6I8AkLXJUkVrJCmvJ3p7nZDIXsmSgybs=";
    const NOW: u64 = 1_764_000_000;

    fn key(alg: &str) -> Arc<TsigKey> {
        Arc::new(TsigKey::from_base64("tsig-key.example", alg, SECRET).unwrap())
    }

    fn wire_name(name: &str) -> Vec<u8> {
        name_to_wire(name)
    }

    /// A query for `name`/`qtype` with the given opcode (0 QUERY, 4 NOTIFY, 5 UPDATE).
    fn query(id: u16, opcode: u8, name: &str, qtype: u16) -> Vec<u8> {
        let mut m = id.to_be_bytes().to_vec();
        m.extend_from_slice(&[opcode << 3, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        m.extend(wire_name(name));
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        m
    }

    /// Answer a (signed) query: header and question of the query, QR and AA set, the given
    /// RCODE and, for NOERROR queries, one A record 192.0.2.7 for the question name.
    fn answer(q: &[u8], rcode: u8, with_a: bool) -> Vec<u8> {
        let qend = skip_name(q, 12).unwrap() + 4;
        let mut m = q[..qend].to_vec();
        m[2] = (q[2] & 0x78) | 0x84; // QR, opcode kept, AA
        m[3] = rcode & 0x0F;
        m[4..12].copy_from_slice(&[0, 1, 0, u8::from(with_a), 0, 0, 0, 0]);
        if with_a {
            m.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7]);
        }
        m
    }

    fn tool(name: &str) -> &'static str {
        for dir in ["/usr/bin", "/usr/local/bin", "/bin"] {
            let p = format!("{dir}/{name}");
            if std::path::Path::new(&p).exists() {
                return Box::leak(p.into_boxed_str());
            }
        }
        panic!("{name} not found: install Debian's dnsutils (bind9-dnsutils) to run the TSIG interop tests");
    }

    /// Run `cmd` (which gets `-p PORT` appended by `args`) against a one-socket UDP responder
    /// that hands every datagram to `reply` until the command exits; returns its output.
    fn udp_exchange(
        build: impl FnOnce(u16) -> Command,
        stdin: impl FnOnce(u16) -> Option<String>,
        mut reply: impl FnMut(&[u8]) -> Option<Vec<u8>>,
    ) -> (String, bool) {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let port = sock.local_addr().unwrap().port();
        let mut cmd = build(port);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(input) = stdin(port) {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        } else {
            drop(child.stdin.take());
        }
        let mut buf = [0u8; 65535];
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "client did not finish"
            );
            if let Ok((n, from)) = sock.recv_from(&mut buf) {
                if let Some(resp) = reply(&buf[..n]) {
                    sock.send_to(&resp, from).unwrap();
                }
            }
        }
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (text, out.status.success())
    }

    fn dig(alg: &str, secret: &str) -> impl FnOnce(u16) -> Command {
        let y = format!("{alg}:tsig-key.example:{secret}");
        move |port| {
            let mut c = Command::new(tool("dig"));
            c.args(["@127.0.0.1", "-p", &port.to_string(), "-y", &y])
                .args(["www.example.org", "A", "+tries=1", "+time=5"]);
            c
        }
    }

    /// Verify with our code, answer NOERROR signed (or whatever `on_verified` makes of it).
    fn serve_signed(
        q: &[u8],
        keys: &Arc<TsigKey>,
        now: u64,
        seen: &mut Vec<Result<(), TsigError>>,
    ) -> Vec<u8> {
        match verify_request(q, now, |name| (name == keys.name()).then(|| keys.clone())) {
            Ok(Some(server)) => {
                seen.push(Ok(()));
                let mut r = answer(q, 0, true);
                server.sign_response(&mut r, clock_now()).unwrap();
                r
            }
            Ok(None) => panic!("dig sent an unsigned query"),
            Err(rej) => {
                seen.push(Err(rej.error()));
                let mut r = answer(q, rej.rcode(), false);
                rej.sign_error_response(&mut r, clock_now()).unwrap();
                r
            }
        }
    }

    fn rr_start(m: &[u8]) -> usize {
        find_tsig(m).unwrap().unwrap().start
    }

    /// Unix seconds now (without `crate::clock`: `dns/` imports only `model`).
    fn clock_now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    // ---- keys

    #[test]
    fn key_from_base64_and_bind_clause() {
        let k = TsigKey::from_base64("XFR.", "HMAC-SHA384.", SECRET).unwrap();
        assert_eq!(k.name(), "xfr");
        assert_eq!(k.algorithm(), Algorithm::HmacSha384);
        assert_eq!(k.secret_base64(), SECRET);
        let dbg = format!("{k:?}");
        assert!(
            dbg.contains("xfr") && !dbg.contains("KHWC") && dbg.contains("***"),
            "{dbg}"
        );

        // What `tsig-keygen -a hmac-sha512 upd.example` prints, with a comment added.
        let text = format!(
            "# generated\nkey \"upd.example\" {{\n\talgorithm hmac-sha512;\n\tsecret \"{SECRET}\";\n}};\n"
        );
        let keys = TsigKey::parse_bind(&text).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].name(), "upd.example");
        assert_eq!(keys[0].algorithm(), Algorithm::HmacSha512);
        assert_eq!(keys[0].secret_base64(), SECRET);

        assert!(TsigKey::from_base64("k", "hmac-md5", SECRET).is_err());
        assert!(TsigKey::from_base64("k", "hmac-sha256", "not base64!").is_err());
        assert!(TsigKey::from_base64("k", "hmac-sha256", "").is_err());
        assert!(TsigKey::from_base64("a..b", "hmac-sha256", SECRET).is_err());
        assert!(TsigKey::parse_bind("key \"k\" { algorithm hmac-sha256; };").is_err());
        assert!(TsigKey::parse_bind("key \"k\" { secret \"x\" }").is_err());
    }

    // ---- our client against our server

    #[test]
    fn request_and_response_round_trip_for_every_algorithm() {
        for alg in ["hmac-sha256", "hmac-sha384", "hmac-sha512"] {
            let k = key(alg);
            let mut q = query(0x1234, 4, "example.org", 6);
            let mut client = sign_request(k.clone(), &mut q, NOW).unwrap();
            assert_eq!(
                u16::from_be_bytes([q[10], q[11]]),
                1,
                "ARCOUNT counts the TSIG"
            );
            let server = verify_request(&q, NOW + 10, |n| {
                (n == "tsig-key.example").then(|| k.clone())
            })
            .unwrap()
            .expect("signed");
            assert_eq!(server.key().name(), "tsig-key.example");
            let mut r = answer(&q[..find_tsig(&q).unwrap().unwrap().start], 0, true);
            r[10..12].copy_from_slice(&[0, 0]);
            let before = r.len();
            server.sign_response(&mut r, NOW + 10).unwrap();
            assert_eq!(r.len() - before, server.tsig_len());
            assert_eq!(
                client.verify(&r, NOW + 20),
                Ok(ResponseTsig::Signed),
                "{alg}"
            );

            // The same response checked by a fresh client with another request MAC fails.
            let mut q2 = query(0x1234, 4, "example.org", 6);
            let mut other = sign_request(k.clone(), &mut q2, NOW + 1).unwrap();
            assert_eq!(other.verify(&r, NOW + 20), Err(ResponseError::BadSig));
        }
    }

    #[test]
    fn unsigned_request_is_none() {
        let q = query(7, 0, "example.org", 1);
        let got = verify_request(&q, NOW, |_| panic!("no lookup for unsigned"));
        assert!(matches!(got, Ok(None)));
    }

    #[test]
    fn every_flipped_bit_is_badsig() {
        let k = key("hmac-sha256");
        let mut q = query(99, 0, "www.example.org", 1);
        sign_request(k.clone(), &mut q, NOW).unwrap();
        let tsig_start = find_tsig(&q).unwrap().unwrap().start;
        // Every byte of the message part and of the MAC (the TSIG fields are checked apart).
        for i in (2..tsig_start).chain(q.len() - 38..q.len() - 6) {
            let mut bad = q.clone();
            bad[i] ^= 0x20;
            let got = verify_request(&bad, NOW, |_| Some(k.clone()));
            match got {
                Err(rej) => assert!(
                    matches!(
                        rej.error(),
                        TsigError::BadSig | TsigError::FormErr | TsigError::BadKey
                    ),
                    "byte {i}: {:?}",
                    rej.error()
                ),
                Ok(_) => panic!("byte {i} flipped and still verified"),
            }
        }
        // Flipping the ID only changes nothing: the MAC covers the Original ID (RFC 8945 §4.3.3).
        let mut forwarded = q.clone();
        forwarded[0] ^= 0xFF;
        assert!(matches!(
            verify_request(&forwarded, NOW, |_| Some(k.clone())),
            Ok(Some(_))
        ));
        assert!(matches!(
            verify_request(&q, NOW, |_| Some(k.clone())),
            Ok(Some(_))
        ));
    }

    #[test]
    fn badkey_for_unknown_name_or_other_algorithm() {
        let k = key("hmac-sha256");
        let mut q = query(1, 0, "example.org", 6);
        sign_request(k.clone(), &mut q, NOW).unwrap();
        let rej = verify_request(&q, NOW, |_| None).unwrap_err();
        assert_eq!(rej.error(), TsigError::BadKey);
        assert_eq!(rej.rcode(), RCODE_NOTAUTH);
        assert_eq!(rej.key_name().as_deref(), Some("tsig-key.example"));
        let rej = verify_request(&q, NOW, |_| Some(key("hmac-sha512"))).unwrap_err();
        assert_eq!(rej.error(), TsigError::BadKey);

        // The answer carries an unsigned TSIG (MAC size 0) with BADKEY (RFC 8945 §5.3.2).
        let mut client = sign_request(k.clone(), &mut query(1, 0, "example.org", 6), NOW).unwrap();
        let mut r = answer(
            &q[..find_tsig(&q).unwrap().unwrap().start],
            RCODE_NOTAUTH,
            false,
        );
        r[10..12].copy_from_slice(&[0, 0]);
        let before = r.len();
        rej.sign_error_response(&mut r, NOW).unwrap();
        assert_eq!(r.len() - before, rej.tsig_len());
        let rr = find_tsig(&r).unwrap().unwrap();
        assert!(rr.mac.is_empty());
        assert_eq!(rr.error, 17);
        assert_eq!(client.verify(&r, NOW), Err(ResponseError::Server(17)));
    }

    #[test]
    fn badtime_outside_fudge_and_signed_answer() {
        let k = key("hmac-sha256");
        let mut q = query(5, 0, "example.org", 6);
        let mut client = sign_request(k.clone(), &mut q, NOW).unwrap();
        // Inside the fudge at both ends.
        for now in [NOW - 300, NOW + 300] {
            assert!(matches!(
                verify_request(&q, now, |_| Some(k.clone())),
                Ok(Some(_))
            ));
        }
        for now in [NOW - 301, NOW + 301] {
            let rej = verify_request(&q, now, |_| Some(k.clone())).unwrap_err();
            assert_eq!(rej.error(), TsigError::BadTime);
        }
        let rej = verify_request(&q, NOW + 1000, |_| Some(k.clone())).unwrap_err();
        let mut r = answer(
            &q[..find_tsig(&q).unwrap().unwrap().start],
            RCODE_NOTAUTH,
            false,
        );
        r[10..12].copy_from_slice(&[0, 0]);
        rej.sign_error_response(&mut r, NOW + 1000).unwrap();
        let rr = find_tsig(&r).unwrap().unwrap();
        assert_eq!(
            rr.time_signed, NOW,
            "BADTIME echoes the request's Time Signed"
        );
        assert_eq!(
            be48(&rr.other, 0).unwrap(),
            NOW + 1000,
            "and our clock in Other Data"
        );
        assert_eq!(rr.error, 18);
        // Signed: our client verifies the MAC and then reports the server's error.
        assert_eq!(client.verify(&r, NOW), Err(ResponseError::Server(18)));
    }

    #[test]
    fn truncated_mac_badtrunc_and_short_mac_formerr() {
        let k = key("hmac-sha256");
        let mut q = query(5, 0, "example.org", 6);
        sign_request(k.clone(), &mut q, NOW).unwrap();
        let rr = find_tsig(&q).unwrap().unwrap();
        let with_mac = |len: usize| {
            let mut m = q[..rr.start].to_vec();
            m[10..12].copy_from_slice(&[0, 0]);
            append_tsig(
                &mut m,
                &rr.key_wire,
                &rr.alg_wire,
                NOW,
                300,
                &rr.mac[..len],
                5,
                0,
                &[],
            );
            m
        };
        assert_eq!(
            verify_request(&with_mac(16), NOW, |_| Some(k.clone()))
                .unwrap_err()
                .error(),
            TsigError::BadTrunc
        );
        assert_eq!(
            verify_request(&with_mac(15), NOW, |_| Some(k.clone()))
                .unwrap_err()
                .error(),
            TsigError::FormErr
        );
        assert!(matches!(
            verify_request(&with_mac(32), NOW, |_| Some(k.clone())),
            Ok(Some(_))
        ));
    }

    #[test]
    fn tsig_must_be_last_and_well_formed() {
        let k = key("hmac-sha256");
        let mut q = query(5, 0, "example.org", 6);
        sign_request(k.clone(), &mut q, NOW).unwrap();
        // A record after the TSIG.
        let mut after = q.clone();
        after[11] += 1;
        after.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
        let rej = verify_request(&after, NOW, |_| Some(k.clone())).unwrap_err();
        assert_eq!(rej.error(), TsigError::FormErr);
        assert_eq!(rej.rcode(), RCODE_FORMERR);
        assert_eq!(rej.tsig_len(), 0);
        // Trailing garbage, truncated message.
        let mut trailing = q.clone();
        trailing.push(0);
        assert_eq!(
            verify_request(&trailing, NOW, |_| Some(k.clone()))
                .unwrap_err()
                .error(),
            TsigError::FormErr
        );
        for cut in [5, 12, q.len() - 1] {
            assert_eq!(
                verify_request(&q[..cut], NOW, |_| Some(k.clone()))
                    .unwrap_err()
                    .error(),
                TsigError::FormErr
            );
        }
        // A TSIG owner name that points at itself must not hang: FORMERR.
        let mut looped = q[..rr_start(&q)].to_vec();
        let p = looped.len();
        looped.extend_from_slice(&[0xC0 | (p >> 8) as u8, p as u8]);
        looped.extend_from_slice(&q[rr_start(&q) + wire_name("tsig-key.example").len()..]);
        assert_eq!(
            verify_request(&looped, NOW, |_| Some(k.clone()))
                .unwrap_err()
                .error(),
            TsigError::FormErr
        );
        // The same RR with a proper pointer to a name elsewhere would be readable: the test
        // above fails for the loop, not for the pointer.
        let mut pointed = q[..rr_start(&q)].to_vec();
        pointed.extend_from_slice(&[0xC0, 12]);
        pointed.extend_from_slice(&q[rr_start(&q) + wire_name("tsig-key.example").len()..]);
        let rej = verify_request(&pointed, NOW, |_| None).unwrap_err();
        assert_eq!(rej.error(), TsigError::BadKey);
        assert_eq!(rej.key_name().as_deref(), Some("example.org"));
    }

    #[test]
    fn stream_signs_first_last_and_every_interval_and_client_follows() {
        let k = key("hmac-sha512");
        let q0 = query(0xBEEF, 0, "example.org", 252);
        let mut q = q0.clone();
        let mut client = sign_request(k.clone(), &mut q, NOW).unwrap();
        let server = verify_request(&q, NOW, |_| Some(k.clone()))
            .unwrap()
            .unwrap();
        let mut stream = server.into_stream().with_interval(3);
        let mut msgs = Vec::new();
        let mut signed = Vec::new();
        for i in 0..10u8 {
            let mut m = answer(&query(0xBEEF, 0, "example.org", 252), 0, true);
            let n = m.len();
            m[n - 1] = i; // distinct A addresses
            signed.push(stream.next(&mut m, i == 9, NOW).unwrap());
            msgs.push(m);
        }
        assert_eq!(
            signed,
            [true, false, false, true, false, false, true, false, false, true]
        );
        for (i, m) in msgs.iter().enumerate() {
            let want = if signed[i] {
                ResponseTsig::Signed
            } else {
                ResponseTsig::Unsigned
            };
            assert_eq!(client.verify(m, NOW), Ok(want), "message {i}");
        }

        // A changed unsigned message is caught by the next signature.
        // (Same request, same time: the same request MAC.)
        let mut client = sign_request(k.clone(), &mut q0.clone(), NOW).unwrap();
        let mut tampered = msgs.clone();
        let n = tampered[1].len();
        tampered[1][n - 1] ^= 0x40;
        assert_eq!(client.verify(&tampered[0], NOW), Ok(ResponseTsig::Signed));
        assert_eq!(client.verify(&tampered[1], NOW), Ok(ResponseTsig::Unsigned));
        assert_eq!(client.verify(&tampered[2], NOW), Ok(ResponseTsig::Unsigned));
        assert_eq!(client.verify(&tampered[3], NOW), Err(ResponseError::BadSig));
    }

    #[test]
    fn stream_refuses_unsigned_first_and_long_runs() {
        let k = key("hmac-sha256");
        let mut q = query(1, 0, "example.org", 252);
        sign_request(k.clone(), &mut q, NOW).unwrap();
        let mut stream = verify_request(&q, NOW, |_| Some(k.clone()))
            .unwrap()
            .unwrap()
            .into_stream();
        let m = answer(&query(1, 0, "example.org", 252), 0, true);
        assert_eq!(stream.pass(&m), Err(SignError::MustSign));
        stream.sign(&mut m.clone(), NOW).unwrap();
        for _ in 0..MAX_UNSIGNED_RUN {
            stream.pass(&m).unwrap();
        }
        assert_eq!(stream.pass(&m), Err(SignError::MustSign));
        let mut stream = verify_request(&q, NOW, |_| Some(k.clone()))
            .unwrap()
            .unwrap()
            .into_stream()
            .with_interval(1000);
        let mut count_unsigned = 0;
        for i in 0..250 {
            if !stream.next(&mut m.clone(), i == 249, NOW).unwrap() {
                count_unsigned += 1;
            }
        }
        assert_eq!(count_unsigned, 250 - 4, "signed: 0, 100, 200, 249");
    }

    // ---- against BIND's dig and nsupdate (Debian dnsutils)

    #[test]
    fn dig_verifies_our_signed_answers() {
        for alg in ["hmac-sha256", "hmac-sha384", "hmac-sha512"] {
            let k = key(alg);
            let mut seen = Vec::new();
            let (out, ok) = udp_exchange(
                dig(alg, SECRET),
                |_| None,
                |q| Some(serve_signed(q, &k, clock_now(), &mut seen)),
            );
            assert!(ok, "{out}");
            assert_eq!(seen, [Ok(())], "{out}");
            assert!(out.contains("192.0.2.7"), "{out}");
            let tsig_line = out
                .lines()
                .find(|l| l.contains("ANY\tTSIG\t"))
                .unwrap_or_else(|| panic!("{out}"));
            assert!(
                tsig_line.contains(&format!("{alg}.")) && tsig_line.contains("NOERROR"),
                "{out}"
            );
            assert!(
                !out.contains("Couldn't verify") && !out.contains("failure"),
                "{out}"
            );
        }
    }

    #[test]
    fn dig_with_an_upper_case_key_name() {
        // Key names compare case-insensitively and enter the MAC in lower case (RFC 8945
        // §4.3.3): dig's "TSIG-Key.Example" is our "tsig-key.example".
        let k = key("hmac-sha256");
        let mut seen = Vec::new();
        let y = format!("hmac-sha256:TSIG-Key.Example:{SECRET}");
        let (out, ok) = udp_exchange(
            |port| {
                let mut c = Command::new(tool("dig"));
                c.args(["@127.0.0.1", "-p", &port.to_string(), "-y", &y])
                    .args(["www.example.org", "A", "+tries=1", "+time=5"]);
                c
            },
            |_| None,
            |q| Some(serve_signed(q, &k, clock_now(), &mut seen)),
        );
        assert!(ok, "{out}");
        assert_eq!(seen, [Ok(())], "{out}");
        assert!(!out.contains("Couldn't verify"), "{out}");
    }

    #[test]
    fn dig_notices_a_corrupted_mac() {
        let k = key("hmac-sha256");
        let mut seen = Vec::new();
        let (out, _) = udp_exchange(
            dig("hmac-sha256", SECRET),
            |_| None,
            |q| {
                let mut r = serve_signed(q, &k, clock_now(), &mut seen);
                let n = r.len();
                r[n - 10] ^= 1; // last MAC byte (Original ID, Error, Other Len follow)
                Some(r)
            },
        );
        assert_eq!(seen, [Ok(())]);
        assert!(out.contains("Couldn't verify signature"), "{out}");
    }

    #[test]
    fn dig_with_wrong_secret_gets_badsig() {
        let k = key("hmac-sha256");
        let mut seen = Vec::new();
        let (out, _) = udp_exchange(
            dig("hmac-sha256", OTHER_SECRET),
            |_| None,
            |q| Some(serve_signed(q, &k, clock_now(), &mut seen)),
        );
        assert_eq!(seen, [Err(TsigError::BadSig)], "{out}");
        assert!(out.contains("NOTAUTH") && out.contains("BADSIG"), "{out}");
        assert!(!out.contains("192.0.2.7"), "{out}");
    }

    #[test]
    fn dig_with_unknown_key_gets_badkey() {
        let k = Arc::new(TsigKey::from_base64("other-key", "hmac-sha256", SECRET).unwrap());
        let mut seen = Vec::new();
        let (out, _) = udp_exchange(
            dig("hmac-sha256", SECRET),
            |_| None,
            |q| Some(serve_signed(q, &k, clock_now(), &mut seen)),
        );
        assert_eq!(seen, [Err(TsigError::BadKey)], "{out}");
        assert!(out.contains("NOTAUTH") && out.contains("BADKEY"), "{out}");
    }

    /// Flip a bit of the MAC in a signed answer.
    fn corrupt_mac(r: &mut [u8]) {
        let mac = find_tsig(r).unwrap().unwrap().mac;
        let at = r.windows(mac.len()).rposition(|w| w == mac).unwrap();
        r[at] ^= 1;
    }

    /// dig's verdict on our signed error answer to its request, and on the same answer with
    /// its MAC corrupted: the first must be the TSIG error, the second a verify failure, so
    /// dig really checked the MAC before it looked at the error.
    fn dig_on_signed_error(alg: &str, skew: u64, want: TsigError) -> (String, String) {
        let k = key("hmac-sha256");
        let mut outs = Vec::new();
        for corrupt in [false, true] {
            let mut seen = Vec::new();
            let (out, _) = udp_exchange(
                dig(alg, SECRET),
                |_| None,
                |q| {
                    let mut r = serve_signed(q, &k, clock_now() + skew, &mut seen);
                    if corrupt {
                        corrupt_mac(&mut r);
                    }
                    Some(r)
                },
            );
            assert_eq!(seen, [Err(want)], "{out}");
            assert!(
                out.contains(&want.to_string()) && out.contains("NOTAUTH"),
                "{out}"
            );
            outs.push(out);
        }
        let corrupted = outs.pop().unwrap_or_default();
        (outs.pop().unwrap_or_default(), corrupted)
    }

    #[test]
    fn dig_verifies_our_signed_badtime_answer() {
        // Our clock 20 minutes ahead of dig's: dig verifies the MAC, then reports the skew.
        let (good, corrupted) = dig_on_signed_error("hmac-sha256", 1200, TsigError::BadTime);
        assert!(good.contains("clocks are unsynchronized"), "{good}");
        assert!(!good.contains("verify failure"), "{good}");
        assert!(corrupted.contains("tsig verify failure"), "{corrupted}");
    }

    #[test]
    fn dig_with_truncated_mac_gets_signed_badtrunc() {
        let (good, corrupted) = dig_on_signed_error("hmac-sha256-128", 0, TsigError::BadTrunc);
        assert!(good.contains("tsig indicates error"), "{good}");
        assert!(!good.contains("verify failure"), "{good}");
        assert!(corrupted.contains("tsig verify failure"), "{corrupted}");
    }

    /// nsupdate's output and success, our verdicts, the messages it sent.
    type NsupdateRun = (String, bool, Vec<Result<(), TsigError>>, Vec<Vec<u8>>);

    fn nsupdate(secret: &'static str, add: &'static str) -> NsupdateRun {
        update_with("nsupdate", secret, add)
    }

    /// Run BIND's `nsupdate` or Knot's `knsupdate` with `-y` against our verifier.
    fn update_with(program: &str, secret: &'static str, add: &'static str) -> NsupdateRun {
        let k = key("hmac-sha256");
        let mut seen = Vec::new();
        let mut received = Vec::new();
        let (out, ok) = udp_exchange(
            |_| {
                let mut c = Command::new(tool(program));
                c.args(["-y", &format!("hmac-sha256:tsig-key.example:{secret}")]);
                if program == "nsupdate" {
                    c.args(["-t", "5"]);
                }
                c
            },
            |port| {
                Some(format!(
                    "server 127.0.0.1 {port}\nzone example.org\nupdate add {add}\nsend\n"
                ))
            },
            |q| {
                received.push(q.to_vec());
                let got = verify_request(q, clock_now(), |n| (n == k.name()).then(|| k.clone()));
                Some(match got {
                    Ok(Some(server)) => {
                        seen.push(Ok(()));
                        let mut r = answer(q, 0, false);
                        server.sign_response(&mut r, clock_now()).unwrap();
                        r
                    }
                    Ok(None) => panic!("nsupdate sent an unsigned message"),
                    Err(rej) => {
                        seen.push(Err(rej.error()));
                        let mut r = answer(q, rej.rcode(), false);
                        rej.sign_error_response(&mut r, clock_now()).unwrap();
                        r
                    }
                })
            },
        );
        (out, ok, seen, received)
    }

    #[test]
    fn nsupdate_signed_update_verifies_and_accepts_our_answer() {
        let (out, ok, seen, received) = nsupdate(SECRET, "host.example.org 60 A 192.0.2.1");
        assert_eq!(seen, [Ok(())], "{out}");
        assert!(ok, "nsupdate failed: {out}");
        let upd = &received[0];
        assert_eq!((upd[2] >> 3) & 0x0F, 5, "opcode UPDATE");
        assert!(
            upd.windows(4).any(|w| w == [192, 0, 2, 1]),
            "the update carries the record"
        );
    }

    #[test]
    fn nsupdate_with_wrong_secret_is_refused() {
        let (out, ok, seen, _) = nsupdate(OTHER_SECRET, "host.example.org 60 A 192.0.2.1");
        assert_eq!(seen, [Err(TsigError::BadSig)], "{out}");
        assert!(!ok, "nsupdate must fail: {out}");
    }

    // ---- multi-message AXFR over TCP, checked by dig

    fn rr(owner: &str, rtype: u16, rdata: &[u8]) -> Vec<u8> {
        let mut r = wire_name(owner);
        r.extend_from_slice(&rtype.to_be_bytes());
        r.extend_from_slice(&1u16.to_be_bytes());
        r.extend_from_slice(&300u32.to_be_bytes());
        r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        r.extend_from_slice(rdata);
        r
    }

    fn soa() -> Vec<u8> {
        let mut d = wire_name("ns1.example.org");
        d.extend(wire_name("hostmaster.example.org"));
        for v in [2026120301u32, 3600, 600, 86400, 300] {
            d.extend_from_slice(&v.to_be_bytes());
        }
        rr("example.org", 6, &d)
    }

    /// Serve one AXFR of `messages` messages of 5 A records each over TCP, signed through a
    /// `TsigStream` signing every 3rd; `tamper` may change a message after signing.
    fn axfr_with_dig(messages: usize, tamper: impl Fn(usize, &mut Vec<u8>)) -> String {
        axfr_with(
            |port| {
                let mut c = Command::new(tool("dig"));
                c.args(["@127.0.0.1", "-p", &port.to_string()])
                    .args(["-y", &format!("hmac-sha256:tsig-key.example:{SECRET}")])
                    .args(["example.org", "AXFR", "+tries=1", "+time=5"]);
                c
            },
            messages,
            tamper,
        )
    }

    /// The AXFR exchange with any client command (given the port).
    fn axfr_with(
        client: impl FnOnce(u16) -> Command,
        messages: usize,
        tamper: impl Fn(usize, &mut Vec<u8>),
    ) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let child = client(port)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut len = [0u8; 2];
        conn.read_exact(&mut len).unwrap();
        let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
        conn.read_exact(&mut q).unwrap();
        let k = key("hmac-sha256");
        let server = verify_request(&q, clock_now(), |n| (n == k.name()).then(|| k.clone()))
            .unwrap()
            .expect("signed AXFR request");
        let mut stream = server.into_stream().with_interval(3);
        let qend = skip_name(&q, 12).unwrap() + 4;
        for i in 0..messages {
            let mut m = q[..12].to_vec();
            m[2] = 0x84;
            m[3] = 0;
            let mut records = Vec::new();
            if i == 0 {
                records.push(soa());
            }
            for j in 0..5u8 {
                records.push(rr(&format!("h{i}-{j}.example.org"), 1, &[192, 0, 2, j]));
            }
            if i + 1 == messages {
                records.push(soa());
            }
            let qd = u16::from(i == 0);
            m[4..12].copy_from_slice(&[0, qd as u8, 0, records.len() as u8, 0, 0, 0, 0]);
            if i == 0 {
                m.extend_from_slice(&q[12..qend]);
            }
            for r in records {
                m.extend(r);
            }
            stream.next(&mut m, i + 1 == messages, clock_now()).unwrap();
            tamper(i, &mut m);
            let mut framed = (m.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&m);
            if conn.write_all(&framed).is_err() {
                // The client gave up (after a MAC it rejected).
                break;
            }
        }
        drop(conn);
        let out = child.wait_with_output().unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    #[test]
    fn dig_verifies_our_multi_message_axfr() {
        let out = axfr_with_dig(8, |_, _| {});
        assert!(out.contains("XFR size: 42 records (messages 8"), "{out}");
        assert!(!out.contains("failed") && !out.contains("failure"), "{out}");
    }

    #[test]
    fn dig_notices_a_changed_unsigned_axfr_message() {
        // Message 1 goes out unsigned (interval 3): changing its last A record's address
        // breaks the MAC of message 2.
        let out = axfr_with_dig(8, |i, m| {
            if i == 1 {
                let n = m.len();
                m[n - 1] ^= 0x40;
            }
        });
        assert!(out.contains("failed") || out.contains("failure"), "{out}");
    }

    #[test]
    fn knsupdate_signed_update_verifies_and_accepts_our_answer() {
        let (out, ok, seen, received) =
            update_with("knsupdate", SECRET, "host.example.org 60 A 192.0.2.1");
        assert_eq!(seen, [Ok(())], "{out}");
        assert!(ok, "knsupdate failed: {out}");
        assert_eq!((received[0][2] >> 3) & 0x0F, 5, "opcode UPDATE");
        let (out, _, seen, _) =
            update_with("knsupdate", OTHER_SECRET, "host.example.org 60 A 192.0.2.1");
        assert_eq!(seen, [Err(TsigError::BadSig)], "{out}");
    }

    // ---- against Knot's kdig (Debian knot-dnsutils): a second, independent implementation

    fn kdig(alg: &str, secret: &str) -> impl FnOnce(u16) -> Command {
        let y = format!("{alg}:tsig-key.example:{secret}");
        move |port| {
            let mut c = Command::new(tool("kdig"));
            c.args(["@127.0.0.1", "-p", &port.to_string(), "-y", &y])
                .args(["www.example.org", "A", "+retry=0", "+timeout=5"]);
            c
        }
    }

    #[test]
    fn kdig_verifies_our_signed_answers_and_notices_corruption() {
        for alg in ["hmac-sha256", "hmac-sha384", "hmac-sha512"] {
            let k = key(alg);
            for corrupt in [false, true] {
                let mut seen = Vec::new();
                let (out, _) = udp_exchange(
                    kdig(alg, SECRET),
                    |_| None,
                    |q| {
                        let mut r = serve_signed(q, &k, clock_now(), &mut seen);
                        if corrupt {
                            corrupt_mac(&mut r);
                        }
                        Some(r)
                    },
                );
                assert_eq!(seen, [Ok(())], "{out}");
                assert!(out.contains("192.0.2.7"), "{out}");
                let warned = out.contains("WARNING") || out.contains("failed");
                assert_eq!(warned, corrupt, "{alg}, corrupt: {corrupt}\n{out}");
            }
        }
    }

    #[test]
    fn kdig_with_wrong_secret_gets_badsig() {
        let k = key("hmac-sha256");
        let mut seen = Vec::new();
        let (out, _) = udp_exchange(
            kdig("hmac-sha256", OTHER_SECRET),
            |_| None,
            |q| Some(serve_signed(q, &k, clock_now(), &mut seen)),
        );
        assert_eq!(seen, [Err(TsigError::BadSig)], "{out}");
        // kdig shows the extended RCODE (NOTAUTH + TSIG error) as the status.
        assert!(
            out.contains("status: BADSIG") && out.contains("300 0 "),
            "{out}"
        );
    }

    #[test]
    fn kdig_verifies_our_multi_message_axfr() {
        let kdig_axfr = |port: u16| {
            let mut c = Command::new(tool("kdig"));
            c.args(["@127.0.0.1", "-p", &port.to_string()])
                .args(["-y", &format!("hmac-sha256:tsig-key.example:{SECRET}")])
                .args(["example.org", "AXFR", "+retry=0", "+timeout=5"]);
            c
        };
        let out = axfr_with(kdig_axfr, 8, |_, _| {});
        assert!(out.contains("h7-4.example.org."), "{out}");
        assert!(!out.contains("WARNING") && !out.contains("failed"), "{out}");
        // kdig 3.2 checks the TSIG of the first message of a transfer only (a later corrupted
        // MAC passes it; dig checks them all, see dig_notices_a_changed_unsigned_axfr_message):
        // the first one then.
        let out = axfr_with(kdig_axfr, 8, |i, m| {
            if i == 0 {
                corrupt_mac(m);
            }
        });
        assert!(out.contains("failed to verify TSIG"), "{out}");
    }

    // ---- our client side (sign_request, ClientTsig) against a real server: Knot's knotd

    /// knotd on loopback serving example.org (3,000 names, so an AXFR takes several messages)
    /// as a secondary whose primary is unreachable, transfer and NOTIFY allowed with our key.
    struct Knotd {
        child: std::process::Child,
        dir: std::path::PathBuf,
        port: u16,
    }

    impl Drop for Knotd {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn free_port() -> u16 {
        // Free for UDP and TCP at the time of asking; knotd binds it right after.
        loop {
            let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
            let port = udp.local_addr().unwrap().port();
            if TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return port;
            }
        }
    }

    fn start_knotd() -> Knotd {
        let dir = std::env::temp_dir().join(format!("lucent-knotd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut zone = String::from("$ORIGIN example.org.\n$TTL 300\n@ SOA ns1 hm 7 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n");
        for i in 0..3000 {
            zone.push_str(&format!("host-{i} A 192.0.2.{}\n", i % 250));
        }
        std::fs::write(dir.join("example.org.zone"), zone).unwrap();
        let port = free_port();
        let d = dir.display();
        let conf = format!(
            "server:\n  rundir: \"{d}\"\n  listen: 127.0.0.1@{port}\n\
             database:\n  storage: \"{d}\"\n\
             key:\n  - id: tsig-key.example\n    algorithm: hmac-sha256\n    secret: {SECRET}\n\
             remote:\n  - id: primary\n    address: 127.0.0.1@1\n    key: tsig-key.example\n\
             acl:\n  - id: xfr\n    key: tsig-key.example\n    action: [transfer, notify]\n\
             log:\n  - target: stderr\n    any: info\n\
             zone:\n  - domain: example.org\n    storage: \"{d}\"\n    file: example.org.zone\n    master: primary\n    acl: xfr\n"
        );
        std::fs::write(dir.join("knot.conf"), conf).unwrap();
        let child = Command::new(tool_sbin("knotd"))
            .arg("-c")
            .arg(dir.join("knot.conf"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("knot.log")).unwrap())
            .spawn()
            .unwrap();
        Knotd { child, dir, port }
    }

    fn tool_sbin(name: &str) -> String {
        let p = format!("/usr/sbin/{name}");
        assert!(
            std::path::Path::new(&p).exists(),
            "{name} not found: install Debian's knot to run this test"
        );
        p
    }

    /// Send a signed UDP request to knotd, retrying while it starts; the answer and our verdict.
    fn knot_udp(
        k: &Knotd,
        key: &Arc<TsigKey>,
        request: &[u8],
    ) -> (Vec<u8>, Result<ResponseTsig, ResponseError>) {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut buf = [0u8; 65535];
        for _ in 0..50 {
            let mut q = request.to_vec();
            let mut client = sign_request(key.clone(), &mut q, clock_now()).unwrap();
            sock.send_to(&q, ("127.0.0.1", k.port)).unwrap();
            if let Ok(n) = sock.recv(&mut buf) {
                let r = buf[..n].to_vec();
                let verdict = client.verify(&r, clock_now());
                return (r, verdict);
            }
        }
        panic!(
            "knotd did not answer: {}",
            std::fs::read_to_string(k.dir.join("knot.log")).unwrap_or_default()
        );
    }

    /// Records of type `rtype` in the answer section of a message.
    fn count_answers(m: &[u8], rtype: u16) -> usize {
        let mut pos = 12;
        for _ in 0..be16(m, 4).unwrap() {
            pos = skip_name(m, pos).unwrap() + 4;
        }
        let mut n = 0;
        for _ in 0..be16(m, 6).unwrap() {
            pos = skip_name(m, pos).unwrap();
            if be16(m, pos).unwrap() == rtype {
                n += 1;
            }
            pos += 10 + usize::from(be16(m, pos + 8).unwrap());
        }
        n
    }

    #[test]
    fn knotd_verifies_our_requests_and_we_verify_its_answers() {
        let knot = start_knotd();
        let k = key("hmac-sha256");

        // A signed SOA query (what a secondary sends before a refresh).
        let (r, verdict) = knot_udp(&knot, &k, &query(0x5151, 0, "example.org", 6));
        assert_eq!(verdict, Ok(ResponseTsig::Signed));
        assert_eq!(r[3] & 0x0F, 0, "NOERROR");
        assert_eq!(count_answers(&r, 6), 1);

        // A signed NOTIFY (what lucentd sends to its secondaries, RFC 1996 §3.7: AA set).
        let mut notify = query(0x4242, 4, "example.org", 6);
        notify[2] |= 0x04;
        let (r, verdict) = knot_udp(&knot, &k, &notify);
        assert_eq!(verdict, Ok(ResponseTsig::Signed));
        assert_eq!(
            ((r[2] >> 3) & 0x0F, r[3] & 0x0F),
            (4, 0),
            "NOTIFY answered NOERROR"
        );

        // Signed with the wrong secret: knotd answers NOTAUTH with an unsigned BADSIG.
        let wrong = Arc::new(
            TsigKey::from_base64("tsig-key.example", "hmac-sha256", OTHER_SECRET).unwrap(),
        );
        let (r, verdict) = knot_udp(&knot, &wrong, &query(0x5152, 0, "example.org", 6));
        assert_eq!(verdict, Err(ResponseError::Server(16)));
        assert_eq!(r[3] & 0x0F, RCODE_NOTAUTH);

        // A signed AXFR over TCP: every message verified in order by one ClientTsig.
        let mut q = query(0x7777, 0, "example.org", 252);
        let mut client = sign_request(k.clone(), &mut q, clock_now()).unwrap();
        let mut conn = std::net::TcpStream::connect(("127.0.0.1", knot.port)).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut framed = (q.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&q);
        conn.write_all(&framed).unwrap();
        let (mut soas, mut a, mut messages, mut signed) = (0, 0, 0, 0);
        while soas < 2 {
            let mut len = [0u8; 2];
            conn.read_exact(&mut len).unwrap();
            let mut m = vec![0u8; usize::from(u16::from_be_bytes(len))];
            conn.read_exact(&mut m).unwrap();
            messages += 1;
            match client.verify(&m, clock_now()) {
                Ok(ResponseTsig::Signed) => signed += 1,
                Ok(ResponseTsig::Unsigned) => {}
                Err(e) => panic!("message {messages}: {e}"),
            }
            soas += count_answers(&m, 6);
            a += count_answers(&m, 1);
        }
        assert_eq!(a, 3001);
        assert!(
            messages >= 2,
            "3,000 names take more than one message: {messages}"
        );
        assert!(signed >= 2, "first and last signed");

        // The same stream with one byte changed in the second message fails to verify.
        let mut q = query(0x7778, 0, "example.org", 252);
        let mut client = sign_request(k.clone(), &mut q, clock_now()).unwrap();
        let mut conn = std::net::TcpStream::connect(("127.0.0.1", knot.port)).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut framed = (q.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&q);
        conn.write_all(&framed).unwrap();
        let mut results = Vec::new();
        for i in 0..messages {
            let mut len = [0u8; 2];
            conn.read_exact(&mut len).unwrap();
            let mut m = vec![0u8; usize::from(u16::from_be_bytes(len))];
            conn.read_exact(&mut m).unwrap();
            if i == 1 {
                m[40] ^= 1;
            }
            results.push(client.verify(&m, clock_now()));
        }
        assert!(
            results.iter().any(|r| r == &Err(ResponseError::BadSig)),
            "{results:?}"
        );
    }

    /// xorshift64*: a fixed pseudo-random sequence for the mutation tests.
    fn rng(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    #[test]
    fn mutated_messages_never_panic_and_never_verify() {
        let k = key("hmac-sha384");
        let mut q = answer(&query(0x0101, 0, "www.example.org", 1), 0, true);
        let mut client = sign_request(k.clone(), &mut q, NOW).unwrap();
        let server = verify_request(&q, NOW, |_| Some(k.clone()))
            .unwrap()
            .unwrap();
        let mut r = answer(&query(0x0101, 0, "www.example.org", 1), 0, true);
        server.sign_response(&mut r, NOW).unwrap();
        assert_eq!(client.verify(&r, NOW), Ok(ResponseTsig::Signed));

        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for round in 0..20_000 {
            let mut m = if round % 2 == 0 { q.clone() } else { r.clone() };
            for _ in 0..=(rng(&mut state) % 3) {
                let i = (rng(&mut state) as usize) % m.len();
                m[i] = rng(&mut state) as u8;
            }
            if rng(&mut state) % 8 == 0 {
                let cut = (rng(&mut state) as usize) % m.len();
                m.truncate(cut);
            }
            let original = if round % 2 == 0 { &q } else { &r };
            // Only the ID (the Original ID is what the MAC covers) and the letter case in the
            // TSIG RR (names digested in canonical form) may change without breaking the MAC.
            let tsig_start = find_tsig(original).unwrap().unwrap().start;
            let harmless = m.len() == original.len()
                && m.iter()
                    .zip(original.iter())
                    .enumerate()
                    .all(|(i, (a, b))| {
                        a == b || i < 2 || (i >= tsig_start && a.eq_ignore_ascii_case(b))
                    });
            if let Ok(Some(_)) = verify_request(&m, NOW, |_| Some(k.clone())) {
                assert!(harmless, "round {round}: a mutated request verified");
            }
            // A client in the state of the one that sent `q` (same request, same time).
            let mut same = answer(&query(0x0101, 0, "www.example.org", 1), 0, true);
            let mut c = sign_request(k.clone(), &mut same, NOW).unwrap();
            if let Ok(ResponseTsig::Signed) = c.verify(&m, NOW) {
                assert!(harmless, "round {round}: a mutated response verified");
            }
        }
    }
}
