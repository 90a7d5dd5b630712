//! The state file's JSON, written and read by hand for exactly its one shape (a general JSON
//! library was ~35 KiB of router flash for one small file):
//!
//! ```json
//! {
//!   "server": "https://ddns.example.org",
//!   "token_hash": "0123456789abcdef",
//!   "protocol": "lucent",
//!   "ipv6prefix": "2001:db8:1:2::/64",
//!   "hosts": {
//!     "home.example.org": {
//!       "ipv4": "203.0.113.7",
//!       "ipv6": null,
//!       "updated": 1764000000
//!     }
//!   }
//! }
//! ```
//!
//! [`write`] produces what serde_json's pretty printer wrote for the same state before
//! (two-space indent, `"key": value`, `{}` for no hosts), plus the identity and prefix fields
//! (issues #14 and #18), which files of older agents lack: they read as empty. [`read`]
//! accepts what that serde_json-based reader accepted for this shape: any JSON whitespace, keys
//! in any order, missing keys as their defaults, unknown keys with any JSON value (checked, then
//! ignored), `null` addresses, duplicate hostnames (the last wins). A duplicate field, a wrong
//! type, a bad address, a negative or fractional `updated`, invalid JSON or trailing text is an
//! error, which the caller treats as a corrupt file. (One form serde also took is left out: a
//! struct written as a JSON array of its field values, which nothing ever wrote.)

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::state::{HostState, State};

/// Deepest nesting accepted inside an ignored value (serde_json's limit).
const MAX_DEPTH: usize = 128;

/// The state as pretty-printed JSON, without a final newline.
pub fn write(state: &State) -> String {
    let mut out = String::with_capacity(64 + 120 * state.hosts.len());
    out.push_str("{\n  \"server\": ");
    string(&mut out, &state.id.server);
    out.push_str(",\n  \"token_hash\": ");
    string(&mut out, &state.id.token_hash);
    out.push_str(",\n  \"protocol\": ");
    string(&mut out, &state.id.protocol);
    out.push_str(",\n  \"ipv6prefix\": ");
    addr(&mut out, state.ipv6prefix.map(|p| p.to_string() + "/64"));
    out.push_str(",\n  \"hosts\": {");
    for (i, (name, h)) in state.hosts.iter().enumerate() {
        out.push_str(if i == 0 { "\n    " } else { ",\n    " });
        string(&mut out, name);
        out.push_str(": {\n      \"ipv4\": ");
        addr(&mut out, h.ipv4.map(|ip| ip.to_string()));
        out.push_str(",\n      \"ipv6\": ");
        addr(&mut out, h.ipv6.map(|ip| ip.to_string()));
        out.push_str(",\n      \"updated\": ");
        out.push_str(&h.updated.to_string());
        out.push_str("\n    }");
    }
    if !state.hosts.is_empty() {
        out.push_str("\n  ");
    }
    out.push_str("}\n}");
    out
}

fn addr(out: &mut String, ip: Option<String>) {
    match ip {
        Some(ip) => string(out, &ip),
        None => out.push_str("null"),
    }
}

/// A JSON string with serde_json's escapes: `"` and `\`, the short forms `\b \t \n \f \r`,
/// `\u00xx` (lower-case hex) for the other control characters; everything else as is.
fn string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Why a state file could not be read, and where (1-based line and column, as serde_json said).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    what: &'static str,
    line: usize,
    column: usize,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.what, self.line, self.column
        )
    }
}

