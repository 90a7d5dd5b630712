//! Command-line parsing by hand (a handful of flags; no clap). Produces a `Command` plus the
//! options common to every command; `main` turns them into work. The usage text is built from
//! one table of commands (`COMMANDS`), so `lucentd help`, `lucentd <command> --help` and the
//! usage printed after a mistake never disagree.

use std::net::SocketAddr;
use std::path::PathBuf;

/// One command of the table: the words that name it, its synopsis (as in the usage text) and
/// what it does (shown by `lucentd <command> --help`).
struct CmdHelp {
    words: &'static [&'static str],
    synopsis: &'static str,
    about: &'static str,
}

const COMMANDS: &[CmdHelp] = &[
    CmdHelp {
        words: &["serve"],
        synopsis: "lucentd serve [--config F] [--db P] [--http ADDR:PORT] [--dns ADDR:PORT]...\n\
                   \x20             [--tls-cert PEM --tls-key PEM] [--demo]",
        about: "Run the HTTP API and the DNS responder (UDP and TCP on each --dns address).\n\
                Defaults: HTTP 127.0.0.1:8080, DNS 127.0.0.1:5300. With a certificate and key\n\
                the API listener speaks HTTPS. Prints one line `lucentd listening http=… dns=…\n\
                tls=…` on standard output once it serves. Creates the database file when it\n\
                does not exist (and says so on standard error). --demo on an empty database\n\
                creates the shared zone demo.test and the user demo@demo.test and prints the\n\
                user's token with ready-to-paste curl and dig lines.",
    },
    CmdHelp {
        words: &["zone", "add"],
        synopsis: "lucentd zone add NAME [--shared] [--owner EMAIL]",
        about: "Add a shared DDNS zone (--shared: users claim hostnames in it) or a hosted zone\n\
                owned by a user (--owner EMAIL: managed through the LuaDNS-style API).\n\
                Creates the database file when it does not exist (and says so on standard error).",
    },
    CmdHelp {
        words: &["zone", "list"],
        synopsis: "lucentd zone list",
        about: "List the zones: id, name, kind, owner, SOA serial, DNS queries answered.",
    },
    CmdHelp {
        words: &["zone", "rm"],
        synopsis: "lucentd zone rm NAME",
        about: "Remove a zone with its hostnames and records; a running server stops serving it\n\
                within half a second.",
    },
    CmdHelp {
        words: &["user", "add"],
        synopsis: "lucentd user add EMAIL [--max-hostnames N] [--zones Z1,Z2]",
        about: "Create a user (default limit 10 hostnames; default allowed zones: every shared\n\
                zone) and print the user's update token as the last line. Creates the database\n\
                file when it does not exist (and says so on standard error).",
    },
    CmdHelp {
        words: &["user", "token"],
        synopsis: "lucentd user token EMAIL [--hostname FQDN[,FQDN...] --label NAME]",
        about: "Regenerate the user's update token and print it as the last line; the old token\n\
                stops working at once. With --hostname and --label: a new scoped token that\n\
                reaches only those hostnames (updates, no create or delete); the main token\n\
                is unchanged.",
    },
    CmdHelp {
        words: &["user", "tokens"],
        synopsis: "lucentd user tokens EMAIL",
        about: "List the user's scoped tokens: label, hostnames, created, last used (never\n\
                secrets).",
    },
    CmdHelp {
        words: &["user", "token-revoke"],
        synopsis: "lucentd user token-revoke EMAIL LABEL",
        about: "Revoke the user's scoped token LABEL; it stops working at once.",
    },
    CmdHelp {
        words: &["user", "tsig"],
        synopsis:
            "lucentd user tsig EMAIL --name KEYNAME [--zone ZONE | --hostname FQDN[,FQDN...]]",
        about: "Create a TSIG key (hmac-sha256) for DNS UPDATE (RFC 2136: nsupdate, certbot,\n\
                lego, DHCP servers), limited to one of the user's hosted zones or to chosen\n\
                hostnames; prints the base64 secret as the last line.",
    },
    CmdHelp {
        words: &["user", "tsigs"],
        synopsis: "lucentd user tsigs EMAIL",
        about: "List the user's TSIG keys: name, what it may change, created, last used (never\n\
                secrets).",
    },
    CmdHelp {
        words: &["user", "tsig-revoke"],
        synopsis: "lucentd user tsig-revoke EMAIL KEYNAME",
        about: "Delete the user's TSIG key KEYNAME; the next UPDATE signed with it is refused.",
    },
    CmdHelp {
        words: &["user", "apikey"],
        synopsis: "lucentd user apikey EMAIL [--zone NAME] [--label NAME]",
        about: "Create an API key for the LuaDNS-style API, global or restricted to one of the\n\
                user's hosted zones, with an optional label; prints the key's id, then the key\n\
                as the last line.",
    },
    CmdHelp {
        words: &["user", "apikeys"],
        synopsis: "lucentd user apikeys EMAIL",
        about: "List the user's API keys: id, scope (global or the zone's name), created.\n\
                Keys are stored only as hashes and never shown again.",
    },
    CmdHelp {
        words: &["user", "apikey-revoke"],
        synopsis: "lucentd user apikey-revoke EMAIL ID",
        about: "Revoke the user's API key ID (see `user apikeys`); it stops working at once.",
    },
    CmdHelp {
        words: &["user", "set"],
        synopsis: "lucentd user set EMAIL [--status active|disabled|banned] [--max-hostnames N]\n\
                   \x20                      [--api-enabled true|false] [--role admin|user]",
        about: "Change a user's status, hostname limit, access to the LuaDNS-style API or role\n\
                (an admin signs in to the operator pages too).",
    },
    CmdHelp {
        words: &["user", "invite"],
        synopsis: "lucentd user invite EMAIL",
        about: "Print a one-time link (valid 24 hours) where the user sets a password for the\n\
                dashboard, as the last line (`public_url` is its start).",
    },
    CmdHelp {
        words: &["user", "passwd"],
        synopsis: "lucentd user passwd EMAIL",
        about: "Set the user's dashboard password, read as one line from standard input.",
    },
    CmdHelp {
        words: &["user", "list"],
        synopsis: "lucentd user list",
        about: "List the users with status, limits and hostname counts (never secrets).",
    },
    CmdHelp {
        words: &["user", "rm"],
        synopsis: "lucentd user rm EMAIL --yes",
        about: "Delete a user with their hostnames, hosted zones (and their records), update\n\
                token and API keys. Refuses without --yes. A running server stops serving the\n\
                user's names within half a second.",
    },
    CmdHelp {
        words: &["zone", "export"],
        synopsis: "lucentd zone export NAME",
        about: "Write the zone as an RFC 1035 zone file on standard output: $ORIGIN, the SOA\n\
                first, names relative to the zone. A shared zone is written as DNS serves it\n\
                (its NS from the config, its hostnames' A, AAAA and TXT).",
    },
    CmdHelp {
        words: &["zone", "import"],
        synopsis: "lucentd zone import NAME FILE",
        about: "Load a zone file (FILE, or - for standard input) into a hosted zone, replacing\n\
                its records: $ORIGIN, $TTL, relative names, parentheses and comments; every\n\
                record checked by the rules of the LuaDNS-style API; one bad record fails the\n\
                import with its line number and nothing changes. The file's SOA and apex NS\n\
                are left to this server; DNSSEC records are skipped. Prints a progress line\n\
                every 10,000 records on standard error.",
    },
    CmdHelp {
        words: &["zone", "ds"],
        synopsis: "lucentd zone ds NAME",
        about: "Print the DS records to put at the zone's parent (the registrar), one per line\n\
                in presentation format, digest types 2 (SHA-256) and 4 (SHA-384). During a\n\
                rollover, the new key's. Nothing when the zone is not signed.",
    },
    CmdHelp {
        words: &["zone", "dnssec"],
        synopsis: "lucentd zone dnssec NAME --enable|--disable",
        about: "Sign a zone, or stop signing it. --disable first publishes the RFC 8078\n\
                delete CDS/CDNSKEY while the zone stays signed; remove the DS at the parent,\n\
                then run --disable again to stop signing.",
    },
    CmdHelp {
        words: &["zone", "rollover"],
        synopsis: "lucentd zone rollover NAME",
        about: "Start a key rollover: a new key is published and signs the DNSKEY RRset, and\n\
                CDS/CDNSKEY (and `zone ds`) name it. Put its DS at the parent, then run\n\
                `zone rollover NAME` again: the new key signs the zone and the old one is\n\
                removed a day later, once cached copies of the old DS have expired.",
    },
    CmdHelp {
        words: &["hostname", "list"],
        synopsis: "lucentd hostname list [--operator]",
        about: "List the hostnames of the shared zones: name, owner (or operator-managed),\n\
                addresses, last update. --operator lists only the names the operator token\n\
                created.",
    },
    CmdHelp {
        words: &["hostname", "rm"],
        synopsis: "lucentd hostname rm FQDN",
        about: "Remove a hostname of a shared zone, a user's or an operator-managed one, with\n\
                its A, AAAA and TXT values. A running server stops serving it within half a\n\
                second.",
    },
    CmdHelp {
        words: &["backup"],
        synopsis: "lucentd backup FILE [--force]",
        about: "Write an online, consistent copy of the database to FILE (SQLite backup API),\n\
                safe while `serve` runs. Refuses to replace an existing FILE without --force.",
    },
    CmdHelp {
        words: &["help"],
        synopsis: "lucentd help [COMMAND]",
        about: "Show this usage, or one command's (as `lucentd COMMAND --help` does).",
    },
];

