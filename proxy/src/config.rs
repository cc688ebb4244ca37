//! The proxy's configuration: a TOML file (`--config FILE` or `TESSERA_CONFIG`) with
//! `TESSERA_<SECTION>__<KEY>` environment overrides, as for the broker; the route table is the
//! file's `[[routes]]`. Validated whole at start-up and on every reload.

use std::net::SocketAddr;
use std::path::Path;

use ipnet::IpNet;
use serde::Deserialize;
use tessera_shared::config::{
    load, min_secret_len, ConfigError, LogConfig, SecurityConfig, StoreConfig,
};
use tessera_shared::oauth::dpop::DpopConfig;

use crate::cache::CacheConfig;
use crate::canonical::head::{HeadLimits, PARSER_MAX_HEADERS};
use crate::forward::signature::SigningConfig;
use crate::forward::UNTRUSTED_HEADERS;
use crate::policy::auth::introspection::IntrospectionConfig;
use crate::routes::RouteConfig;
use crate::tls::{BackendConfig, ServerTlsConfig};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    #[serde(default)]
    pub server: ProxyServerConfig,
    /// The broker's Redis: token records, the revocation channel, quotas, analytics.
    /// `url = ""` with `[introspection]`: no store at all (tokens are introspected; quotas
    /// count per instance; no analytics, no API keys).
    #[serde(default)]
    pub store: StoreConfig,
    /// The broker's pepper: tokens are looked up by their keyed hash.
    pub security: SecurityConfig,
    /// Validate Tessera tokens by RFC 7662 introspection at the broker instead of the store.
    #[serde(default)]
    pub introspection: Option<IntrospectionConfig>,
    #[serde(default)]
    pub cache: CacheConfig,
    #[serde(default)]
    pub backend: BackendConfig,
    #[serde(default)]
    pub jwks: JwksConfig,
    /// DPoP proofs of bound tokens (RFC 9449).
    #[serde(default)]
    pub dpop: DpopConfig,
    #[serde(default)]
    pub analytics: crate::analytics::AnalyticsConfig,
    #[serde(default)]
    pub log: LogConfig,
    /// The key routes with `forward.sign` sign with (RFC 9421), published as a JWKS.
    #[serde(default)]
    pub signing: Option<SigningConfig>,
    /// Abuse detection: per-IP blocks after repeated authentication refusals.
    #[serde(default)]
    pub abuse: crate::policy::abuse::AbuseConfig,
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyServerConfig {
    pub listen: SocketAddr,
    pub workers: Option<usize>,
    /// Proxy hops (CIDR) whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Largest request body forwarded on routes without a threat policy limit (413 beyond).
    pub max_body_bytes: u64,
    /// The realm of `WWW-Authenticate` challenges, unless a route names its own.
    pub realm: String,
    /// TLS termination for clients.
    pub tls: Option<ServerTlsConfig>,
    /// The base URL clients address the proxy under (e.g. `https://api.example.com`): the
    /// `htu` DPoP proofs must name (RFC 9449 §4.3), never read from the `Host` header. Absent:
    /// DPoP-bound tokens are refused on routes without their own `public_url`.
    pub public_url: Option<url::Url>,
    /// Longest request target (path and query) accepted; longer is 414.
    pub max_uri_bytes: usize,
    /// Most header fields accepted (at most the HTTP parser's 96); more is 431.
    pub max_headers: usize,
    /// Largest sum of header name and value lengths accepted; more is 431.
    pub max_header_bytes: usize,
    /// Inbound headers dropped when the peer is not a trusted proxy (compared
    /// case-insensitively, `_` as `-`).
    pub untrusted_headers: Vec<String>,
}

impl ProxyServerConfig {
    pub fn head_limits(&self) -> HeadLimits {
        HeadLimits {
            max_uri_bytes: self.max_uri_bytes,
            max_headers: self.max_headers,
            max_header_bytes: self.max_header_bytes,
        }
    }

    /// The head limits must lie within what the HTTP parser lets through (its 128 KiB head).
    fn validate(&self) -> Result<(), ConfigError> {
        let checks: [(&str, usize, usize); 3] = [
            ("server.max_uri_bytes", self.max_uri_bytes, 64 * 1024),
            ("server.max_headers", self.max_headers, PARSER_MAX_HEADERS),
            ("server.max_header_bytes", self.max_header_bytes, 128 * 1024),
        ];
        for (key, v, hi) in checks {
            if !(1..=hi).contains(&v) {
                return Err(ConfigError::invalid(
                    key,
                    format!("{v} is outside 1..={hi}"),
                ));
            }
        }
        Ok(())
    }
}

impl Default for ProxyServerConfig {
    fn default() -> Self {
        ProxyServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8081)),
            workers: None,
            trusted_proxies: Vec::new(),
            max_body_bytes: 10 * 1024 * 1024,
            realm: "tessera".into(),
            tls: None,
            public_url: None,
            max_uri_bytes: 8 * 1024,
            max_headers: PARSER_MAX_HEADERS,
            max_header_bytes: 32 * 1024,
            untrusted_headers: UNTRUSTED_HEADERS.iter().map(|h| h.to_string()).collect(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwksConfig {
    /// How often OpenID configurations and key sets are refreshed.
    pub refresh_secs: u64,
    /// Least time between two refetches caused by an unknown `kid`.
    pub min_refetch_secs: u64,
    pub timeout_ms: u64,
}

impl Default for JwksConfig {
    fn default() -> Self {
        JwksConfig {
            refresh_secs: 3600,
            min_refetch_secs: 30,
            timeout_ms: 5000,
        }
    }
}

impl ProxyConfig {
    pub const SECTIONS: &'static [&'static str] = &[
        "server",
        "store",
        "security",
        "introspection",
        "cache",
        "backend",
        "jwks",
        "dpop",
        "analytics",
        "log",
        "signing",
    ];

    /// Loads and validates the settings (the routes are compiled by the caller).
    pub fn load(defaults: serde_json::Value, file: Option<&Path>) -> Result<Self, ConfigError> {
        let cfg: ProxyConfig = load(defaults, file, Self::SECTIONS)?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn has_store(&self) -> bool {
        self.store.is_set()
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.has_store() || self.introspection.is_none() {
            self.store.validate()?;
        }
        min_secret_len("security.pepper", &self.security.pepper)?;
        self.server.validate()?;
        if self.server.max_body_bytes == 0 {
            return Err(ConfigError::invalid("server.max_body_bytes", "must be > 0"));
        }
        if self.cache.max_ttl_secs == 0 {
            return Err(ConfigError::invalid("cache.max_ttl_secs", "must be > 0"));
        }
        if self.cache.negative_ttl_ms > crate::cache::MAX_NEGATIVE_TTL_MS {
            return Err(ConfigError::invalid(
                "cache.negative_ttl_ms",
                "must be at most 2000 (unknown tokens are not announced when issued)",
            ));
        }
        if let Some(i) = &self.introspection {
            if !matches!(i.url.scheme(), "http" | "https") {
                return Err(ConfigError::invalid("introspection.url", "must be http(s)"));
            }
        }
        if let Some(u) = &self.server.public_url {
            crate::policy::auth::dpop::check_public_url(u)
                .map_err(|m| ConfigError::invalid("server.public_url", m))?;
        }
        self.dpop.validate()?;
        if let Some(s) = &self.signing {
            s.validate()
                .map_err(|(key, e)| ConfigError::invalid(key, e))?;
        }
        self.analytics.validate()?;
        self.log.validate()
    }
}
