//! RFC 7662 introspection at the broker, for proxies that cannot read the broker's store. The
//! proxy authenticates as a confidential client of the broker (`client_secret_basic`).
//!
//! Revocation announcements cannot reach such a proxy unless it also subscribes to the store,
//! so what it caches is bounded by `cache.max_ttl_secs` (keep it short in this mode).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tessera_shared::error::StoreError;
use tessera_shared::rate::RatePlan;
use uuid::Uuid;

use crate::caller::{Caller, HeaderMemo};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectionConfig {
    /// The broker's introspection endpoint, e.g. `https://auth.example.com/introspect`.
    pub url: url::Url,
    pub client_id: String,
    pub client_secret: SecretString,
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

fn default_timeout() -> u64 {
    2000
}

#[derive(Debug)]
pub struct Introspector {
    cfg: IntrospectionConfig,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Response {
    active: bool,
    client_id: Option<String>,
    scope: Option<String>,
    sub: Option<String>,
    exp: Option<i64>,
    /// RFC 9449 §6.2: the key a DPoP-bound token is bound to.
    #[serde(default)]
    cnf: Option<Confirmation>,
    #[serde(default)]
    ext: Ext,
}

#[derive(Deserialize)]
struct Confirmation {
    jkt: Option<String>,
}

#[derive(Deserialize, Default)]
struct Ext {
    app_id: Option<Uuid>,
    app_name: Option<String>,
    developer_id: Option<Uuid>,
    #[serde(default)]
    attributes: std::collections::BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    rate_plan: RatePlan,
}

impl Introspector {
    pub fn new(cfg: IntrospectionConfig, http: reqwest::Client) -> Self {
        Introspector { cfg, http }
    }

    /// `Ok(None)`: the broker says the token is not active. Any failure to get a clear answer
    /// is `Unavailable` (fail closed).
    pub async fn introspect(&self, token: &str) -> Result<Option<(Caller, i64)>, StoreError> {
        let unavailable = |what: &str| StoreError::Unavailable(format!("introspection: {what}"));
        let res = self
            .http
            .post(self.cfg.url.clone())
            .basic_auth(
                &self.cfg.client_id,
                Some(self.cfg.client_secret.expose_secret()),
            )
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .timeout(Duration::from_millis(self.cfg.timeout_ms))
            .send()
            .await
            .map_err(|e| unavailable(&e.without_url().to_string()))?;
        if !res.status().is_success() {
            return Err(unavailable(&format!("broker answered {}", res.status())));
        }
        let r: Response = res
            .json()
            .await
            .map_err(|_| unavailable("unreadable response"))?;
        let (true, Some(client_id), Some(exp)) = (r.active, r.client_id, r.exp) else {
            return Ok(None);
        };
        let caller = Caller {
            client_id,
            app_id: r.ext.app_id,
            app_name: r.ext.app_name,
            developer_id: r.ext.developer_id,
            sub: r.sub,
            scopes: r
                .scope
                .unwrap_or_default()
                .split_ascii_whitespace()
                .map(str::to_string)
                .collect(),
            claims: r.ext.attributes,
            id_token: None,
            rate_plan: r.ext.rate_plan,
            family: None,
            jkt: r.cnf.and_then(|c| c.jkt),
            headers: HeaderMemo::kept(),
        };
        Ok(Some((caller, exp)))
    }
}
