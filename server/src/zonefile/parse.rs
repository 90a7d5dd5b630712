//! The zone-file parser proper: directives, owners, TTL and class, and each record type's
//! content turned into lucentd's content form. Tokens come from `lex.rs`.

use std::io::BufRead;

use super::lex::{decode, parse_ttl, tokenize};
use super::write::quote;
use super::*;
use crate::model::content::txt_content;

impl<R: BufRead> ZoneParser<R> {
    /// Parse from `reader`; `origin` is the zone name (trailing dot optional), the initial
    /// `$ORIGIN` (RFC 1035 §5.1).
    pub fn new(reader: R, origin: &str) -> Self {
        let origin = origin.trim_end_matches('.').to_ascii_lowercase();
        ZoneParser {
            reader,
            line: 0,
            origin,
            default_ttl: None,
            last_ttl: None,
            last_owner: None,
            records: 0,
            dnssec: 0,
            done: false,
            buf: Vec::new(),
        }
    }

    /// Records returned so far (for a progress line); DNSSEC records included.
    pub fn records(&self) -> usize {
        self.records
    }

    /// DNSSEC records among them.
    pub fn dnssec_records(&self) -> usize {
        self.dnssec
    }

    /// Lines read so far.
    pub fn lines(&self) -> usize {
        self.line
    }

