//! The embedded in-memory store: one process, no persistence. It is what `tessera dev` runs on,
//! and the conformance suite holds it to the same behaviour as Redis.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use tokio::sync::broadcast;

mod limits;

use super::limits::BackoffState;
use super::{
    Backoff, CatalogTx, CodeClaim, FamilyState, Gcra, LimitKey, QuotaKey, RateVerdict, Revocation,
    RevocationStream, RotateRequest, Rotation, Store, Table,
};
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
    revocations: broadcast::Sender<Revocation>,
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
    quotas: Expiring<u64>,
    /// GCRA theoretical arrival times (µs of the store's clock), by limiter and subject.
    rates: Expiring<u64>,
    backoffs: Expiring<BackoffState>,
    /// The grace-period record of each family's last rotation.
    graces: Expiring<Grace>,
    /// [`Store::mark_used`] markers.
    used: Expiring<()>,
    writes: u64,
    /// The analytics stream: (write time in Unix ms, event), oldest first, capped.
    analytics: std::collections::VecDeque<(i64, String)>,
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
        // No subscriber is not an error: nobody caches.
        let _ = self.revocations.send(r);
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

    async fn quota_take(&self, key: &QuotaKey<'_>, limit: u64) -> Result<(u64, bool), StoreError> {
        let mut g = self.lock()?;
        let id = format!("{}:{}:{}", key.subject, key.period, key.window_start);
        let ttl = (key.window_end - crate::time::now()).max(1) as u64 + 60;
        let n = g.quotas.get_mut(&id).copied().unwrap_or(0);
        if n >= limit {
            return Ok((n, false));
        }
        g.quotas.insert(&id, n + 1, ttl);
        if g.quotas.0.len() > 100_000 {
            g.quotas.sweep(Instant::now());
        }
        Ok((n + 1, true))
    }

    async fn rate_take(&self, key: &LimitKey<'_>, gcra: Gcra) -> Result<RateVerdict, StoreError> {
        self.gcra_take(key, gcra)
    }

    async fn backoff(
        &self,
        key: &LimitKey<'_>,
        policy: Backoff,
        fail: bool,
    ) -> Result<u64, StoreError> {
        self.backoff_take(key, policy, fail)
    }

    async fn catalog_get(&self, table: Table, field: &str) -> Result<Option<String>, StoreError> {
        let g = self.lock()?;
        Ok(g.tables.get(&table).and_then(|t| t.get(field)).cloned())
    }

    async fn catalog_values(&self, table: Table) -> Result<Vec<String>, StoreError> {
        let g = self.lock()?;
        Ok(g.tables
            .get(&table)
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn catalog_commit(&self, tx: &CatalogTx) -> Result<Option<usize>, StoreError> {
        let mut g = self.lock()?;
        for (i, c) in tx.checks.iter().enumerate() {
            let cur = g.tables.get(&c.table).and_then(|t| t.get(&c.field));
            if cur != c.value.as_ref() {
                return Ok(Some(i));
            }
        }
        for d in &tx.dels {
            if let Some(t) = g.tables.get_mut(&d.table) {
                t.remove(&d.field);
            }
        }
        for s in &tx.sets {
            if let Some(v) = &s.value {
                g.tables
                    .entry(s.table)
                    .or_default()
                    .insert(s.field.clone(), v.clone());
            }
        }
        drop(g);
        for app in tx.touched_apps() {
            self.announce(Revocation::App(app.to_string()));
        }
        Ok(None)
    }

    async fn app_for_client(&self, client_id: &str) -> Result<Option<String>, StoreError> {
        let g = self.lock()?;
        let app_id = g.tables.get(&Table::Clients).and_then(|t| t.get(client_id));
        Ok(app_id.and_then(|id| g.tables.get(&Table::Apps).and_then(|t| t.get(id)).cloned()))
    }

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

    async fn login_put(&self, state: &str, record: &str, ttl_secs: u64) -> Result<(), StoreError> {
        self.lock()?
            .logins
            .insert(state, record.to_string(), ttl_secs);
        Ok(())
    }

    async fn login_take(&self, state: &str) -> Result<Option<String>, StoreError> {
        Ok(self.lock()?.logins.take(state))
    }

    async fn code_put(&self, hash: &str, record: &str, ttl_secs: u64) -> Result<(), StoreError> {
        self.lock()?
            .codes
            .insert(hash, (record.to_string(), None), ttl_secs);
        Ok(())
    }

    async fn code_get(&self, hash: &str) -> Result<Option<String>, StoreError> {
        Ok(self.lock()?.codes.get_mut(hash).map(|(r, _)| r.clone()))
    }

    async fn code_claim(&self, hash: &str, family: &str) -> Result<CodeClaim, StoreError> {
        let mut g = self.lock()?;
        Ok(match g.codes.get_mut(hash) {
            None => CodeClaim::Gone,
            Some((_, Some(winner))) => CodeClaim::Replayed(winner.clone()),
            Some((_, used)) => {
                *used = Some(family.to_string());
                CodeClaim::Won
            }
        })
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

    async fn mark_used(&self, hash: &str, ttl_secs: u64) -> Result<bool, StoreError> {
        let mut g = self.lock()?;
        if g.used.get_mut(hash).is_some() {
            return Ok(false);
        }
        g.used.insert(hash, (), ttl_secs);
        Ok(true)
    }

    async fn analytics_append(&self, events: &[String], max_len: usize) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        let s = &mut g.analytics;
        // As Redis stream ids: the writer's clock, never going backwards within the stream.
        let stamp = s.back().map_or(0, |(t, _)| *t).max(crate::time::now_ms());
        for e in events {
            s.push_back((stamp, e.clone()));
        }
        while s.len() > max_len.max(1) {
            s.pop_front();
        }
        Ok(())
    }

    async fn analytics_range(
        &self,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let g = self.lock()?;
        // Stamps never decrease, so the range is found by binary search.
        let start = g.analytics.partition_point(|(t, _)| *t < from_ms);
        Ok(g.analytics
            .range(start..)
            .take_while(|(t, _)| *t <= to_ms)
            .take(limit)
            .map(|(_, e)| e.clone())
            .collect())
    }
}
