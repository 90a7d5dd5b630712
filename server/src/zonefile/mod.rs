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

mod lex;
mod parse;
mod write;

pub use lex::parse_ttl;
pub use write::{write_zone, OutRecord};

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

    /// The zone file's TXT handling is `model::content`'s stored form (one implementation):
    /// every tricky value survives being written out and parsed back.
    #[test]
    fn tricky_txt_values_survive_a_zone_file() {
        for v in tricky_txt() {
            let c = records::txt_content(v.clone());
            let text = write(&[("t.example.org".into(), 60, "TXT".into(), c.clone())]);
            let back: Vec<ZoneRecord> = ZoneParser::from_str(&text, "example.org")
                .collect::<Result<_, _>>()
                .unwrap_or_else(|e| panic!("{v:?}: {e}\n{text}"));
            let got = back
                .iter()
                .find(|r| r.rtype == RecordType::Txt)
                .expect("TXT");
            assert_eq!(got.content, c, "{v:?}\n{text}");
            assert_eq!(records::txt_value(&got.content), v);
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
