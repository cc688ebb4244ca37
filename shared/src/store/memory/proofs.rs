//! The in-memory DPoP replay cache: one process's proofs (`tessera dev`, and a proxy without a
//! store, which then catches replays per instance only).

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::store::ProofStore;

#[async_trait]
impl ProofStore for MemoryStore {
    async fn proof_first_use(&self, hash: &str, ttl_secs: u64) -> Result<bool, StoreError> {
        let mut g = self.lock()?;
        Ok(g.proofs.mark(hash, ttl_secs))
    }
}
