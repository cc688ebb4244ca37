//! In-memory token records, families (with the refresh rotation and its grace period, as
//! `refresh_rotate.lua`) and users' families.

use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{class, Grace, MemoryStore, SWEEP_EVERY};
use crate::error::StoreError;
use crate::store::{FamilyState, Revocation, RotateRequest, Rotation, TokenStore};
use crate::token::TokenKind;

#[async_trait]
impl TokenStore for MemoryStore {
    async fn token_put(
        &self,
        kind: TokenKind,
        hash: &str,
        record: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        let now = Instant::now();
        g.writes += 1;
        if g.writes % SWEEP_EVERY == 0 {
            g.tokens.retain(|_, (_, exp)| *exp > now);
            g.logins.sweep(now);
            g.codes.sweep(now);
            g.families.sweep(now);
            g.user_families.sweep(now);
            g.upstream_logins.sweep(now);
            g.graces.sweep(now);
            g.used.sweep(now);
        }
        let exp = now + Duration::from_secs(ttl_secs.max(1));
        g.tokens
            .insert((class(kind), hash.to_string()), (record.to_string(), exp));
        Ok(())
    }

    async fn token_get(&self, kind: TokenKind, hash: &str) -> Result<Option<String>, StoreError> {
        let mut g = self.lock()?;
        let key = (class(kind), hash.to_string());
        match g.tokens.get(&key) {
            Some((v, exp)) if *exp > Instant::now() => Ok(Some(v.clone())),
            Some(_) => {
                g.tokens.remove(&key);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn token_delete(&self, kind: TokenKind, hash: &str) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        g.tokens.remove(&(class(kind), hash.to_string()));
        drop(g);
        if kind == TokenKind::AccessToken {
            self.announce(Revocation::Token(hash.to_string()));
        }
        Ok(())
    }

    async fn family_put(
        &self,
        id: &str,
        record: &str,
        live_refresh: Option<&str>,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        // A revocation that arrived before the family was created (a racing code replay) holds.
        let revoked = g.families.get_mut(id).is_some_and(|f| f.revoked);
        let state = FamilyState {
            record: record.to_string(),
            live_refresh: live_refresh.map(str::to_string),
            revoked,
        };
        g.families.insert(id, state, ttl_secs);
        Ok(())
    }

    async fn family_get(&self, id: &str) -> Result<Option<FamilyState>, StoreError> {
        // A tombstone (revoked before it existed) has no record: not a family yet.
        Ok(self
            .lock()?
            .families
            .get_mut(id)
            .filter(|f| !f.record.is_empty())
            .cloned())
    }

    async fn family_rotate(&self, id: &str, r: &RotateRequest<'_>) -> Result<Rotation, StoreError> {
        let mut g = self.lock()?;
        let Some(f) = g.families.get_mut(id).filter(|f| !f.record.is_empty()) else {
            return Ok(Rotation::Gone);
        };
        if f.revoked {
            return Ok(Rotation::Revoked);
        }
        if f.live_refresh.as_deref() == Some(r.presented) {
            f.live_refresh = Some(r.next.to_string());
            let record = f.record.clone();
            if r.grace_ms > 0 {
                let grace = Grace {
                    prev: r.presented.to_string(),
                    client: r.client_id.to_string(),
                    sealed: r.sealed.to_string(),
                };
                g.graces
                    .insert_for(id, grace, Duration::from_millis(r.grace_ms));
            }
            return Ok(Rotation::Rotated(record));
        }
        let record = f.record.clone();
        if let Some(grace) = g.graces.get_mut(id) {
            if grace.prev == r.presented && grace.client == r.client_id {
                let sealed = grace.sealed.clone();
                return Ok(Rotation::Replayed { record, sealed });
            }
        }
        if let Some(f) = g.families.get_mut(id) {
            f.revoked = true;
        }
        drop(g);
        self.announce(Revocation::Family(id.to_string()));
        Ok(Rotation::Reused)
    }

    async fn family_revoke(&self, id: &str) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        match g.families.get_mut(id) {
            Some(f) => f.revoked = true,
            None => {
                let tombstone = FamilyState {
                    record: String::new(),
                    live_refresh: None,
                    revoked: true,
                };
                g.families.insert(id, tombstone, 300);
            }
        }
        drop(g);
        self.announce(Revocation::Family(id.to_string()));
        Ok(())
    }

    async fn user_family_add(
        &self,
        app_id: &str,
        sub: &str,
        family: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let key = format!("{app_id}\u{0}{sub}");
        let mut g = self.lock()?;
        let mut set = g.user_families.take(&key).unwrap_or_default();
        set.insert(family.to_string());
        g.user_families.insert(&key, set, ttl_secs);
        Ok(())
    }

    async fn user_families(&self, app_id: &str, sub: &str) -> Result<Vec<String>, StoreError> {
        let key = format!("{app_id}\u{0}{sub}");
        Ok(self
            .lock()?
            .user_families
            .get_mut(&key)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default())
    }
}
