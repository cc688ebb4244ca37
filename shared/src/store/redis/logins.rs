//! Pending logins, authorization codes (`code_claim.lua`) and replay marks in Redis.

use async_trait::async_trait;
use redis::AsyncCommands;

use super::call::Call;
use super::RedisStore;
use crate::error::StoreError;
use crate::store::{CodeClaim, LoginStore};
use crate::token::TokenKind;

#[async_trait]
impl LoginStore for RedisStore {
    async fn login_put(&self, state: &str, record: &str, ttl_secs: u64) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        let _: () = c
            .set_ex(self.keys.login(state), record, ttl_secs.max(1))
            .await?;
        Ok(())
    }

    async fn login_take(&self, state: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn.clone();
        Ok(c.get_del(self.keys.login(state)).await?)
    }

    async fn code_put(&self, hash: &str, record: &str, ttl_secs: u64) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        let key = self.keys.token(TokenKind::AuthorizationCode, hash);
        let _: () = redis::pipe()
            .atomic()
            .hset(&key, "rec", record)
            .ignore()
            .expire(&key, ttl_secs.max(1) as i64)
            .ignore()
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    async fn code_get(&self, hash: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn.clone();
        Ok(
            c.hget(self.keys.token(TokenKind::AuthorizationCode, hash), "rec")
                .await?,
        )
    }

    async fn code_claim(&self, hash: &str, family: &str) -> Result<CodeClaim, StoreError> {
        let call = Call::new(&self.code_claim)
            .key(self.keys.token(TokenKind::AuthorizationCode, hash))
            .arg(family);
        // Durable: a code redeemed twice after a failover would issue twice.
        let out: String = self.run(call, true).await?;
        Ok(match out.as_str() {
            "won" => CodeClaim::Won,
            "gone" => CodeClaim::Gone,
            other => CodeClaim::Replayed(other.trim_start_matches("used:").to_string()),
        })
    }

    async fn mark_used(&self, hash: &str, ttl_secs: u64) -> Result<bool, StoreError> {
        self.set_once(self.keys.used(hash), ttl_secs).await
    }
}
