//! A route as written in the proxy's TOML file (`[[routes]]`): what it matches, where it
//! forwards, and its policies. Compiled into a [`super::Route`] by [`super::RouteTable::compile`].

use serde::Deserialize;
use url::Url;

use crate::forward::ForwardConfig;
use crate::policy::auth::AuthConfig;
use crate::policy::cors::CorsConfig;
use crate::policy::ip::IpConfig;
use crate::policy::quota::QuotaConfig;
use crate::policy::scope::ScopeConfig;
use crate::policy::spike::SpikeConfig;
use crate::policy::threat::ThreatConfig;
use crate::tls::BackendTlsConfig;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Unique; names the route in metrics, analytics and errors.
    pub name: String,
    /// Path prefix, matched on whole segments (`/orders` matches `/orders` and `/orders/1`,
    /// not `/orders-old`). The longest matching prefix wins.
    pub path: String,
    /// Methods accepted, exactly as clients must spell them (upper-case tokens); empty: the
    /// standard methods. A path match with another standard method is 405, with an extension
    /// method not listed 501.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Only requests for this host (without port; case and a trailing dot do not matter)
    /// match; absent: any host.
    #[serde(default)]
    pub host: Option<String>,
    /// The backend base URL; the request path (less the prefix when `strip_path`) is appended.
    pub upstream: Url,
    #[serde(default = "yes")]
    pub strip_path: bool,
    /// Paths of this route may hold an encoded `/` (`%2F`), forwarded still encoded (Envoy's
    /// `path_with_escaped_slashes_action = KEEP_UNCHANGED`); off: such paths are 400.
    #[serde(default)]
    pub allow_encoded_slashes: bool,
    /// Longest wait for the backend's response headers (default: `backend.timeout_ms`).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// The base URL clients address this route under, for DPoP proofs' `htu` (RFC 9449 §4.3);
    /// absent: `server.public_url`.
    #[serde(default)]
    pub public_url: Option<Url>,
    /// The realm of this route's `WWW-Authenticate` challenges.
    #[serde(default)]
    pub realm: Option<String>,
    #[serde(default)]
    pub ip: IpConfig,
    #[serde(default)]
    pub spike_arrest: Option<SpikeConfig>,
    /// CORS for browser apps on other origins.
    #[serde(default)]
    pub cors: Option<CorsConfig>,
    pub auth: AuthConfig,
    #[serde(default)]
    pub scopes: ScopeConfig,
    #[serde(default)]
    pub quota: Option<QuotaConfig>,
    #[serde(default)]
    pub threat: ThreatConfig,
    #[serde(default)]
    pub forward: ForwardConfig,
    /// Mutual TLS to the backend (seed 003's "2-way TLS").
    #[serde(default)]
    pub backend_tls: Option<BackendTlsConfig>,
}

fn yes() -> bool {
    true
}
