//! What the development identity provider knows: its issuer, its clients, its users and the
//! lifetimes of what it mints; and the demo data of `tessera dev` ([`DevIdpConfig::demo`]).
//!
//! `Debug` of clients and users never prints their secrets or passwords.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::DevIdpError;

/// The group of the demo operator (olivia): what `tessera dev` names in
/// `portal.operator_groups`.
pub const OPERATOR_GROUP: &str = "tessera-operators";

#[derive(Debug, Clone, Deserialize)]
pub struct DevIdpConfig {
    /// The issuer URL, without a trailing slash; every endpoint is below it.
    pub issuer: String,
    #[serde(default)]
    pub clients: Vec<DevClient>,
    #[serde(default)]
    pub users: Vec<DevUser>,
    #[serde(default = "default_id_token_ttl")]
    pub id_token_ttl_secs: u64,
    #[serde(default = "default_access_token_ttl")]
    pub access_token_ttl_secs: u64,
    /// `aud` of access tokens (Okta's default authorization server: `api://default`).
    #[serde(default = "default_audience")]
    pub audience: String,
}

fn default_id_token_ttl() -> u64 {
    300
}
fn default_access_token_ttl() -> u64 {
    3600
}
fn default_audience() -> String {
    "api://default".into()
}

/// A confidential client (`client_secret_basic` or `client_secret_post`).
#[derive(Clone, Deserialize)]
pub struct DevClient {
    pub client_id: String,
    pub client_secret: String,
    /// Compared byte for byte with the `redirect_uri` of a request (RFC 6749 §3.1.2.3).
    pub redirect_uris: Vec<String>,
    /// Where this client hears that a session ended (OpenID Connect Back-Channel Logout 1.0
    /// §2.2): the provider POSTs a logout token there.
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// Where the provider may send the browser after an RP-initiated logout (OpenID Connect
    /// RP-Initiated Logout 1.0 §3.1), compared byte for byte.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
}

impl std::fmt::Debug for DevClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("redirect_uris", &self.redirect_uris)
            .field("backchannel_logout_uri", &self.backchannel_logout_uri)
            .field("post_logout_redirect_uris", &self.post_logout_redirect_uris)
            .finish()
    }
}

/// A person who can log in. `claims` go into their tokens; `claims.sub` is their subject
/// (the username when absent).
#[derive(Clone, Deserialize)]
pub struct DevUser {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub claims: Map<String, Value>,
}

impl std::fmt::Debug for DevUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevUser")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("claims", &self.claims)
            .finish()
    }
}

impl DevUser {
    /// The `sub` of this user's `id_token`s and the `uid` of their access tokens.
    pub fn sub(&self) -> &str {
        self.claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or(&self.username)
    }

    /// The `sub` of this user's access tokens: their email when they have one, as Okta does.
    pub fn access_token_sub(&self) -> &str {
        self.claims
            .get("email")
            .and_then(Value::as_str)
            .unwrap_or(&self.username)
    }

    /// Whether `name` identifies this user: their username, email or subject.
    pub(crate) fn is_named(&self, name: &str) -> bool {
        self.username == name || self.sub() == name || self.access_token_sub() == name
    }
}

impl DevIdpConfig {
    /// Demo users alice/alice (sub "00u-alice", email alice@example.com, name, groups
    /// ["Everyone","Dealers"], DealershipLocation "Los Angeles"), bob/bob (DealershipLocation
    /// "Seattle", groups ["Everyone"]) and olivia/olivia, an operator of the developer portal
    /// (groups ["Everyone","tessera-operators"], DealershipLocation "San Francisco"); every
    /// e-mail verified; one client.
    pub fn demo(
        issuer: &str,
        client_id: &str,
        client_secret: &str,
        redirect_uris: Vec<String>,
    ) -> Self {
        let user = |name: &str, full: &str, groups: Value, location: &str| DevUser {
            username: name.to_string(),
            password: name.to_string(),
            claims: claims(json!({
                "sub": format!("00u-{name}"),
                "email": format!("{name}@example.com"),
                "email_verified": true,
                "name": full,
                "preferred_username": format!("{name}@example.com"),
                "groups": groups,
                "DealershipLocation": location,
            })),
        };
        DevIdpConfig {
            issuer: issuer.trim_end_matches('/').to_string(),
            clients: vec![DevClient {
                client_id: client_id.to_string(),
                client_secret: client_secret.to_string(),
                redirect_uris,
                backchannel_logout_uri: None,
                post_logout_redirect_uris: Vec::new(),
            }],
            users: vec![
                user(
                    "alice",
                    "Alice Anderson",
                    json!(["Everyone", "Dealers"]),
                    "Los Angeles",
                ),
                user("bob", "Bob Brown", json!(["Everyone"]), "Seattle"),
                user(
                    "olivia",
                    "Olivia Operator",
                    json!(["Everyone", OPERATOR_GROUP]),
                    "San Francisco",
                ),
            ],
            id_token_ttl_secs: default_id_token_ttl(),
            access_token_ttl_secs: default_access_token_ttl(),
            audience: default_audience(),
        }
    }

    pub(crate) fn client(&self, client_id: &str) -> Option<&DevClient> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    pub(crate) fn user(&self, username: &str) -> Option<&DevUser> {
        self.users.iter().find(|u| u.username == username)
    }

    /// Refuses what would make the provider misbehave by accident rather than on purpose.
    pub(crate) fn validate(&mut self) -> Result<(), DevIdpError> {
        self.issuer = self.issuer.trim_end_matches('/').to_string();
        let issuer = url::Url::parse(&self.issuer)
            .map_err(|e| DevIdpError::Config(format!("issuer is not an absolute URL ({e})")))?;
        if !matches!(issuer.scheme(), "http" | "https")
            || issuer.query().is_some()
            || issuer.fragment().is_some()
        {
            return Err(DevIdpError::Config(
                "issuer must be an http(s) URL without query or fragment".into(),
            ));
        }
        for (i, c) in self.clients.iter().enumerate() {
            if c.client_id.is_empty() || c.client_secret.is_empty() {
                return Err(DevIdpError::Config(
                    "clients need a client_id and a client_secret".into(),
                ));
            }
            if self.clients[..i].iter().any(|o| o.client_id == c.client_id) {
                return Err(DevIdpError::Config(format!(
                    "client_id {} is repeated",
                    c.client_id
                )));
            }
            let logout_uris = c.backchannel_logout_uri.iter();
            for uri in c
                .redirect_uris
                .iter()
                .chain(&c.post_logout_redirect_uris)
                .chain(logout_uris)
            {
                // RFC 6749 §3.1.2: absolute, and no fragment.
                let ok = url::Url::parse(uri).is_ok_and(|u| u.fragment().is_none());
                if !ok {
                    return Err(DevIdpError::Config(format!(
                        "redirect URI {uri} must be absolute, without a fragment"
                    )));
                }
            }
        }
        for (i, u) in self.users.iter().enumerate() {
            if self.users[..i].iter().any(|o| o.username == u.username) {
                return Err(DevIdpError::Config(format!(
                    "username {} is repeated",
                    u.username
                )));
            }
        }
        Ok(())
    }
}

fn claims(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
