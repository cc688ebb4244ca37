//! Configuration: a TOML file (`--config FILE` or `TESSERA_CONFIG`) overridden by environment
//! variables `TESSERA_<SECTION>__<KEY>` (e.g. `TESSERA_STORE__URL`), then validated. A wrong value
//! is refused at start-up with a message naming the key and its environment variable.

mod limits;

use std::net::SocketAddr;
use std::path::Path;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use thiserror::Error;
use url::Url;

pub use limits::{BackoffLimit, LimitsConfig, RateLimit};
mod grants;
pub use grants::{IdTokenConfig, TokenExchangeConfig};

pub const ENV_PREFIX: &str = "TESSERA_";

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read configuration: {0}")]
    Load(String),
    #[error("configuration key `{key}` (environment variable {env}): {message}")]
    Invalid {
        key: String,
        env: String,
        message: String,
    },
}

impl ConfigError {
    pub fn invalid(key: &str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.to_string(),
            env: env_name(key),
            message: message.into(),
        }
    }
}

/// `store.url` → `TESSERA_STORE__URL`.
pub fn env_name(key: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        key.to_ascii_uppercase().replace('.', "__")
    )
}

/// Merges `defaults`, the file (which must exist when named) and the environment, keeping only
/// environment variables whose first segment is one of `sections` (so `TESSERA_CONFIG` and
/// unrelated variables are not mistaken for keys).
pub fn load<T: DeserializeOwned>(
    defaults: serde_json::Value,
    file: Option<&Path>,
    sections: &'static [&'static str],
) -> Result<T, ConfigError> {
    let mut fig = Figment::from(Serialized::defaults(defaults));
    if let Some(path) = file {
        if !path.is_file() {
            return Err(ConfigError::Load(format!(
                "configuration file {} does not exist",
                path.display()
            )));
        }
        fig = fig.merge(Toml::file_exact(path));
    }
    let env = Env::prefixed(ENV_PREFIX).split("__").filter(move |k| {
        // Keys are still upper-case here: figment lowercases after filtering.
        let first = k.as_str().split('.').next().unwrap_or("");
        sections.iter().any(|s| s.eq_ignore_ascii_case(first))
    });
    fig.merge(env)
        .extract()
        .map_err(|e| ConfigError::Load(e.to_string()))
}

/// Settings of the broker (`tessera broker`, `tessera dev`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerConfig {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub store: StoreConfig,
    pub admin: AdminConfig,
    #[serde(default)]
    pub tokens: TokenConfig,
    pub security: SecurityConfig,
    #[serde(default)]
    pub registration: RegistrationConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    /// The upstream OpenID Connect provider that authenticates people (Okta). Absent: no user
    /// login (`/authorize`, `password` and token exchange are off).
    #[serde(default)]
    pub upstream: Option<UpstreamConfig>,
    /// The id_tokens the broker signs for apps, and their keys.
    #[serde(default)]
    pub id_token: IdTokenConfig,
    #[serde(default)]
    pub token_exchange: TokenExchangeConfig,
}

impl BrokerConfig {
    pub const SECTIONS: &'static [&'static str] = &[
        "server",
        "store",
        "admin",
        "tokens",
        "security",
        "registration",
        "log",
        "limits",
        "upstream",
        "id_token",
        "token_exchange",
    ];

    /// Loads and validates. `defaults` are the lowest layer (empty for production).
    pub fn load(defaults: serde_json::Value, file: Option<&Path>) -> Result<Self, ConfigError> {
        let cfg: BrokerConfig = load(defaults, file, Self::SECTIONS)?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.server.validate()?;
        self.store.validate()?;
        min_secret_len("admin.token", &self.admin.token)?;
        in_range(
            "admin.usage_max_events",
            self.admin.usage_max_events as u64,
            1,
            10_000_000,
        )?;
        min_secret_len("security.pepper", &self.security.pepper)?;
        if let Some(t) = &self.registration.initial_access_token {
            min_secret_len("registration.initial_access_token", t)?;
        }
        if !self.registration.developer_email.contains('@') {
            return Err(ConfigError::invalid(
                "registration.developer_email",
                "must be an e-mail address",
            ));
        }
        if let Some(bad) = self
            .registration
            .allowed_scopes
            .iter()
            .find(|s| !crate::scope::is_scope_token(s))
        {
            return Err(ConfigError::invalid(
                "registration.allowed_scopes",
                format!("'{}' is not a valid scope token", bad.escape_default()),
            ));
        }
        self.tokens.validate()?;
        self.limits.validate()?;
        if let Some(u) = &self.upstream {
            u.validate()?;
        }
        self.id_token.validate(self.upstream.is_some())?;
        self.token_exchange.validate()?;
        self.log.validate()
    }
}

/// A secret of ours (admin token, pepper, initial access token): at least 32 characters, and
/// not a placeholder.
pub fn min_secret_len(key: &str, s: &SecretString) -> Result<(), ConfigError> {
    not_placeholder(key, s.expose_secret())?;
    if s.expose_secret().len() < 32 {
        return Err(ConfigError::invalid(
            key,
            "must be at least 32 characters (generate one: openssl rand -hex 32)",
        ));
    }
    Ok(())
}

