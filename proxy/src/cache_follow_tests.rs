//! The order in which the proxy's revocation follower hands out an announcement
//! ([`super::listen`]): the apps kept in process first, the token cache after. A caller is
//! built from the app it read; were the token cache told first, a lookup in between would cache
//! a caller built from the app before its change, and nothing would evict it again.

#![allow(clippy::unwrap_used)]

use std::sync::Mutex;

use uuid::Uuid;

use super::*;

const KEY: u128 = 42;

/// An apps follower that notes, for each announcement, whether the token cache still held the
/// caller built from the app when the apps heard of it.
struct Probe {
    cache: Arc<TokenCache>,
    seen: Mutex<Vec<bool>>,
}

impl Follower for Probe {
    fn set_live(&self, _: bool) {}

    fn apply(&self, _: &Revocation) {
        self.seen
            .lock()
            .unwrap()
            .push(self.cache.get(KEY).is_some());
    }
}

#[test]
fn the_apps_hear_an_announcement_before_the_token_cache() {
    let cache = Arc::new(TokenCache::new(&CacheConfig::default()));
    let probe = Arc::new(Probe {
        cache: cache.clone(),
        seen: Mutex::new(Vec::new()),
    });
    let follower = followers(cache.clone(), Metrics::new().unwrap(), Some(probe.clone()));
    follower.set_live(true);
    let app = Uuid::from_u128(7);
    let caller = cache.intern(Caller {
        app_id: Some(app),
        ..Caller::default()
    });
    cache.insert(KEY, caller, i64::MAX / 2_000, cache.epoch());
    assert!(cache.get(KEY).is_some(), "cached while the channel is up");
    follower.apply(&Revocation::App(app.to_string()));
    // The apps heard first (the caller still cached then), and the token cache after.
    assert_eq!(*probe.seen.lock().unwrap(), vec![true]);
    assert!(cache.get(KEY).is_none());
}
