//! The route table: routes compiled from configuration, and matching a request to one
//! (host, then the longest path prefix on segment boundaries, then the method).
//!
//! A table is compiled whole or not at all: a bad route is refused with a message naming the
//! route and the key, and (on reload) the table in force stays.

pub mod config;
mod shape;

pub use shape::MAX_ROUTE_NAME;

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::Method;

use crate::canonical::host::normalise;
use crate::forward::{header_name, normalised, Forwarding, Hygiene};
use crate::policy::auth::api_key::ApiKeyConfig;
use crate::policy::auth::AuthConfig;
use crate::policy::ip::IpConfig;
use crate::policy::jwt::{JwksRegistry, JwtValidator};
use crate::policy::quota::QuotaConfig;
use crate::policy::scope::ScopeConfig;
use crate::policy::spike::{SpikeConfig, SpikeKey};
use crate::policy::threat::ThreatPolicy;
use crate::tls::BackendConfig;
pub use config::RouteConfig;

#[derive(Debug)]
pub enum Auth {
    Tessera,
    Jwt(Box<JwtValidator>),
    ApiKey(ApiKeyConfig),
    None,
}

#[derive(Debug)]
pub struct Route {
    pub name: String,
    pub path: String,
    pub methods: Vec<Method>,
    pub host: Option<String>,
    pub realm: String,
    pub ip: Option<IpConfig>,
    pub spike: Option<(tessera_shared::rate::Rate, SpikeKey)>,
    pub auth: Auth,
    pub scopes: ScopeConfig,
    pub quota: Option<QuotaConfig>,
    pub threat: Option<ThreatPolicy>,
    pub forward: Forwarding,
}

/// What the route table needs from the process to compile routes.
#[derive(Debug, Clone)]
pub struct Toolbox {
    pub jwks: Arc<JwksRegistry>,
    pub backend: BackendConfig,
    pub client: reqwest::Client,
    /// Whether a store is configured (API keys and quotas need one).
    pub has_store: bool,
    pub default_realm: String,
    /// `server.untrusted_headers`, lower case with `-`.
    pub untrusted_headers: Arc<[String]>,
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

fn compile_route(cfg: &RouteConfig, tools: &Toolbox) -> Result<Route, String> {
    let methods = shape::check(cfg)?;
    if !matches!(cfg.upstream.scheme(), "http" | "https") {
        return Err("upstream: must be an http or https URL".into());
    }
    if cfg.upstream.query().is_some() {
        return Err("upstream: must not carry a query".into());
    }
    let auth = match &cfg.auth {
        AuthConfig::Tessera => Auth::Tessera,
        AuthConfig::Jwt(j) => Auth::Jwt(Box::new(
            JwtValidator::compile(j, tools.jwks.clone()).map_err(|e| format!("auth.{e}"))?,
        )),
        AuthConfig::ApiKey(k) => {
            if !tools.has_store {
                return Err("auth: api_key needs a store (store.url)".into());
            }
            if let Some(h) = k.header_name() {
                header_name("auth.header", h)?;
            }
            Auth::ApiKey(k.clone())
        }
        AuthConfig::None => Auth::None,
    };
    let authenticated = !matches!(auth, Auth::None);
    let spike = match &cfg.spike_arrest {
        None => None,
        Some(SpikeConfig { rate, per }) => {
            let per = per.unwrap_or(if authenticated {
                SpikeKey::Client
            } else {
                SpikeKey::Ip
            });
            if per == SpikeKey::Client && !authenticated {
                return Err("spike_arrest.per: 'client' needs authentication; use 'ip'".into());
            }
            Some((*rate, per))
        }
    };
    if !authenticated && !cfg.scopes.is_empty() {
        return Err("scopes: a route without authentication cannot require scopes".into());
    }
    if let Some(q) = &cfg.quota {
        if !authenticated {
            return Err("quota: counts per client and needs authentication".into());
        }
        if q.limit == 0 || q.fallback_limit == Some(0) {
            return Err("quota.limit: must be at least 1".into());
        }
    }
    let t = &cfg.threat;
    let no_threat = t.json.is_none()
        && t.patterns.is_empty()
        && t.max_body_bytes.is_none()
        && t.max_header_bytes.is_none();
    let threat = if no_threat {
        None
    } else {
        Some(ThreatPolicy::compile(&cfg.threat).map_err(|e| format!("threat.{e}"))?)
    };
    let client = match &cfg.backend_tls {
        Some(tls) => tools.backend.tls_client("backend_tls", tls)?,
        None => tools.client.clone(),
    };
    let (api_key_header, api_key_query): (Option<String>, Option<String>) = match &auth {
        Auth::ApiKey(k) => (
            k.header_name()
                .map(|h| header_name("auth.header", h).map(|h| normalised(h.as_str())))
                .transpose()?,
            k.query.clone(),
        ),
        _ => (None, None),
    };
    let strip_prefix = cfg
        .strip_path
        .then(|| cfg.path.trim_end_matches('/').to_string());
    let forward = Forwarding {
        floor: Forwarding::floor_of(&cfg.upstream, strip_prefix.as_deref(), &cfg.path),
        upstream: cfg.upstream.clone(),
        strip_prefix,
        allow_encoded_slashes: cfg.allow_encoded_slashes,
        credentials: cfg.forward.credentials,
        client_headers: cfg.forward.client_headers,
        claims: cfg
            .forward
            .claims
            .iter()
            .map(|(h, c)| Ok((header_name(&format!("forward.claims.{h}"), h)?, c.clone())))
            .collect::<Result<_, String>>()?,
        id_token_header: cfg
            .forward
            .id_token_header
            .as_deref()
            .map(|h| header_name("forward.id_token_header", h))
            .transpose()?,
        injected: cfg
            .forward
            .injected_names()?
            .iter()
            .map(|h| normalised(h.as_str()))
            .collect(),
        api_key_header,
        hygiene: Hygiene {
            allow_underscores: cfg.forward.allow_underscores_in_headers,
            untrusted: tools.untrusted_headers.clone(),
        },
        api_key_query,
        timeout: Duration::from_millis(cfg.timeout_ms.unwrap_or(tools.backend.timeout_ms)),
        client,
    };
    Ok(Route {
        name: cfg.name.clone(),
        path: cfg.path.clone(),
        methods,
        host: cfg.host.as_deref().map(|h| normalise(h).into_owned()),
        realm: cfg
            .realm
            .clone()
            .unwrap_or_else(|| tools.default_realm.clone()),
        ip: (!cfg.ip.is_empty()).then(|| cfg.ip.clone()),
        spike,
        auth,
        scopes: cfg.scopes.clone(),
        quota: cfg.quota.clone(),
        threat,
        forward,
    })
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
