//! The `api_key` authentication policy (Apigee's VerifyAPIKey, seed 003): the app's key — one of
//! its client ids — in a configured header or query parameter, checked against the app's and
//! the credential's status. The pipeline removes the key before forwarding.

use std::sync::Arc;

use serde::Deserialize;
use tessera_shared::catalog::Catalog;
use tessera_shared::error::StoreError;
use tessera_shared::time::now;

use crate::cache::TokenCache;
use crate::caller::Caller;

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
    let cache_key = format!("key:{key}");
    if let Some(c) = cache.get(&cache_key) {
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
        scopes: app.scopes.iter().map(str::to_string).collect(),
        claims: app
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
        id_token: None,
        rate_plan: app.rate_plan,
        family: None,
    });
    let expires_at = cred.expires_at.unwrap_or(i64::MAX);
    cache.insert(&cache_key, caller.clone(), expires_at, epoch);
    Ok(Some(caller))
}
