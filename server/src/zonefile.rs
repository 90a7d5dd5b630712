//! RFC 1035 §5 master files ("zone files"), in and out, as text only: `ZoneParser` reads one
//! as an iterator of records (owner, TTL, type, content in lucentd's content form), and
//! `write_zone` writes records as a zone file with `$ORIGIN`, relative owners and quoted TXT.
//!
//! The parser handles `$ORIGIN`, `$TTL` (RFC 2308 §4), `@`, relative and absolute names, a
//! blank owner meaning the previous one, parentheses across lines, `;` comments, quoted
//! strings with `\"`, `\\` and `\DDD` escapes, the class IN (optional, before or after the
//! TTL) and TTLs with units (`1h30m`, as BIND writes them). `$INCLUDE` is refused: an import
//! reads one file. It knows A, AAAA, CNAME, MX, NS, SRV, TXT, CAA, PTR and SOA, and reads the
//! DNSSEC types (DNSKEY, RRSIG, NSEC, NSEC3, NSEC3PARAM, DS, CDS, CDNSKEY) far enough to hand
//! them over marked, so that an import of a signed zone can skip and count them.
//!
//! What it leaves to others: whether a record is acceptable. Contents come out in the form
//! `model::content::normalize` produces where that is a matter of syntax (absolute targets with the
//! trailing dot, TXT unquoted, SOA timers in seconds) but nothing is validated against the
//! API's rules here: the importer runs every record through `model::content::normalize` and
//! `model::name::owner_name`, so there is one implementation of each rule. Storing, all-or-nothing and
//! the progress line are the importer's too (the parser is an iterator and counts).

use std::fmt;
use std::io::{BufRead, Write};

/// Record types a zone file may hold for lucentd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    A,
    Aaaa,
    Cname,
    Mx,
    Ns,
    Srv,
    Txt,
    Caa,
    Ptr,
    Soa,
    /// DNSSEC types (RFC 4034, RFC 5155, RFC 7344): read, not interpreted.
    Dnskey,
    Rrsig,
    Nsec,
    Nsec3,
    Nsec3param,
    Ds,
    Cds,
    Cdnskey,
}

const ALL_TYPES: [RecordType; 18] = [
    RecordType::A,
    RecordType::Aaaa,
    RecordType::Cname,
    RecordType::Mx,
    RecordType::Ns,
    RecordType::Srv,
    RecordType::Txt,
    RecordType::Caa,
    RecordType::Ptr,
    RecordType::Soa,
    RecordType::Dnskey,
    RecordType::Rrsig,
    RecordType::Nsec,
    RecordType::Nsec3,
    RecordType::Nsec3param,
    RecordType::Ds,
    RecordType::Cds,
    RecordType::Cdnskey,
];

impl RecordType {
    /// The mnemonic (RFC 1035 §3.2.2 and the RFCs of each type), upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Mx => "MX",
            RecordType::Ns => "NS",
            RecordType::Srv => "SRV",
            RecordType::Txt => "TXT",
            RecordType::Caa => "CAA",
            RecordType::Ptr => "PTR",
            RecordType::Soa => "SOA",
            RecordType::Dnskey => "DNSKEY",
            RecordType::Rrsig => "RRSIG",
            RecordType::Nsec => "NSEC",
            RecordType::Nsec3 => "NSEC3",
            RecordType::Nsec3param => "NSEC3PARAM",
            RecordType::Ds => "DS",
            RecordType::Cds => "CDS",
            RecordType::Cdnskey => "CDNSKEY",
        }
    }

    /// Case-insensitive mnemonic.
    pub fn from_name(s: &str) -> Option<Self> {
        ALL_TYPES
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }

    /// A DNSSEC type: the importer skips these (lucentd signs zones itself).
    pub fn is_dnssec(self) -> bool {
        matches!(
            self,
            RecordType::Dnskey
                | RecordType::Rrsig
                | RecordType::Nsec
                | RecordType::Nsec3
                | RecordType::Nsec3param
                | RecordType::Ds
                | RecordType::Cds
                | RecordType::Cdnskey
        )
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One record of a zone file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneRecord {
    /// Line (1-based) where the record starts.
    pub line: usize,
    /// Owner: lowercase fqdn without trailing dot (the origin itself for `@`).
    pub owner: String,
    pub ttl: u32,
    pub rtype: RecordType,
    /// The content in lucentd's content form: A/AAAA as written; CNAME, NS, PTR targets as
    /// absolute lowercase names with the trailing dot; `pref target.` for MX, `prio weight
    /// port target.` for SRV; `flags tag "value"` for CAA; `mname. rname. serial refresh
    /// retry expire minimum` (seconds) for SOA; TXT as its value (the character-strings
    /// joined, unquoted, or quoted and escaped when the value itself starts with a quote,
    /// as the API stores it). DNSSEC types: their presentation text, fields joined by blanks.
    pub content: String,
}

/// A zone file error: the line it is on and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// A token of an entry: unquoted text (escapes kept) or the inside of a quoted string
/// (escapes kept; `decode` turns either into octets).
#[derive(Debug, Clone)]
struct Token {
    raw: String,
    quoted: bool,
}

/// One logical entry: the tokens of a line, or of several lines joined by parentheses.
#[derive(Debug)]
struct Entry {
    line: usize,
    /// The entry's first line starts with a blank: the owner is the previous one (§5.1).
    blank_owner: bool,
    tokens: Vec<Token>,
}

/// Streaming zone file parser: an iterator of records. After the first error it ends.
///
/// ```
/// use lucent_server::zonefile::ZoneParser;
/// let text = "$TTL 1h\n@ IN SOA ns1 hostmaster 1 2h 1h 1w 5m\nwww A 192.0.2.1\n";
/// let recs: Vec<_> = ZoneParser::from_str(text, "example.org").collect::<Result<_, _>>().unwrap();
/// assert_eq!(recs[1].owner, "www.example.org");
/// assert_eq!(recs[0].content, "ns1.example.org. hostmaster.example.org. 1 7200 3600 604800 300");
/// ```
pub struct ZoneParser<R> {
    reader: R,
    /// Lines read so far.
    line: usize,
    origin: String,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    last_owner: Option<String>,
    records: usize,
    dnssec: usize,
    done: bool,
    buf: Vec<u8>,
}

impl<'a> ZoneParser<&'a [u8]> {
    /// Parse a zone file held in memory.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &'a str, origin: &str) -> Self {
        ZoneParser::new(text.as_bytes(), origin)
    }
}

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

