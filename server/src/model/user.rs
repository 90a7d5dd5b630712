//! Users: an account's status and limits as the store keeps them.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Disabled,
    Banned,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Disabled => "disabled",
            Status::Banned => "banned",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "active" => Some(Status::Active),
            "disabled" => Some(Status::Disabled),
            "banned" => Some(Status::Banned),
            _ => None,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub status: Status,
    pub max_hostnames: u32,
    pub api_enabled: bool,
    /// Only the shared zones listed for the user are allowed (else every shared zone).
    pub zones_restricted: bool,
    /// The hostname ids the credential in use reaches: `None` for the account's own update
    /// token (everything), `Some` for a scoped token (#17), which also may not create or
    /// delete. The domain layer (`domain::hostnames`) enforces it.
    pub scope: Option<Vec<String>>,
}

impl User {
    /// Does the credential in use reach hostname `id`?
    pub fn reaches(&self, id: &str) -> bool {
        self.scope
            .as_ref()
            .is_none_or(|s| s.iter().any(|x| x == id))
    }
}
