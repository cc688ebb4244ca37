//! The provider's discovery document and keys, cached: [`Upstream::discovered`] refreshes them
//! when older than `discovery_refresh_secs` (a failed refresh keeps serving the stale copy), and
//! [`Upstream::refetch_jwks`] refetches the keys for an unknown `kid` at most once per
//! `jwks_min_refetch_secs`, so a flood of forged `kid`s does not become a flood of upstream
//! requests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{CoreJsonWebKeySet, CoreProviderMetadata};
use openidconnect::IssuerUrl;

use super::{end_session, Upstream, UpstreamError};

/// What discovery found, and when it was fetched.
pub(crate) struct Discovered {
    pub meta: CoreProviderMetadata,
    /// The same JWKS, in jsonwebtoken's form (for access tokens).
    pub jwks: jsonwebtoken::jwk::JwkSet,
    /// The upstream's `end_session_endpoint` (OpenID Connect RP-Initiated Logout 1.0 §2.1),
    /// when it publishes one.
    pub end_session: Option<String>,
    /// It says it sends `iss` in authorization responses (RFC 9207 §3): then it must.
    pub iss_in_response: bool,
    fetched: Instant,
}

fn jwk_set(jwks: &CoreJsonWebKeySet) -> Result<jsonwebtoken::jwk::JwkSet, UpstreamError> {
    let v = serde_json::to_value(jwks).map_err(|e| UpstreamError::Unavailable(e.to_string()))?;
    // Keys jsonwebtoken cannot read are skipped rather than failing the whole set.
    let keys = v
        .get("keys")
        .and_then(|k| k.as_array())
        .map(|ks| {
            ks.iter()
                .filter_map(|k| serde_json::from_value(k.clone()).ok())
                .collect()
        })
        .unwrap_or_default();
    Ok(jsonwebtoken::jwk::JwkSet { keys })
}

impl Upstream {
    /// Whether the provider says it sends `iss` in authorization responses (RFC 9207 §3), by
    /// its discovery document; `false` when it cannot be discovered.
    pub async fn sends_iss(&self) -> bool {
        self.discovered().await.is_ok_and(|d| d.iss_in_response)
    }

    /// Cached discovery; refreshed when older than `discovery_refresh_secs`. A failed refresh
    /// keeps the previous metadata.
    pub(crate) async fn discovered(&self) -> Result<Arc<Discovered>, UpstreamError> {
        let max_age = Duration::from_secs(self.cfg.discovery_refresh_secs);
        let cached = self.discovered.read().await.clone();
        if let Some(d) = &cached {
            if d.fetched.elapsed() < max_age {
                return Ok(d.clone());
            }
        }
        match self.discover().await {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                *self.discovered.write().await = Some(fresh.clone());
                Ok(fresh)
            }
            Err(e) => match cached {
                Some(stale) => {
                    tracing::warn!(cause = %e, "upstream discovery refresh failed; using cached");
                    Ok(stale)
                }
                None => Err(e),
            },
        }
    }

    async fn discover(&self) -> Result<Discovered, UpstreamError> {
        let issuer = IssuerUrl::new(self.cfg.issuer.clone())
            .map_err(|e| UpstreamError::Unavailable(format!("issuer URL: {e}")))?;
        let meta = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| UpstreamError::Unavailable(format!("discovery: {e}")))?;
        let jwks = jwk_set(meta.jwks())?;
        let extras = end_session::discover(&self.http, &self.cfg.issuer).await;
        Ok(Discovered {
            meta,
            jwks,
            end_session: extras.end_session,
            iss_in_response: extras.iss_in_response,
            fetched: Instant::now(),
        })
    }

    /// Refetches the JWKS after a token named an unknown `kid`, unless one was refetched less
    /// than `jwks_min_refetch_secs` ago. Returns whether the keys changed.
    pub(crate) async fn refetch_jwks(&self) -> Result<bool, UpstreamError> {
        {
            let mut last = self.last_refetch.lock().unwrap_or_else(|p| p.into_inner());
            let min = Duration::from_secs(self.cfg.jwks_min_refetch_secs);
            if last.is_some_and(|t| t.elapsed() < min) {
                return Ok(false);
            }
            *last = Some(Instant::now());
        }
        let current = self.discovered().await?;
        let jwks = CoreJsonWebKeySet::fetch_async(current.meta.jwks_uri(), &self.http)
            .await
            .map_err(|e| UpstreamError::Unavailable(format!("JWKS: {e}")))?;
        let mut meta = current.meta.clone();
        meta = meta.set_jwks(jwks);
        let fresh = Discovered {
            jwks: jwk_set(meta.jwks())?,
            meta,
            end_session: current.end_session.clone(),
            iss_in_response: current.iss_in_response,
            fetched: current.fetched,
        };
        tracing::info!(keys = fresh.jwks.keys.len(), "upstream JWKS refetched");
        *self.discovered.write().await = Some(Arc::new(fresh));
        Ok(true)
    }
}