const USAGE_FOOTER: &str = "\
Every command takes --db PATH (default lucent.db) or --config FILE (TOML; its `db` key).
Only serve, zone add and user add create a missing database file; the other commands
fail when it does not exist. Commands that print a secret print it alone as the last line
of standard output. Environment: DDNS_API_TOKEN (operator token), RUST_LOG (log level,
default info).
";

/// The whole usage text (`lucentd help`, `lucentd --help`, and after a usage error).
pub fn usage() -> String {
    let mut s = String::from("lucentd — Lucent Drift dynamic-DNS server\n\nUSAGE:\n");
    for c in COMMANDS {
        for line in c.synopsis.lines() {
            s.push_str("  ");
            s.push_str(line);
            s.push('\n');
        }
    }
    s.push('\n');
    s.push_str(USAGE_FOOTER);
    s
}

/// The usage of the commands named by `words` (`["zone"]`: every zone command; `["zone",
/// "add", …]`: that one); None when no command matches.
pub fn usage_of(words: &[&str]) -> Option<String> {
    if words.is_empty() {
        return Some(usage());
    }
    // The longest command that `words` starts with (`user apikey x@y` is `user apikey`) ...
    let exact = COMMANDS
        .iter()
        .filter(|c| words.starts_with(c.words))
        .max_by_key(|c| c.words.len());
    let picked: Vec<&CmdHelp> = match exact {
        Some(c) => vec![c],
        // ... or every command that starts with `words` (`zone` lists the zone commands).
        None => COMMANDS
            .iter()
            .filter(|c| c.words.starts_with(words))
            .collect(),
    };
    if picked.is_empty() {
        return None;
    }
    let mut s = String::from("USAGE:\n");
    for c in &picked {
        for line in c.synopsis.lines() {
            s.push_str("  ");
            s.push_str(line);
            s.push('\n');
        }
    }
    for c in &picked {
        s.push('\n');
        if picked.len() > 1 {
            s.push_str(c.words.join(" ").as_str());
            s.push_str(":\n");
        }
        s.push_str(c.about);
        s.push('\n');
    }
    s.push('\n');
    s.push_str(USAGE_FOOTER);
    Some(s)
}

