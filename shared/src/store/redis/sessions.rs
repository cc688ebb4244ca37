//! The index of logins by upstream session and subject in Redis: one set per session or
//! subject, each under its own hash tag, so every command touches one slot.

use async_trait::async_trait;
use redis::AsyncCommands;

use super::RedisStore;
use crate::error::StoreError;
use crate::store::{SessionStore, UpstreamKey};

#[async_trait]
impl SessionStore for RedisStore {
    async fn upstream_login_add(
        &self,
        key: UpstreamKey<'_>,
        family: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let key = self.keys.upstream_logins(&key);
        let ttl = ttl_secs.max(1);
        let mut p = redis::pipe();
        p.sadd(&key, family);
        // A new set gets the TTL (NX); an existing one only ever a longer one (GT): the entry
        // outlives every login in it.
        p.cmd("EXPIRE").arg(&key).arg(ttl).arg("NX");
        p.cmd("EXPIRE").arg(&key).arg(ttl).arg("GT");
        // Durable: a login missing from the index would survive its upstream logout.
        self.write(&p, true).await
    }

    async fn upstream_logins(&self, key: UpstreamKey<'_>) -> Result<Vec<String>, StoreError> {
        let mut c = self.conn.clone();
        Ok(c.smembers(self.keys.upstream_logins(&key)).await?)
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
