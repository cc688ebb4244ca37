//! The broker's configuration: [`BrokerConfig`] and its sections, loaded with the shared loader
//! ([`tessera_shared::config::load`]: TOML file, then `TESSERA_<SECTION>__<KEY>` environment
//! overrides) and validated whole at start-up. The sections the proxy reads too (`[store]`,
//! `[security]`, `[log]`) are [`tessera_shared::config`]'s.
//!
//! # Layout
//! * this file — [`BrokerConfig`], and the small sections `[admin]`, `[tokens]`,
//!   `[registration]`.
//! * `server` — `[server]`; `upstream` — `[upstream]`, the identity provider people log in
//!   with; `upstreams` — `[[upstreams]]`, several of them, and the rules of the list; `limits` —
//!   `[limits]`; `grants` — `[id_token]` and `[token_exchange]`; `portal` — `[portal]`, the
//!   developer portal and operator console; `abuse` — `[abuse]`, credential stuffing on the
//!   password grant; `introspection_cache` — `[introspection_cache]`, introspection answered
//!   from tokens kept in process.

mod abuse;
mod grants;
mod introspection_cache;
mod limits;
mod portal;
mod server;
mod upstream;
mod upstreams;

use std::path::Path;

use secrecy::SecretString;
use serde::Deserialize;
use tessera_shared::config::{
    in_range, load, min_secret_len, ConfigError, LogConfig, SecurityConfig, StoreConfig,
};

pub use abuse::{AbuseAction, AbuseConfig};
pub use grants::{IdTokenConfig, TokenExchangeConfig};
pub use introspection_cache::IntrospectionCacheConfig;
pub use limits::{BackoffLimit, LimitsConfig, RateLimit};
pub use portal::PortalConfig;
pub use server::ServerConfig;
pub use tessera_shared::oauth::dpop::DpopConfig;
pub use upstream::UpstreamConfig;
pub use upstreams::{is_upstream_id, DEFAULT_ID};

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
    /// Several upstream providers, each with an `id` (instead of `[upstream]`).
    #[serde(default)]
    pub upstreams: Vec<UpstreamConfig>,
    /// The id_tokens the broker signs for apps, and their keys.
    #[serde(default)]
    pub id_token: IdTokenConfig,
    #[serde(default)]
    pub token_exchange: TokenExchangeConfig,
    /// The developer portal and operator console.
    #[serde(default)]
    pub portal: PortalConfig,
    /// DPoP proofs at the token endpoint (RFC 9449).
    #[serde(default)]
    pub dpop: DpopConfig,
    /// Credential stuffing on the password grant (`[abuse]`), off by default.
    #[serde(default)]
    pub abuse: AbuseConfig,
    /// Introspection answered from active tokens kept in process (issue 11, P4).
    #[serde(default)]
    pub introspection_cache: IntrospectionCacheConfig,
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
        "upstreams",
        "id_token",
        "token_exchange",
        "portal",
        "dpop",
        "abuse",
        "introspection_cache",
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
            .find(|s| !tessera_shared::scope::is_scope_token(s))
        {
            return Err(ConfigError::invalid(
                "registration.allowed_scopes",
                format!("'{}' is not a valid scope token", bad.escape_default()),
            ));
        }
        self.tokens.validate()?;
        self.limits.validate()?;
        self.validate_upstreams()?;
        self.id_token.validate(self.has_user_login())?;
        self.token_exchange.validate()?;
        let ids: Vec<String> = self
            .identity_providers()
            .into_iter()
            .map(|u| u.id)
            .collect();
        self.portal.validate(&ids)?;
        self.dpop.validate()?;
        self.abuse.validate()?;
        self.introspection_cache.validate()?;
        self.log.validate()
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
    /// How long a refresh token may go unused before it expires (0: no idle limit; the
    /// login's lifetime still applies). An app may set its own (`refresh_idle_secs`).
    pub refresh_idle_secs: u64,
    /// RFC 8628: how long a device code (and its user code) stays valid.
    pub device_code_ttl_secs: u64,
    /// RFC 8628 §3.2: the least time between two polls of a device, to begin with (each
    /// `slow_down` adds 5 s).
    pub device_poll_interval_secs: u64,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            access_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 30 * 86_400,
            authorization_code_ttl_secs: 60,
            login_ttl_secs: 600,
            refresh_grace_secs: 0,
            refresh_idle_secs: 0,
            device_code_ttl_secs: 600,
            device_poll_interval_secs: 5,
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
        in_range("tokens.refresh_grace_secs", self.refresh_grace_secs, 0, 60)?;
        in_range(
            "tokens.refresh_idle_secs",
            self.refresh_idle_secs,
            0,
            365 * 86_400,
        )?;
        in_range(
            "tokens.device_code_ttl_secs",
            self.device_code_ttl_secs,
            60,
            1800,
        )?;
        in_range(
            "tokens.device_poll_interval_secs",
            self.device_poll_interval_secs,
            1,
            60,
        )
    }
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
