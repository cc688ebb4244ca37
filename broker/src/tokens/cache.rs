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
//!   channel (a channel dead silently is noticed within 250 ms + `store.command_timeout_ms`,
//!   the proxy's bound).
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn counters() -> CacheCounters {
        CacheCounters {
            hits: IntCounter::new("h", "h").unwrap(),
            misses: IntCounter::new("m", "m").unwrap(),
        }
    }

    fn record(app: Uuid, family: Option<&str>, exp: i64) -> Arc<TokenRecord> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "client_id": "c", "app_id": app, "developer_id": Uuid::nil(),
                "app_generation": 0, "grant": "client_credentials", "scope": ["read"],
                "iat": 0, "exp": exp, "family": family,
            }))
            .unwrap(),
        )
    }

    fn live(cfg: &IntrospectionCacheConfig) -> IntrospectionCache {
        let c = IntrospectionCache::new(cfg, true, counters());
        c.set_live(true);
        c
    }

    const FAR: i64 = i64::MAX / 2_000;

    #[test]
    fn off_without_apps_in_process_or_without_the_channel() {
        let cfg = IntrospectionCacheConfig::default();
        let no_apps = IntrospectionCache::new(&cfg, false, counters());
        no_apps.set_live(true);
        no_apps.insert(1, record(Uuid::nil(), None, FAR), no_apps.epoch());
        assert!(no_apps.get(1).is_none() && no_apps.is_empty());
        let c = live(&cfg);
        c.insert(1, record(Uuid::nil(), None, FAR), c.epoch());
        assert!(c.get(1).is_some());
        c.set_live(false);
        assert!(c.is_empty(), "flushed when the channel is lost");
        c.set_live(true);
        assert!(c.get(1).is_none());
    }

    #[test]
    fn kept_until_the_token_expires_or_max_ttl() {
        let c = live(&IntrospectionCacheConfig::default());
        let now = now_ms() / 1000;
        c.insert(1, record(Uuid::nil(), None, now - 1), c.epoch());
        assert!(c.get(1).is_none(), "an expired token is not answered");
        let short = live(&IntrospectionCacheConfig {
            max_ttl_secs: 0,
            ..Default::default()
        });
        short.insert(2, record(Uuid::nil(), None, FAR), short.epoch());
        assert!(short.get(2).is_none(), "max_ttl bounds a long-lived token");
    }

    #[test]
    fn announcements_evict_what_they_name() {
        let c = live(&IntrospectionCacheConfig::default());
        let (app, other) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let hash = "a".repeat(43);
        let key = key_of(&hash);
        c.insert(key, record(other, None, FAR), c.epoch());
        c.insert(2, record(other, Some("f1"), FAR), c.epoch());
        c.insert(3, record(app, None, FAR), c.epoch());
        c.insert(4, record(other, None, FAR), c.epoch());
        c.apply(&Revocation::Token(hash));
        c.apply(&Revocation::Family("f1".into()));
        c.apply(&Revocation::App(app.to_string()));
        assert!(c.get(key).is_none() && c.get(2).is_none() && c.get(3).is_none());
        assert!(c.get(4).is_some(), "another app's token stays");
        // A lookup that started before an announcement does not insert.
        let e = c.epoch();
        c.apply(&Revocation::App(Uuid::from_u128(9).to_string()));
        c.insert(5, record(other, None, FAR), e);
        assert!(c.get(5).is_none());
        // An app id this broker cannot read: everything goes.
        c.apply(&Revocation::App("not-an-id".into()));
        assert!(c.is_empty());
    }
}
