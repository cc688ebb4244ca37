//! The developer portal's state: signed-in sessions (by the keyed hash of the session cookie,
//! never the cookie itself) and sign-ins in progress (by the portal's own upstream `state`).
//! Each is one key with a TTL: no multi-key operation, so each lives in its own cluster slot.

use async_trait::async_trait;

use crate::error::StoreError;

/// Portal sessions and pending sign-ins.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a session record under the keyed hash of its cookie, for `ttl_secs`.
    async fn session_put(&self, hash: &str, record: &str, ttl_secs: u64) -> Result<(), StoreError>;
    async fn session_get(&self, hash: &str) -> Result<Option<String>, StoreError>;
    /// Ends a session (sign-out); ending an unknown one is not an error.
    async fn session_delete(&self, hash: &str) -> Result<(), StoreError>;
    /// Stores a sign-in in progress under its upstream `state`, for `ttl_secs`.
    async fn signin_put(&self, state: &str, record: &str, ttl_secs: u64) -> Result<(), StoreError>;
    /// Takes a sign-in in progress: gone afterwards, so a `state` works once.
    async fn signin_take(&self, state: &str) -> Result<Option<String>, StoreError>;
}
