//! Command-line parsing by hand (a handful of flags; no clap). Produces a `Command` plus the
//! options common to every command; `main` turns them into work.

use std::net::SocketAddr;
use std::path::PathBuf;

pub const USAGE: &str = "\
lucentd — Lucent Drift dynamic-DNS server

USAGE:
  lucentd serve [--config F] [--db P] [--http ADDR:PORT] [--dns ADDR:PORT]...
                [--tls-cert PEM --tls-key PEM] [--demo]
  lucentd zone add NAME [--shared] [--owner EMAIL]
  lucentd zone list
  lucentd zone rm NAME
  lucentd user add EMAIL [--max-hostnames N] [--zones Z1,Z2]
  lucentd user token EMAIL
  lucentd user apikey EMAIL [--zone NAME]
  lucentd user set EMAIL [--status active|disabled|banned] [--max-hostnames N]
                         [--api-enabled true|false]
  lucentd user list
  lucentd backup FILE

Every command takes --db PATH (default lucent.db) or --config FILE (TOML; its `db` key).
Commands that print a secret print it alone as the last line of standard output.
Environment: DDNS_API_TOKEN (operator token), RUST_LOG (log level, default info).
";

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
    Help,
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
    UserApiKey {
        email: String,
        zone: Option<String>,
    },
    UserSet {
        email: String,
        status: Option<String>,
        max_hostnames: Option<u32>,
        api_enabled: Option<bool>,
    },
    UserList,
    Backup(PathBuf),
}

pub fn parse(args: &[String]) -> Result<(Command, Common), String> {
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
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = |name: &str| -> Result<&String, String> {
            it.next().ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "-h" | "--help" => return Ok((Command::Help, common)),
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
        ["user", "token", ..] => Command::UserToken(one("email")?),
        ["user", "apikey", ..] => Command::UserApiKey {
            email: one("email")?,
            zone,
        },
        ["user", "set", ..] => Command::UserSet {
            email: one("email")?,
            status,
            max_hostnames,
            api_enabled,
        },
        ["user", "list"] => Command::UserList,
        ["backup", f] => Command::Backup(PathBuf::from(f)),
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
        assert!(p("zone add").is_err());
        assert!(p("serve --bogus").is_err());
        assert!(p("frobnicate").is_err());
        assert!(p("serve --http nope").is_err());
    }
}
