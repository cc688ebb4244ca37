//! Registry records as stored (developers, apps, credentials) and the checked wire values they
//! are built from; what tokens, logins and codes stand for is in `model/grants.rs`, redirect
//! URIs and the application types they go with in `model/redirect.rs`, the token record's
//! hand-written JSON writer in `model/record_json.rs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::product::{self, Subscription};
use crate::rate::RatePlan;
use crate::scope::ScopeSet;

mod grants;
mod record_json;
mod redirect;
pub use grants::{CodeRecord, FamilyRecord, Identity, PendingLogin, Sensitive, TokenRecord};
pub use redirect::{ApplicationType, RedirectKind, RedirectUri, MAX_REDIRECT_URI_BYTES};

/// A developer: the owner of apps (Apigee's "developer").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Developer {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Suspended by an operator: every app of the developer is refused (each carries
    /// [`App::developer_suspended`], so token lookups need no second read).
    #[serde(default)]
    pub status: DeveloperStatus,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A developer's standing (the catalog's `suspend_developer` and `reinstate_developer`).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeveloperStatus {
    #[default]
    Active,
    Suspended,
}

/// An app's (or a credential's) standing. Only `approved` ones get or keep tokens.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Approved,
    Revoked,
}

/// The grant types an app may be allowed. Only grants the broker implements are listed.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    ClientCredentials,
    AuthorizationCode,
    RefreshToken,
    Password,
    #[serde(rename = "urn:ietf:params:oauth:grant-type:token-exchange")]
    TokenExchange,
    /// RFC 8628 device authorization grant.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:device_code")]
    DeviceCode,
}

impl GrantType {
    pub const ALL: &'static [GrantType] = &[
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::Password,
        GrantType::TokenExchange,
        GrantType::DeviceCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::ClientCredentials => "client_credentials",
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::Password => "password",
            GrantType::TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }

    /// Grants that act for a user, and so need the upstream identity provider.
    pub fn needs_upstream(self) -> bool {
        !matches!(self, GrantType::ClientCredentials)
    }

    pub fn parse(s: &str) -> Option<GrantType> {
        GrantType::ALL.iter().copied().find(|g| g.as_str() == s)
    }
}

/// One client_id / client_secret pair of an app. An app holds several so that secrets rotate
/// without downtime; each has its own `client_id` (Apigee's consumer key).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Credential {
    pub client_id: String,
    /// Keyed hash of the secret ([`crate::crypto::Keys::secret_hash`]); the secret itself is
    /// shown once, at creation, and never stored. Empty for a public app's credential, which
    /// has no secret.
    pub secret_hash: String,
    pub status: Status,
    pub created_at: i64,
    #[serde(default)]
    pub expires_at: Option<i64>,
}

impl Credential {
    /// Usable right now: approved and not past its expiry.
    pub fn is_live(&self, now: i64) -> bool {
        self.status == Status::Approved && self.expires_at.is_none_or(|exp| now < exp)
    }
}

