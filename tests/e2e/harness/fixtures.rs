//! The two common starting points, built by the admin commands and then a running server:
//! a shared zone with a user (its update token), and a hosted zone owned by a user with a
//! global API key (optionally beside a shared zone), each with a config file or extra server
//! options when a test needs them.

use super::{add_apikey, add_user, admin, write_config, Lua, Server, ServerOpts, TestDir};

/// The user of the hosted-zone fixture.
pub const EMAIL: &str = "me@example.org";
/// The shared zone most tests use.
pub const SHARED: &str = "dyn.example.net";
/// The hosted zone of the hosted-zone fixture.
pub const HOSTED: &str = "example.org";

/// A started server and what the fixture created.
pub struct Fixture {
    pub dir: TestDir,
    pub srv: Server,
    /// The user's update token (empty when the fixture kept none).
    pub token: String,
    /// The user's global API key (hosted fixtures).
    pub key: String,
    /// The hosted zone's id in the LuaDNS API (hosted fixtures).
    pub zid: i64,
    pub email: String,
}

/// What to create before the server starts; `start` runs it.
pub struct Setup<'a> {
    name: &'a str,
    email: &'a str,
    shared: Option<&'a str>,
    hosted: bool,
    user_args: Vec<&'a str>,
    config: Option<&'a str>,
    args: Vec<&'a str>,
    env: Vec<(&'a str, &'a str)>,
    hostnames: Vec<&'a str>,
    lookup: bool,
    nofile: Option<u32>,
}

impl Fixture {
    /// Shared zone `zone` and user `email` with an update token.
    pub fn shared<'a>(name: &'a str, zone: &'a str, email: &'a str) -> Setup<'a> {
        Setup {
            name,
            email,
            shared: Some(zone),
            hosted: false,
            user_args: vec![],
            config: None,
            args: vec![],
            env: vec![],
            hostnames: vec![],
            lookup: true,
            nofile: None,
        }
    }

    /// User `EMAIL`, hosted zone `example.org` owned by it, and a global API key.
    pub fn hosted(name: &str) -> Setup<'_> {
        Setup {
            name,
            email: EMAIL,
            shared: None,
            hosted: true,
            user_args: vec![],
            config: None,
            args: vec![],
            env: vec![],
            hostnames: vec![],
            lookup: true,
            nofile: None,
        }
    }

    /// The LuaDNS client with the fixture's API key.
    pub fn lua(&self) -> Lua<'_> {
        Lua::new(&self.srv, &self.email, &self.key)
    }

    /// `GET /v1/hostnames/{name}` with the fixture's token: the JSON body.
    pub fn host(&self, name: &str) -> serde_json::Value {
        self.srv.hostname(&self.token, name)
    }

    /// Create a hosted-zone record through the LuaDNS API; its id.
    pub fn record(&self, name: &str, rtype: &str, content: &str, ttl: u32) -> i64 {
        self.lua().record(self.zid, name, rtype, content, ttl)
    }

    /// Create a shared-zone hostname through `/v1/hostnames` (must answer 201).
    pub fn add_hostname(&self, body: serde_json::Value) {
        let r = self
            .srv
            .json("POST", "/v1/hostnames", &self.token, &body.to_string());
        assert_eq!(r.status, 201, "{}", r.body);
    }

    /// `GET /update?token=…&QUERY` must answer 200 `OK`.
    pub fn update(&self, query: &str) {
        let r = self
            .srv
            .get(&format!("/update?token={}&{query}", self.token), &[]);
        assert_eq!((r.status, r.body.as_str()), (200, "OK"), "{query}");
    }

    /// Create hostnames by label in the default zone (each POST must answer 201).
    pub fn create_hostnames(&self, labels: &[&str]) {
        for l in labels {
            let r = self.srv.json(
                "POST",
                "/v1/hostnames",
                &self.token,
                &format!(r#"{{"hostname":"{l}"}}"#),
            );
            assert_eq!(r.status, 201, "{l}: {}", r.body);
        }
    }
}

impl<'a> Setup<'a> {
    /// Also a shared zone (created first).
    pub fn with_shared(mut self, zone: &'a str) -> Self {
        self.shared = Some(zone);
        self
    }
    /// Extra arguments to `user add`.
    pub fn user_args(mut self, args: &[&'a str]) -> Self {
        self.user_args = args.to_vec();
        self
    }
    /// Start the server with `--config` pointing at this TOML text.
    pub fn config(mut self, toml: &'a str) -> Self {
        self.config = Some(toml);
        self
    }
    /// Extra `lucentd serve` arguments.
    pub fn args(mut self, args: &[&'a str]) -> Self {
        self.args = args.to_vec();
        self
    }
    /// An environment variable for the server.
    pub fn env(mut self, k: &'a str, v: &'a str) -> Self {
        self.env.push((k, v));
        self
    }
    /// Hostnames (labels) created through `/v1/hostnames` once the server runs.
    pub fn hostnames(mut self, labels: &[&'a str]) -> Self {
        self.hostnames = labels.to_vec();
        self
    }

    /// Run the server under `ulimit -n n` (soft and hard limit).
    pub fn nofile(mut self, n: u32) -> Self {
        self.nofile = Some(n);
        self
    }

    /// Leave `zid` at 0: looking the zone up would spend one request of a rate-limit budget
    /// the test counts.
    pub fn without_zone_lookup(mut self) -> Self {
        self.lookup = false;
        self
    }

    pub fn start(self) -> Fixture {
        let dir = TestDir::new(self.name);
        if let Some(z) = self.shared {
            admin(&dir, &["zone", "add", z, "--shared"]);
        }
        let token = add_user(&dir, self.email, &self.user_args);
        let mut key = String::new();
        if self.hosted {
            admin(&dir, &["zone", "add", "example.org", "--owner", self.email]);
            key = add_apikey(&dir, self.email, None);
        }
        let cfg = self.config.map(|t| write_config(&dir, t));
        let mut args = self.args.clone();
        if let Some(c) = &cfg {
            args.extend_from_slice(&["--config", c.to_str().expect("utf-8 path")]);
        }
        let srv = Server::start_with_nofile(
            &dir,
            ServerOpts {
                args,
                env: self.env.clone(),
            },
            self.nofile,
        );
        let mut f = Fixture {
            dir,
            srv,
            token,
            key,
            zid: 0,
            email: self.email.to_string(),
        };
        if self.hosted && self.lookup {
            f.zid = f.lua().zone_id(HOSTED);
        }
        f.create_hostnames(&self.hostnames);
        f
    }
}
