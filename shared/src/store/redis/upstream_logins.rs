//! The index of logins by upstream session and subject in Redis (`upstream_login_add.lua`): one
//! set per session or subject, each under its own hash tag, so every call touches one slot.

use async_trait::async_trait;
use redis::AsyncCommands;

use super::call::Call;
use super::RedisStore;
use crate::error::StoreError;
use crate::store::upstream_logins::ENDED;
use crate::store::{UpstreamKey, UpstreamLoginStore};

impl RedisStore {
    /// Adds `member` under `key` for at least `ttl_secs`; whether the entry is marked ended.
    async fn upstream_add(
        &self,
        key: UpstreamKey<'_>,
        member: &str,
        ttl_secs: u64,
    ) -> Result<bool, StoreError> {
        let call = Call::new(&self.upstream_login_add)
            .key(self.keys.upstream_logins(&key))
            .arg(member)
            .arg(ttl_secs.max(1))
            .arg(ENDED);
        // Durable: a login missing from the index would survive its upstream logout.
        let ended: i64 = self.run(call, true).await?;
        Ok(ended == 1)
    }
}

#[async_trait]
impl UpstreamLoginStore for RedisStore {
    async fn upstream_login_add(
        &self,
        key: UpstreamKey<'_>,
        family: &str,
        ttl_secs: u64,
    ) -> Result<bool, StoreError> {
        self.upstream_add(key, family, ttl_secs).await
    }

    async fn upstream_logins_end(
        &self,
        key: UpstreamKey<'_>,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        self.upstream_add(key, ENDED, ttl_secs).await.map(|_| ())
    }

    async fn upstream_logins(&self, key: UpstreamKey<'_>) -> Result<Vec<String>, StoreError> {
        let mut c = self.conn.clone();
        let mut all: Vec<String> = c.smembers(self.keys.upstream_logins(&key)).await?;
        all.retain(|f| f != ENDED);
        Ok(all)
    }

    async fn upstream_logins_forget(
        &self,
        key: UpstreamKey<'_>,
        families: &[String],
    ) -> Result<(), StoreError> {
        if families.is_empty() {
            return Ok(());
        }
        let mut c = self.conn.clone();
        let _: i64 = c.srem(self.keys.upstream_logins(&key), families).await?;
        Ok(())
    }
}
