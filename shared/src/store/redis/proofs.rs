//! The DPoP replay cache in Redis: one `SET NX EX` per proof, under `dpop:{hash}`.

use async_trait::async_trait;

use super::RedisStore;
use crate::error::StoreError;
use crate::store::ProofStore;

#[async_trait]
impl ProofStore for RedisStore {
    async fn proof_first_use(&self, hash: &str, ttl_secs: u64) -> Result<bool, StoreError> {
        self.set_once(self.keys.dpop_proof(hash), ttl_secs).await
    }
}

impl RedisStore {
    /// `SET key 1 NX EX ttl`: `true` when this call created the key.
    pub(super) async fn set_once(&self, key: String, ttl_secs: u64) -> Result<bool, StoreError> {
        let mut c = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(key)
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(ttl_secs.max(1))
            .query_async(&mut c)
            .await?;
        Ok(set.is_some())
    }
}
