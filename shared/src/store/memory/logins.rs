//! In-memory pending logins, authorization codes (claimed once, as `code_claim.lua`) and replay
//! marks.

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::store::{CodeClaim, LoginStore};

#[async_trait]
impl LoginStore for MemoryStore {
    async fn login_put(&self, state: &str, record: &str, ttl_secs: u64) -> Result<(), StoreError> {
        self.lock()?
            .logins
            .insert(state, record.to_string(), ttl_secs);
        Ok(())
    }

    async fn login_take(&self, state: &str) -> Result<Option<String>, StoreError> {
        Ok(self.lock()?.logins.take(state))
    }

    async fn code_put(&self, hash: &str, record: &str, ttl_secs: u64) -> Result<(), StoreError> {
        self.lock()?
            .codes
            .insert(hash, (record.to_string(), None), ttl_secs);
        Ok(())
    }

    async fn code_get(&self, hash: &str) -> Result<Option<String>, StoreError> {
        Ok(self.lock()?.codes.get_mut(hash).map(|(r, _)| r.clone()))
    }

    async fn code_claim(&self, hash: &str, family: &str) -> Result<CodeClaim, StoreError> {
        let mut g = self.lock()?;
        Ok(match g.codes.get_mut(hash) {
            None => CodeClaim::Gone,
            Some((_, Some(winner))) => CodeClaim::Replayed(winner.clone()),
            Some((_, used)) => {
                *used = Some(family.to_string());
                CodeClaim::Won
            }
        })
    }

    async fn mark_used(&self, hash: &str, ttl_secs: u64) -> Result<bool, StoreError> {
        Ok(self.lock()?.used.mark(hash, ttl_secs))
    }
}
