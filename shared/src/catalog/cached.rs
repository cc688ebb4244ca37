//! Apps in process, for the broker's client authentication and introspection (issue 11,
//! P3/P4): a `client_credentials` issuance or an introspection then skips the store round
//! trip that reads the client's app.
//!
//! Kept honest exactly as the proxy's token cache is ([`crate::store::follow`]): every catalog
//! change that writes or deletes an app (secrets added, rotated or revoked, scopes, status,
//! deletion, a developer's deletion) announces the app on the revocation channel inside the
//! same transaction, and the announcement evicts it here; the cache is used only while the
//! subscription is up and is flushed when it is lost; a lookup that raced an announcement does
//! not insert (the epoch rule). Changes made through this process are evicted at once, before
//! the admin call answers, not when their announcement comes back. Unknown client ids are not
//! cached (a new app is not announced before it exists).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use uuid::Uuid;

use crate::model::App;
use crate::store::follow::Follower;
use crate::store::Revocation;

/// The most apps kept (by client id and by id); past it, lookups go to the store.
pub const MAX_APPS: usize = 10_000;

#[derive(Debug, Default)]
struct Maps {
    by_client: HashMap<String, Arc<App>>,
    by_id: HashMap<Uuid, Arc<App>>,
}

#[derive(Debug, Default)]
pub struct AppCache {
    maps: RwLock<Maps>,
    live: AtomicBool,
    epoch: AtomicU64,
}

impl AppCache {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Maps> {
        self.maps.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Maps> {
        self.maps.write().unwrap_or_else(|p| p.into_inner())
    }

    fn live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    pub fn by_client(&self, client_id: &str) -> Option<App> {
        self.by_client_shared(client_id).map(|a| App::clone(&a))
    }

    /// [`AppCache::by_client`] without copying the app (client authentication's per-call read).
    pub fn by_client_shared(&self, client_id: &str) -> Option<Arc<App>> {
        self.live()
            .then(|| self.read().by_client.get(client_id).cloned())
            .flatten()
    }

    pub fn by_id(&self, id: Uuid) -> Option<App> {
        self.by_id_shared(id).map(|a| App::clone(&a))
    }

    /// [`AppCache::by_id`] without copying the app (the token lookup's per-call read).
    pub fn by_id_shared(&self, id: Uuid) -> Option<Arc<App>> {
        self.live()
            .then(|| self.read().by_id.get(&id).cloned())
            .flatten()
    }

    /// The epoch to pass back to the inserts after a store lookup.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Keeps `app` (found by `client_id`, or by id when `None`) unless an announcement or a
    /// flush came since the lookup started under `epoch`.
    pub fn insert(&self, client_id: Option<&str>, app: &App, epoch: u64) {
        if !self.live() || self.epoch() != epoch {
            return;
        }
        let shared = Arc::new(app.clone());
        {
            let mut m = self.write();
            if self.epoch() != epoch {
                return;
            }
            match client_id {
                Some(c) if m.by_client.len() < MAX_APPS => {
                    m.by_client.insert(c.to_string(), shared);
                }
                None if m.by_id.len() < MAX_APPS => {
                    m.by_id.insert(app.id, shared);
                }
                _ => {}
            }
        }
        // An announcement may have landed between the check and the insert: undo.
        if self.epoch() != epoch {
            self.evict(app.id);
        }
    }

    /// Forgets one app (a change to it, announced or made by this process).
    pub fn evict(&self, id: Uuid) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let mut m = self.write();
        m.by_id.remove(&id);
        m.by_client.retain(|_, a| a.id != id);
    }

    /// Forgets every app (an app this process changed whose id it cannot read).
    pub fn forget_all(&self) {
        self.flush();
    }

    fn flush(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        *self.write() = Maps::default();
    }
}

impl Follower for AppCache {
    fn set_live(&self, live: bool) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.live.store(live, Ordering::Release);
        if !live {
            self.flush();
        }
    }

    fn apply(&self, r: &Revocation) {
        if let Revocation::App(a) = r {
            match Uuid::parse_str(a) {
                Ok(id) => self.evict(id),
                // Not an app id this broker wrote: forget everything rather than guess.
                Err(_) => self.flush(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(name: &str) -> App {
        serde_json::from_value(serde_json::json!({
            "id": Uuid::new_v4(), "developer_id": Uuid::new_v4(), "name": name,
            "redirect_uris": [], "credentials": [], "status": "approved", "scopes": [],
            "grant_types": [], "generation": 0, "created_at": 0, "updated_at": 0
        }))
        .expect("an app")
    }

    #[test]
    fn used_only_while_live_evicted_by_announcement_and_by_a_race() {
        let c = AppCache::default();
        let a = app("a");
        c.insert(Some("cid"), &a, c.epoch());
        assert!(c.by_client("cid").is_none(), "not live: nothing kept");
        c.set_live(true);
        c.insert(Some("cid"), &a, c.epoch());
        c.insert(None, &a, c.epoch());
        assert_eq!(c.by_client("cid").map(|x| x.id), Some(a.id));
        assert_eq!(c.by_id(a.id).map(|x| x.id), Some(a.id));
        c.apply(&Revocation::App(a.id.to_string()));
        assert!(c.by_client("cid").is_none() && c.by_id(a.id).is_none());
        // A lookup that started before an announcement does not insert.
        let e = c.epoch();
        c.apply(&Revocation::App(Uuid::new_v4().to_string()));
        c.insert(Some("cid"), &a, e);
        assert!(c.by_client("cid").is_none());
        c.insert(Some("cid"), &a, c.epoch());
        c.set_live(false);
        c.set_live(true);
        assert!(
            c.by_client("cid").is_none(),
            "flushed when the channel was lost"
        );
    }
}
