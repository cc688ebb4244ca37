//! The DPoP replay cache (RFC 9449 §11.1): every proof's `jti` is accepted once while the proof
//! could still be accepted at all. A concern of its own because both services write it — the
//! broker for proofs at the token endpoint, the proxy for proofs presented with bound tokens —
//! and because its keys (`dpop:{…}`) are sized and expired differently from token records.

use async_trait::async_trait;

use crate::error::StoreError;

/// The replay cache of DPoP proofs.
#[async_trait]
pub trait ProofStore: Send + Sync {
    /// Records the proof whose `jti` (with its key's thumbprint) hashes to `hash`, for
    /// `ttl_secs`: `true` the first time, `false` while an earlier record lives (one atomic
    /// `SET NX EX` on Redis, so two proxies racing on one proof cannot both win).
    async fn proof_first_use(&self, hash: &str, ttl_secs: u64) -> Result<bool, StoreError>;
}
