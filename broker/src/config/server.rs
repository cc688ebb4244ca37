//! `[server]`: where the broker listens, the issuer URL it is known by, and what it believes
//! of the hops in front of it.

use std::net::SocketAddr;

use serde::Deserialize;
use tessera_shared::config::{in_range, ConfigError};
use url::Url;

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
    /// How long browsers may cache the answer to a CORS preflight (`Access-Control-Max-Age`).
    pub cors_max_age_secs: u64,
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
            cors_max_age_secs: 600,
        }
    }
}

impl ServerConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
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
            "server.cors_max_age_secs",
            self.cors_max_age_secs,
            0,
            86_400,
        )?;
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
