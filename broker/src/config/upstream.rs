//! `[upstream]` and each `[[upstreams]]` entry: an OpenID Connect provider people log in with
//! (Okta, or any OIDC provider). The list's rules (ids, the default, routing domains) are in
//! [`super::upstreams`].

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tessera_shared::config::{in_range, not_placeholder, ConfigError, ASYMMETRIC_ALGS};
use url::Url;

/// The upstream OpenID Connect provider (Okta, or any OIDC provider), found by discovery.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Short stable name of this provider (`employees`, `partners`): what apps, `idp_hint` and
    /// tokens' `idp` name it by. `[upstream]` without one is `default`.
    #[serde(default)]
    pub id: String,
    /// The default provider of `[[upstreams]]` (at most one; none marked: the first listed).
    #[serde(default)]
    pub default: bool,
    /// E-mail domains whose users log in here: a `login_hint` of `someone@<domain>` routes
    /// the login to this provider.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Issuer URL; `{issuer}/.well-known/openid-configuration` is fetched from it.
    #[serde(default)]
    pub issuer: String,
    /// The broker's own client at the upstream.
    #[serde(default)]
    pub client_id: String,
    #[serde(default = "empty_secret")]
    pub client_secret: SecretString,
    /// Scopes asked of the upstream at login, besides `openid`.
    #[serde(default = "default_upstream_scopes")]
    pub scopes: Vec<String>,
    /// Upstream claim name → token attribute name. Mapped claims become token attributes.
    #[serde(default = "default_claim_map")]
    pub claims: std::collections::BTreeMap<String, String>,
    /// Accepted clock skew for `exp`/`iat`/`nbf`, in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
    /// Timeout of every upstream HTTP call, in milliseconds.
    #[serde(default = "default_upstream_timeout")]
    pub timeout_ms: u64,
    /// Largest upstream response body read (discovery, JWKS, token responses); a longer one
    /// is cut off there and counts as the upstream being unavailable.
    #[serde(default = "default_upstream_max_response")]
    pub max_response_bytes: usize,
    /// How often discovery is refreshed, in seconds.
    #[serde(default = "default_discovery_refresh")]
    pub discovery_refresh_secs: u64,
    /// Least time between two JWKS refetches caused by an unknown `kid`, in seconds.
    #[serde(default = "default_jwks_min_refetch")]
    pub jwks_min_refetch_secs: u64,
    /// Accepted signature algorithms (asymmetric only).
    #[serde(default = "default_algs")]
    pub algorithms: Vec<String>,
    /// Audiences accepted for upstream access tokens in token exchange (Okta: `api://default`).
    #[serde(default = "default_audiences")]
    pub access_token_audiences: Vec<String>,
    /// Oldest back-channel logout token accepted, by its `iat`, in seconds (OpenID Connect
    /// Back-Channel Logout 1.0 §2.6 step 7: "recently issued"); its `jti` is remembered this
    /// long (plus leeway), so a replay is refused.
    #[serde(default = "default_logout_token_max_age")]
    pub logout_token_max_age_secs: u64,
}

fn empty_secret() -> SecretString {
    SecretString::from(String::new())
}
fn default_upstream_scopes() -> Vec<String> {
    vec!["openid".into(), "profile".into(), "email".into()]
}
fn default_claim_map() -> std::collections::BTreeMap<String, String> {
    ["email", "name", "groups"]
        .into_iter()
        .map(|c| (c.to_string(), c.to_string()))
        .collect()
}
fn default_leeway() -> u64 {
    60
}
fn default_upstream_timeout() -> u64 {
    5000
}
fn default_upstream_max_response() -> usize {
    256 * 1024
}
fn default_discovery_refresh() -> u64 {
    3600
}
fn default_jwks_min_refetch() -> u64 {
    30
}
fn default_algs() -> Vec<String> {
    vec!["RS256".into(), "ES256".into(), "PS256".into()]
}
fn default_logout_token_max_age() -> u64 {
    300
}
fn default_audiences() -> Vec<String> {
    vec!["api://default".into()]
}

impl UpstreamConfig {
    /// Checks the entry found at `at` (`upstream`, `upstreams[1]`).
    pub(super) fn validate(&self, at: &str) -> Result<(), ConfigError> {
        let key = |name: &str| format!("{at}.{name}");
        let url = Url::parse(&self.issuer).map_err(|e| {
            ConfigError::invalid(&key("issuer"), format!("not an absolute URL ({e})"))
        })?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(ConfigError::invalid(
                &key("issuer"),
                "must use https (http only on loopback)",
            ));
        }
        if self.client_id.is_empty() {
            return Err(ConfigError::invalid(&key("client_id"), "is required"));
        }
        if self.client_secret.expose_secret().is_empty() {
            return Err(ConfigError::invalid(&key("client_secret"), "is required"));
        }
        not_placeholder(&key("client_secret"), self.client_secret.expose_secret())?;
        if let Some(bad) = self
            .algorithms
            .iter()
            .find(|a| !ASYMMETRIC_ALGS.contains(&a.as_str()))
        {
            return Err(ConfigError::invalid(
                &key("algorithms"),
                format!("'{bad}' is not an accepted asymmetric algorithm"),
            ));
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::invalid(
                &key("algorithms"),
                "must not be empty",
            ));
        }
        if let Some(bad) = self
            .scopes
            .iter()
            .find(|s| !tessera_shared::scope::is_scope_token(s))
        {
            return Err(ConfigError::invalid(
                &key("scopes"),
                format!("'{}' is not a valid scope token", bad.escape_default()),
            ));
        }
        in_range(&key("leeway_secs"), self.leeway_secs, 0, 300)?;
        in_range(&key("timeout_ms"), self.timeout_ms, 100, 60_000)?;
        in_range(
            &key("max_response_bytes"),
            self.max_response_bytes as u64,
            4096,
            16 * 1024 * 1024,
        )?;
        in_range(
            &key("discovery_refresh_secs"),
            self.discovery_refresh_secs,
            10,
            7 * 86_400,
        )?;
        in_range(
            &key("jwks_min_refetch_secs"),
            self.jwks_min_refetch_secs,
            0,
            3600,
        )?;
        in_range(
            &key("logout_token_max_age_secs"),
            self.logout_token_max_age_secs,
            10,
            3600,
        )
    }
}
