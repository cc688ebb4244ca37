//! Introspection answered from the broker's memory (issue 11, P4): the records of active access
//! tokens, by the first 16 bytes of the token's keyed hash (as the proxy keys its cache; the
//! token itself is never held), until min(the token's expiry, `introspection_cache.max_ttl_secs`).
//! Only introspection reads it (`Tokens::introspected`); revocation, refresh and token exchange
//! always read the store.
//!
//! An entry holds the record as stored, its granted scope uncut: a hit re-applies every check
//! that does not come through an announcement (expiry now, the app's current standing and
//! credential, its current scopes) against the apps kept in process. What an announcement
//! says — a token, a login (family) or an app revoked — evicts entries:
//!
//! * kept honest exactly as the proxy's token cache, by the same code
//!   ([`tessera_shared::cache`]): used only while the revocation subscription is up (flushed
//!   when it is lost), and a lookup that raced an announcement does not insert;
//! * a revocation made by this broker evicts here before its answer
//!   ([`IntrospectionCache::forget_token`], [`IntrospectionCache::forget_family`], called by
//!   `Tokens` after the store's write), not when its own announcement comes back; app changes made here reach the apps kept in
//!   process at once, and every hit reads its app from there. Other brokers hear it on the
//!   channel (within 1 s, the proxy's promise).
//!
//! Unknown and inactive tokens are not cached. Off without the apps kept in process (the
//! hit's checks need them) or with `introspection_cache.enabled = false`.

use std::sync::Arc;

use prometheus::IntCounter;
use tessera_shared::cache::honest::Honesty;
use tessera_shared::cache::table::{key_of, Table};
use tessera_shared::model::TokenRecord;
use tessera_shared::store::follow::Follower;
use tessera_shared::store::Revocation;
use tessera_shared::time::now_ms;
use uuid::Uuid;

use crate::config::IntrospectionCacheConfig;

/// Counters of the cache's answers (`tessera_introspection_cache_total{result}`).
#[derive(Debug, Clone)]
pub struct CacheCounters {
    pub hits: IntCounter,
    pub misses: IntCounter,
}

pub struct IntrospectionCache {
    entries: Table<Arc<TokenRecord>>,
    honesty: Honesty,
    max_ttl_ms: i64,
    counters: CacheCounters,
}

impl std::fmt::Debug for IntrospectionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntrospectionCache")
            .field("entries", &self.entries.len())
            .field("live", &self.honesty.is_live())
            .finish()
    }
}

impl IntrospectionCache {
    /// `apps_in_process`: the catalog keeps apps in process (without them, the cache is off).
    pub fn new(
        cfg: &IntrospectionCacheConfig,
        apps_in_process: bool,
        counters: CacheCounters,
    ) -> Self {
        IntrospectionCache {
            entries: Table::new(cfg.max_entries),
            honesty: Honesty::new(cfg.enabled && apps_in_process),
            max_ttl_ms: i64::try_from(cfg.max_ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
            counters,
        }
    }

    /// The record cached under `key` (a hit), or `None` (a miss: look it up, then
    /// [`IntrospectionCache::insert`] with the epoch read before).
    pub fn get(&self, key: u128) -> Option<Arc<TokenRecord>> {
        if !self.honesty.usable() {
            return None;
        }
        let found = self.entries.get(key, now_ms());
        match found {
            Some(_) => self.counters.hits.inc(),
            None => self.counters.misses.inc(),
        }
        found
    }

    /// The epoch to pass back to [`IntrospectionCache::insert`] after a lookup.
    pub fn epoch(&self) -> u64 {
        self.honesty.epoch()
    }

    /// Keeps an active token's record until its expiry or `max_ttl`, unless an announcement or
    /// a flush came since the lookup started (`epoch`).
    pub fn insert(&self, key: u128, record: Arc<TokenRecord>, epoch: u64) {
        let until = record
            .exp
            .saturating_mul(1000)
            .min(now_ms().saturating_add(self.max_ttl_ms));
        self.honesty
            .settle(&self.entries, key, record, until, epoch);
    }

    /// Forgets a token by its keyed hash (text form, as announced): revoked by this broker.
    pub fn forget_token(&self, hash: &str) {
        self.honesty.bump();
        self.entries.remove(key_of(hash));
    }

    /// Forgets every token of a login: revoked by this broker.
    pub fn forget_family(&self, family: &str) {
        self.honesty.bump();
        self.entries
            .remove_if(|r| r.family.as_deref() == Some(family));
    }

    /// Cached tokens (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Follower for IntrospectionCache {
    fn set_live(&self, live: bool) {
        self.honesty.set_live(live);
        if !live {
            self.entries.clear();
        }
    }

    fn apply(&self, r: &Revocation) {
        match r {
            Revocation::Token(hash) => self.forget_token(hash),
            Revocation::Family(f) => self.forget_family(f),
            Revocation::App(a) => {
                self.honesty.bump();
                match Uuid::parse_str(a) {
                    Ok(id) => self.entries.remove_if(|r| r.app_id == id),
                    // Not an app id this broker wrote: forget everything rather than guess.
                    Err(_) => self.entries.clear(),
                }
            }
        }
    }
}
