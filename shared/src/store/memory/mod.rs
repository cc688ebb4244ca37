//! The embedded in-memory store: one process, no persistence. It is what `tessera dev` runs on,
//! and the conformance suite holds it to the same behaviour as Redis.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use tokio::sync::broadcast;

mod analytics;
mod behaviour;
mod catalog;
mod devices;
mod limits;
mod logins;
mod proofs;
mod sessions;
mod tokens;
mod upstream_logins;

use super::limits::BackoffState;
use super::{Announcement, FamilyState, Revocation, RevocationStream, Store, Table};
use crate::error::StoreError;
use crate::token::TokenKind;

/// How many token writes between sweeps of expired entries.
const SWEEP_EVERY: u64 = 4096;

#[derive(Debug)]
pub struct MemoryStore {
    // A std (not tokio) mutex: it is never held across an `.await`, and every critical section
    // is a few map operations, so blocking briefly is cheaper than an async lock.
    inner: Mutex<Inner>,
    /// The revocation channel, in process. A subscriber that falls more than
    /// [`REVOCATION_BACKLOG`] behind loses its stream (and flushes), as with a lost Redis
    /// connection.
    revocations: broadcast::Sender<Announcement>,
    /// The start of the rate limiters' clock.
    created: Instant,
}

const REVOCATION_BACKLOG: usize = 4096;

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            inner: Mutex::default(),
            revocations: broadcast::channel(REVOCATION_BACKLOG).0,
            created: Instant::now(),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    tables: HashMap<Table, HashMap<String, String>>,
    tokens: HashMap<(u8, String), (String, Instant)>,
    logins: Expiring<String>,
    /// Code hash → (record, family of the redemption that won).
    codes: Expiring<(String, Option<String>)>,
    families: Expiring<FamilyState>,
    user_families: Expiring<std::collections::BTreeSet<String>>,
    /// [`super::UpstreamLoginStore`]: families by upstream session or subject.
    upstream_logins: Expiring<std::collections::BTreeSet<String>>,
    quotas: Expiring<u64>,
    /// GCRA theoretical arrival times (µs of the store's clock), by limiter and subject.
    rates: Expiring<u64>,
    backoffs: Expiring<BackoffState>,
    /// The abuse rule's refusal counts and blocks, by subject.
    abuse_counts: Expiring<u64>,
    abuse_blocks: Expiring<()>,
    /// The grace-period record of each family's last rotation.
    graces: Expiring<Grace>,
    /// [`super::LoginStore::mark_used`] markers.
    used: Expiring<()>,
    /// Device authorizations by device code hash, and user code hash → device code hash.
    devices: Expiring<devices::Device>,
    device_codes: Expiring<String>,
    /// Portal sessions (by cookie hash) and sign-ins in progress (by state).
    sessions: Expiring<String>,
    signins: Expiring<String>,
    /// [`super::ProofStore`] records: DPoP proofs seen.
    proofs: Expiring<()>,
    writes: u64,
    /// The analytics shards: per shard, entries (write time in Unix ms, packed events), oldest
    /// first, capped.
    analytics: HashMap<usize, std::collections::VecDeque<(i64, Vec<String>)>>,
}

/// What a rotation leaves for a retry within the grace period (`refresh_rotate.lua`'s KEYS[2]).
#[derive(Debug)]
struct Grace {
    prev: String,
    client: String,
    sealed: String,
}

/// A map whose entries vanish at their deadline, as Redis keys with a TTL do.
#[derive(Debug)]
struct Expiring<V>(HashMap<String, (V, Instant)>);

impl<V> Default for Expiring<V> {
    fn default() -> Self {
        Expiring(HashMap::new())
    }
}

impl<V> Expiring<V> {
    fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        let now = Instant::now();
        if self.0.get(key).is_some_and(|(_, exp)| *exp <= now) {
            self.0.remove(key);
        }
        self.0.get_mut(key).map(|(v, _)| v)
    }

    fn insert(&mut self, key: &str, value: V, ttl_secs: u64) {
        self.insert_for(key, value, Duration::from_secs(ttl_secs.max(1)));
    }

    fn insert_for(&mut self, key: &str, value: V, ttl: Duration) {
        let exp = Instant::now() + ttl;
        self.0.insert(key.to_string(), (value, exp));
    }

    fn take(&mut self, key: &str) -> Option<V> {
        let (v, exp) = self.0.remove(key)?;
        (exp > Instant::now()).then_some(v)
    }

    fn sweep(&mut self, now: Instant) {
        self.0.retain(|_, (_, exp)| *exp > now);
    }
}

impl Expiring<()> {
    /// Marks `key` for `ttl_secs`: `true` when no live mark was there (Redis' `SET NX EX`).
    fn mark(&mut self, key: &str, ttl_secs: u64) -> bool {
        if self.get_mut(key).is_some() {
            return false;
        }
        self.insert(key, (), ttl_secs);
        true
    }
}

fn class(kind: TokenKind) -> u8 {
    kind as u8
}

impl MemoryStore {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, StoreError> {
        // A poisoned lock means a thread panicked mid-update; the maps are plain data and every
        // update below is applied only after all its checks, so the data is still consistent.
        Ok(self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn announce(&self, r: Revocation) {
        self.announce_any(Announcement::Revoked(r));
    }

    fn announce_any(&self, a: Announcement) {
        // No subscriber is not an error: nobody caches.
        let _ = self.revocations.send(a);
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn revocations(&self) -> Result<RevocationStream, StoreError> {
        let rx = self.revocations.subscribe();
        // Lagging behind ends the stream, like a lost connection: the subscriber flushes.
        Ok(Box::pin(futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.ok().map(|r| (r, rx)) },
        )))
    }
}
