//! Storage: the [`Store`] trait and its implementations.
//!
//! The traits speak in stored strings (JSON), not domain types, so that the Redis and in-memory
//! implementations have only storage semantics to agree on; the domain rules live once, in
//! the catalog, the token lookup and the broker. [`Store`] is the sum of one trait per
//! concern, so that code needing one concern can say so. The conformance suite in
//! `tests/api/store_conformance/` runs the same cases against memory, one Redis and a Redis
//! Cluster.
//!
//! # Layout
//! * [`catalog`] — [`CatalogStore`]: the registry's tables and their atomic transactions.
//! * [`tokens`] — [`TokenStore`]: token records, families (logins), users' families.
//! * [`logins`] — [`LoginStore`]: pending logins, authorization codes, replay marks.
//! * [`limits`] — [`LimitStore`]: quotas, rate limits (GCRA) and failure back-off, with the
//!   steps the in-memory store runs (the Redis scripts mirror them).
//! * [`behaviour`] — [`BehaviourStore`]: abuse detection's behaviour signals, merged per
//!   flush interval, and the flags and blocks its rules set.
//! * [`proofs`] — [`ProofStore`]: the DPoP proofs' replay cache (RFC 9449 §11.1).
//! * [`upstream_logins`] — [`UpstreamLoginStore`]: logins indexed by upstream session
//!   (`sid`) and subject, for upstream logout.
//! * [`analytics`] — [`AnalyticsStore`]: the analytics stream and the backend's memory.
//! * [`devices`] — [`DeviceStore`]: RFC 8628 device authorizations in flight.
//! * [`sessions`] — [`SessionStore`]: the developer portal's sessions and sign-ins.
//! * [`revocation`], [`subscription`] — the revocation channel the proxies listen to;
//!   [`follow`] — the loop that keeps a cache honest by it (proxy tokens, broker apps).
//! * [`keys`] — the only place Redis key names are built.
//! * [`redis`] — Redis, one node or a Redis Cluster, plain or TLS, through self-reconnecting
//!   connections with timeouts; multi-key updates are the Lua scripts in `redis/scripts/`, each
//!   within one hash slot. [`memory`] — the embedded
//!   single-process store of `tessera dev`. Both are split into files by the same concerns.

pub mod analytics;
pub mod behaviour;
pub mod catalog;
pub mod devices;
pub mod follow;
pub mod keys;
pub mod limits;
pub mod logins;
pub mod memory;
pub mod proofs;
pub mod redis;
pub mod revocation;
pub mod sessions;
pub mod subscription;
pub mod tokens;
pub mod upstream_logins;

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::{StoreConfig, StoreTarget};
use crate::error::StoreError;
pub use analytics::{AnalyticsStore, Memory, ANALYTICS_STREAMS_MAX};
pub use behaviour::BehaviourStore;
pub use catalog::{CatalogStore, CatalogTx, Cell, Table};
pub use devices::{DevicePoll, DeviceState, DeviceStatus, DeviceStore};
pub use limits::{AbuseRule, Backoff, Gcra, Lease, LimitKey, LimitStore, QuotaKey, RateVerdict};
pub use logins::{CodeClaim, LoginStore};
pub use proofs::ProofStore;
pub use revocation::{Announcement, BackoffNotice, Revocation, RevocationStream};
pub use sessions::SessionStore;
pub use tokens::{FamilyState, RotateRequest, Rotation, TokenStore};
pub use upstream_logins::{UpstreamKey, UpstreamLoginStore};

/// What both stores provide: every concern's trait, the readiness ping and the revocation
/// channel. Every method fails with [`StoreError::Unavailable`] rather than guessing when the
/// backend cannot answer.
#[async_trait]
pub trait Store:
    CatalogStore
    + TokenStore
    + LoginStore
    + ProofStore
    + UpstreamLoginStore
    + LimitStore
    + BehaviourStore
    + AnalyticsStore
    + SessionStore
    + DeviceStore
    + std::fmt::Debug
{
    /// Round trip to the backend (readiness).
    async fn ping(&self) -> Result<(), StoreError>;
    /// Subscribes to the revocation channel ([`revocation`]). Every store method that revokes
    /// (`token_delete` of an access token, `family_revoke`, a `catalog_commit` touching an app)
    /// announces it there itself.
    async fn revocations(&self) -> Result<RevocationStream, StoreError>;
}

/// Opens the store the configuration names — memory, one Redis or a Redis Cluster, over TLS
/// when the URLs say `rediss://` — the one entry point for every kind. Redis connects lazily: the service starts (and
/// reports not-ready) while Redis is down, and heals when it comes back.
pub fn open(cfg: &StoreConfig) -> Result<Arc<dyn Store>, StoreError> {
    match cfg.target() {
        StoreTarget::Memory => Ok(Arc::new(memory::MemoryStore::default())),
        _ => Ok(Arc::new(redis::RedisStore::open(cfg)?)),
    }
}
