//! Storage: the [`Store`] trait and its implementations.
//!
//! The trait is deliberately small and speaks in stored strings (JSON), not domain types, so that
//! the Redis and in-memory implementations have only storage semantics to agree on; the domain
//! rules live once, in [`crate::catalog`] and [`crate::tokens`]. The conformance suite in
//! `tests/api/store_conformance.rs` runs the same cases against both.
//!
//! # Layout
//! * [`keys`] — the only place Redis key names are built.
//! * [`limits`] — rate limits (GCRA) and failure back-off: parameters, and the steps the
//!   in-memory store runs (the Redis scripts mirror them).
//! * [`redis`] — Redis, through a self-reconnecting multiplexed connection with timeouts; multi-key
//!   updates are the Lua scripts in `redis/scripts/`.
//! * [`memory`] — the embedded single-process store of `tessera dev`.

pub mod keys;
pub mod limits;
pub mod memory;
pub mod redis;
pub mod revocation;
pub mod subscription;

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

use crate::config::StoreConfig;
use crate::error::StoreError;
use crate::token::TokenKind;
pub use limits::{Backoff, Gcra, LimitKey, RateVerdict};
pub use revocation::{Revocation, RevocationStream};

/// The registry's tables. In Redis each is a hash under the `{catalog}` hash tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Developers,
    DeveloperEmails,
    Apps,
    AppNames,
    Clients,
}

impl Table {
    pub const ALL: [Table; 5] = [
        Table::Developers,
        Table::DeveloperEmails,
        Table::Apps,
        Table::AppNames,
        Table::Clients,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Developers => "developers",
            Table::DeveloperEmails => "developer_emails",
            Table::Apps => "apps",
            Table::AppNames => "app_names",
            Table::Clients => "clients",
        }
    }

    /// 1-based position in [`Table::ALL`], as the Lua script indexes `KEYS`.
    fn lua_index(self) -> usize {
        Table::ALL.iter().position(|t| *t == self).unwrap_or(0) + 1
    }
}

/// One field of a table, with the value it should hold (or `None`: absent).
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    #[serde(rename = "t", serialize_with = "ser_table")]
    pub table: Table,
    #[serde(rename = "f")]
    pub field: String,
    #[serde(rename = "v")]
    pub value: Option<String>,
}

fn ser_table<S: serde::Serializer>(t: &Table, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(t.lua_index() as u64)
}

/// An atomic, conditional registry update: every check must hold, then dels and sets apply.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CatalogTx {
    pub checks: Vec<Cell>,
    pub sets: Vec<Cell>,
    pub dels: Vec<Cell>,
}

impl CatalogTx {
    /// The apps this update writes or deletes: the stores announce each as revoked, so that
    /// proxies look them up again.
    pub fn touched_apps(&self) -> impl Iterator<Item = &str> {
        self.sets
            .iter()
            .chain(&self.dels)
            .filter(|c| c.table == Table::Apps)
            .map(|c| c.field.as_str())
    }

    /// Require `field` to hold `value` (`None`: to be absent).
    pub fn check(&mut self, table: Table, field: impl Into<String>, value: Option<String>) {
        self.checks.push(Cell {
            table,
            field: field.into(),
            value,
        });
    }
    pub fn set(&mut self, table: Table, field: impl Into<String>, value: String) {
        self.sets.push(Cell {
            table,
            field: field.into(),
            value: Some(value),
        });
    }
    pub fn del(&mut self, table: Table, field: impl Into<String>) {
        self.dels.push(Cell {
            table,
            field: field.into(),
            value: None,
        });
    }
}

/// Memory use of the backend (Redis `INFO memory`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// `used_memory`, bytes.
    pub used: u64,
    /// `maxmemory`, bytes; 0: no limit.
    pub max: u64,
}

