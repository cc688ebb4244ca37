//! The route compiler: a route's configuration checked and turned into a [`Route`] — its
//! policies as steps in the order they run, and its forwarding. Every error names the key it
//! is about (the table prefixes the route).
//!
//! [`steps`] is the one place that orders the policies: adding a policy is one line there.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::Method;

use super::{shape, Route, RouteConfig, Toolbox};
use crate::behaviour::check::BehaviourCheck;
use crate::canonical::host::normalise;
use crate::forward::client::Backend;
use crate::forward::signature::RouteSigning;
use crate::forward::{header_name, normalised, Endpoint, ForwardConfig, Forwarding, Hygiene};
use crate::policy::abuse::AbuseCheck;
use crate::policy::auth::api_key::ApiKey;
use crate::policy::auth::dpop::{check_public_url, DpopCheck};
use crate::policy::auth::jwt::Jwt;
use crate::policy::auth::tessera::Tessera;
use crate::policy::auth::{none, AuthConfig};
use crate::policy::cors::Cors;
use crate::policy::ip::IpFilter;
use crate::policy::quota::QuotaStep;
use crate::policy::scope::Scopes;
use crate::policy::spike::SpikeArrest;
use crate::policy::step::Step;
use crate::policy::threat::{self, step::HeadCheck};

pub(super) fn compile_route(cfg: &RouteConfig, tools: &Toolbox) -> Result<Route, String> {
    let methods = shape::check(cfg)?;
    if !matches!(cfg.upstream.scheme(), "http" | "https") {
        return Err("upstream: must be an http or https URL".into());
    }
    if cfg.upstream.query().is_some() {
        return Err("upstream: must not carry a query".into());
    }
    let realm = cfg.realm.as_deref().unwrap_or(&tools.default_realm);
    let (steps, threat) = steps(cfg, tools, realm, &methods)?;
    let client = match &cfg.backend_tls {
        Some(tls) => tools.backend.tls_client("backend_tls", tls)?,
        None => tools.client.clone(),
    };
    Ok(Route {
        name: cfg.name.clone(),
        path: cfg.path.clone(),
        methods,
        host: cfg.host.as_deref().map(|h| normalise(h).into_owned()),
        cors: cfg.cors.is_some(),
        abuse: tools.abuse.clone(),
        steps,
        threat,
        forward: forwarding(cfg, tools, client)?,
        latency: std::sync::OnceLock::new(),
    })
}

/// The route's steps, in the documented order, and its threat policy for the body.
fn steps(
    cfg: &RouteConfig,
    tools: &Toolbox,
    realm: &str,
    methods: &[Method],
) -> Result<(Vec<Step>, Option<Arc<threat::ThreatPolicy>>), String> {
    let name = cfg.name.as_str();
    let spike = cfg.spike_arrest.as_ref();
    let auth = authentication(cfg, tools, realm)?;
    let client = auth.is_some();
    let quota = QuotaStep::compile(cfg.quota.as_ref(), client, &tools.quotas)?;
    let threat = threat::step::compile(&cfg.threat).map_err(|e| format!("threat.{e}"))?;
    let cors = Cors::compile(cfg.cors.as_ref(), methods)?;
    let steps = [
        step(IpFilter::compile(&cfg.ip)),
        step(tools.abuse.clone().map(AbuseCheck)),
        step(BehaviourCheck::addresses(tools.behaviour.as_ref())),
        step(SpikeArrest::per_ip(name, spike, client, &tools.spikes)),
        step(cors),
        auth,
        step(BehaviourCheck::clients(tools.behaviour.as_ref(), client)),
        step(SpikeArrest::per_client(name, spike, client, &tools.spikes)),
        step(Scopes::compile(&cfg.scopes, realm)),
        step(quota),
        step(threat.clone().map(HeadCheck::new)),
    ];
    Ok((steps.into_iter().flatten().collect(), threat))
}

fn step(policy: Option<impl Into<Step>>) -> Option<Step> {
    policy.map(Into::into)
}

