//! State shared by every handler, built once per application.

use std::sync::Arc;

use tessera_shared::catalog::Catalog;
use tessera_shared::config::BrokerConfig;
use tessera_shared::crypto::Keys;
use tessera_shared::store::Store;
use tessera_shared::tokens::Tokens;

use crate::metrics::Metrics;

#[derive(Debug)]
pub struct AppState {
    pub config: BrokerConfig,
    pub keys: Keys,
    pub catalog: Catalog,
    pub tokens: Tokens,
    pub metrics: Metrics,
    /// Endpoint URLs, built once from the issuer.
    pub urls: Urls,
}

#[derive(Debug)]
pub struct Urls {
    pub issuer: String,
    pub token: String,
    pub introspection: String,
    pub revocation: String,
    pub registration: String,
}

impl AppState {
    pub fn new(config: BrokerConfig, store: Arc<dyn Store>) -> Result<Self, prometheus::Error> {
        let keys = Keys::from_pepper(&config.security.pepper);
        let catalog = Catalog::new(store, keys.clone());
        let tokens = Tokens::new(catalog.clone(), keys.clone());
        let issuer = config.server.issuer().to_string();
        let urls = Urls {
            token: format!("{issuer}/token"),
            introspection: format!("{issuer}/introspect"),
            revocation: format!("{issuer}/revoke"),
            registration: format!("{issuer}/register"),
            issuer,
        };
        Ok(AppState {
            metrics: Metrics::new()?,
            config,
            keys,
            catalog,
            tokens,
            urls,
        })
    }
}