#[derive(Debug, Default)]
pub struct Common {
    pub config: Option<PathBuf>,
    pub db: Option<PathBuf>,
}

#[derive(Debug, Default)]
pub struct ServeFlags {
    pub http: Option<SocketAddr>,
    pub dns: Vec<SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub demo: bool,
}

#[derive(Debug)]
pub enum Command {
    /// Print the usage: the whole of it, or of one command (its usage text, ready to print).
    Help(String),
    Version,
    Serve(ServeFlags),
    ZoneAdd {
        name: String,
        shared: bool,
        owner: Option<String>,
    },
    ZoneList,
    ZoneRm(String),
    UserAdd {
        email: String,
        max_hostnames: Option<u32>,
        zones: Option<Vec<String>>,
    },
    UserToken(String),
    UserScopedToken {
        email: String,
        hostnames: Vec<String>,
        label: String,
    },
    UserTokens(String),
    UserTokenRevoke {
        email: String,
        label: String,
    },
    UserApiKey {
        email: String,
        zone: Option<String>,
        label: Option<String>,
    },
    UserApiKeys(String),
    UserTsig {
        email: String,
        name: String,
        zone: Option<String>,
        hostnames: Vec<String>,
    },
    UserTsigs(String),
    UserTsigRevoke {
        email: String,
        name: String,
    },
    UserApiKeyRevoke {
        email: String,
        id: i64,
    },
    UserSet {
        email: String,
        status: Option<String>,
        max_hostnames: Option<u32>,
        api_enabled: Option<bool>,
        role: Option<String>,
    },
    UserInvite(String),
    UserPasswd(String),
    UserList,
    UserRm {
        email: String,
        yes: bool,
    },
    HostnameRm(String),
    HostnameList {
        operator: bool,
    },
    ZoneExport(String),
    ZoneDs(String),
    ZoneDnssec {
        name: String,
        enable: bool,
    },
    ZoneRollover(String),
    ZoneImport {
        name: String,
        file: PathBuf,
    },
    Backup {
        file: PathBuf,
        force: bool,
    },
}

