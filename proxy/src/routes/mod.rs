//! The route table: routes compiled from configuration, and matching a request to one
//! (host, then the longest path prefix on segment boundaries, then the method).
//!
//! A table is compiled whole or not at all: a bad route is refused with a message naming the
//! route and the key, and (on reload) the table in force stays.
//!
//! `config.rs` is a route as written (`[[routes]]`); `shape.rs` checks what it matches;
//! `compile.rs` turns it into a [`Route`]: its policies as ordered steps, and its forwarding.

mod compile;
pub mod config;
mod shape;

use std::sync::Arc;

use actix_web::http::Method;
use tessera_shared::catalog::Catalog;

use crate::cache::TokenCache;
use crate::forward::Forwarding;
use crate::policy::auth::tessera::TokenValidator;
use crate::policy::jwt::JwksRegistry;
use crate::policy::quota::Counters;
use crate::policy::spike::SpikeArrests;
use crate::policy::step::Step;
use crate::policy::threat::ThreatPolicy;
use crate::tls::BackendConfig;
use compile::compile_route;
pub use config::RouteConfig;

/// A route compiled from its configuration: what it matches, its policies as steps in the order
/// they run, and where it forwards.
#[derive(Debug)]
pub struct Route {
    pub name: String,
    pub path: String,
    pub methods: Vec<Method>,
    pub host: Option<String>,
    /// It has a CORS policy: a preflight is routed by the method it asks about.
    pub cors: bool,
    /// `[abuse]`, when on: the pipeline counts this route's `401` refusals with it.
    pub abuse: Option<Arc<crate::policy::abuse::AbuseGuard>>,
    pub steps: Vec<Step>,
    /// The threat policy the body is checked against as it streams in (its head check is one
    /// of the steps).
    pub threat: Option<Arc<ThreatPolicy>>,
    pub forward: Forwarding,
    /// Its series of the latency histogram, looked up at its first call rather than by label
    /// at every call (issue 11, P1); not at compile time, where a route never called would
    /// publish an empty series.
    pub latency: std::sync::OnceLock<prometheus::Histogram>,
}

/// What the route table needs from the process to compile routes: the clients and, for the
/// policy steps, the parts every route shares and that outlive reloads (so a reload hands no
/// one a fresh allowance and empties no cache).
#[derive(Debug, Clone)]
pub struct Toolbox {
    pub jwks: Arc<JwksRegistry>,
    pub backend: BackendConfig,
    /// The backend client of routes without their own `backend_tls`.
    pub client: crate::forward::client::Backend,
    pub default_realm: String,
    /// `server.untrusted_headers`, lower case with `-`.
    pub untrusted_headers: Arc<[String]>,
    /// Tessera token validation (the store, or introspection at the broker).
    pub tokens: Arc<TokenValidator>,
    /// The app catalog, when there is a store (API keys need one).
    pub catalog: Option<Arc<Catalog>>,
    /// Validated tokens and API keys.
    pub cache: Arc<TokenCache>,
    pub spikes: Arc<SpikeArrests>,
    pub quotas: Arc<Counters>,
    /// `[dpop]`: the freshness of DPoP proofs.
    pub dpop: tessera_shared::oauth::dpop::DpopConfig,
    /// `server.public_url`: the base URL clients address the proxy under (DPoP `htu`).
    pub public_url: Option<url::Url>,
    /// The DPoP replay cache: the store, or memory (per instance) without one.
    pub replays: Arc<dyn tessera_shared::store::Store>,
    /// Keys from the pepper (the DPoP nonces').
    pub keys: tessera_shared::crypto::Keys,
    /// `[signing]`'s key, for routes with `forward.sign`.
    pub signer: Option<Arc<crate::forward::signature::Signer>>,
    /// `[abuse]`, when on: the block check and the refusal counter, shared by every route.
    pub abuse: Option<Arc<crate::policy::abuse::AbuseGuard>>,
    /// `[abuse]`'s behaviour rules, when one is on: the signals, the flush, the blocks learnt.
    pub behaviour: Option<Arc<crate::behaviour::Behaviour>>,
}

