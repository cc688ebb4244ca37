//! Token storage: access and refresh token records under their keyed hashes, the token families
//! (one per user login) with their live refresh token, and each user's families.

use async_trait::async_trait;

use crate::error::StoreError;
use crate::token::TokenKind;

/// Tokens and logins (families).
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores a token record under its hash, expiring after `ttl_secs`.
    async fn token_put(
        &self,
        kind: TokenKind,
        hash: &str,
        record: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError>;
    async fn token_get(&self, kind: TokenKind, hash: &str) -> Result<Option<String>, StoreError>;
    async fn token_delete(&self, kind: TokenKind, hash: &str) -> Result<(), StoreError>;
    /// Creates a token family with its first live refresh token hash (or none).
    async fn family_put(
        &self,
        id: &str,
        record: &str,
        live_refresh: Option<&str>,
        ttl_secs: u64,
    ) -> Result<(), StoreError>;
    async fn family_get(&self, id: &str) -> Result<Option<FamilyState>, StoreError>;
    /// Atomically replaces the live refresh token `r.presented` by `r.next`; anything else
    /// presented is reuse and revokes the family (`redis/scripts/refresh_rotate.lua`) — except
    /// the token just replaced, presented again by the same client within the grace period,
    /// which replays the sealed successor.
    async fn family_rotate(&self, id: &str, r: &RotateRequest<'_>) -> Result<Rotation, StoreError>;
    async fn family_revoke(&self, id: &str) -> Result<(), StoreError>;
    /// Remembers that `family` belongs to user `sub` of app `app_id` (for revoking a user).
    async fn user_family_add(
        &self,
        app_id: &str,
        sub: &str,
        family: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError>;
    async fn user_families(&self, app_id: &str, sub: &str) -> Result<Vec<String>, StoreError>;
}

/// A token family as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyState {
    pub record: String,
    pub live_refresh: Option<String>,
    pub revoked: bool,
}

/// A refresh token rotation, as [`TokenStore::family_rotate`] takes it. Tokens appear only as
/// hashes.
#[derive(Debug, Clone, Copy)]
pub struct RotateRequest<'a> {
    /// Hash of the presented refresh token.
    pub presented: &'a str,
    /// Hash of its replacement.
    pub next: &'a str,
    /// The client presenting it.
    pub client_id: &'a str,
    /// How long (ms) `presented`, presented again by `client_id`, replays `sealed` instead of
    /// counting as reuse; 0: never.
    pub grace_ms: u64,
    /// The successor tokens, sealed under a key only the presented token yields (empty when
    /// `grace_ms` is 0); the store keeps it for `grace_ms` only.
    pub sealed: &'a str,
}

/// The outcome of rotating a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// Rotated; the family record.
    Rotated(String),
    /// The token replaced last, again, within the grace period and by the same client: the
    /// family record and the sealed successor handed out then.
    Replayed {
        record: String,
        sealed: String,
    },
    /// The presented token was not the live one: the family is now revoked.
    Reused,
    Revoked,
    Gone,
}
