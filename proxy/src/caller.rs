//! The caller: who a request was authenticated as, whatever the authentication policy. Every
//! later policy (spike arrest, scopes, quota), the forwarded headers and the analytics event
//! read it, so that throttling and attribution work the same for opaque tokens, upstream JWTs
//! and API keys.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use http::{HeaderName, HeaderValue};

use serde_json::Value;
use tessera_shared::model::Sensitive;
use tessera_shared::rate::RatePlan;
use uuid::Uuid;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Caller {
    /// The client the call is attributed to (Tessera client_id, or the JWT's `cid`/`azp`).
    pub client_id: String,
    /// The Tessera app, when the client is one (opaque tokens, API keys).
    pub app_id: Option<Uuid>,
    pub app_name: Option<String>,
    pub developer_id: Option<Uuid>,
    /// The end user, for user tokens.
    pub sub: Option<String>,
    pub scopes: Vec<String>,
    /// What claim mappings read: the token's attributes and mapped identity claims (opaque
    /// tokens), the JWT's claims, or the app's attributes (API keys).
    pub claims: BTreeMap<String, Value>,
    /// The upstream `id_token` of the login, for routes that forward it.
    pub id_token: Option<Sensitive>,
    pub rate_plan: RatePlan,
    /// The token family (one login), so that a family revocation evicts the cached caller.
    pub family: Option<String>,
    /// The thumbprint of the DPoP key the token is bound to (RFC 9449 §6, `cnf.jkt`).
    pub jkt: Option<String>,
    /// The identity headers forwarded for this caller (`forward/identity.rs`), kept for a caller
    /// that outlives its call (interned, cached: [`HeaderMemo::kept`]): built on its first
    /// forwarded call and shared by the later ones, so a cached call copies no identity
    /// string (issue 11, direction 4).
    pub headers: HeaderMemo,
}

/// Headers derived from a caller, built once for a caller that is kept. Derived data: it takes
/// no part in comparing callers, and its `Debug` shows nothing.
#[derive(Clone, Default)]
pub struct HeaderMemo(Option<HeaderSlot>);

/// Where a kept caller's headers are built, once.
pub type HeaderSlot = OnceLock<Box<[(HeaderName, HeaderValue)]>>;

impl HeaderMemo {
    /// A memo for a caller that lives on after its call. The default keeps nothing: a caller
    /// built for one call (a validated JWT) would only pay for the copy.
    pub fn kept() -> Self {
        HeaderMemo(Some(OnceLock::new()))
    }

    /// Where to keep the headers, if this caller keeps them.
    pub fn slot(&self) -> Option<&HeaderSlot> {
        self.0.as_ref()
    }
}

impl PartialEq for HeaderMemo {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for HeaderMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeaderMemo")
    }
}

impl Caller {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// The subject quotas and spike arrest count against: the app (all its credentials share
    /// one plan), else the client.
    pub fn throttle_key(&self) -> String {
        match self.app_id {
            Some(app) => format!("app:{app}"),
            None => format!("client:{}", self.client_id),
        }
    }
}

impl Caller {
    /// The caller an upstream JWT stands for (validate-jwt): no Tessera app, the client from
    /// the token's `cid` / `client_id` / `azp`, or its subject when it names none; bound to the
    /// DPoP key its `cnf.jkt` names, if any (RFC 9449 §6.1).
    pub fn from_jwt(j: crate::policy::jwt::ValidatedJwt) -> Caller {
        let client_id = j
            .client_id
            .clone()
            .or_else(|| j.subject.clone())
            .unwrap_or_default();
        let jkt = j
            .claims
            .get("cnf")
            .and_then(|c| c.get("jkt"))
            .and_then(Value::as_str)
            .map(str::to_string);
        Caller {
            client_id,
            sub: j.subject,
            scopes: j.scopes,
            claims: j.claims.into_iter().collect(),
            jkt,
            ..Caller::default()
        }
    }
}
