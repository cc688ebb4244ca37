//! What lives only for one exchange: pending logins (the upstream `state`), authorization codes
//! (single use) and the replay marks of token exchange subject tokens.

use async_trait::async_trait;

use crate::error::StoreError;

/// Pending logins, authorization codes and replay marks.
#[async_trait]
pub trait LoginStore: Send + Sync {
    /// Stores a pending login under its (random) upstream `state`.
    async fn login_put(&self, state: &str, record: &str, ttl_secs: u64) -> Result<(), StoreError>;
    /// Takes a pending login: it is gone afterwards, so a `state` works once.
    async fn login_take(&self, state: &str) -> Result<Option<String>, StoreError>;
    /// Stores an authorization code record under the code's hash.
    async fn code_put(&self, hash: &str, record: &str, ttl_secs: u64) -> Result<(), StoreError>;
    async fn code_get(&self, hash: &str) -> Result<Option<String>, StoreError>;
    /// Redeems the code for `family`, at most once ever (`redis/scripts/code_claim.lua`).
    async fn code_claim(&self, hash: &str, family: &str) -> Result<CodeClaim, StoreError>;
    /// Marks the value whose keyed hash is `hash` as used, for `ttl_secs`: `true` the first
    /// time, `false` while an earlier mark lives (one atomic `SET NX EX`). The replay cache of
    /// token exchange subject tokens.
    async fn mark_used(&self, hash: &str, ttl_secs: u64) -> Result<bool, StoreError>;
}

/// The outcome of redeeming an authorization code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeClaim {
    /// This redemption is the one.
    Won,
    /// Redeemed before, under this family: a replay.
    Replayed(String),
    /// Unknown or expired.
    Gone,
}