/// The authentication step; none for `kind = "none"`, whose route must then ask for nothing
/// per client.
fn authentication(cfg: &RouteConfig, tools: &Toolbox, realm: &str) -> Result<Option<Step>, String> {
    Ok(Some(match &cfg.auth {
        AuthConfig::Tessera => Tessera::new(tools.tokens.clone(), realm, dpop(cfg, tools)?).into(),
        AuthConfig::Jwt(j) => Jwt::compile(j, tools.jwks.clone(), realm, dpop(cfg, tools)?)
            .map_err(|e| format!("auth.{e}"))?
            .into(),
        AuthConfig::ApiKey(k) => {
            ApiKey::compile(k, tools.catalog.as_ref(), &tools.cache, realm)?.into()
        }
        AuthConfig::None => {
            none::check(cfg.spike_arrest.as_ref(), &cfg.scopes, cfg.quota.as_ref())?;
            return Ok(None);
        }
    }))
}

/// The DPoP proof check of a `tessera` or `jwt` route: the route's public URL, else the
/// server's.
fn dpop(cfg: &RouteConfig, tools: &Toolbox) -> Result<DpopCheck, String> {
    if let Some(u) = &cfg.public_url {
        check_public_url(u).map_err(|m| format!("public_url: {m}"))?;
    }
    Ok(DpopCheck {
        config: tools.dpop.clone(),
        public_url: cfg.public_url.clone().or_else(|| tools.public_url.clone()),
        replays: tools.replays.clone(),
        keys: tools.keys.clone(),
    })
}