#[derive(Debug, Default)]
pub struct RouteTable {
    /// Longest path first, so the first match is the most specific.
    routes: Vec<Arc<Route>>,
}

/// The outcome of matching.
#[derive(Debug)]
pub enum Match<'a> {
    Route(&'a Arc<Route>),
    /// Routes match the path, none the (standard) method: 405 with the methods they accept.
    MethodNotAllowed {
        allow: String,
    },
    /// Routes match the path, none lists this extension method: 501.
    NotImplemented,
    None,
}

fn path_matches(prefix: &str, path: &str) -> bool {
    prefix == "/"
        || path == prefix
        || (path.starts_with(prefix)
            && (prefix.ends_with('/') || path.as_bytes().get(prefix.len()) == Some(&b'/')))
}

impl RouteTable {
    pub fn compile(configs: &[RouteConfig], tools: &Toolbox) -> Result<Self, String> {
        let mut routes = Vec::with_capacity(configs.len());
        for (i, cfg) in configs.iter().enumerate() {
            let at = format!("routes[{i}] ({})", cfg.name);
            if configs[..i].iter().any(|c| c.name == cfg.name) {
                return Err(format!("{at}.name: '{}' is used twice", cfg.name));
            }
            let route = compile_route(cfg, tools).map_err(|e| format!("{at}.{e}"))?;
            routes.push(Arc::new(route));
        }
        routes.sort_by(|a, b| {
            (b.path.len(), b.host.is_some()).cmp(&(a.path.len(), a.host.is_some()))
        });
        Ok(RouteTable { routes })
    }

    pub fn routes(&self) -> &[Arc<Route>] {
        &self.routes
    }

    /// The route for a (normalised) host, a canonical path and a method: by host, the longest
    /// path prefix, then the method — a route without `methods` takes the standard methods
    /// (`standard`: the method is one), a route with `methods` exactly those.
    pub fn find(
        &self,
        host: Option<&str>,
        path: &str,
        method: &Method,
        standard: bool,
    ) -> Match<'_> {
        let mut path_hit = false;
        for r in &self.routes {
            if r.host.as_deref().is_some_and(|h| Some(h) != host) {
                continue;
            }
            if !path_matches(&r.path, path) {
                continue;
            }
            if r.methods.contains(method) || (r.methods.is_empty() && standard) {
                return Match::Route(r);
            }
            path_hit = true;
        }
        match (path_hit, standard) {
            (false, _) => Match::None,
            (true, false) => Match::NotImplemented,
            (true, true) => Match::MethodNotAllowed {
                allow: self.allowed(host, path),
            },
        }
    }

    /// The `Allow` header of a 405 (RFC 9110 §10.2.1): the methods of the routes matching
    /// the host and path.
    fn allowed(&self, host: Option<&str>, path: &str) -> String {
        let mut allow: Vec<&str> = Vec::new();
        for r in &self.routes {
            if r.host.as_deref().is_some_and(|h| Some(h) != host) || !path_matches(&r.path, path) {
                continue;
            }
            let methods: Vec<&str> = match r.methods.is_empty() {
                true => crate::canonical::method::STANDARD.to_vec(),
                false => r.methods.iter().map(Method::as_str).collect(),
            };
            for m in methods {
                if !allow.contains(&m) {
                    allow.push(m);
                }
            }
        }
        allow.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::path_matches;

    #[test]
    fn prefixes_match_whole_segments() {
        assert!(path_matches("/orders", "/orders"));
        assert!(path_matches("/orders", "/orders/1"));
        assert!(!path_matches("/orders", "/orders-old"));
        assert!(path_matches("/orders/", "/orders/1"));
        assert!(path_matches("/", "/anything"));
    }
}
