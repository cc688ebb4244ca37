//! The route compiler: a route's configuration checked and turned into a [`Route`] — its
//! policies as steps in the order they run, and its forwarding. Every error names the key it
//! is about (the table prefixes the route).
//!
//! [`steps`] is the one place that orders the policies: adding a policy is one line there.

use std::sync::Arc;
use std::time::Duration;

use super::{shape, Route, RouteConfig, Toolbox};
use crate::canonical::host::normalise;
use crate::forward::{header_name, normalised, Forwarding, Hygiene};
use crate::policy::auth::api_key::ApiKey;
use crate::policy::auth::jwt::Jwt;
use crate::policy::auth::tessera::Tessera;
use crate::policy::auth::{none, AuthConfig};
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
    let (steps, threat) = steps(cfg, tools, realm)?;
    let client = match &cfg.backend_tls {
        Some(tls) => tools.backend.tls_client("backend_tls", tls)?,
        None => tools.client.clone(),
    };
    Ok(Route {
        name: cfg.name.clone(),
        path: cfg.path.clone(),
        methods,
        host: cfg.host.as_deref().map(|h| normalise(h).into_owned()),
        steps,
        threat,
        forward: forwarding(cfg, tools, client)?,
    })
}

/// The route's steps, in the documented order, and its threat policy for the body.
fn steps(
    cfg: &RouteConfig,
    tools: &Toolbox,
    realm: &str,
) -> Result<(Vec<Step>, Option<Arc<threat::ThreatPolicy>>), String> {
    let name = cfg.name.as_str();
    let spike = cfg.spike_arrest.as_ref();
    let auth = authentication(cfg, tools, realm)?;
    let client = auth.is_some();
    let quota = QuotaStep::compile(cfg.quota.as_ref(), client, &tools.quotas)?;
    let threat = threat::step::compile(&cfg.threat).map_err(|e| format!("threat.{e}"))?;
    let steps = [
        step(IpFilter::compile(&cfg.ip)),
        step(SpikeArrest::per_ip(name, spike, client, &tools.spikes)),
        auth,
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
        AuthConfig::Tessera => Tessera::new(tools.tokens.clone(), realm).into(),
        AuthConfig::Jwt(j) => Jwt::compile(j, tools.jwks.clone(), realm)
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

/// How the route forwards: the backend URL, the headers it adds and removes, its client.
fn forwarding(
    cfg: &RouteConfig,
    tools: &Toolbox,
    client: reqwest::Client,
) -> Result<Forwarding, String> {
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
    })
}