/// How the route forwards: the backend URL, the headers it adds and removes, its client.
fn forwarding(cfg: &RouteConfig, tools: &Toolbox, client: Backend) -> Result<Forwarding, String> {
    let (api_key_header, api_key_query) = match &cfg.auth {
        AuthConfig::ApiKey(k) => (
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
    let f = &cfg.forward;
    Ok(Forwarding {
        endpoint: Endpoint::of(&cfg.upstream)?,
        floor: Forwarding::floor_of(&cfg.upstream, strip_prefix.as_deref(), &cfg.path),
        upstream: cfg.upstream.clone(),
        strip_prefix,
        allow_encoded_slashes: cfg.allow_encoded_slashes,
        credentials: f.credentials,
        client_headers: f.client_headers,
        claims: (f.claims.iter())
            .map(|(h, c)| Ok((header_name(&format!("forward.claims.{h}"), h)?, c.clone())))
            .collect::<Result<_, String>>()?,
        id_token_header: (f.id_token_header.as_deref())
            .map(|h| header_name("forward.id_token_header", h))
            .transpose()?,
        injected: (f.injected_names()?.iter())
            .map(|h| normalised(h.as_str()))
            .collect(),
        api_key_header,
        hygiene: Hygiene {
            allow_underscores: f.allow_underscores_in_headers,
            untrusted: tools.untrusted_headers.clone(),
        },
        api_key_query,
        timeout: Duration::from_millis(cfg.timeout_ms.unwrap_or(tools.backend.timeout_ms)),
        client,
        signing: signing(f, tools)?,
    })
}

/// `forward.sign`: the claim headers the route adds are covered after the `X-Tessera-*` ones.
fn signing(f: &ForwardConfig, tools: &Toolbox) -> Result<Option<RouteSigning>, String> {
    if !f.sign {
        return Ok(None);
    }
    let Some(signer) = &tools.signer else {
        return Err("forward.sign: needs a [signing] key".into());
    };
    let extra: Vec<String> = (f.injected_names()?.iter())
        .map(|h| h.as_str().to_string())
        .collect();
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    RouteSigning::new(signer.clone(), &extra).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::{CacheConfig, TokenCache};
    use crate::metrics::Metrics;
    use crate::policy::auth::introspection::Introspector;
    use crate::policy::auth::tessera::{Source, TokenValidator};
    use crate::policy::jwt::JwksRegistry;
    use crate::policy::quota::Counters;
    use crate::tls::BackendConfig;
    use serde_json::json;
    use tessera_shared::crypto::Keys;

    /// Tools without a store: token validation by introspection (never called here).
    fn tools() -> Toolbox {
        let metrics = Metrics::new().unwrap();
        let cache = Arc::new(TokenCache::new(&CacheConfig::default()));
        let introspection = serde_json::from_value(json!({
            "url": "http://127.0.0.1:9/introspect",
            "client_id": "proxy",
            "client_secret": "unused",
        }))
        .unwrap();
        let http = reqwest::Client::new();
        let source = Source::Introspection(Introspector::new(introspection, http.clone()));
        let keys = Keys::from_pepper(&"a pepper of the test, long enough".to_string().into());
        Toolbox {
            jwks: JwksRegistry::new(http, 300, 10),
            backend: BackendConfig::default(),
            client: BackendConfig::default().client().unwrap(),
            default_realm: "api".into(),
            untrusted_headers: Arc::from(Vec::new()),
            tokens: Arc::new(TokenValidator::new(
                keys.clone(),
                source,
                cache.clone(),
                metrics.clone(),
            )),
            catalog: None,
            cache,
            spikes: Default::default(),
            quotas: Arc::new(Counters::new(None, metrics.quota_fallback.clone())),
            dpop: Default::default(),
            public_url: None,
            replays: Arc::new(tessera_shared::store::memory::MemoryStore::default()),
            keys: keys.clone(),
            signer: None,
            abuse: None,
            behaviour: None,
        }
    }

    fn route(extra: serde_json::Value) -> RouteConfig {
        let mut r = json!({ "name": "r", "path": "/r", "upstream": "http://127.0.0.1:1/" });
        for (k, v) in extra.as_object().unwrap() {
            r[k] = v.clone();
        }
        serde_json::from_value(r).unwrap()
    }

    fn kinds(route: &Route) -> Vec<&'static str> {
        let kind = |s: &Step| match s {
            Step::Ip(_) => "ip",
            Step::Abuse(_) => "abuse",
            Step::Behaviour(_) => "behaviour",
            Step::SpikeArrest(_) => "spike_arrest",
            Step::Cors(_) => "cors",
            Step::Tessera(_) => "tessera",
            Step::Jwt(_) => "jwt",
            Step::ApiKey(_) => "api_key",
            Step::Scopes(_) => "scopes",
            Step::Quota(_) => "quota",
            Step::Threat(_) => "threat",
        };
        route.steps.iter().map(kind).collect()
    }

    #[test]
    fn steps_run_in_the_documented_order() {
        let every = route(json!({
            "auth": { "kind": "tessera" },
            "ip": { "deny": ["10.6.6.0/24"] },
            "spike_arrest": { "rate": "5ps", "per": "ip" },
            "cors": { "allowed_origins": ["https://spa.example.com"] },
            "scopes": { "required": ["orders:read"] },
            "quota": { "limit": 10, "period": "minute" },
            "threat": { "max_header_bytes": 4096 },
        }));
        let mut with_abuse = tools();
        let abuse = crate::policy::abuse::AbuseConfig {
            enabled: true,
            ..Default::default()
        };
        let counter = Metrics::new().unwrap().abuse_blocked;
        with_abuse.abuse =
            crate::policy::abuse::AbuseGuard::new(&abuse, with_abuse.replays.clone(), counter)
                .unwrap();
        let r = compile_route(&every, &with_abuse).unwrap();
        assert!(r.abuse.is_some(), "the pipeline counts this route's 401s");
        assert_eq!(
            kinds(&r),
            [
                "ip",
                "abuse",
                "spike_arrest",
                "cors",
                "tessera",
                "spike_arrest",
                "scopes",
                "quota",
                "threat"
            ]
        );
        assert!(
            r.threat.is_some(),
            "the body is checked against the same policy"
        );

        // Authenticated and nothing else: spike arrest and quota per client still run, since
        // an app's plan may set them.
        let bare = route(json!({ "auth": { "kind": "tessera" } }));
        let r = compile_route(&bare, &tools()).unwrap();
        assert_eq!(kinds(&r), ["tessera", "spike_arrest", "quota"]);
        assert!(r.abuse.is_none(), "[abuse] is off by default");

        // Anyone may call: nothing per client, spike arrest per IP.
        let open = route(json!({ "auth": { "kind": "none" }, "spike_arrest": { "rate": "5ps" } }));
        let r = compile_route(&open, &tools()).unwrap();
        assert_eq!(kinds(&r), ["spike_arrest"]);
        assert!(r.threat.is_none());
    }

    #[test]
    fn route_errors_name_the_key() {
        let tools = tools();
        let err = |extra| compile_route(&route(extra), &tools).unwrap_err();
        assert_eq!(
            err(json!({ "auth": { "kind": "api_key" } })),
            "auth: api_key needs a store (store.url)"
        );
        assert_eq!(
            err(json!({ "auth": { "kind": "none" }, "quota": { "limit": 5, "period": "hour" } })),
            "quota: counts per client and needs authentication"
        );
        assert_eq!(
            err(
                json!({ "auth": { "kind": "tessera" }, "quota": { "limit": 0, "period": "hour" } })
            ),
            "quota.limit: must be at least 1"
        );
    }
}
