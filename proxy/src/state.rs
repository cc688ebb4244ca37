//! What every request handler shares: the route table in force (swapped whole on reload), and
//! the process-wide parts that outlive reloads — the tools routes are compiled with (among them
//! what the policy steps share: token validation and cache, spike-arrest limiters, quota
//! counters, JWKS cache), the store, metrics, the analytics emitter.

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tessera_shared::store::Store;

use crate::analytics::Emitter;
use crate::cache::TokenCache;
use crate::config::ProxyConfig;
use crate::metrics::Metrics;
use crate::routes::{RouteTable, Toolbox};

#[derive(Debug)]
pub struct Runtime {
    pub config: ProxyConfig,
    pub table: ArcSwap<RouteTable>,
    pub tools: Toolbox,
    pub store: Option<Arc<dyn Store>>,
    pub cache: Arc<TokenCache>,
    pub metrics: Metrics,
    pub emitter: Option<Emitter>,
    /// Where the route table is reloaded from on SIGHUP, with the layer under it.
    pub source: ConfigSource,
}

#[derive(Debug, Clone)]
pub struct ConfigSource {
    pub file: Option<PathBuf>,
    pub defaults: serde_json::Value,
}
