//! The in-process cache of validated opaque tokens, and the listener that keeps it honest.
//!
//! Entries are keyed by the token's keyed hash (the token itself is never held) and expire at
//! the token's own expiry or after `cache.max_ttl_secs`, whichever comes first, so an entry
//! never outlives its token. The broker's revocation announcements ([`Revocation`]) evict
//! entries at once: a token by hash, a login (family) or an app by scanning for its entries.
//!
//! Two rules keep a revoked token from surviving in the cache:
//! * the cache is only used while the revocation subscription is up; when the connection is
//!   lost — closed, silent to pings on itself, or Redis failing the heartbeat — everything is
//!   flushed and lookups go to the store until it is re-established;
//! * a lookup that raced an announcement does not insert: every announcement (and every flush)
//!   bumps an epoch, and a lookup inserts only if the epoch it started under is still current.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use moka::sync::Cache;
use serde::Deserialize;
use tessera_shared::store::{Revocation, Store};
use tessera_shared::time::now;

use crate::caller::Caller;
use crate::metrics::Metrics;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Cache validated tokens in process (off: every call looks its token up).
    pub enabled: bool,
    pub max_entries: u64,
    /// Longest an entry is kept, whatever the token's expiry.
    pub max_ttl_secs: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            enabled: true,
            max_entries: 200_000,
            max_ttl_secs: 300,
        }
    }
}

/// A cached validation: the caller (shared by every token that stands for the same thing, see
/// [`TokenCache::intern`]) and when this token expires.
#[derive(Debug, Clone)]
struct Entry {
    caller: Arc<Caller>,
    expires_at: i64,
}

struct UntilExpiry {
    max_ttl: Duration,
}

impl moka::Expiry<String, Entry> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &Entry,
        _created_at: Instant,
    ) -> Option<Duration> {
        let left = value.expires_at.saturating_sub(now()).max(0) as u64;
        Some(self.max_ttl.min(Duration::from_secs(left)))
    }
}

pub struct TokenCache {
    entries: Cache<String, Entry>,
    /// Callers by content, so that the many tokens of one app (client credentials) share one
    /// `Caller` instead of a copy each: about half of a cached token's memory.
    interned: Cache<u64, Arc<Caller>>,
    enabled: bool,
    /// The revocation subscription is up: only then is the cache trusted.
    live: AtomicBool,
    epoch: AtomicU64,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.entries.entry_count())
            .field("live", &self.live.load(Ordering::Relaxed))
            .finish()
    }
}

impl TokenCache {
    pub fn new(cfg: &CacheConfig) -> Self {
        let entries = Cache::builder()
            .max_capacity(cfg.max_entries)
            .expire_after(UntilExpiry {
                max_ttl: Duration::from_secs(cfg.max_ttl_secs),
            })
            .support_invalidation_closures()
            .build();
        TokenCache {
            entries,
            interned: Cache::builder()
                .max_capacity(10_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
            enabled: cfg.enabled,
            live: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
        }
    }

    fn usable(&self) -> bool {
        self.enabled && self.live.load(Ordering::Acquire)
    }

    pub fn get(&self, hash: &str) -> Option<Arc<Caller>> {
        if !self.usable() {
            return None;
        }
        self.entries
            .get(hash)
            .filter(|e| e.expires_at > now())
            .map(|e| e.caller)
    }

    /// The shared `Arc` of a caller equal to `c`, or a new one.
    pub fn intern(&self, c: Caller) -> Arc<Caller> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&c.client_id, &c.app_id, &c.sub, &c.family, &c.scopes).hash(&mut h);
        let key = h.finish();
        match self.interned.get(&key) {
            Some(shared) if *shared == c => shared,
            _ => {
                let fresh = Arc::new(c);
                self.interned.insert(key, fresh.clone());
                fresh
            }
        }
    }

    /// The epoch to pass back to [`TokenCache::insert`] after a lookup.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    pub fn insert(&self, hash: &str, caller: Arc<Caller>, expires_at: i64, epoch: u64) {
        if self.usable() && self.epoch() == epoch {
            let entry = Entry { caller, expires_at };
            self.entries.insert(hash.to_string(), entry);
            // An announcement may have landed between the check and the insert: undo.
            if self.epoch() != epoch {
                self.entries.invalidate(hash);
            }
        }
    }

    pub fn apply(&self, r: &Revocation) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let scan = |pred: Box<dyn Fn(&Caller) -> bool + Send + Sync>| {
            if self
                .entries
                .invalidate_entries_if(move |_, e| pred(&e.caller))
                .is_err()
            {
                // Closures are enabled at build time; should that ever fail, flush.
                self.entries.invalidate_all();
            }
        };
        if !matches!(r, Revocation::Token(_)) {
            // An app's standing or data changed: later lookups build fresh callers.
            self.interned.invalidate_all();
        }
        match r {
            Revocation::Token(hash) => self.entries.invalidate(hash.as_str()),
            Revocation::Family(f) => {
                let f = f.clone();
                scan(Box::new(move |c| c.family.as_deref() == Some(f.as_str())))
            }
            Revocation::App(a) => {
                let a = a.clone();
                scan(Box::new(move |c| {
                    c.app_id.is_some_and(|id| id.to_string() == a)
                }))
            }
        }
    }

    fn set_live(&self, live: bool) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.live.store(live, Ordering::Release);
        if !live {
            self.entries.invalidate_all();
            self.interned.invalidate_all();
        }
    }

    /// For a proxy without a store: nothing can announce revocations, so entries are trusted
    /// for at most `cache.max_ttl_secs`.
    pub fn trust_without_channel(&self) {
        self.live.store(true, Ordering::Release);
    }

    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    pub fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How often the listener checks that Redis still answers (on the command connection) while
/// subscribed. The subscription's own connection is pinged by the store
/// (`tessera_shared::store::subscription`): a silently dead subscription ends its stream within
/// 250 ms + `store.command_timeout_ms`.
const HEARTBEAT: Duration = Duration::from_millis(250);

/// Keeps the revocation subscription up for as long as the process runs: subscribe, apply
/// every announcement, and on loss flush and retry (backing off up to 2 s).
pub async fn listen(store: Arc<dyn Store>, cache: Arc<TokenCache>, metrics: Metrics) {
    let mut backoff = Duration::from_millis(50);
    loop {
        match store.revocations().await {
            Ok(mut stream) => {
                backoff = Duration::from_millis(50);
                cache.set_live(true);
                metrics.revocation_subscribed.set(1);
                tracing::info!("revocation channel subscribed; token cache enabled");
                // A killed Redis does not always end the subscription promptly: a heartbeat
                // on the store's command connection notices the outage within a beat.
                let mut beat = tokio::time::interval(HEARTBEAT);
                loop {
                    tokio::select! {
                        r = stream.next() => match r {
                            Some(r) => {
                                cache.apply(&r);
                                metrics.revocations.inc();
                            }
                            None => break,
                        },
                        _ = beat.tick() => {
                            if store.ping().await.is_err() {
                                break;
                            }
                        }
                    }
                }
                cache.set_live(false);
                metrics.revocation_subscribed.set(0);
                metrics.cache_flushes.inc();
                tracing::warn!("revocation channel lost; token cache flushed until it is back");
            }
            Err(e) => {
                tracing::debug!(error = %e, "revocation channel unavailable");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}
