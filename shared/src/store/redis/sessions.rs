//! Portal sessions and sign-ins in Redis: one string key each, with its TTL.

use async_trait::async_trait;
use redis::AsyncCommands;

use super::RedisStore;
use crate::error::StoreError;
use crate::store::SessionStore;

#[async_trait]
impl SessionStore for RedisStore {
    async fn session_put(&self, hash: &str, record: &str, ttl_secs: u64) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        let _: () = c
            .set_ex(self.keys.portal_session(hash), record, ttl_secs.max(1))
            .await?;
        Ok(())
    }

    async fn session_get(&self, hash: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn.clone();
        Ok(c.get(self.keys.portal_session(hash)).await?)
    }

    async fn session_delete(&self, hash: &str) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        let _: () = c.del(self.keys.portal_session(hash)).await?;
        Ok(())
    }

    async fn signin_put(&self, state: &str, record: &str, ttl_secs: u64) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        let _: () = c
            .set_ex(self.keys.portal_signin(state), record, ttl_secs.max(1))
            .await?;
        Ok(())
    }

    async fn signin_take(&self, state: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn.clone();
        Ok(c.get_del(self.keys.portal_signin(state)).await?)
    }
}
