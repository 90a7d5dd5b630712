//! The LuaDNS API client: Basic auth (email : key), `Accept: application/json`, and
//! `Content-Type: application/json` when a body is sent.

use serde_json::Value;

use super::{basic, http, HttpReply, Server};

pub struct Lua<'a> {
    pub srv: &'a Server,
    /// The Authorization header value.
    pub auth: String,
}

impl<'a> Lua<'a> {
    pub fn new(srv: &'a Server, email: &str, key: &str) -> Lua<'a> {
        Lua {
            srv,
            auth: basic(email, key),
        }
    }
    pub fn req(&self, method: &str, path: &str, body: Option<&str>) -> HttpReply {
        let mut h = vec![
            ("Authorization", self.auth.as_str()),
            ("Accept", "application/json"),
        ];
        match body {
            Some(b) => {
                h.push(("Content-Type", "application/json"));
                self.srv.send(method, path, &h, b)
            }
            None => http(self.srv.http, method, path, &h, None),
        }
    }
    /// A request with an optional JSON value as its body.
    pub fn json(&self, method: &str, path: &str, body: Option<Value>) -> HttpReply {
        self.req(method, path, body.map(|b| b.to_string()).as_deref())
    }
    pub fn get(&self, path: &str) -> HttpReply {
        self.req("GET", path, None)
    }
    pub fn post(&self, path: &str, body: &str) -> HttpReply {
        self.req("POST", path, Some(body))
    }
    pub fn put(&self, path: &str, body: &str) -> HttpReply {
        self.req("PUT", path, Some(body))
    }
    pub fn delete(&self, path: &str) -> HttpReply {
        self.req("DELETE", path, None)
    }
    /// GET that must answer 200; the JSON body.
    pub fn ok(&self, path: &str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        r.json()
    }
    /// The id of the zone called `name` in `GET /v1/zones`.
    pub fn zone_id(&self, name: &str) -> i64 {
        let j = self.ok("/v1/zones");
        j.as_array()
            .unwrap()
            .iter()
            .find(|z| z["name"] == name)
            .unwrap_or_else(|| panic!("zone {name} not listed: {j}"))["id"]
            .as_i64()
            .unwrap()
    }
    /// Create a record in zone `zid` (POST must answer 200); its id.
    pub fn record(&self, zid: i64, name: &str, rtype: &str, content: &str, ttl: u32) -> i64 {
        let body =
            serde_json::json!({"name":name,"type":rtype,"content":content,"ttl":ttl}).to_string();
        let r = self.post(&records_path(zid), &body);
        assert_eq!(r.status, 200, "{name} {rtype}: {}", r.body);
        r.json()["id"].as_i64().unwrap()
    }
}

/// `/v1/zones/{zid}/records`
pub fn records_path(zid: i64) -> String {
    format!("/v1/zones/{zid}/records")
}
