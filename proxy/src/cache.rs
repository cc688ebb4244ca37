//! The in-process cache of validated opaque tokens, and the listener that keeps it honest.
//!
//! Entries are keyed by the first 16 bytes of the token's keyed hash (the token itself is never
//! held; [`tessera_shared::cache::table`]) and expire at the token's own expiry or after
//! `cache.max_ttl_secs`, whichever comes first, so an entry never outlives its token. The
//! broker's revocation announcements ([`Revocation`]) evict entries at once: a token by hash, a
//! login (family) or an app by scanning for its entries.
//!
//! Well-formed tokens the store does not know are remembered for `cache.negative_ttl_ms`
//! (at most 2 s, by the same key), so that repeating one costs no lookup (issue 11, P5). The
//! broker does not announce issuance, so this is safe only because a token cannot be
//! presented before it is issued (256 random bits); and, should an app change ever make a
//! refused token good again, any app or login announcement empties the negative entries.
//!
//! Two rules keep a revoked token from surviving in the cache, shared with the broker's
//! introspection cache ([`Honesty`]): the cache is only used while the revocation subscription
//! is up (everything is flushed when it is lost), and a lookup that raced an announcement does
//! not insert (the epoch rule).

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;
use serde::Deserialize;
use tessera_shared::cache::honest::Honesty;
use tessera_shared::cache::table::{key_of, Table};
use tessera_shared::store::follow::{follow, Follower, Followers};
use tessera_shared::store::{Revocation, Store};
use tessera_shared::time::now_ms;

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
    /// How long a well-formed token the store does not know is answered `401` without another
    /// lookup (0: never). At most [`MAX_NEGATIVE_TTL_MS`].
    pub negative_ttl_ms: u64,
    /// The most unknown tokens remembered at once.
    pub negative_max_entries: u64,
}

/// The bound on `cache.negative_ttl_ms`: the broker does not announce issuance, so this is how
/// long a token could be refused after the store first did not know it.
pub const MAX_NEGATIVE_TTL_MS: u64 = 2_000;

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            enabled: true,
            max_entries: 200_000,
            max_ttl_secs: 300,
            negative_ttl_ms: 1_000,
            negative_max_entries: 100_000,
        }
    }
}

pub struct TokenCache {
    /// Validated tokens by [`key_of`] their keyed hash: the caller (shared by every token that
    /// stands for the same thing, see [`TokenCache::intern`]) until min(the token's expiry,
    /// now + `max_ttl`), in ms.
    entries: Table<Arc<Caller>>,
    /// Well-formed tokens the store did not know, for `negative_ttl` (issue 11, P5).
    unknown: Table<()>,
    /// Callers by content, so that the many tokens of one app (client credentials) share one
    /// `Caller` instead of a copy each.
    interned: Cache<u64, Arc<Caller>>,
    max_ttl_ms: i64,
    negative_ttl_ms: i64,
    /// Enabled, the subscription-up flag and the epoch.
    honesty: Honesty,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.entries.len())
            .field("live", &self.honesty.is_live())
            .finish()
    }
}