/// Split one line into tokens (RFC 1035 §5.1): blanks separate, `;` starts a comment, `(`
/// and `)` group lines (tracked in `depth`), `"..."` is one token, `\` escapes the next
/// character (kept in the token for `decode`).
fn tokenize(line: &str, out: &mut Vec<Token>, depth: &mut usize) -> Result<(), String> {
    let mut chars = line.chars().peekable();
    let mut cur: Option<String> = None;
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if let Some(t) = cur.take() {
                    out.push(Token {
                        raw: t,
                        quoted: false,
                    });
                }
            }
            ';' => break,
            '(' | ')' => {
                if let Some(t) = cur.take() {
                    out.push(Token {
                        raw: t,
                        quoted: false,
                    });
                }
                if c == '(' {
                    *depth += 1;
                } else if *depth == 0 {
                    return Err("')' without '('".into());
                } else {
                    *depth -= 1;
                }
            }
            '"' if cur.is_none() => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err("quoted string not closed on this line".into()),
                        Some('"') => break,
                        Some('\\') => {
                            s.push('\\');
                            match chars.next() {
                                Some(e) => s.push(e),
                                None => return Err("quoted string not closed on this line".into()),
                            }
                        }
                        Some(c) => s.push(c),
                    }
                }
                out.push(Token {
                    raw: s,
                    quoted: true,
                });
            }
            '\\' => {
                let t = cur.get_or_insert_with(String::new);
                t.push('\\');
                match chars.next() {
                    Some(e) => t.push(e),
                    None => return Err("'\\' at the end of the line".into()),
                }
            }
            c => cur.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(t) = cur.take() {
        out.push(Token {
            raw: t,
            quoted: false,
        });
    }
    Ok(())
}

/// The octets a token stands for (RFC 1035 §5.1): `\DDD` is the octet DDD (decimal), `\X`
/// is X.
fn decode(raw: &str) -> Result<Vec<u8>, String> {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        match b.get(i + 1..i + 4) {
            Some(d) if d.iter().all(u8::is_ascii_digit) => {
                let v = d
                    .iter()
                    .fold(0u32, |acc, &x| acc * 10 + u32::from(x - b'0'));
                let v = u8::try_from(v).map_err(|_| format!("escape \\{} is above 255", v))?;
                out.push(v);
                i += 4;
            }
            _ => match b.get(i + 1) {
                Some(d) if d.is_ascii_digit() => {
                    return Err("\\ followed by a digit needs three digits (\\DDD)".into())
                }
                Some(&x) => {
                    out.push(x);
                    i += 2;
                }
                None => return Err("'\\' at the end of a string".into()),
            },
        }
    }
    Ok(out)
}

/// A TTL: seconds, or numbers with units w, d, h, m, s (BIND's syntax, case-insensitive), at
/// most 2^31 - 1 (RFC 2181 §8).
pub fn parse_ttl(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u32>().ok().filter(|&t| t <= i32::MAX as u32);
    }
    let mut total: u64 = 0;
    let mut num: Option<u64> = None;
    for c in s.chars() {
        if let Some(d) = c.to_digit(10) {
            num = Some(
                num.unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(u64::from(d))?,
            );
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            'w' => 604_800,
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        total = total.checked_add(num.take()?.checked_mul(unit)?)?;
    }
    if num.is_some() {
        // A bare number after a unit (`1h30`) is ambiguous: refuse it.
        return None;
    }
    u32::try_from(total).ok().filter(|&t| t <= i32::MAX as u32)
}