impl Command {
    /// Commands that set a database up and so may create the file (all others refuse a
    /// missing one: a mistyped `--db` must not look like an empty database).
    pub fn may_create_db(&self) -> bool {
        matches!(
            self,
            Command::Serve(_) | Command::ZoneAdd { .. } | Command::UserAdd { .. }
        )
    }
}

/// Flags followed by a value (skipped when looking for the command words of `--help`).
const VALUE_FLAGS: &[&str] = &[
    "--config",
    "--db",
    "--http",
    "--dns",
    "--tls-cert",
    "--tls-key",
    "--owner",
    "--max-hostnames",
    "--zones",
    "--zone",
    "--status",
    "--api-enabled",
    "--role",
    "--hostname",
    "--label",
];

/// `-h`/`--help` anywhere: the usage of the command the other words name, whatever else the
/// line holds (a half-typed command line still gets its help).
fn help_for(args: &[String]) -> Result<Command, String> {
    let mut words = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if VALUE_FLAGS.contains(&a.as_str()) {
            it.next();
        } else if !a.starts_with('-') {
            words.push(a.as_str());
        }
    }
    if words.first() == Some(&"help") {
        words.remove(0);
    }
    usage_of(&words)
        .map(Command::Help)
        .ok_or_else(|| format!("unknown command '{}'", words.join(" ")))
}

