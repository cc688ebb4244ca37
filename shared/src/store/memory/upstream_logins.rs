//! In-memory index of logins by upstream session and subject (as `upstream_login_add.lua`).

use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::store::upstream_logins::ENDED;
use crate::store::{UpstreamKey, UpstreamLoginStore};

impl MemoryStore {
    /// Adds `member` under `key` for at least `ttl_secs`; whether the entry is marked ended.
    fn upstream_add(
        &self,
        key: UpstreamKey<'_>,
        member: &str,
        ttl_secs: u64,
    ) -> Result<bool, StoreError> {
        let key = key.canonical();
        let mut g = self.lock()?;
        let now = Instant::now();
        let wanted = now + Duration::from_secs(ttl_secs.max(1));
        let (mut set, exp) = match g.upstream_logins.0.remove(&key) {
            Some((set, exp)) if exp > now => (set, exp.max(wanted)),
            _ => (Default::default(), wanted),
        };
        set.insert(member.to_string());
        let ended = set.contains(ENDED);
        g.upstream_logins.0.insert(key, (set, exp));
        Ok(ended)
    }
}

#[async_trait]
impl UpstreamLoginStore for MemoryStore {
    async fn upstream_login_add(
        &self,
        key: UpstreamKey<'_>,
        family: &str,
        ttl_secs: u64,
    ) -> Result<bool, StoreError> {
        self.upstream_add(key, family, ttl_secs)
    }

    async fn upstream_logins_end(
        &self,
        key: UpstreamKey<'_>,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        self.upstream_add(key, ENDED, ttl_secs).map(|_| ())
    }

    async fn upstream_logins(&self, key: UpstreamKey<'_>) -> Result<Vec<String>, StoreError> {
        Ok(self
            .lock()?
            .upstream_logins
            .get_mut(&key.canonical())
            .map(|s| s.iter().filter(|f| *f != ENDED).cloned().collect())
            .unwrap_or_default())
    }

    async fn upstream_logins_forget(
        &self,
        key: UpstreamKey<'_>,
        families: &[String],
    ) -> Result<(), StoreError> {
        let key = key.canonical();
        let mut g = self.lock()?;
        if let Some(set) = g.upstream_logins.get_mut(&key) {
            for f in families {
                set.remove(f);
            }
            if set.is_empty() {
                g.upstream_logins.0.remove(&key);
            }
        }
        Ok(())
    }
}
