//! State shared by every handler, built once per application.

use std::sync::Arc;

use tessera_shared::catalog::Catalog;
use tessera_shared::crypto::Keys;
use tessera_shared::store::Store;

use crate::config::BrokerConfig;
use crate::flows::logins::Logins;
use crate::idtoken::IdTokens;
use crate::metrics::Metrics;
use crate::ratelimit::Limiters;
use crate::tokens::{Lifetimes, Tokens};
use crate::upstream::{Upstream, Upstreams};
use crate::usage::Events;

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the store: {0}")]
    Store(#[from] tessera_shared::error::StoreError),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot set up metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("upstream identity provider: {0}")]
    Upstream(#[from] crate::upstream::UpstreamError),
    #[error("id_token signing key: {0}")]
    IdToken(String),
}

#[derive(Debug)]
pub struct AppState {
    pub config: BrokerConfig,
    pub keys: Keys,
    pub catalog: Catalog,
    pub tokens: Tokens,
    /// Pending logins, authorization codes and replay marks.
    pub logins: Logins,
    /// The proxy's call events, for usage reports.
    pub usage: Events,
    /// Abuse detection's flags and blocks, for the operator.
    pub abuse: crate::abuse::AbuseMarkers,
    /// Credential stuffing on the password grant (`[abuse]`).
    pub stuffing: crate::flows::grants::stuffing::Stuffing,
    pub metrics: Metrics,
    pub limits: Limiters,
    /// Endpoint URLs, built once from the issuer.
    pub urls: Urls,
    /// The default upstream identity provider, when user login is configured.
    pub upstream: Option<Arc<Upstream>>,
    /// Every upstream provider (`[[upstreams]]`, or `[upstream]` alone), default first.
    pub upstreams: Option<Upstreams>,
    /// The broker's id_token signer (with user login: validation requires a key then).
    pub id_tokens: Option<IdTokens>,
}

#[derive(Debug)]
pub struct Urls {
    pub issuer: String,
    pub token: String,
    pub introspection: String,
    pub revocation: String,
    pub registration: String,
    pub authorization: String,
    pub jwks: String,
    /// RFC 8628 §3.1 device authorization endpoint.
    pub device_authorization: String,
    /// RFC 8628 §3.2 `verification_uri`: the page where users enter a device's code.
    pub device: String,
}

impl Urls {
    /// The endpoints under `issuer` (RFC 8414 §2: what discovery publishes).
    fn for_issuer(issuer: &str) -> Self {
        Urls {
            token: format!("{issuer}/token"),
            introspection: format!("{issuer}/introspect"),
            revocation: format!("{issuer}/revoke"),
            registration: format!("{issuer}/register"),
            authorization: format!("{issuer}/authorize"),
            jwks: format!("{issuer}/jwks"),
            device_authorization: format!("{issuer}/device_authorization"),
            device: format!("{issuer}/device"),
            issuer: issuer.to_string(),
        }
    }
}

impl AppState {
    pub fn new(config: BrokerConfig, store: Arc<dyn Store>) -> Result<Self, StartError> {
        let keys = config.security.keys();
        let metrics = Metrics::new()?;
        let limits = Limiters::new(
            config.limits.clone(),
            store.clone(),
            keys.clone(),
            metrics.clone(),
        );
        let logins = Logins::new(
            store.clone(),
            keys.clone(),
            config.tokens.login_ttl_secs,
            config.tokens.authorization_code_ttl_secs,
        );
        let usage = Events::new(store.clone(), config.admin.usage_max_events);
        let abuse = crate::abuse::AbuseMarkers::new(store.clone());
        let stuffing = crate::flows::grants::stuffing::Stuffing::new(
            config.abuse.clone(),
            store.clone(),
            keys.clone(),
            metrics.clone(),
        );
        let mut catalog = Catalog::new(store, keys.clone());
        // Apps in process (issue 11, P3/P4), trusted once `run_until_stopped` follows the
        // revocation channel.
        catalog.cache_apps();
        let t = &config.tokens;
        let life = Lifetimes {
            access_secs: t.access_token_ttl_secs,
            refresh_secs: t.refresh_token_ttl_secs,
            refresh_idle_secs: t.refresh_idle_secs,
        };
        let upstreams = Upstreams::new(config.identity_providers(), config.server.issuer())?;
        let upstream = upstreams.as_ref().map(|u| u.default_one().clone());
        // Introspection answered from memory (issue 11, P4), trusted once the revocation
        // channel is followed too.
        let introspection_cache = Arc::new(crate::tokens::cache::IntrospectionCache::new(
            &config.introspection_cache,
            catalog.app_cache().is_some(),
            metrics.introspection_cache()?,
        ));
        let tokens = Tokens::new(catalog.clone(), keys.clone(), life)
            .with_introspection_cache(introspection_cache)
            .with_refresh_grace(t.refresh_grace_secs)
            .with_upstream_issuers(
                upstreams
                    .as_ref()
                    .map(Upstreams::issuers)
                    .unwrap_or_default(),
            );
        let urls = Urls::for_issuer(config.server.issuer());
        let id_tokens = IdTokens::from_config(&config.id_token, &urls.issuer)
            .map_err(|e| StartError::IdToken(e.to_string()))?;
        Ok(AppState {
            upstream,
            upstreams,
            id_tokens,
            metrics,
            limits,
            config,
            keys,
            catalog,
            tokens,
            logins,
            usage,
            abuse,
            stuffing,
            urls,
        })
    }
}