/// What both stores provide. Every method fails with [`StoreError::Unavailable`] rather than
/// guessing when the backend cannot answer.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Round trip to the backend (readiness).
    async fn ping(&self) -> Result<(), StoreError>;
    /// Subscribes to the revocation channel ([`revocation`]). Every store method that revokes
    /// (`token_delete` of an access token, `family_revoke`, a `catalog_commit` touching an app)
    /// announces it there itself.
    async fn revocations(&self) -> Result<RevocationStream, StoreError>;
    /// Counts one call of `subject` in the quota window `key` unless `limit` is reached
    /// (`redis/scripts/quota.lua`): the count after the call, and whether it was counted.
    async fn quota_take(&self, key: &QuotaKey<'_>, limit: u64) -> Result<(u64, bool), StoreError>;
    /// Takes one request of `key` under the GCRA rate `gcra` if it conforms
    /// (`redis/scripts/gcra.lua`, on the store's clock; see [`limits`]).
    async fn rate_take(&self, key: &LimitKey<'_>, gcra: Gcra) -> Result<RateVerdict, StoreError>;
    /// The failure back-off of `key` (`redis/scripts/backoff.lua`): with `fail`, records one
    /// failure first. Returns how many ms the next attempt must wait (0: none).
    async fn backoff(
        &self,
        key: &LimitKey<'_>,
        policy: Backoff,
        fail: bool,
    ) -> Result<u64, StoreError>;
    async fn catalog_get(&self, table: Table, field: &str) -> Result<Option<String>, StoreError>;
    async fn catalog_values(&self, table: Table) -> Result<Vec<String>, StoreError>;
    /// Applies `tx` atomically. `Ok(Some(i))`: check `i` (0-based) failed and nothing changed.
    async fn catalog_commit(&self, tx: &CatalogTx) -> Result<Option<usize>, StoreError>;
    /// The app record (JSON) that holds `client_id`, in one round trip.
    async fn app_for_client(&self, client_id: &str) -> Result<Option<String>, StoreError>;
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

    /// Stores a pending login under its (random) upstream `state`.
    async fn login_put(&self, state: &str, record: &str, ttl_secs: u64) -> Result<(), StoreError>;
    /// Takes a pending login: it is gone afterwards, so a `state` works once.
    async fn login_take(&self, state: &str) -> Result<Option<String>, StoreError>;

    /// Stores an authorization code record under the code's hash.
    async fn code_put(&self, hash: &str, record: &str, ttl_secs: u64) -> Result<(), StoreError>;
    async fn code_get(&self, hash: &str) -> Result<Option<String>, StoreError>;
    /// Redeems the code for `family`, at most once ever (`redis/scripts/code_claim.lua`).
    async fn code_claim(&self, hash: &str, family: &str) -> Result<CodeClaim, StoreError>;

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

    /// Marks the value whose keyed hash is `hash` as used, for `ttl_secs`: `true` the first
    /// time, `false` while an earlier mark lives (one atomic `SET NX EX`). The replay cache of
    /// token exchange subject tokens.
    async fn mark_used(&self, hash: &str, ttl_secs: u64) -> Result<bool, StoreError>;

    /// The memory the backend uses and its limit, to hold back writes that are not essential
    /// (analytics) before it runs out; `None` when the backend cannot tell (the default).
    async fn memory(&self) -> Result<Option<Memory>, StoreError> {
        Ok(None)
    }
    /// Appends serialized events to the analytics stream in one round trip (pipeline), capping
    /// the stream at about `max_len` entries (XADD MAXLEN ~): the oldest entries go first.
    /// A refusal for lack of memory is an error that [`StoreError::is_out_of_memory`].
    async fn analytics_append(&self, events: &[String], max_len: usize) -> Result<(), StoreError>;
    /// Events whose stream id time (when they were *written*, Unix ms) lies in
    /// [from_ms, to_ms], oldest first, at most `limit`.
    async fn analytics_range(
        &self,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;
}

/// One quota window of one subject (an app or a client).
#[derive(Debug, Clone, Copy)]
pub struct QuotaKey<'a> {
    pub subject: &'a str,
    pub period: &'a str,
    /// Unix seconds.
    pub window_start: i64,
    pub window_end: i64,
}

/// The outcome of redeeming an authorization code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeClaim {
    /// This redemption is the one.
    Won,
    /// Redeemed before, under this family: a replay.
    Replayed(String),
    /// Unknown or expired.
    Gone,
}

/// A token family as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyState {
    pub record: String,
    pub live_refresh: Option<String>,
    pub revoked: bool,
}

/// A refresh token rotation, as [`Store::family_rotate`] takes it. Tokens appear only as hashes.
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

/// Opens the store the configuration names. Redis connects lazily: the service starts (and
/// reports not-ready) while Redis is down, and heals when it comes back.
pub fn open(cfg: &StoreConfig) -> Result<Arc<dyn Store>, StoreError> {
    if cfg.url == "memory" {
        Ok(Arc::new(memory::MemoryStore::default()))
    } else {
        Ok(Arc::new(redis::RedisStore::open(cfg)?))
    }
}