/// A string as one quoted zone file string: `"` and `\` escaped, octets outside printable
/// ASCII as `\DDD` (RFC 1035 §5.1).
fn quote(s: &str) -> String {
    quote_bytes(s.as_bytes())
}

fn quote_bytes(b: &[u8]) -> String {
    let mut q = String::with_capacity(b.len() + 2);
    q.push('"');
    for &x in b {
        match x {
            b'"' | b'\\' => {
                q.push('\\');
                q.push(x as char);
            }
            0x20..=0x7E => q.push(x as char),
            _ => q.push_str(&format!("\\{x:03}")),
        }
    }
    q.push('"');
    q
}

/// The API's stored form of a TXT value: the value itself, or quoted and escaped (only `"`
/// and `\`) when it would read as quoted text. Same rule as `model::content::txt_content` (the
/// tests hold the two together).
fn txt_content(value: String) -> String {
    if !looks_quoted(&value) {
        return value;
    }
    let mut q = String::with_capacity(value.len() + 2);
    q.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// The TXT value of a stored TXT content (the inverse of `txt_content`; same rule as
/// `model::content::txt_value`).
fn txt_value(content: &str) -> String {
    if looks_quoted(content) {
        unquote_all(content.trim()).unwrap_or_else(|| content.to_string())
    } else {
        content.to_string()
    }
}

fn looks_quoted(s: &str) -> bool {
    let t = s.trim();
    t.starts_with('"') && unquote_all(t).is_some()
}

/// Concatenate blank-separated quoted strings, undoing `\"` and `\\` (other escapes kept).
fn unquote_all(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => return any.then_some(out),
            Some('"') => {}
            Some(_) => return None,
        }
        any = true;
        loop {
            match chars.next()? {
                '"' => break,
                '\\' => match chars.next()? {
                    c @ ('"' | '\\') => out.push(c),
                    c => {
                        out.push('\\');
                        out.push(c);
                    }
                },
                c => out.push(c),
            }
        }
    }
}

/// A record to write: owner (fqdn, no trailing dot), TTL, type mnemonic and content in the
/// stored content form (TXT as the API stores it; DNSSEC types as presentation text).
#[derive(Debug, Clone, Copy)]
pub struct OutRecord<'a> {
    pub owner: &'a str,
    pub ttl: u32,
    pub rtype: &'a str,
    pub content: &'a str,
}