pub fn parse(args: &[String]) -> Result<(Command, Common), String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        return Ok((help_for(args)?, Common::default()));
    }
    let mut common = Common::default();
    let mut pos: Vec<&str> = Vec::new();
    let mut serve = ServeFlags::default();
    let mut shared = false;
    let mut owner = None;
    let mut max_hostnames = None;
    let mut zones = None;
    let mut zone = None;
    let mut status = None;
    let mut api_enabled = None;
    let mut role = None;
    let mut hostname: Option<Vec<String>> = None;
    let mut label = None;
    let mut key_name = None;
    let mut yes = false;
    let mut force = false;
    let mut operator = false;
    let mut enable: Option<bool> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = |name: &str| -> Result<&String, String> {
            it.next().ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "-V" | "--version" => return Ok((Command::Version, common)),
            "--config" => common.config = Some(val("--config")?.into()),
            "--db" => common.db = Some(val("--db")?.into()),
            "--http" => serve.http = Some(addr("--http", val("--http")?)?),
            "--dns" => serve.dns.push(addr("--dns", val("--dns")?)?),
            "--tls-cert" => serve.tls_cert = Some(val("--tls-cert")?.into()),
            "--tls-key" => serve.tls_key = Some(val("--tls-key")?.into()),
            "--demo" => serve.demo = true,
            "--shared" => shared = true,
            "--owner" => owner = Some(val("--owner")?.clone()),
            "--max-hostnames" => {
                let v = val("--max-hostnames")?;
                max_hostnames = Some(
                    v.parse::<u32>()
                        .map_err(|_| format!("--max-hostnames: '{v}' is not a number"))?,
                )
            }
            "--zones" => {
                zones = Some(
                    val("--zones")?
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect(),
                )
            }
            "--zone" => zone = Some(val("--zone")?.clone()),
            "--status" => status = Some(val("--status")?.clone()),
            "--api-enabled" => {
                api_enabled = Some(match val("--api-enabled")?.as_str() {
                    "true" | "yes" | "1" | "on" => true,
                    "false" | "no" | "0" | "off" => false,
                    v => return Err(format!("--api-enabled: '{v}' is not true or false")),
                })
            }
            "--role" => role = Some(val("--role")?.clone()),
            "--hostname" => {
                hostname = Some(
                    val("--hostname")?
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect(),
                )
            }
            "--label" => label = Some(val("--label")?.clone()),
            "--name" => key_name = Some(val("--name")?.clone()),
            "--yes" => yes = true,
            "--force" => force = true,
            "--operator" => operator = true,
            "--enable" | "--disable" => {
                let on = a == "--enable";
                if enable.is_some_and(|e| e != on) {
                    return Err("give either --enable or --disable".into());
                }
                enable = Some(on);
            }
            s if s.starts_with('-') => return Err(format!("unknown flag '{s}'")),
            s => pos.push(s),
        }
    }
    let one = |what: &str| -> Result<String, String> {
        match pos.len() {
            3 => Ok(pos[2].to_string()),
            2 => Err(format!("missing {what}")),
            _ => Err(format!("expected one {what}")),
        }
    };
    let cmd = match pos.as_slice() {
        [] => return Err("missing command".into()),
        ["help", rest @ ..] => Command::Help(
            usage_of(rest).ok_or_else(|| format!("unknown command '{}'", rest.join(" ")))?,
        ),
        ["serve"] => Command::Serve(serve),
        ["zone", "add", ..] => Command::ZoneAdd {
            name: one("zone name")?,
            shared,
            owner,
        },
        ["zone", "list"] => Command::ZoneList,
        ["zone", "rm", ..] => Command::ZoneRm(one("zone name")?),
        ["user", "add", ..] => Command::UserAdd {
            email: one("email")?,
            max_hostnames,
            zones,
        },
        ["user", "token", ..] => match (hostname, label) {
            (None, None) => Command::UserToken(one("email")?),
            (Some(hostnames), Some(label)) => Command::UserScopedToken {
                email: one("email")?,
                hostnames,
                label,
            },
            _ => return Err("a scoped token needs both --hostname and --label".into()),
        },
        ["user", "tokens", ..] => Command::UserTokens(one("email")?),
        ["user", "token-revoke", email, label] => Command::UserTokenRevoke {
            email: email.to_string(),
            label: label.to_string(),
        },
        ["user", "token-revoke", ..] => return Err("give EMAIL and the token's LABEL".into()),
        ["user", "apikey", ..] => Command::UserApiKey {
            email: one("email")?,
            zone,
            label,
        },
        ["user", "apikeys", ..] => Command::UserApiKeys(one("email")?),
        ["user", "tsig", ..] => Command::UserTsig {
            email: one("email")?,
            name: key_name.ok_or("a TSIG key needs --name KEYNAME")?,
            zone,
            hostnames: hostname.unwrap_or_default(),
        },
        ["user", "tsigs", ..] => Command::UserTsigs(one("email")?),
        ["user", "tsig-revoke", email, name] => Command::UserTsigRevoke {
            email: email.to_string(),
            name: name.to_string(),
        },
        ["user", "tsig-revoke", ..] => return Err("give EMAIL and the key's KEYNAME".into()),
        ["user", "apikey-revoke", email, id] => Command::UserApiKeyRevoke {
            email: email.to_string(),
            id: id
                .parse()
                .map_err(|_| format!("'{id}' is not an API key id (see `user apikeys`)"))?,
        },
        ["user", "apikey-revoke", ..] => return Err("give EMAIL and the key's ID".into()),
        ["user", "set", ..] => Command::UserSet {
            email: one("email")?,
            status,
            max_hostnames,
            api_enabled,
            role,
        },
        ["user", "invite", ..] => Command::UserInvite(one("email")?),
        ["user", "passwd", ..] => Command::UserPasswd(one("email")?),
        ["user", "list"] => Command::UserList,
        ["user", "rm", ..] => Command::UserRm {
            email: one("email")?,
            yes,
        },
        ["hostname", "rm", ..] => Command::HostnameRm(one("hostname (FQDN)")?),
        ["hostname", "list"] => Command::HostnameList { operator },
        ["zone", "export", ..] => Command::ZoneExport(one("zone name")?),
        ["zone", "ds", ..] => Command::ZoneDs(one("zone name")?),
        ["zone", "dnssec", ..] => Command::ZoneDnssec {
            name: one("zone name")?,
            enable: enable.ok_or("give --enable or --disable")?,
        },
        ["zone", "rollover", ..] => Command::ZoneRollover(one("zone name")?),
        ["zone", "import", name, file] => Command::ZoneImport {
            name: name.to_string(),
            file: PathBuf::from(file),
        },
        ["zone", "import", ..] => return Err("give the zone NAME and the FILE".into()),
        ["backup", f] => Command::Backup {
            file: PathBuf::from(f),
            force,
        },
        ["backup"] => return Err("missing backup file".into()),
        other => return Err(format!("unknown command '{}'", other.join(" "))),
    };
    Ok((cmd, common))
}

