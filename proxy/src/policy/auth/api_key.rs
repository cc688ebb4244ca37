//! The `api_key` authentication policy (Apigee's VerifyAPIKey, seed 003): the app's key — one of
//! its client ids — in a configured header or query parameter, checked against the app's and
//! the credential's status. The key is removed before forwarding (unless the route forwards
//! credentials). No key is `401`; an unknown or revoked one `401 invalid_token`; a lookup that
//! fails `503` (fail closed).

use std::sync::Arc;

use serde::Deserialize;
use tessera_shared::catalog::Catalog;
use tessera_shared::error::StoreError;
use tessera_shared::time::now;

use super::{invalid, missing, settle, unavailable, Verdict};
use crate::cache::TokenCache;
use crate::caller::{Caller, HeaderMemo};
use crate::forward::header_name;
use crate::policy::exchange::{Blocked, Check, Exchange};
use tessera_shared::cache::table::key_of;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// Header carrying the key (default `x-api-key` when neither is given).
    #[serde(default)]
    pub header: Option<String>,
    /// Query parameter carrying the key (Apigee's `apikey`).
    #[serde(default)]
    pub query: Option<String>,
}

impl ApiKeyConfig {
    pub fn header_name(&self) -> Option<&str> {
        match (&self.header, &self.query) {
            (None, None) => Some("x-api-key"),
            (h, _) => h.as_deref(),
        }
    }
}

/// `Ok(None)`: no such key, or the app or credential is not approved / expired.
pub async fn verify(
    catalog: &Catalog,
    cache: &TokenCache,
    key: &str,
) -> Result<Option<Arc<Caller>>, StoreError> {
    // Keys are client ids, not secrets; the cache key is prefixed so it cannot collide with a
    // token hash.
    let cache_key = key_of(&format!("key:{key}"));
    if let Some(c) = cache.get(cache_key) {
        return Ok(Some(c));
    }
    let epoch = cache.epoch();
    let Some(app) = catalog.app_for_client(key).await? else {
        return Ok(None);
    };
    let at = now();
    let Some(cred) = app
        .credential(key)
        .filter(|_| app.honours(key, app.generation, at))
    else {
        return Ok(None);
    };
    let caller = cache.intern(Caller {
        client_id: key.to_string(),
        app_id: Some(app.id),
        app_name: Some(app.name.clone()),
        developer_id: Some(app.developer_id),
        sub: None,
        scopes: app.effective_scopes().iter().map(str::to_string).collect(),
        claims: app
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
        id_token: None,
        jkt: None,
        rate_plan: app.effective_rate_plan(),
        family: None,
        headers: HeaderMemo::kept(),
    });
    let expires_at = cred.expires_at.unwrap_or(i64::MAX);
    cache.insert(cache_key, caller.clone(), expires_at, epoch);
    Ok(Some(caller))
}

/// The `api_key` authentication step.
#[derive(Debug)]
pub struct ApiKey {
    cfg: ApiKeyConfig,
    catalog: Arc<Catalog>,
    cache: Arc<TokenCache>,
    realm: String,
}

impl ApiKey {
    /// Keys are looked up in the catalog: a proxy without a store cannot check them.
    pub fn compile(
        cfg: &ApiKeyConfig,
        catalog: Option<&Arc<Catalog>>,
        cache: &Arc<TokenCache>,
        realm: &str,
    ) -> Result<Self, String> {
        let Some(catalog) = catalog else {
            return Err("auth: api_key needs a store (store.url)".into());
        };
        if let Some(h) = cfg.header_name() {
            header_name("auth.header", h)?;
        }
        Ok(ApiKey {
            cfg: cfg.clone(),
            catalog: catalog.clone(),
            cache: cache.clone(),
            realm: realm.to_string(),
        })
    }

    /// The key, from the header, else the query parameter.
    fn key(&self, x: &Exchange<'_>) -> Option<String> {
        let req = x.req();
        let from_header = (self.cfg.header_name())
            .and_then(|h| req.headers().get(h))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        from_header.or_else(|| {
            let q = self.cfg.query.as_ref()?;
            url::form_urlencoded::parse(req.query_string().as_bytes())
                .find(|(k, _)| k == q)
                .map(|(_, v)| v.into_owned())
        })
    }

    async fn verdict(&self, x: &Exchange<'_>) -> Verdict {
        let Some(key) = self.key(x) else {
            return Err(missing(&self.realm));
        };
        match verify(&self.catalog, &self.cache, &key).await {
            Ok(Some(c)) => Ok(c),
            Ok(None) => Err(invalid(&self.realm, "the API key is invalid or revoked")),
            Err(e) => {
                tracing::warn!(error = %e, "API key lookup failed: refusing (fail closed)");
                Err(unavailable("API key validation"))
            }
        }
    }
}

impl Check for ApiKey {
    async fn check(&self, x: &mut Exchange<'_>) -> Result<(), Blocked> {
        let verdict = self.verdict(x).await;
        settle(x, verdict)
    }
}