impl TokenCache {
    pub fn new(cfg: &CacheConfig) -> Self {
        let ms = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        TokenCache {
            entries: Table::new(cfg.max_entries),
            unknown: Table::new(cfg.negative_max_entries),
            interned: Cache::builder()
                .max_capacity(10_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
            max_ttl_ms: ms(cfg.max_ttl_secs.saturating_mul(1000)),
            negative_ttl_ms: ms(cfg.negative_ttl_ms.min(MAX_NEGATIVE_TTL_MS)),
            honesty: Honesty::new(cfg.enabled),
        }
    }

    fn usable(&self) -> bool {
        self.honesty.usable()
    }

    /// Lookups are answered from the cache and their results kept (enabled, and the
    /// revocation channel up).
    pub fn is_used(&self) -> bool {
        self.usable()
    }

    /// The cached caller of the token whose keyed hash has this [`key_of`].
    pub fn get(&self, key: u128) -> Option<Arc<Caller>> {
        self.get_at(key, now_ms())
    }

    /// [`TokenCache::get`] at `now_ms` (Unix ms): a call's time, read once per call.
    pub fn get_at(&self, key: u128, now_ms: i64) -> Option<Arc<Caller>> {
        if !self.usable() {
            return None;
        }
        self.entries.get(key, now_ms)
    }

    /// The store did not know this token less than `negative_ttl` ago.
    pub fn known_unknown(&self, key: u128) -> bool {
        self.usable() && self.negative_ttl_ms > 0 && self.unknown.get(key, now_ms()).is_some()
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
        self.honesty.epoch()
    }

    /// Caches a lookup's caller until `expires_at` (seconds) or `max_ttl`, unless an
    /// announcement or a flush came since the lookup started (`epoch`).
    pub fn insert(&self, key: u128, caller: Arc<Caller>, expires_at: i64, epoch: u64) {
        // Not kept (off, or the channel down): no clock read for it (issue 11, P2).
        if !self.usable() {
            return;
        }
        let at = now_ms();
        let until = expires_at
            .saturating_mul(1000)
            .min(at.saturating_add(self.max_ttl_ms));
        self.honesty
            .settle(&self.entries, key, caller, until, epoch);
    }

    /// Remembers that the store did not know this token (same epoch rule as `insert`).
    pub fn insert_unknown(&self, key: u128, epoch: u64) {
        if self.negative_ttl_ms > 0 && self.usable() {
            let until = now_ms().saturating_add(self.negative_ttl_ms);
            self.honesty.settle(&self.unknown, key, (), until, epoch);
        }
    }

    pub fn apply(&self, r: &Revocation) {
        self.honesty.bump();
        if !matches!(r, Revocation::Token(_)) {
            // An app's standing or data changed: later lookups build fresh callers, and
            // refusals are looked up again.
            self.interned.invalidate_all();
            self.unknown.clear();
        }
        match r {
            Revocation::Token(hash) => self.entries.remove(key_of(hash)),
            Revocation::Family(f) => self
                .entries
                .remove_if(|c| c.family.as_deref() == Some(f.as_str())),
            Revocation::App(a) => self
                .entries
                .remove_if(|c| c.app_id.is_some_and(|id| id.to_string() == *a)),
        }
    }

    fn set_live(&self, live: bool) {
        self.honesty.set_live(live);
        if !live {
            self.entries.clear();
            self.unknown.clear();
            self.interned.invalidate_all();
        }
    }

    /// For a proxy without a store: nothing can announce revocations, so entries are trusted
    /// for at most `cache.max_ttl_secs`.
    pub fn trust_without_channel(&self) {
        self.honesty.trust_without_channel();
    }

    pub fn is_live(&self) -> bool {
        self.honesty.is_live()
    }

    /// Cached tokens (expired ones not yet swept included).
    pub fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The token cache and the proxy's counters, as the revocation channel's follower.
struct Followed {
    cache: Arc<TokenCache>,
    metrics: Metrics,
}

impl Follower for Followed {
    fn set_live(&self, live: bool) {
        self.cache.set_live(live);
        self.metrics.revocation_subscribed.set(i64::from(live));
        if !live {
            self.metrics.cache_flushes.inc();
        }
    }

    fn apply(&self, r: &Revocation) {
        self.cache.apply(r);
        self.metrics.revocations.inc();
    }
}

/// Keeps the revocation subscription up for as long as the process runs
/// ([`tessera_shared::store::follow`]): apply every announcement, flush on loss. `apps` (the
/// apps kept in process, which token lookups build callers from) follow the same subscription
/// and hear each announcement first, so no lookup can cache a caller built from an app the
/// token cache has already heard is changed.
pub async fn listen(
    store: Arc<dyn Store>,
    cache: Arc<TokenCache>,
    metrics: Metrics,
    apps: Option<Arc<dyn Follower>>,
) {
    follow(store, followers(cache, metrics, apps), "tokens").await
}

/// The token cache's follower, after `apps` when there are apps to follow.
fn followers(
    cache: Arc<TokenCache>,
    metrics: Metrics,
    apps: Option<Arc<dyn Follower>>,
) -> Arc<dyn Follower> {
    let tokens: Arc<dyn Follower> = Arc::new(Followed { cache, metrics });
    match apps {
        Some(apps) => Arc::new(Followers(vec![apps, tokens])),
        None => tokens,
    }
}

#[cfg(test)]
#[path = "cache_follow_tests.rs"]
mod follow_tests;