fn addr(flag: &str, s: &str) -> Result<SocketAddr, String> {
    s.parse()
        .map_err(|_| format!("{flag}: '{s}' is not ADDR:PORT (e.g. 127.0.0.1:8080, [::1]:5300)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<(Command, Common), String> {
        parse(&s.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn parses_the_contract() {
        let (c, common) =
            p("serve --db x.db --http 127.0.0.1:0 --dns 127.0.0.1:0 --dns [::1]:0 --demo").unwrap();
        assert_eq!(common.db.unwrap(), PathBuf::from("x.db"));
        match c {
            Command::Serve(s) => {
                assert_eq!(s.dns.len(), 2);
                assert!(s.demo);
            }
            _ => panic!(),
        }
        assert!(matches!(
            p("zone add demo.test --shared").unwrap().0,
            Command::ZoneAdd { shared: true, .. }
        ));
        assert!(
            matches!(p("user add a@b.c --max-hostnames 3 --zones x.y,z.w").unwrap().0,
            Command::UserAdd { max_hostnames: Some(3), zones: Some(ref z), .. } if z.len() == 2)
        );
        assert!(matches!(
            p("user set a@b.c --api-enabled false").unwrap().0,
            Command::UserSet {
                api_enabled: Some(false),
                ..
            }
        ));
        assert!(p("user set a@b.c --api-enabled maybe").is_err());
        assert!(matches!(
            p("user set a@b.c --role admin").unwrap().0,
            Command::UserSet { role: Some(ref r), .. } if r == "admin"
        ));
        assert!(
            matches!(p("user invite a@b.c").unwrap().0, Command::UserInvite(ref e) if e == "a@b.c")
        );
        assert!(matches!(
            p("user passwd a@b.c").unwrap().0,
            Command::UserPasswd(_)
        ));
        assert!(p("zone add").is_err());
        assert!(p("serve --bogus").is_err());
        assert!(p("frobnicate").is_err());
        assert!(p("serve --http nope").is_err());
    }

    #[test]
    fn parses_the_operator_commands() {
        assert!(matches!(
            p("user apikeys a@b.c").unwrap().0,
            Command::UserApiKeys(ref e) if e == "a@b.c"
        ));
        assert!(matches!(
            p("user apikey-revoke a@b.c 7").unwrap().0,
            Command::UserApiKeyRevoke { id: 7, .. }
        ));
        assert!(p("user apikey-revoke a@b.c seven").is_err());
        assert!(p("user apikey-revoke a@b.c").is_err());
        assert!(matches!(
            p("user rm a@b.c --yes").unwrap().0,
            Command::UserRm { yes: true, .. }
        ));
        assert!(matches!(
            p("user rm a@b.c").unwrap().0,
            Command::UserRm { yes: false, .. }
        ));
        assert!(matches!(
            p("hostname rm home.dyn.example.net").unwrap().0,
            Command::HostnameRm(_)
        ));
        assert!(matches!(
            p("backup x.db --force").unwrap().0,
            Command::Backup { force: true, .. }
        ));
        assert!(p("zone add x.test --shared").unwrap().0.may_create_db());
        assert!(!p("backup x.db").unwrap().0.may_create_db());
        assert!(!p("user list").unwrap().0.may_create_db());
    }

    #[test]
    fn help_per_command_and_whole() {
        let help = |s: &str| match p(s).unwrap().0 {
            Command::Help(t) => t,
            c => panic!("{s}: {c:?}"),
        };
        let all = help("help");
        assert_eq!(all, usage());
        assert_eq!(help("--help"), all);
        for c in COMMANDS {
            assert!(all.contains(c.synopsis.lines().next().unwrap()));
        }
        let zone_add = help("zone add --help");
        assert!(zone_add.contains("lucentd zone add NAME"), "{zone_add}");
        assert!(!zone_add.contains("zone list"), "{zone_add}");
        assert_eq!(help("help zone add"), zone_add);
        // Values of flags are not command words; the longest matching command wins.
        let apikey = help("user apikey a@b.c --zone x.test -h");
        assert!(apikey.contains("apikey EMAIL [--zone NAME]") && !apikey.contains("apikeys"));
        let zone = help("zone --help");
        assert!(
            zone.contains("zone list")
                && zone.contains("zone rm")
                && !zone.contains("lucentd user")
        );
        assert!(p("frobnicate --help").is_err());
        assert!(p("help frobnicate").is_err());
    }
}
