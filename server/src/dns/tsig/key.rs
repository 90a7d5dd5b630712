//! TSIG keys: the supported algorithms (`Algorithm`), the key type (`TsigKey`, built from raw
//! bytes, BIND-style base64 or a `tsig-keygen` key clause) and its errors (`KeyError`), plus
//! the name helpers the wire code shares (`name_to_wire`, `alg_wire`).
//!
//! This file only makes and describes keys. Reading and writing TSIG records is in `record.rs`,
//! the MAC arithmetic in `mac.rs`, and verifying and signing in `verify.rs`, `sign.rs`,
//! `stream.rs` and `client.rs`.

use std::fmt;

use base64::Engine as _;
use ring::hmac;

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

    pub(super) fn ring(self) -> hmac::Algorithm {
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
    pub(super) name: String,
    pub(super) algorithm: Algorithm,
    pub(super) secret: Vec<u8>,
    pub(super) hmac: hmac::Key,
    /// The key name in canonical wire form (RFC 8945 §4.3.3: lowercase, uncompressed).
    pub(super) name_wire: Vec<u8>,
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

    /// Length of the secret in octets.
    pub fn secret_len(&self) -> usize {
        self.secret.len()
    }
}

/// Split a BIND config fragment into tokens: words, quoted strings (unquoted), `{`, `}`, `;`.
pub(super) fn bind_tokens(text: &str) -> Result<Vec<String>, KeyError> {
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
pub(super) fn key_name(name: &str) -> Result<String, KeyError> {
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
pub(super) fn name_to_wire(name: &str) -> Vec<u8> {
    let mut w = Vec::with_capacity(name.len() + 2);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        // Labels are at most 63 octets (checked by `key_name`; algorithm names are constants).
        w.push(label.len() as u8);
        w.extend_from_slice(label.as_bytes());
    }
    w.push(0);
    w
}

pub(super) fn alg_wire(alg: Algorithm) -> Vec<u8> {
    name_to_wire(alg.name())
}