/// Write records as an RFC 1035 zone file for `origin`: a `$ORIGIN` line, the SOA first, then
/// the records grouped by owner (apex first, then names in canonical order, RFC 4034 §6.1),
/// owners relative to the origin and written once per group, every record with its TTL and
/// class, TXT values as quoted strings of at most 255 octets each. Names in the zone are
/// relative in contents too, so the same file under another `$ORIGIN` line is the same zone
/// under another name (an export imported into a second zone).
pub fn write_zone<'a, W: Write>(
    out: &mut W,
    origin: &str,
    records: impl IntoIterator<Item = OutRecord<'a>>,
) -> std::io::Result<()> {
    let origin = origin.trim_end_matches('.').to_ascii_lowercase();
    let mut recs: Vec<(Vec<String>, bool, OutRecord<'a>)> = records
        .into_iter()
        .map(|r| {
            let owner = r.owner.trim_end_matches('.').to_ascii_lowercase();
            // Canonical order key: labels from the right (RFC 4034 §6.1).
            let key: Vec<String> = owner.rsplit('.').map(str::to_string).collect();
            let not_soa = !r.rtype.eq_ignore_ascii_case("SOA");
            (key, not_soa, r)
        })
        .collect();
    // SOA first; a stable sort keeps the caller's order within an RRset.
    recs.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    writeln!(out, "$ORIGIN {origin}.")?;
    let mut prev: Option<String> = None;
    for (_, _, r) in &recs {
        let owner = r.owner.trim_end_matches('.').to_ascii_lowercase();
        let shown = if prev.as_deref() == Some(owner.as_str()) {
            String::new()
        } else {
            relative(&format!("{owner}."), &origin)
        };
        let rtype = r.rtype.to_ascii_uppercase();
        let content = relative_content(&rtype, r.content, &origin);
        writeln!(out, "{shown}\t{}\tIN\t{rtype}\t{content}", r.ttl)?;
        prev = Some(owner);
    }
    Ok(())
}

/// An absolute name (with trailing dot) relative to `origin` when it is the origin (`@`) or
/// under it; other names stay absolute.
fn relative(name: &str, origin: &str) -> String {
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare == origin {
        "@".to_string()
    } else if let Some(rel) = bare.strip_suffix(origin).and_then(|r| r.strip_suffix('.')) {
        rel.to_string()
    } else if !name.ends_with('.') {
        // Not in content form: write it as given.
        name.to_string()
    } else {
        format!("{bare}.")
    }
}

/// Content as zone file text: TXT as quoted strings, the names of CNAME, NS, PTR, MX, SRV and
/// SOA relative to the origin where they are in the zone (so the file's records follow its
/// `$ORIGIN` line), everything else as stored.
fn relative_content(rtype: &str, content: &str, origin: &str) -> String {
    let fields: Vec<&str> = content.split_ascii_whitespace().collect();
    let rel = |i: usize| relative(fields[i], origin);
    match (rtype, fields.len()) {
        ("TXT", _) => txt_strings(&txt_value(content)),
        ("CNAME" | "NS" | "PTR", 1) => rel(0),
        ("MX", 2) => format!("{} {}", fields[0], rel(1)),
        ("SRV", 4) => format!("{} {} {} {}", fields[0], fields[1], fields[2], rel(3)),
        ("SOA", 7) => format!("{} {} {}", rel(0), rel(1), fields[2..].join(" ")),
        _ => content.to_string(),
    }
}

/// A TXT value as quoted character-strings of at most 255 octets (RFC 1035 §3.3.14).
fn txt_strings(value: &str) -> String {
    let b = value.as_bytes();
    if b.is_empty() {
        return "\"\"".into();
    }
    b.chunks(255).map(quote_bytes).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    // The API's rules, to hold the parser's output against (tests only: this module imports
    // nothing of the crate).
    use crate::model::content as records;
    use crate::model::name::owner_name;
    use crate::model::RType;
    use std::process::Command;

    /// A hand-written BIND-style zone: comments, parentheses, relative names, $TTL and
    /// $ORIGIN changes, multi-string TXT, escapes, TTL and class in both orders.
    const ZONE: &str = r#"; example.org, hand-written
$ORIGIN example.org.
$TTL 1h
@   IN  SOA ns1 hostmaster (
            2026120301 ; serial
            2h         ; refresh
            1h30m      ; retry
            1w         ; expire
            300 )      ; minimum
    IN  NS  ns1
    IN  NS  NS2.Example.NET.
        MX  10 mail        ; same owner as above

ns1     A   192.0.2.53
WWW 300 IN A 192.0.2.1
        IN 600 AAAA 2001:db8::1
mail    A 192.0.2.25
txt     TXT "v=spf1 mx -all"
long    TXT ( "part one; not a comment "
              "part two" )
esc     TXT "say \"hi\" \\ back\065"
multi   TXT a b "c d"
quoted  TXT "\"in quotes\""
_sip._tcp SRV 10 5 5060 sip
@       CAA 0 issue "letsencrypt.org"
alias   CNAME www
$ORIGIN sub.example.org.
host    A 192.0.2.9
$TTL 5m
other   A 192.0.2.10
*.wild  A 192.0.2.11
4.2.0.192.in-addr.arpa. PTR host
"#;

    fn parse(text: &str) -> Result<Vec<ZoneRecord>, ParseError> {
        ZoneParser::from_str(text, "example.org").collect()
    }

    fn tuples(recs: &[ZoneRecord]) -> Vec<(String, u32, &'static str, String)> {
        recs.iter()
            .map(|r| (r.owner.clone(), r.ttl, r.rtype.as_str(), r.content.clone()))
            .collect()
    }

    fn t(
        owner: &str,
        ttl: u32,
        rtype: &'static str,
        content: &str,
    ) -> (String, u32, &'static str, String) {
        (owner.to_string(), ttl, rtype, content.to_string())
    }

    fn expected() -> Vec<(String, u32, &'static str, String)> {
        vec![
            t(
                "example.org",
                3600,
                "SOA",
                "ns1.example.org. hostmaster.example.org. 2026120301 7200 5400 604800 300",
            ),
            t("example.org", 3600, "NS", "ns1.example.org."),
            t("example.org", 3600, "NS", "ns2.example.net."),
            t("example.org", 3600, "MX", "10 mail.example.org."),
            t("ns1.example.org", 3600, "A", "192.0.2.53"),
            t("www.example.org", 300, "A", "192.0.2.1"),
            t("www.example.org", 600, "AAAA", "2001:db8::1"),
            t("mail.example.org", 3600, "A", "192.0.2.25"),
            t("txt.example.org", 3600, "TXT", "v=spf1 mx -all"),
            t(
                "long.example.org",
                3600,
                "TXT",
                "part one; not a comment part two",
            ),
            t("esc.example.org", 3600, "TXT", r#"say "hi" \ backA"#),
            t("multi.example.org", 3600, "TXT", "abc d"),
            t("quoted.example.org", 3600, "TXT", r#""\"in quotes\"""#),
            t(
                "_sip._tcp.example.org",
                3600,
                "SRV",
                "10 5 5060 sip.example.org.",
            ),
            t("example.org", 3600, "CAA", "0 issue \"letsencrypt.org\""),
            t("alias.example.org", 3600, "CNAME", "www.example.org."),
            t("host.sub.example.org", 3600, "A", "192.0.2.9"),
            t("other.sub.example.org", 300, "A", "192.0.2.10"),
            t("*.wild.sub.example.org", 300, "A", "192.0.2.11"),
            t(
                "4.2.0.192.in-addr.arpa",
                300,
                "PTR",
                "host.sub.example.org.",
            ),
        ]
    }

    #[test]
    fn hand_written_bind_zone() {
        let recs = parse(ZONE).unwrap();
        assert_eq!(tuples(&recs), expected());
        let lines: Vec<usize> = recs.iter().map(|r| r.line).collect();
        assert_eq!(
            lines,
            [4, 10, 11, 12, 14, 15, 16, 17, 18, 19, 21, 22, 23, 24, 25, 26, 28, 30, 31, 32]
        );
    }

    #[test]
    fn contents_are_what_records_normalize_keeps() {
        // The parser's content is already the API's canonical form: normalising it again
        // changes nothing (names validated too), so the importer's checks see clean input.
        for r in parse(ZONE).unwrap() {
            let rtype: RType = r.rtype.as_str().parse().unwrap();
            let norm = records::normalize(rtype, &r.content)
                .unwrap_or_else(|e| panic!("line {}: {e:?}", r.line));
            assert_eq!(norm, r.content, "line {}", r.line);
            if !r.owner.ends_with("in-addr.arpa") {
                assert_eq!(owner_name(&r.owner).unwrap(), r.owner);
            }
        }
    }

    #[test]
    fn bind_reads_the_hand_written_zone_the_same() {
        // named-checkzone's canonical dump of the same file, parsed back: same records.
        let dir = std::env::temp_dir().join(format!("lucent-zf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hand.zone");
        // BIND rejects the out-of-zone PTR owner; leave it out for this comparison.
        let zone: String = ZONE
            .lines()
            .filter(|l| !l.contains("in-addr"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&path, &zone).unwrap();
        let out = Command::new(tool("named-checkzone"))
            .args(["-D", "-o", "-", "example.org"])
            .arg(&path)
            .output()
            .unwrap();
        let dump = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{dump}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut ours = tuples(&parse(&zone).unwrap());
        let mut bind = tuples(&parse(&dump).unwrap());
        ours.sort();
        bind.sort();
        assert_eq!(bind, ours, "BIND's dump:\n{dump}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn ttl_syntax() {
        assert_eq!(parse_ttl("3600"), Some(3600));
        assert_eq!(parse_ttl("1h30m"), Some(5400));
        assert_eq!(parse_ttl("1W2D"), Some(8 * 86400 + 86400));
        assert_eq!(parse_ttl("90s"), Some(90));
        assert_eq!(parse_ttl("2147483647"), Some(2147483647));
        for bad in [
            "",
            "2147483648",
            "1x",
            "h",
            "1h30",
            "-5",
            "99999999999999999999",
        ] {
            assert_eq!(parse_ttl(bad), None, "{bad}");
        }
    }

    fn error_of(text: &str) -> ParseError {
        let mut p = ZoneParser::from_str(text, "example.org");
        let e = p.find_map(Result::err).expect("an error");
        assert!(p.next().is_none(), "the parser stops after an error");
        e
    }

    #[test]
    fn errors_carry_the_right_line() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "$TTL 1h\nwww A 192.0.2.1\n$INCLUDE other.zone\n",
                3,
                "$INCLUDE is not supported",
            ),
            (
                "$TTL 1h\n\n@ SOA ns1 hm (\n 1 2 3 4 5\n\nwww A 192.0.2.1\n",
                3,
                "never closed",
            ),
            (
                "$TTL 1h\nwww A 192.0.2.1\nwww 1x A 192.0.2.1\n",
                3,
                "invalid TTL '1x'",
            ),
            (
                "$TTL 1h\n; c\n\nwww HINFO \"a\" \"b\"\n",
                4,
                "unsupported record type 'HINFO'",
            ),
            ("www A 192.0.2.1\n", 1, "no TTL"),
            ("$TTL 1h\n  A 192.0.2.1\n", 2, "no owner name"),
            ("$TTL 1h\nt TXT \"open\n", 2, "not closed"),
            ("$TTL 1h\nm MX mail\n", 2, "MX needs 2 fields"),
            ("$TTL 1h\nm MX 70000 mail\n", 2, "not a number"),
            ("$TTL 1h\nt CH TXT x\n", 2, "class CH"),
            ("$TTL 1h\nt A 1 ) \n", 2, "')' without '('"),
            (
                "$TTL 1h\n$GENERATE 1-2 h$ A 192.0.2.$\n",
                2,
                "unsupported directive $GENERATE",
            ),
            ("$TTL\n", 1, "$TTL needs"),
            ("$TTL 1h\nt TXT \"\\300\"\n", 2, "above 255"),
            (
                &format!("$TTL 1h\nt TXT \"{}\"\n", "x".repeat(256)),
                2,
                "at most 255",
            ),
            ("$TTL 1h\nt TXT \"\\255\"\n", 2, "not valid UTF-8"),
            ("$TTL 1h\n@ SOA ns1 hm 1 2 3 4\n", 2, "SOA needs 7 fields"),
        ];
        for (text, line, msg) in cases {
            let e = error_of(text);
            assert_eq!(e.line, *line, "{text:?}: {e}");
            assert!(e.message.contains(msg), "{text:?}: {e}");
            assert!(e.to_string().starts_with(&format!("line {line}: ")));
        }
    }

    #[test]
    fn records_before_an_error_come_out_first() {
        let mut p = ZoneParser::from_str(
            "$TTL 1h\na A 192.0.2.1\nb A 192.0.2.2\nc BOGUS x\n",
            "example.org",
        );
        assert_eq!(p.next().unwrap().unwrap().owner, "a.example.org");
        assert_eq!(p.next().unwrap().unwrap().owner, "b.example.org");
        assert_eq!(p.records(), 2);
        assert_eq!(p.next().unwrap().unwrap_err().line, 4);
        assert!(p.next().is_none());
    }

    #[test]
    fn previous_ttl_and_soa_minimum_without_ttl_directive() {
        let recs =
            parse("@ IN SOA ns1 hm 1 2 3 4 900\nwww 60 A 192.0.2.1\nftp A 192.0.2.2\n").unwrap();
        assert_eq!(
            recs.iter().map(|r| r.ttl).collect::<Vec<_>>(),
            [900, 60, 60]
        );
    }

    /// A piece of a signed zone as dnssec-signzone writes it.
    const SIGNED: &str = "$ORIGIN example.org.
$TTL 3600
@ IN SOA ns1 hm 1 7200 3600 604800 300
  RRSIG SOA 13 2 3600 ( 20261231000000 20261201000000 12345 example.org.
        dGVzdHNpZ25hdHVyZQ== )
  DNSKEY 257 3 13 ( mdsswUyr3DPW132mOi8V9xESWE8jTo0d
                   xCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ== ) ; KSK
  NSEC www RRSIG NSEC SOA DNSKEY
  NSEC3PARAM 1 0 0 -
www A 192.0.2.1
  RRSIG A 13 3 3600 20261231000000 20261201000000 12345 example.org. c2ln
  NSEC example.org. A RRSIG NSEC
sub DS 12345 13 2 ( 3E7A6C4D2B1F )
";

    #[test]
    fn dnssec_records_are_read_and_marked() {
        let mut p = ZoneParser::from_str(SIGNED, "example.org");
        let recs: Vec<ZoneRecord> = p.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(recs.len(), 9);
        assert_eq!(p.dnssec_records(), 7);
        assert_eq!(p.records(), 9);
        let plain: Vec<_> = recs
            .iter()
            .filter(|r| !r.rtype.is_dnssec())
            .map(|r| r.rtype)
            .collect();
        assert_eq!(plain, [RecordType::Soa, RecordType::A]);
        let dnskey = recs.iter().find(|r| r.rtype == RecordType::Dnskey).unwrap();
        assert_eq!(dnskey.line, 6);
        assert!(dnskey.content.starts_with("257 3 13 mdssw") && dnskey.content.ends_with("GQ=="));
        let ds = recs.iter().find(|r| r.rtype == RecordType::Ds).unwrap();
        assert_eq!(
            (ds.owner.as_str(), ds.content.as_str()),
            ("sub.example.org", "12345 13 2 3E7A6C4D2B1F")
        );
    }

    #[test]
    fn dnssec_signzone_output_parses_with_its_dnssec_records_counted() {
        // Sign the hand-written zone with BIND's dnssec-signzone and read the result: the
        // zone's own records come out as before, the DNSSEC ones marked, as many as BIND
        // itself counts in its dump.
        let dir = std::env::temp_dir().join(format!("lucent-zs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let zone: String = ZONE
            .lines()
            .filter(|l| !l.contains("in-addr"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(dir.join("z"), &zone).unwrap();
        for extra in [&[][..], &["-f", "KSK"][..]] {
            let st = Command::new(tool("dnssec-keygen"))
                .current_dir(&dir)
                .args(["-q", "-a", "ECDSAP256SHA256", "-K", "."])
                .args(extra)
                .arg("example.org")
                .output()
                .unwrap();
            assert!(
                st.status.success(),
                "{}",
                String::from_utf8_lossy(&st.stderr)
            );
        }
        let st = Command::new(tool("dnssec-signzone"))
            .current_dir(&dir)
            .args(["-S", "-K", ".", "-o", "example.org", "-f", "signed", "z"])
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
        let signed = std::fs::read_to_string(dir.join("signed")).unwrap();
        let dump = Command::new(tool("named-checkzone"))
            .args(["-D", "-o", "-", "example.org"])
            .arg(dir.join("signed"))
            .output()
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let bind_dnssec = String::from_utf8_lossy(&dump.stdout)
            .lines()
            .filter(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let t = f.iter().position(|x| *x == "IN").and_then(|i| f.get(i + 1));
                t.and_then(|t| RecordType::from_name(t))
                    .is_some_and(RecordType::is_dnssec)
            })
            .count();
        assert!(
            bind_dnssec >= 20,
            "a signed zone has many DNSSEC records: {bind_dnssec}"
        );

        let mut p = ZoneParser::new(std::io::BufReader::new(signed.as_bytes()), "example.org");
        let recs: Vec<ZoneRecord> = p.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(p.dnssec_records(), bind_dnssec);
        let mut plain = tuples(
            &recs
                .into_iter()
                .filter(|r| !r.rtype.is_dnssec())
                .collect::<Vec<_>>(),
        );
        let mut want = tuples(&parse(&zone).unwrap());
        plain.sort();
        want.sort();
        assert_eq!(plain, want, "{signed}");
    }

    #[test]
    fn large_input_streams_and_counts() {
        // 100,000 records through a BufRead: the count is there for a progress line at any
        // point, and nothing is quadratic (this runs in well under a second in release).
        let mut text = String::from("$ORIGIN example.org.\n$TTL 300\n@ SOA ns1 hm 1 2 3 4 5\n");
        for i in 0..100_000 {
            text.push_str(&format!("h{i} A 192.0.2.{}\n", i % 250));
        }
        let mut p = ZoneParser::new(
            std::io::BufReader::with_capacity(4096, text.as_bytes()),
            "example.org",
        );
        let mut seen = 0;
        while let Some(r) = p.next() {
            let r = r.unwrap();
            seen += 1;
            assert_eq!(p.records(), seen);
            if seen == 50_002 {
                // The SOA is record 1 on line 3.
                assert_eq!(r.owner, "h50000.example.org");
                assert_eq!(r.line, 50_004);
            }
        }
        assert_eq!(seen, 100_001);
        assert_eq!(p.lines(), 100_003);
    }

    // ---- writer

    fn tricky_txt() -> Vec<String> {
        vec![
            "plain text".into(),
            "say \"hi\" and \\ back".into(),
            "\"starts with a quote".into(),
            " \"looks quoted\" ".into(),
            "tab\there".into(),
            "naïve — ünïcode".into(),
            "x".repeat(600),
            "é".repeat(200),
            String::new(),
        ]
    }

    fn sample() -> Vec<(String, u32, String, String)> {
        let mut v = vec![
            (
                "www.example.org".to_string(),
                300,
                "A".to_string(),
                "192.0.2.1".to_string(),
            ),
            (
                "example.org".into(),
                3600,
                "NS".into(),
                "ns1.example.org.".into(),
            ),
            (
                "example.org".into(),
                3600,
                "SOA".into(),
                "ns1.example.org. hostmaster.example.org. 7 7200 3600 604800 300".into(),
            ),
            (
                "example.org".into(),
                3600,
                "NS".into(),
                "ns2.example.net.".into(),
            ),
            (
                "ns1.example.org".into(),
                3600,
                "A".into(),
                "192.0.2.53".into(),
            ),
            (
                "ns1.example.org".into(),
                3600,
                "AAAA".into(),
                "2001:db8::53".into(),
            ),
            (
                "example.org".into(),
                3600,
                "MX".into(),
                "10 mail.example.net.".into(),
            ),
            (
                "example.org".into(),
                3600,
                "MX".into(),
                "20 www.example.org.".into(),
            ),
            (
                "_sip._tcp.example.org".into(),
                60,
                "SRV".into(),
                "10 5 5060 www.example.org.".into(),
            ),
            (
                "example.org".into(),
                3600,
                "CAA".into(),
                "0 issue \"letsencrypt.org\"".into(),
            ),
            (
                "alias.deep.example.org".into(),
                60,
                "CNAME".into(),
                "www.example.org.".into(),
            ),
            (
                "*.wild.example.org".into(),
                60,
                "A".into(),
                "192.0.2.9".into(),
            ),
            (
                "7.example.org".into(),
                60,
                "PTR".into(),
                "www.example.org.".into(),
            ),
        ];
        for (i, value) in tricky_txt().into_iter().enumerate() {
            let content = records::normalize(RType::Txt, &records::txt_content(value.clone()))
                .unwrap_or_else(|_| records::txt_content(value.clone()));
            v.push((format!("t{i}.example.org"), 120, "TXT".into(), content));
        }
        v
    }

    fn write(recs: &[(String, u32, String, String)]) -> String {
        let mut out = Vec::new();
        write_zone(
            &mut out,
            "example.org",
            recs.iter().map(|(o, ttl, t, c)| OutRecord {
                owner: o,
                ttl: *ttl,
                rtype: t,
                content: c,
            }),
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn txt_rules_match_model_content() {
        for v in tricky_txt() {
            assert_eq!(
                txt_content(v.clone()),
                records::txt_content(v.clone()),
                "{v:?}"
            );
            let c = records::txt_content(v.clone());
            assert_eq!(txt_value(&c), records::txt_value(&c), "{v:?}");
            assert_eq!(txt_value(&c), v);
        }
    }

    #[test]
    fn write_then_parse_round_trip() {
        let recs = sample();
        let text = write(&recs);
        assert!(
            text.starts_with("$ORIGIN example.org.\n@\t3600\tIN\tSOA\t"),
            "{text}"
        );
        // Grouped by owner: the apex is written once, the next records of it have a blank owner.
        assert_eq!(
            text.lines().filter(|l| l.starts_with("@\t")).count(),
            1,
            "{text}"
        );
        assert!(text.contains("\nwww\t300\tIN\tA\t192.0.2.1\n"), "{text}");
        let parsed = parse(&text).unwrap();
        let mut got: Vec<_> = parsed
            .iter()
            .map(|r| {
                (
                    r.owner.clone(),
                    r.ttl,
                    r.rtype.as_str().to_string(),
                    r.content.clone(),
                )
            })
            .collect();
        let mut want = recs.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{text}");
    }

    #[test]
    fn written_zone_moves_with_its_origin_line() {
        let recs = sample();
        let text = write(&recs);
        assert!(
            text.contains("\tCNAME\twww\n") && text.contains("\tSOA\tns1 hostmaster 7 "),
            "{text}"
        );
        let moved = text.replacen("$ORIGIN example.org.", "$ORIGIN other.net.", 1);
        let mut got: Vec<_> = ZoneParser::from_str(&moved, "other.net")
            .map(|r| r.map(|r| (r.owner, r.ttl, r.rtype.as_str().to_string(), r.content)))
            .collect::<Result<_, _>>()
            .unwrap();
        let mut want: Vec<_> = recs
            .into_iter()
            .map(|(o, ttl, t, c)| {
                (
                    o.replace("example.org", "other.net"),
                    ttl,
                    t,
                    c.replace("example.org.", "other.net."),
                )
            })
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{moved}");
    }

    fn tool(name: &str) -> String {
        for dir in ["/usr/bin", "/usr/sbin", "/usr/local/bin"] {
            let p = format!("{dir}/{name}");
            if std::path::Path::new(&p).exists() {
                return p;
            }
        }
        panic!("{name} not found: install Debian's bind9-utils and ldnsutils to run the zone file interop tests");
    }

    fn check_with_tools(text: &str) -> (bool, String, bool, String) {
        let dir =
            std::env::temp_dir().join(format!("lucent-zw-{}-{}", std::process::id(), text.len()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.zone");
        std::fs::write(&path, text).unwrap();
        let named = Command::new(tool("named-checkzone"))
            .arg("example.org")
            .arg(&path)
            .output()
            .unwrap();
        let ldns = Command::new(tool("ldns-read-zone"))
            .arg("-z")
            .arg(&path)
            .output()
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let text = |o: &std::process::Output| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        };
        (
            named.status.success(),
            text(&named),
            ldns.status.success(),
            text(&ldns),
        )
    }

    #[test]
    fn named_checkzone_and_ldns_accept_the_writer_output() {
        let text = write(&sample());
        let (named_ok, named_out, ldns_ok, ldns_out) = check_with_tools(&text);
        assert!(named_ok && named_out.contains("OK"), "{named_out}\n{text}");
        assert!(ldns_ok, "{ldns_out}\n{text}");
        // ldns' canonical output holds every TXT value split into 255-octet strings, as ours.
        assert!(
            ldns_out.contains(&format!("\"{}\" \"{}\"", "x".repeat(255), "x".repeat(255))),
            "{ldns_out}"
        );

        // And the tools do complain about a broken file (the check can fail).
        let broken = text.replacen("\tIN\tA\t192.0.2.1", "\tIN\tA\t192.0.2.", 1);
        let (named_ok, _, ldns_ok, _) = check_with_tools(&broken);
        assert!(!named_ok && !ldns_ok);
    }

    #[test]
    fn random_input_never_panics() {
        // Pieces of zone file syntax glued at random: the parser must end with records or an
        // error carrying a line within the input, never panic or loop.
        const PIECES: &[&str] = &[
            "@",
            "www",
            "example.org.",
            " ",
            "\t",
            "\n",
            "(",
            ")",
            ";",
            "\"",
            "\\",
            "\\0",
            "\\065",
            "$TTL",
            "$ORIGIN",
            "$INCLUDE",
            "IN",
            "CH",
            "3600",
            "1h30m",
            "A",
            "AAAA",
            "MX",
            "10",
            "TXT",
            "SOA",
            "SRV",
            "CAA",
            "RRSIG",
            "192.0.2.1",
            "é",
            "\r",
            ".",
            "*",
        ];
        let mut state = 0x1234_5678_9ABC_DEF1u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..5_000 {
            let mut text = String::new();
            for _ in 0..(next() % 40) {
                text.push_str(PIECES[(next() as usize) % PIECES.len()]);
            }
            let lines = text.split('\n').count();
            for r in ZoneParser::from_str(&text, "example.org") {
                match r {
                    Ok(rec) => assert!(rec.line >= 1 && rec.line <= lines),
                    Err(e) => assert!(e.line <= lines, "{e} in {text:?}"),
                }
            }
        }
    }
}
