//! In-memory portal sessions and sign-ins, expiring like Redis keys with a TTL (expired ones
//! are swept as new ones arrive).

use std::time::Instant;

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::store::SessionStore;

#[async_trait]
impl SessionStore for MemoryStore {
    async fn session_put(&self, hash: &str, record: &str, ttl_secs: u64) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        g.sessions.sweep(Instant::now());
        g.sessions.insert(hash, record.to_string(), ttl_secs);
        Ok(())
    }

    async fn session_get(&self, hash: &str) -> Result<Option<String>, StoreError> {
        Ok(self.lock()?.sessions.get_mut(hash).cloned())
    }

    async fn session_delete(&self, hash: &str) -> Result<(), StoreError> {
        self.lock()?.sessions.take(hash);
        Ok(())
    }

    async fn signin_put(&self, state: &str, record: &str, ttl_secs: u64) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        g.signins.sweep(Instant::now());
        g.signins.insert(state, record.to_string(), ttl_secs);
        Ok(())
    }

    async fn signin_take(&self, state: &str) -> Result<Option<String>, StoreError> {
        Ok(self.lock()?.signins.take(state))
    }
}