/// A registered client application.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct App {
    pub id: Uuid,
    pub developer_id: Uuid,
    pub name: String,
    pub redirect_uris: Vec<RedirectUri>,
    /// Where the broker may send the browser back after an RP-initiated logout (OpenID Connect
    /// RP-Initiated Logout 1.0 §3.1 `post_logout_redirect_uris`), compared byte for byte.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub grant_types: Vec<GrantType>,
    pub scopes: ScopeSet,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    pub status: Status,
    /// A public client (RFC 6749 §2.1: a browser or native app that cannot keep a secret)
    /// authenticates with its client_id alone and must use PKCE.
    #[serde(default)]
    pub public: bool,
    /// Bumped whenever the app is revoked: a token minted under an older generation is dead,
    /// which revokes every token of the app in O(1).
    pub generation: u64,
    pub credentials: Vec<Credential>,
    /// Spike arrest and quota for this app's calls through the proxy (over the route's own).
    #[serde(default, skip_serializing_if = "RatePlan::is_empty")]
    pub rate_plan: RatePlan,
    /// The one client authentication method a confidential app may use at the token endpoint
    /// (RFC 7591 §2 `token_endpoint_auth_method`); `None`: either secret method. Public apps
    /// use `none` whatever this says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<SecretMethod>,
    /// S256 PKCE at `/authorize` (OAuth 2.1, RFC 9700 §2.1.1). Only a confidential app may
    /// turn it off (a legacy client that cannot send a challenge).
    #[serde(default = "yes")]
    pub pkce_required: bool,
    /// RFC 8693: upstream client ids (`cid`/`azp`/`client_id` of an upstream access token)
    /// whose tokens this app may exchange. Empty: no upstream access token is accepted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_exchange_clients: Vec<String>,
    /// RFC 9449: every token request must carry a DPoP proof, so that every token the app gets
    /// is bound to its key (RFC 9449 §5.2 `dpop_bound_access_tokens`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dpop_required: bool,
    /// Ids of the upstream identity providers this app's users may log in through, the first
    /// the app's own default. Empty: every configured provider (the broker's default first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstreams: Vec<String>,
    /// The RFC 7591 `client_name`: a label, not unique (the app's `name` is the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// Keyed hash of the RFC 7592 registration access token of a dynamically registered app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_token_hash: Option<String>,
    /// OpenID Connect Registration §2 `application_type`: a `web` app (the default) or a
    /// `native` one (RFC 8252: a public client with private-use scheme, claimed https or
    /// loopback redirect URIs).
    #[serde(default, skip_serializing_if = "ApplicationType::is_web")]
    pub application_type: ApplicationType,
    /// Web origins (`scheme://host[:port]`) whose browser scripts may call the token and
    /// revocation endpoints for this app (CORS). Empty: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_origins: Vec<String>,
    /// How long a refresh token of this app may go unused before it expires, in seconds,
    /// overriding `tokens.refresh_idle_secs` (0: no idle limit for this app).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_idle_secs: Option<u64>,
    /// The app's API product subscriptions, each with a copy of what its product grants
    /// ([`crate::product`]: the effective scopes and rate plan).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscriptions: Vec<Subscription>,
    /// Its developer is suspended: the app is refused like a revoked one, whatever its status.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub developer_suspended: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

fn yes() -> bool {
    true
}

/// How a confidential client proves its secret at the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SecretMethod {
    /// HTTP Basic authentication.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

impl SecretMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SecretMethod::ClientSecretBasic => "client_secret_basic",
            SecretMethod::ClientSecretPost => "client_secret_post",
        }
    }

    pub fn parse(s: &str) -> Option<SecretMethod> {
        match s {
            "client_secret_basic" => Some(SecretMethod::ClientSecretBasic),
            "client_secret_post" => Some(SecretMethod::ClientSecretPost),
            _ => None,
        }
    }
}

impl App {
    /// The app's subscription to `product`, of any status.
    pub fn subscription(&self, product: &str) -> Option<&Subscription> {
        self.subscriptions.iter().find(|s| s.product == product)
    }

    /// What its tokens may hold: its own scopes and its approved products' ([`product`]).
    pub fn effective_scopes(&self) -> ScopeSet {
        product::effective_scopes(&self.scopes, &self.subscriptions)
    }

    /// What the proxy and the broker apply: its own rate plan completed from its approved
    /// products ([`product`]).
    pub fn effective_rate_plan(&self) -> RatePlan {
        product::effective_rate_plan(self.rate_plan, &self.subscriptions)
    }

    pub fn credential(&self, client_id: &str) -> Option<&Credential> {
        self.credentials.iter().find(|c| c.client_id == client_id)
    }

    /// In good standing: approved, and its developer not suspended. Only such an app
    /// authenticates, starts logins and keeps its tokens.
    pub fn is_active(&self) -> bool {
        self.status == Status::Approved && !self.developer_suspended
    }

    /// Whether a token minted for `client_id` under `generation` may still be honoured.
    pub fn honours(&self, client_id: &str, generation: u64, now: i64) -> bool {
        self.is_active()
            && self.generation == generation
            && self.credential(client_id).is_some_and(|c| c.is_live(now))
    }

    /// Until when (seconds) a token minted for `client_id` and expiring at `exp` may be
    /// honoured: its own expiry, or its credential's when that comes first ([`App::honours`];
    /// nothing announces a credential's expiry, so whatever keeps the token must not keep it
    /// longer).
    pub fn honoured_until(&self, client_id: &str, exp: i64) -> i64 {
        self.credential(client_id)
            .and_then(|c| c.expires_at)
            .map_or(exp, |e| e.min(exp))
    }
}