/// Parses a state file.
pub fn read(text: &str) -> Result<State, Error> {
    let mut p = Parser { text, pos: 0 };
    let state = p.state()?;
    p.ws();
    if p.pos < text.len() {
        return Err(p.err("trailing characters"));
    }
    Ok(state)
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, what: &'static str) -> Error {
        let before = &self.text.as_bytes()[..self.pos.min(self.text.len())];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        Error {
            what,
            line: before.iter().filter(|&&b| b == b'\n').count() + 1,
            column: before.len() - line_start,
        }
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.text.as_bytes().get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.text.as_bytes().get(self.pos) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, b: u8, what: &'static str) -> Result<(), Error> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.eof_or(what))
        }
    }

    fn eof_or(&self, what: &'static str) -> Error {
        if self.pos >= self.text.len() {
            self.err("EOF while parsing a value")
        } else {
            self.err(what)
        }
    }

    /// `literal` (true, false, null) at the current position.
    fn literal(&mut self, literal: &str) -> Result<(), Error> {
        if self.text[self.pos..].starts_with(literal) {
            self.pos += literal.len();
            Ok(())
        } else {
            Err(self.eof_or("expected value"))
        }
    }

    /// `null`, consumed, or false if the next value is something else.
    fn null(&mut self) -> Result<bool, Error> {
        if self.peek() == Some(b'n') {
            self.literal("null")?;
            return Ok(true);
        }
        Ok(false)
    }

    /// An object: `field` is called with each key, positioned before its value, and must consume
    /// the value.
    fn object(
        &mut self,
        what: &'static str,
        field: &mut dyn FnMut(&mut Self, String) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.expect(b'{', what)?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.eof_or("key must be a string"));
            }
            let key = self.string()?;
            self.expect(b':', "expected `:`")?;
            field(self, key)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.eof_or("expected `,` or `}`")),
            }
        }
    }

    fn state(&mut self) -> Result<State, Error> {
        let mut state = State::default();
        let (mut server, mut hosts) = (false, false);
        let (mut token, mut protocol, mut prefix) = (false, false, false);
        self.object("invalid type, expected a state object", &mut |p, key| {
            match key.as_str() {
                "server" => {
                    p.once(&mut server, "duplicate field `server`")?;
                    state.id.server = p.string_value()?;
                }
                "token_hash" => {
                    p.once(&mut token, "duplicate field `token_hash`")?;
                    state.id.token_hash = p.string_value()?;
                }
                "protocol" => {
                    p.once(&mut protocol, "duplicate field `protocol`")?;
                    state.id.protocol = p.string_value()?;
                }
                "ipv6prefix" => {
                    p.once(&mut prefix, "duplicate field `ipv6prefix`")?;
                    if !p.null()? {
                        let s = p.string_value()?;
                        state.ipv6prefix = Some(
                            s.strip_suffix("/64")
                                .and_then(|a| a.parse().ok())
                                .ok_or_else(|| p.err("invalid IPv6 prefix"))?,
                        );
                    }
                }
                "hosts" => {
                    p.once(&mut hosts, "duplicate field `hosts`")?;
                    p.object("invalid type, expected a map", &mut |p, name| {
                        *state.hosts.entry(&name) = p.host()?;
                        Ok(())
                    })?;
                }
                _ => p.skip(0)?,
            }
            Ok(())
        })?;
        Ok(state)
    }

    fn host(&mut self) -> Result<HostState, Error> {
        let mut h = HostState::default();
        let (mut v4, mut v6, mut updated) = (false, false, false);
        self.object("invalid type, expected a host object", &mut |p, key| {
            match key.as_str() {
                "ipv4" => {
                    p.once(&mut v4, "duplicate field `ipv4`")?;
                    h.ipv4 = p.nullable_parsed::<Ipv4Addr>("invalid IPv4 address")?;
                }
                "ipv6" => {
                    p.once(&mut v6, "duplicate field `ipv6`")?;
                    h.ipv6 = p.nullable_parsed::<Ipv6Addr>("invalid IPv6 address")?;
                }
                "updated" => {
                    p.once(&mut updated, "duplicate field `updated`")?;
                    h.updated = p.u64()?;
                }
                _ => p.skip(0)?,
            }
            Ok(())
        })?;
        Ok(h)
    }

    fn once(&self, seen: &mut bool, what: &'static str) -> Result<(), Error> {
        if std::mem::replace(seen, true) {
            return Err(self.err(what));
        }
        Ok(())
    }

    /// `null` (`None`), or a string that parses as `T`; `what` is the error otherwise.
    fn nullable_parsed<T: std::str::FromStr>(
        &mut self,
        what: &'static str,
    ) -> Result<Option<T>, Error> {
        if self.null()? {
            return Ok(None);
        }
        let s = self.string_value()?;
        s.parse().map(Some).map_err(|_| self.err(what))
    }

    fn string_value(&mut self) -> Result<String, Error> {
        if self.peek() != Some(b'"') {
            return Err(self.eof_or("invalid type, expected a string"));
        }
        self.string()
    }

    /// A string starting at the current `"`.
    fn string(&mut self) -> Result<String, Error> {
        let bytes = self.text.as_bytes();
        self.pos += 1;
        let mut out = String::new();
        let mut run = self.pos;
        loop {
            let Some(&b) = bytes.get(self.pos) else {
                return Err(self.err("EOF while parsing a string"));
            };
            match b {
                b'"' => {
                    out.push_str(&self.text[run..self.pos]);
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(&self.text[run..self.pos]);
                    self.pos += 1;
                    let c = match bytes.get(self.pos) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.unicode_escape()?,
                        _ => return Err(self.eof_or("invalid escape")),
                    };
                    out.push(c);
                    self.pos += 1;
                    run = self.pos;
                }
                0..=0x1f => return Err(self.err("control character found while parsing a string")),
                _ => self.pos += 1,
            }
        }
    }

    /// `\uXXXX` (the position is on the `u`), with a second escape for a surrogate pair; leaves
    /// the position on the last hex digit.
    fn unicode_escape(&mut self) -> Result<char, Error> {
        let hi = self.hex4()?;
        let code = if (0xd800..0xdc00).contains(&hi) {
            if !self.text[self.pos + 1..].starts_with("\\u") {
                return Err(self.err("lone leading surrogate in hex escape"));
            }
            self.pos += 2;
            let lo = self.hex4()?;
            if !(0xdc00..0xe000).contains(&lo) {
                return Err(self.err("lone leading surrogate in hex escape"));
            }
            0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
        } else {
            hi
        };
        char::from_u32(code).ok_or_else(|| self.err("lone trailing surrogate in hex escape"))
    }

    /// Four hex digits after the current position, which ends on the last of them.
    fn hex4(&mut self) -> Result<u32, Error> {
        let mut v = 0;
        for _ in 0..4 {
            self.pos += 1;
            let d = self
                .text
                .as_bytes()
                .get(self.pos)
                .and_then(|&b| (b as char).to_digit(16));
            match d {
                Some(d) => v = v * 16 + d,
                None => return Err(self.eof_or("invalid escape")),
            }
        }
        Ok(v)
    }

    /// A non-negative integer that fits in u64 (serde_json took anything else as a float or a
    /// negative number, neither of which is a valid `updated`).
    fn u64(&mut self) -> Result<u64, Error> {
        let start = self.pos_after_ws();
        self.number()?;
        self.text[start..self.pos]
            .parse()
            .map_err(|_| self.err("invalid type, expected u64"))
    }

    fn pos_after_ws(&mut self) -> usize {
        self.ws();
        self.pos
    }

    /// Any JSON number at the current position, checked and skipped.
    fn number(&mut self) -> Result<(), Error> {
        let bytes = self.text.as_bytes();
        let digits = |p: &mut Self| {
            let start = p.pos;
            while bytes.get(p.pos).is_some_and(u8::is_ascii_digit) {
                p.pos += 1;
            }
            p.pos - start
        };
        if bytes.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        match digits(self) {
            0 => return Err(self.eof_or("invalid number")),
            n if n > 1 && bytes[int_start] == b'0' => return Err(self.err("invalid number")),
            _ => {}
        }
        if bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.eof_or("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = bytes.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = bytes.get(self.pos) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.eof_or("invalid number"));
            }
        }
        Ok(())
    }

    /// Any JSON value, checked and ignored.
    fn skip(&mut self, depth: usize) -> Result<(), Error> {
        if depth >= MAX_DEPTH {
            return Err(self.err("recursion limit exceeded"));
        }
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'{') => self.object("", &mut |p, _| p.skip(depth + 1)),
            Some(b'[') => {
                self.pos += 1;
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.skip(depth + 1)?;
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(self.eof_or("expected `,` or `]`")),
                    }
                }
            }
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.eof_or("expected value")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Hosts, Identity};

    fn id(server: &str) -> Identity {
        Identity {
            server: server.into(),
            ..Identity::default()
        }
    }

    fn hosts(v: &[(&str, HostState)]) -> Hosts {
        let mut hosts = Hosts::default();
        for (k, h) in v {
            *hosts.entry(k) = h.clone();
        }
        hosts
    }

    /// Written by the serde_json-based code this module replaces (`to_vec_pretty` of a State),
    /// captured before the switch: the new writer must reproduce them and the reader read them.
    const OLD_EMPTY: &str = "{\n  \"server\": \"https://ddns.example.org\",\n  \"hosts\": {}\n}";
    const OLD_FULL: &str = r#"{
  "server": "https://ddns.example.org",
  "hosts": {
    "a.example": {
      "ipv4": "198.51.100.1",
      "ipv6": null,
      "updated": 0
    },
    "home.dyn.example.net": {
      "ipv4": "203.0.113.7",
      "ipv6": "2001:db8::1",
      "updated": 1764000000
    },
    "v6.example": {
      "ipv4": null,
      "ipv6": "2001:db8:0:1::ff",
      "updated": 18446744073709551615
    }
  }
}"#;
    const OLD_ESCAPES: &str = "{\n  \"server\": \"http://x/\\\"q\\\"\\\\\\u0001\\u001f\u{7f}\\t\\n\\r\\b\\f\u{e9}\u{20ac}\u{1f600}\",\n  \"hosts\": {\n    \"k\\\"\\\\\\u0000\u{fc}\": {\n      \"ipv4\": null,\n      \"ipv6\": null,\n      \"updated\": 0\n    }\n  }\n}";

    fn full() -> State {
        State {
            id: id("https://ddns.example.org"),
            ipv6prefix: None,
            hosts: hosts(&[
                (
                    "home.dyn.example.net",
                    HostState {
                        ipv4: Some(Ipv4Addr::new(203, 0, 113, 7)),
                        ipv6: Some("2001:db8::1".parse().unwrap()),
                        updated: 1764000000,
                    },
                ),
                (
                    "a.example",
                    HostState {
                        ipv4: Some(Ipv4Addr::new(198, 51, 100, 1)),
                        ipv6: None,
                        updated: 0,
                    },
                ),
                (
                    "v6.example",
                    HostState {
                        ipv4: None,
                        ipv6: Some("2001:db8:0:1::ff".parse().unwrap()),
                        updated: u64::MAX,
                    },
                ),
            ]),
        }
    }

    fn escapes() -> State {
        State {
            id: id("http://x/\"q\"\\\u{1}\u{1f}\u{7f}\t\n\r\u{8}\u{c}é€😀"),
            ipv6prefix: None,
            hosts: hosts(&[("k\"\\\u{0}ü", HostState::default())]),
        }
    }

    /// The old shape with the identity and prefix after `server`.
    fn with_identity(old: &str, prefix: &str) -> String {
        old.replacen(
            "\",\n  \"hosts\"",
            &format!(
                "\",\n  \"token_hash\": \"0123456789abcdef\",\n  \"protocol\": \"dyndns2\",\
                 \n  \"ipv6prefix\": {prefix},\n  \"hosts\""
            ),
            1,
        )
    }

    fn identified(mut s: State, prefix: Option<&str>) -> State {
        s.id.token_hash = "0123456789abcdef".into();
        s.id.protocol = "dyndns2".into();
        s.ipv6prefix = prefix.map(|p| p.parse().unwrap());
        s
    }

    #[test]
    fn writes_the_old_shape_plus_identity() {
        let full = identified(full(), Some("2001:db8:1:2::"));
        assert_eq!(
            write(&full),
            with_identity(OLD_FULL, "\"2001:db8:1:2::/64\"")
        );
        let empty = identified(State::empty(id("https://ddns.example.org")), None);
        assert_eq!(write(&empty), with_identity(OLD_EMPTY, "null"));
        let esc = identified(escapes(), None);
        assert_eq!(write(&esc), with_identity(OLD_ESCAPES, "null"));
    }

    #[test]
    fn reads_old_files_and_round_trips() {
        let empty = State::empty(id("https://ddns.example.org"));
        for (text, state) in [
            (OLD_EMPTY, empty),
            (OLD_FULL, full()),
            (OLD_ESCAPES, escapes()),
        ] {
            // Files of older agents: no identity, no prefix.
            assert_eq!(read(text), Ok(state.clone()));
            assert_eq!(read(&format!("{text}\n")), Ok(state.clone()));
            assert_eq!(read(&write(&state)), Ok(state.clone()));
            let state = identified(state, Some("2001:db8:ffff:1::"));
            assert_eq!(read(&write(&state)), Ok(state));
        }
    }

    #[test]
    fn reads_what_serde_json_read() {
        let only = |server: &str| State::empty(id(server));
        let one = |h: HostState| State {
            hosts: hosts(&[("h", h)]),
            ..only("a")
        };
        // Compact, reordered, unknown keys (any value), defaults, escapes, duplicate hostnames.
        assert_eq!(read(" {} "), Ok(State::default()));
        assert_eq!(
            read(r#"{"hosts":{"h":{"updated":7,"ipv6":null}},"server":"a"}"#),
            Ok(one(HostState {
                updated: 7,
                ..HostState::default()
            }))
        );
        assert_eq!(
            read(r#"{"server":"a","x":[1,{"y":[true,false,null,-1.5e-3,"s"]},[]],"z":{}}"#),
            Ok(only("a"))
        );
        assert_eq!(
            read(r#"{"server":"a","hosts":{"h":{"new":0.5,"ipv4":"1.2.3.4"}}}"#),
            Ok(one(HostState {
                ipv4: Some(Ipv4Addr::new(1, 2, 3, 4)),
                ..HostState::default()
            }))
        );
        assert_eq!(
            read(r#"{"server":"a","hosts":{"h":{},"h":{"updated":5}}}"#),
            Ok(one(HostState {
                updated: 5,
                ..HostState::default()
            }))
        );
        assert_eq!(
            read(r#"{"server":"\ud83d\ude00\/\u00e9"}"#),
            Ok(only("😀/é"))
        );
        assert_eq!(
            read(r#"{"server":"a","hosts":{"h":{"ipv6":"::ffff:1.2.3.4"}}}"#),
            Ok(one(HostState {
                ipv6: Some("::ffff:1.2.3.4".parse().unwrap()),
                ..HostState::default()
            }))
        );
    }

    #[test]
    fn rejects_what_serde_json_rejected() {
        for bad in [
            "",
            "   ",
            "{not json",
            // serde also took a struct as a JSON array of its fields; never written, not read.
            r#"["a",{}]"#,
            "null",
            r#"{"server":"a"} x"#,
            r#"{"server":"a",}"#,
            r#"{"server":"a","server":"b"}"#,
            r#"{"server":null}"#,
            r#"{"server":1}"#,
            r#"{"server":"a","hosts":null}"#,
            r#"{"server":"a","hosts":[]}"#,
            r#"{"server":"a","hosts":{"h":null}}"#,
            r#"{"server":"a","hosts":{"h":{"ipv4":"nope"}}}"#,
            r#"{"server":"a","hosts":{"h":{"ipv4":" 1.2.3.4"}}}"#,
            r#"{"server":"a","hosts":{"h":{"ipv6":"1.2.3.4"}}}"#,
            r#"{"server":"a","hosts":{"h":{"ipv4":1}}}"#,
            r#"{"server":"a","hosts":{"h":{"updated":1.0}}}"#,
            r#"{"server":"a","hosts":{"h":{"updated":-0}}}"#,
            r#"{"server":"a","hosts":{"h":{"updated":-1}}}"#,
            r#"{"server":"a","hosts":{"h":{"updated":1e2}}}"#,
            r#"{"server":"a","hosts":{"h":{"updated":18446744073709551616}}}"#,
            r#"{"server":"a","hosts":{"h":{"updated":null}}}"#,
            r#"{"server":"a","hosts":{"h":{"updated":1,"updated":2}}}"#,
            r#"{"server":"a","ipv6prefix":"2001:db8::"}"#,
            r#"{"server":"a","ipv6prefix":"2001:db8::/48"}"#,
            r#"{"server":"a","ipv6prefix":1}"#,
            r#"{"server":"a","token_hash":null}"#,
            r#"{"server":"a","protocol":"x","protocol":"x"}"#,
            r#"{"server":"a","x":01}"#,
            r#"{"server":"a","x":1.}"#,
            r#"{"server":"a","x":tru}"#,
            r#"{"server":"a","x":[1,]}"#,
            "{\"server\":\"a\tb\"}",
            r#"{"server":"\ud83d"}"#,
            r#"{"server":"\ude00"}"#,
            r#"{"server":"\x"}"#,
            r#"{"server":"abc"#,
            r#"{server:"a"}"#,
        ] {
            assert!(read(bad).is_err(), "{bad:?} was accepted");
        }
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(read(&deep).is_err());
        let ok_depth = format!("{{\"x\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert_eq!(read(&ok_depth), Ok(State::default()));
    }

    #[test]
    fn errors_say_where() {
        let e = read("{\n  \"x\": nul\n}").unwrap_err();
        assert_eq!(e.to_string(), "expected value at line 2 column 7");
        assert_eq!(
            read("").unwrap_err().to_string(),
            "EOF while parsing a value at line 1 column 0"
        );
    }
}
