//! The dashboard's routes as the routing table sees them: parsed here, with their metric
//! labels, so that `api` never imports the dashboard (`web`, which sits above it and uses the
//! API's handlers). `serve` hands the dashboard's handler to `Ctx::web`.

/// Sign-in attempts per client address per 5 minutes.
pub const LOGIN_PER_ADDRESS: u32 = 30;
/// Sign-in attempts per account per 5 minutes.
pub const LOGIN_PER_ACCOUNT: u32 = 10;

/// The dashboard's pages and form targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebRoute {
    /// `/`: the hostnames page (or a redirect to `/login`).
    Home,
    Login,
    Logout,
    Invite(String),
    /// `POST /hostnames`: create.
    Hostnames,
    /// `/hostnames/{id}`: the edit form and its target.
    Hostname(String),
    /// `/hostnames/{id}/setup`: ready-to-paste client setups for the hostname.
    HostnameSetup(String),
    HostnameClear(String),
    HostnameDelete(String),
    /// `/token`: regenerate the update token.
    Token,
    /// `/tokens`: scoped tokens (list, create).
    Tokens,
    TokensRevoke,
    /// `/tsig`: TSIG keys for DNS UPDATE (list, create); `/tsig/revoke`.
    Tsig,
    TsigRevoke,
    Account,
    AccountPassword,
    /// `/account/tfa`: start setting up two-factor sign-in; `/confirm`, `/disable`.
    TfaBegin,
    TfaConfirm,
    TfaDisable,
    SignOutAll,
    /// `/zones`: the user's hosted zones.
    Zones,
    /// `/zones/{id}`: its records (filter, sort, pages) and the add form's target.
    Zone(i64),
    /// `/zones/{id}/records/{rid}`: the edit form and its target.
    Record(i64, String),
    /// `/zones/{id}/records/{rid}/delete`
    RecordDelete(i64, String),
    /// `/apikeys`: the LuaDNS-style API's keys (list, create).
    ApiKeys,
    /// `/apikeys/{id}/revoke`
    ApiKeyRevoke(i64),
    /// `/admin`: the operator's page (admins only): users, invite links, status, role.
    Admin,
    /// `POST /admin/users`: add a user and show their invite link.
    AdminNewUser,
    AdminUser(i64),
    AdminInvite(i64),
    /// `/admin/zones`: every zone, with its queries per day.
    AdminZones,
    /// `/docs`: the public API guide, with this server's address and zones filled in.
    Docs,
    Style,
    Script,
}

impl WebRoute {
    pub fn parse(segs: &[&str]) -> Option<WebRoute> {
        let s = |x: &str| x.to_string();
        Some(match segs {
            [] => WebRoute::Home,
            ["login"] => WebRoute::Login,
            ["logout"] => WebRoute::Logout,
            ["invite", t] => WebRoute::Invite(s(t)),
            ["hostnames"] => WebRoute::Hostnames,
            ["hostnames", id] => WebRoute::Hostname(s(id)),
            ["hostnames", id, "clear"] => WebRoute::HostnameClear(s(id)),
            ["hostnames", id, "setup"] => WebRoute::HostnameSetup(s(id)),
            ["docs"] => WebRoute::Docs,
            ["hostnames", id, "delete"] => WebRoute::HostnameDelete(s(id)),
            ["token"] => WebRoute::Token,
            ["tokens"] => WebRoute::Tokens,
            ["tokens", "revoke"] => WebRoute::TokensRevoke,
            ["tsig"] => WebRoute::Tsig,
            ["tsig", "revoke"] => WebRoute::TsigRevoke,
            ["account"] => WebRoute::Account,
            ["account", "password"] => WebRoute::AccountPassword,
            ["account", "tfa"] => WebRoute::TfaBegin,
            ["account", "tfa", "confirm"] => WebRoute::TfaConfirm,
            ["account", "tfa", "disable"] => WebRoute::TfaDisable,
            ["account", "signout-all"] => WebRoute::SignOutAll,
            ["apikeys"] => WebRoute::ApiKeys,
            ["apikeys", id, "revoke"] => WebRoute::ApiKeyRevoke(id.parse().ok()?),
            ["zones"] => WebRoute::Zones,
            ["zones", id] => WebRoute::Zone(id.parse().ok()?),
            ["zones", id, "records", r] => WebRoute::Record(id.parse().ok()?, s(r)),
            ["zones", id, "records", r, "delete"] => WebRoute::RecordDelete(id.parse().ok()?, s(r)),
            ["admin"] => WebRoute::Admin,
            ["admin", "users"] => WebRoute::AdminNewUser,
            ["admin", "zones"] => WebRoute::AdminZones,
            ["admin", "users", id] => WebRoute::AdminUser(id.parse().ok()?),
            ["admin", "users", id, "invite"] => WebRoute::AdminInvite(id.parse().ok()?),
            ["static", "style.css"] => WebRoute::Style,
            ["static", "copy.js"] => WebRoute::Script,
            _ => return None,
        })
    }

    pub fn label(&self) -> &'static str {
        match self {
            WebRoute::Style | WebRoute::Script => "web_static",
            WebRoute::Login | WebRoute::Logout | WebRoute::Invite(_) => "web_signin",
            _ => "web_page",
        }
    }

    pub fn methods(&self) -> &'static [&'static str] {
        match self {
            WebRoute::Home
            | WebRoute::Account
            | WebRoute::Admin
            | WebRoute::AdminZones
            | WebRoute::Zones
            | WebRoute::Docs
            | WebRoute::HostnameSetup(_)
            | WebRoute::Style
            | WebRoute::Script => &["GET", "HEAD"],
            WebRoute::Login
            | WebRoute::Invite(_)
            | WebRoute::Hostname(_)
            | WebRoute::Token
            | WebRoute::Zone(_)
            | WebRoute::Record(..)
            | WebRoute::ApiKeys
            | WebRoute::Tsig
            | WebRoute::Tokens => &["GET", "HEAD", "POST"],
            WebRoute::Logout
            | WebRoute::Hostnames
            | WebRoute::HostnameClear(_)
            | WebRoute::HostnameDelete(_)
            | WebRoute::AccountPassword
            | WebRoute::TfaBegin
            | WebRoute::TfaConfirm
            | WebRoute::TfaDisable
            | WebRoute::TokensRevoke
            | WebRoute::TsigRevoke
            | WebRoute::RecordDelete(..)
            | WebRoute::ApiKeyRevoke(_)
            | WebRoute::AdminUser(_)
            | WebRoute::AdminNewUser
            | WebRoute::AdminInvite(_)
            | WebRoute::SignOutAll => &["POST"],
        }
    }
}