/// Refuses a value still holding an example file's placeholder (`CHANGE_ME…`, any case): such
/// a value is public, so it protects nothing.
pub fn not_placeholder(key: &str, value: &str) -> Result<(), ConfigError> {
    let lower = value.to_ascii_lowercase();
    if lower.contains("change_me") || lower.contains("changeme") {
        return Err(ConfigError::invalid(
            key,
            "still holds a CHANGE_ME placeholder: set a real secret (generate one: openssl rand -hex 32)",
        ));
    }
    Ok(())
}

fn in_range(key: &str, v: u64, lo: u64, hi: u64) -> Result<(), ConfigError> {
    if v < lo || v > hi {
        return Err(ConfigError::invalid(
            key,
            format!("{v} is outside {lo}..={hi}"),
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the HTTP listener binds (port 0: any free port).
    pub listen: SocketAddr,
    /// The public issuer URL (RFC 8414 §2): what clients see; endpoint URLs are built from it.
    pub issuer: String,
    /// Largest accepted request body on OAuth endpoints; larger is 413.
    pub max_body_bytes: usize,
    /// HTTP worker threads (default: one per core).
    pub workers: Option<usize>,
    /// Address of the status listener (`/metrics`, `/healthz`, `/readyz`), kept off the public
    /// one (port 0: any free port).
    pub status_listen: SocketAddr,
    /// Hops (reverse proxies, load balancers) whose `X-Forwarded-For` is believed when deciding
    /// a client's address for per-IP limits; from anyone else the header is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            issuer: String::new(),
            max_body_bytes: 16 * 1024,
            workers: None,
            status_listen: SocketAddr::from(([127, 0, 0, 1], 9080)),
            trusted_proxies: Vec::new(),
        }
    }
}

impl ServerConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let key = "server.issuer";
        if self.issuer.is_empty() {
            return Err(ConfigError::invalid(
                key,
                "is required (e.g. https://auth.example.com)",
            ));
        }
        let url = Url::parse(&self.issuer)
            .map_err(|e| ConfigError::invalid(key, format!("not an absolute URL ({e})")))?;
        // RFC 8414 §2: https, no query, no fragment. Plain http only for loopback development.
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(ConfigError::invalid(
                key,
                "must use https (http only on loopback)",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ConfigError::invalid(
                key,
                "must not have a query or fragment",
            ));
        }
        if self.workers == Some(0) {
            return Err(ConfigError::invalid("server.workers", "must be at least 1"));
        }
        in_range(
            "server.max_body_bytes",
            self.max_body_bytes as u64,
            1024,
            1024 * 1024,
        )
    }

    /// The issuer without a trailing slash, for building endpoint URLs.
    pub fn issuer(&self) -> &str {
        self.issuer.trim_end_matches('/')
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `redis://[user:password@]host:port[/db]` (TLS to Redis is not built in), or `memory` for the embedded
    /// single-process store. Required: the broker never falls back to memory by itself.
    pub url: String,
    /// Prefix of every Redis key, so several deployments (or tests) can share one Redis.
    pub prefix: String,
    /// Longest wait for one Redis command before the request fails with 503.
    pub command_timeout_ms: u64,
    /// Longest wait for a (re)connection attempt.
    pub connect_timeout_ms: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: String::new(),
            prefix: "tessera:".into(),
            command_timeout_ms: 1000,
            connect_timeout_ms: 1000,
        }
    }
}

impl StoreConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.url.is_empty() {
            return Err(ConfigError::invalid(
                "store.url",
                "is required: a redis:// URL, or \"memory\" for the embedded single-process store",
            ));
        }
        if self.url != "memory" {
            redis::Client::open(self.url.as_str()).map_err(|e| {
                ConfigError::invalid("store.url", format!("not a Redis URL or \"memory\" ({e})"))
            })?;
            // The example's Redis password is a placeholder too.
            not_placeholder("store.url", &self.url)?;
        }
        if self.prefix.is_empty()
            || self
                .prefix
                .chars()
                .any(|c| c == '{' || c == '}' || c.is_whitespace())
        {
            return Err(ConfigError::invalid(
                "store.prefix",
                "must be non-empty, without braces or spaces",
            ));
        }
        in_range(
            "store.command_timeout_ms",
            self.command_timeout_ms,
            1,
            60_000,
        )?;
        in_range(
            "store.connect_timeout_ms",
            self.connect_timeout_ms,
            1,
            60_000,
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Bearer token of the admin API (at least 32 characters).
    pub token: SecretString,
    /// Most analytics events one usage query reads; beyond, the answer says `truncated`.
    #[serde(default = "default_usage_max_events")]
    pub usage_max_events: usize,
}