    fn err<T>(&self, line: usize, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            line,
            message: message.into(),
        })
    }

    /// Read one line into `self.buf`'s text; `None` at the end.
    fn read_line(&mut self) -> Result<Option<String>, ParseError> {
        self.buf.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| ParseError {
                line: self.line + 1,
                message: format!("read error: {e}"),
            })?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        match std::str::from_utf8(&self.buf) {
            Ok(s) => Ok(Some(s.to_string())),
            Err(_) => self.err(self.line, "the line is not valid UTF-8"),
        }
    }

    /// The next logical entry (RFC 1035 §5.1: parentheses continue an entry across lines).
    fn next_entry(&mut self) -> Result<Option<Entry>, ParseError> {
        let mut entry: Option<Entry> = None;
        let mut depth = 0usize;
        let mut open_line = 0;
        loop {
            let Some(text) = self.read_line()? else {
                if depth > 0 {
                    return self.err(open_line, "parenthesis opened here is never closed");
                }
                return Ok(entry);
            };
            let line = self.line;
            let e = entry.get_or_insert_with(|| Entry {
                line,
                blank_owner: text.starts_with([' ', '\t']),
                tokens: Vec::new(),
            });
            let before = depth;
            tokenize(&text, &mut e.tokens, &mut depth)
                .map_err(|message| ParseError { line, message })?;
            if before == 0 && depth > 0 {
                open_line = line;
            }
            if depth == 0 {
                if e.tokens.is_empty() {
                    // Blank or comment-only line: not an entry.
                    entry = None;
                    continue;
                }
                return Ok(entry);
            }
        }
    }

    fn parse_next(&mut self) -> Result<Option<ZoneRecord>, ParseError> {
        loop {
            let Some(entry) = self.next_entry()? else {
                return Ok(None);
            };
            // Cannot panic: `next_entry` never returns an entry without tokens.
            let first = &entry.tokens[0];
            if !entry.blank_owner && !first.quoted && first.raw.starts_with('$') {
                self.directive(&entry)?;
                continue;
            }
            let record = self.record(entry)?;
            self.records += 1;
            if record.rtype.is_dnssec() {
                self.dnssec += 1;
            }
            return Ok(Some(record));
        }
    }

    /// `$ORIGIN`, `$TTL` (RFC 1035 §5.1, RFC 2308 §4); `$INCLUDE` and others refused.
    fn directive(&mut self, entry: &Entry) -> Result<(), ParseError> {
        let line = entry.line;
        // Entries are never empty (see `parse_next`).
        let name = entry.tokens[0].raw.to_ascii_uppercase();
        let args = &entry.tokens[1..];
        match name.as_str() {
            "$ORIGIN" => {
                let [arg] = args else {
                    return self.err(line, "$ORIGIN needs exactly one domain name");
                };
                self.origin = self.absolute(arg, line)?;
                Ok(())
            }
            "$TTL" => {
                let [arg] = args else {
                    return self.err(line, "$TTL needs exactly one TTL");
                };
                let ttl = parse_ttl(&arg.raw).ok_or_else(|| ParseError {
                    line,
                    message: format!("invalid $TTL '{}'", arg.raw),
                })?;
                self.default_ttl = Some(ttl);
                Ok(())
            }
            "$INCLUDE" => self.err(
                line,
                "$INCLUDE is not supported: put the included records into this file",
            ),
            other => self.err(line, format!("unsupported directive {other}")),
        }
    }

    /// A name as written in the file made absolute: lowercase, without trailing dot; `@` is
    /// the origin (RFC 1035 §5.1).
    fn absolute(&self, tok: &Token, line: usize) -> Result<String, ParseError> {
        if tok.quoted {
            return self.err(
                line,
                format!("expected a domain name, found \"{}\"", tok.raw),
            );
        }
        let raw = tok.raw.to_ascii_lowercase();
        if raw == "@" {
            return Ok(self.origin.clone());
        }
        if raw == "." {
            return Ok(String::new());
        }
        if let Some(abs) = raw.strip_suffix('.') {
            if !abs.ends_with('\\') || abs.ends_with("\\\\") {
                return Ok(abs.to_string());
            }
        }
        if self.origin.is_empty() {
            Ok(raw)
        } else {
            Ok(format!("{raw}.{}", self.origin))
        }
    }

    /// A target name in content form: absolute with the trailing dot (`.` for the root).
    fn target(&self, tok: &Token, line: usize) -> Result<String, ParseError> {
        let n = self.absolute(tok, line)?;
        Ok(format!("{n}."))
    }

    fn record(&mut self, entry: Entry) -> Result<ZoneRecord, ParseError> {
        let line = entry.line;
        let mut toks = entry.tokens.iter().peekable();
        let owner = if entry.blank_owner {
            match &self.last_owner {
                Some(o) => o.clone(),
                None => {
                    return self.err(
                        line,
                        "no owner name, and no previous record to take it from",
                    )
                }
            }
        } else {
            // The first token exists: entries are never empty.
            let tok = toks.next().ok_or_else(|| ParseError {
                line,
                message: "empty entry".into(),
            })?;
            self.absolute(tok, line)?
        };

        // [TTL] [class] or [class] [TTL] (RFC 1035 §5.1).
        let mut ttl = None;
        let mut class_seen = false;
        while let Some(tok) = toks.peek() {
            if tok.quoted {
                break;
            }
            let upper = tok.raw.to_ascii_uppercase();
            if !class_seen && upper == "IN" {
                class_seen = true;
            } else if !class_seen && matches!(upper.as_str(), "CH" | "HS" | "CS") {
                return self.err(line, format!("class {upper} is not supported, only IN"));
            } else if ttl.is_none() && tok.raw.starts_with(|c: char| c.is_ascii_digit()) {
                ttl = Some(parse_ttl(&tok.raw).ok_or_else(|| ParseError {
                    line,
                    message: format!("invalid TTL '{}'", tok.raw),
                })?);
            } else {
                break;
            }
            toks.next();
        }
        let Some(type_tok) = toks.next() else {
            return self.err(line, "record type missing");
        };
        let rtype = match RecordType::from_name(&type_tok.raw) {
            Some(t) if !type_tok.quoted => t,
            _ => {
                return self.err(
                    line,
                    format!(
                        "unsupported record type '{}' (A, AAAA, CNAME, MX, NS, SRV, TXT, CAA, PTR, SOA and the DNSSEC types)",
                        type_tok.raw
                    ),
                )
            }
        };
        let rdata: Vec<&Token> = toks.collect();
        let content = self.content(rtype, &rdata, line)?;

        let ttl = match ttl.or(self.default_ttl).or(self.last_ttl) {
            Some(t) => t,
            // BIND's rule for a SOA without TTL and no $TTL: its MINIMUM field.
            None if rtype == RecordType::Soa => content
                .rsplit(' ')
                .next()
                .and_then(|m| m.parse().ok())
                .unwrap_or(0),
            None => return self.err(line, "no TTL given and no $TTL before this record"),
        };
        self.last_ttl = Some(ttl);
        self.last_owner = Some(owner.clone());
        Ok(ZoneRecord {
            line,
            owner,
            ttl,
            rtype,
            content,
        })
    }

    fn content(
        &self,
        rtype: RecordType,
        rdata: &[&Token],
        line: usize,
    ) -> Result<String, ParseError> {
        let count = |n: usize, form: &str| -> Result<(), ParseError> {
            if rdata.len() == n {
                Ok(())
            } else {
                self.err(
                    line,
                    format!("{rtype} needs {n} fields ({form}), found {}", rdata.len()),
                )
            }
        };
        // `rdata[i]` below is only read after `count` checked the number of fields.
        let plain = |i: usize| -> Result<&str, ParseError> {
            let t = rdata[i];
            if t.quoted {
                self.err(
                    line,
                    format!("{rtype}: unexpected quoted string \"{}\"", t.raw),
                )
            } else {
                Ok(t.raw.as_str())
            }
        };
        let number = |i: usize, what: &str| -> Result<u16, ParseError> {
            let s = plain(i)?;
            s.parse::<u16>().map_err(|_| ParseError {
                line,
                message: format!("{rtype} {what} '{s}' is not a number 0-65535"),
            })
        };
        match rtype {
            RecordType::A | RecordType::Aaaa => {
                count(1, "an address")?;
                Ok(plain(0)?.to_string())
            }
            RecordType::Cname | RecordType::Ns | RecordType::Ptr => {
                count(1, "a domain name")?;
                self.target(rdata[0], line)
            }
            RecordType::Mx => {
                count(2, "preference and exchange")?;
                Ok(format!(
                    "{} {}",
                    number(0, "preference")?,
                    self.target(rdata[1], line)?
                ))
            }
            RecordType::Srv => {
                count(4, "priority, weight, port and target")?;
                Ok(format!(
                    "{} {} {} {}",
                    number(0, "priority")?,
                    number(1, "weight")?,
                    number(2, "port")?,
                    self.target(rdata[3], line)?
                ))
            }
            RecordType::Caa => {
                count(3, "flags, tag and value")?;
                let flags = plain(0)?;
                let tag = plain(1)?;
                let value = decode(&rdata[2].raw).map_err(|m| ParseError { line, message: m })?;
                let value = String::from_utf8(value).map_err(|_| ParseError {
                    line,
                    message: "CAA value is not valid UTF-8".into(),
                })?;
                Ok(format!("{flags} {tag} {}", quote(&value)))
            }
            RecordType::Txt => {
                if rdata.is_empty() {
                    return self.err(line, "TXT needs at least one character-string");
                }
                let mut value = Vec::new();
                for t in rdata {
                    let s = decode(&t.raw).map_err(|m| ParseError { line, message: m })?;
                    // RFC 1035 §3.3: a <character-string> is at most 255 octets.
                    if s.len() > 255 {
                        return self.err(
                            line,
                            format!(
                                "TXT string of {} bytes; each string holds at most 255",
                                s.len()
                            ),
                        );
                    }
                    value.extend(s);
                }
                let value = String::from_utf8(value).map_err(|_| ParseError {
                    line,
                    message: "TXT value is not valid UTF-8".into(),
                })?;
                Ok(txt_content(value))
            }
            RecordType::Soa => {
                count(7, "mname rname serial refresh retry expire minimum")?;
                let serial = plain(2)?;
                let serial: u32 = serial.parse().map_err(|_| ParseError {
                    line,
                    message: format!("SOA serial '{serial}' is not a number 0-4294967295"),
                })?;
                let mut timers = Vec::with_capacity(4);
                for (i, what) in [(3, "refresh"), (4, "retry"), (5, "expire"), (6, "minimum")] {
                    let s = plain(i)?;
                    timers.push(parse_ttl(s).ok_or_else(|| ParseError {
                        line,
                        message: format!("SOA {what} '{s}' is not a time value"),
                    })?);
                }
                Ok(format!(
                    "{} {} {serial} {} {} {} {}",
                    self.target(rdata[0], line)?,
                    self.target(rdata[1], line)?,
                    timers[0],
                    timers[1],
                    timers[2],
                    timers[3]
                ))
            }
            _ => {
                if rdata.is_empty() {
                    return self.err(line, format!("{rtype} has no data"));
                }
                let parts: Vec<String> = rdata
                    .iter()
                    .map(|t| {
                        if t.quoted {
                            format!("\"{}\"", t.raw)
                        } else {
                            t.raw.clone()
                        }
                    })
                    .collect();
                Ok(parts.join(" "))
            }
        }
    }
}

impl<R: BufRead> Iterator for ZoneParser<R> {
    type Item = Result<ZoneRecord, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.parse_next() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
