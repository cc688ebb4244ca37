//! Token records, families (`refresh_rotate.lua`, `family_revoke.lua`) and users' families in
//! Redis.

use async_trait::async_trait;
use redis::{AsyncCommands, Cmd};

use super::call::Call;
use super::{RedisStore, TOMBSTONE_SECS};
use crate::error::StoreError;
use crate::store::{FamilyState, Revocation, RotateRequest, Rotation, TokenStore};
use crate::token::TokenKind;

#[async_trait]
impl TokenStore for RedisStore {
    async fn token_put(
        &self,
        kind: TokenKind,
        hash: &str,
        record: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        // `SETEX key ttl record` (what `set_ex` sends), its buffers sized once and the key
        // written into it (issue 11, P3).
        let mut setex = Cmd::with_capacity(4, self.keys.token_len(hash) + record.len() + 32);
        setex.arg("SETEX");
        self.keys.token_arg(kind, hash, &mut setex);
        setex.arg(ttl_secs.max(1)).arg(record);
        // Durable: an issued token (or secret) must outlive a failover.
        self.write_one(setex, true).await
    }

    async fn token_get(&self, kind: TokenKind, hash: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn.clone();
        // `GET key`, the key written into the command (issue 11, P3).
        let mut get = Cmd::with_capacity(2, self.keys.token_len(hash) + 3);
        get.arg("GET");
        self.keys.token_arg(kind, hash, &mut get);
        Ok(get.query_async(&mut c).await?)
    }

    async fn token_delete(&self, kind: TokenKind, hash: &str) -> Result<(), StoreError> {
        let mut call = Call::new(&self.token_delete)
            .key(self.keys.token(kind, hash))
            .arg(self.keys.revocation_channel());
        if kind == TokenKind::AccessToken {
            call = call.arg(Revocation::Token(hash.to_string()).encode());
        }
        // Durable: a revocation must outlive a failover.
        let _: i64 = self.run(call, true).await?;
        Ok(())
    }

    async fn family_put(
        &self,
        id: &str,
        record: &str,
        live_refresh: Option<&str>,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let key = self.keys.family(id);
        let mut p = redis::pipe();
        p.hset(&key, "rec", record);
        if let Some(h) = live_refresh {
            p.hset(&key, "cur", h);
        }
        p.expire(&key, ttl_secs.max(1) as i64);
        // Durable: the login's refresh token is issued with it.
        self.write(&p, true).await
    }

    async fn family_get(&self, id: &str) -> Result<Option<FamilyState>, StoreError> {
        let mut c = self.conn.clone();
        let (rec, cur, revoked): (Option<String>, Option<String>, Option<String>) =
            redis::cmd("HMGET")
                .arg(self.keys.family(id))
                .arg(&["rec", "cur", "revoked"])
                .query_async(&mut c)
                .await?;
        Ok(rec.map(|record| FamilyState {
            record,
            live_refresh: cur,
            revoked: revoked.is_some(),
        }))
    }

    async fn family_rotate(&self, id: &str, r: &RotateRequest<'_>) -> Result<Rotation, StoreError> {
        let call = Call::new(&self.refresh_rotate)
            .key(self.keys.family(id))
            .key(self.keys.family_grace(id))
            .arg(r.presented)
            .arg(r.next)
            .arg(self.keys.revocation_channel())
            .arg(Revocation::Family(id.to_string()).encode())
            .arg(r.client_id)
            .arg(r.grace_ms)
            .arg(r.sealed);
        // Durable: the successor is issued, or the family revoked on reuse.
        let out: Vec<String> = self.run(call, true).await?;
        let mut out = out.into_iter();
        Ok(match (out.next().as_deref(), out.next(), out.next()) {
            (Some("ok"), rec, _) => Rotation::Rotated(rec.unwrap_or_default()),
            (Some("replay"), Some(record), Some(sealed)) => Rotation::Replayed { record, sealed },
            (Some("reused"), _, _) => Rotation::Reused,
            (Some("revoked"), _, _) => Rotation::Revoked,
            _ => Rotation::Gone,
        })
    }

    async fn family_revoke(&self, id: &str) -> Result<(), StoreError> {
        let call = Call::new(&self.family_revoke)
            .key(self.keys.family(id))
            .arg(TOMBSTONE_SECS)
            .arg(self.keys.revocation_channel())
            .arg(Revocation::Family(id.to_string()).encode());
        let _: i64 = self.run(call, true).await?;
        Ok(())
    }

    async fn user_family_add(
        &self,
        app_id: &str,
        sub: &str,
        family: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        let key = self.keys.user_families(app_id, sub);
        let _: () = redis::pipe()
            .atomic()
            .sadd(&key, family)
            .ignore()
            .expire(&key, ttl_secs.max(1) as i64)
            .ignore()
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    async fn user_families(&self, app_id: &str, sub: &str) -> Result<Vec<String>, StoreError> {
        let mut c = self.conn.clone();
        Ok(c.smembers(self.keys.user_families(app_id, sub)).await?)
    }
}