fn default_usage_max_events() -> usize {
    200_000
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenConfig {
    /// Lifetime of access tokens, in seconds.
    pub access_token_ttl_secs: u64,
    /// Lifetime of a refresh token family (from the login; rotation does not extend it).
    pub refresh_token_ttl_secs: u64,
    /// Lifetime of the broker's authorization codes (at most 60 s).
    pub authorization_code_ttl_secs: u64,
    /// How long a user may take to log in upstream before the pending request expires.
    pub login_ttl_secs: u64,
    /// How long after a refresh the replaced refresh token, presented again by the same
    /// client, gets the same successor instead of revoking the login (0: never; at most 60).
    pub refresh_grace_secs: u64,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            access_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 30 * 86_400,
            authorization_code_ttl_secs: 60,
            login_ttl_secs: 600,
            refresh_grace_secs: 0,
        }
    }
}

impl TokenConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        in_range(
            "tokens.access_token_ttl_secs",
            self.access_token_ttl_secs,
            1,
            30 * 86_400,
        )?;
        in_range(
            "tokens.refresh_token_ttl_secs",
            self.refresh_token_ttl_secs,
            1,
            365 * 86_400,
        )?;
        in_range(
            "tokens.authorization_code_ttl_secs",
            self.authorization_code_ttl_secs,
            1,
            60,
        )?;
        in_range("tokens.login_ttl_secs", self.login_ttl_secs, 10, 3600)?;
        in_range("tokens.refresh_grace_secs", self.refresh_grace_secs, 0, 60)
    }
}

/// The upstream OpenID Connect provider (Okta, or any OIDC provider), found by discovery.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Issuer URL; `{issuer}/.well-known/openid-configuration` is fetched from it. With
    /// `dev_idp = true` it may be left empty: the built-in provider's issuer is used.
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
    /// Run the built-in development identity provider and use it as the upstream. For
    /// `tessera dev` and tests; logs a loud warning.
    #[serde(default)]
    pub dev_idp: bool,
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
fn default_audiences() -> Vec<String> {
    vec!["api://default".into()]
}

/// The asymmetric JWS algorithms Tessera accepts from an upstream (RFC 8725 §3.1: no `none`,
/// no HMAC with keys that are not ours).
pub const ASYMMETRIC_ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
];

impl UpstreamConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if !self.dev_idp {
            let url = Url::parse(&self.issuer).map_err(|e| {
                ConfigError::invalid("upstream.issuer", format!("not an absolute URL ({e})"))
            })?;
            let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
            if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
                return Err(ConfigError::invalid(
                    "upstream.issuer",
                    "must use https (http only on loopback)",
                ));
            }
            if self.client_id.is_empty() {
                return Err(ConfigError::invalid("upstream.client_id", "is required"));
            }
            if self.client_secret.expose_secret().is_empty() {
                return Err(ConfigError::invalid(
                    "upstream.client_secret",
                    "is required",
                ));
            }
            not_placeholder("upstream.client_secret", self.client_secret.expose_secret())?;
        }
        if let Some(bad) = self
            .algorithms
            .iter()
            .find(|a| !ASYMMETRIC_ALGS.contains(&a.as_str()))
        {
            return Err(ConfigError::invalid(
                "upstream.algorithms",
                format!("'{bad}' is not an accepted asymmetric algorithm"),
            ));
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::invalid(
                "upstream.algorithms",
                "must not be empty",
            ));
        }
        if let Some(bad) = self
            .scopes
            .iter()
            .find(|s| !crate::scope::is_scope_token(s))
        {
            return Err(ConfigError::invalid(
                "upstream.scopes",
                format!("'{}' is not a valid scope token", bad.escape_default()),
            ));
        }
        in_range("upstream.leeway_secs", self.leeway_secs, 0, 300)?;
        in_range("upstream.timeout_ms", self.timeout_ms, 100, 60_000)?;
        in_range(
            "upstream.max_response_bytes",
            self.max_response_bytes as u64,
            4096,
            16 * 1024 * 1024,
        )?;
        in_range(
            "upstream.discovery_refresh_secs",
            self.discovery_refresh_secs,
            10,
            7 * 86_400,
        )?;
        in_range(
            "upstream.jwks_min_refetch_secs",
            self.jwks_min_refetch_secs,
            0,
            3600,
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityConfig {
    /// Server-side key for hashing tokens and client secrets; never stored in Redis. Changing it
    /// invalidates every stored secret and token.
    pub pepper: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrationConfig {
    /// RFC 7591 initial access token. Unset: dynamic registration is off (and not advertised).
    pub initial_access_token: Option<SecretString>,
    /// The developer that owns dynamically registered apps (created on first use).
    pub developer_email: String,
    /// Scopes a dynamically registered client may ask for (default: none).
    pub allowed_scopes: Vec<String>,
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        RegistrationConfig {
            initial_access_token: None,
            developer_email: "dynamic-registration@tessera.invalid".into(),
            allowed_scopes: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter directive, e.g. `info` or `tessera_broker=debug,info`.
    pub level: String,
    /// `pretty` (human) or `json` (one object per line).
    pub format: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: "pretty".into(),
        }
    }
}

impl LogConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        tracing_subscriber::EnvFilter::try_new(&self.level)
            .map_err(|e| ConfigError::invalid("log.level", e.to_string()))?;
        if !matches!(self.format.as_str(), "pretty" | "json") {
            return Err(ConfigError::invalid(
                "log.format",
                "must be \"pretty\" or \"json\"",
            ));
        }
        Ok(())
    }
}
