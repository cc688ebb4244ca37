//! The Redis store, on one server or a Redis Cluster ([`conn`]): connections that reconnect by
//! themselves, with connection and response timeouts so that an outage turns into a quick
//! [`StoreError::Unavailable`] instead of a hung request. Scripts and durable writes go
//! through [`call`] (one hash slot per script; `WAIT` for `store.wait_replicas`).

use std::time::Duration;

use async_trait::async_trait;

mod analytics;
mod behaviour;
mod call;
mod catalog;
mod conn;
mod devices;
mod limits;
mod logins;
mod per_thread;
mod proofs;
mod pubsub;
mod sessions;
mod tokens;
mod upstream_logins;

use super::keys::KeySpace;
use super::subscription;
use super::{RevocationStream, Store};
use crate::config::StoreConfig;
use crate::error::StoreError;

/// One of the Lua scripts in `redis/scripts/`, compiled in.
macro_rules! script {
    ($name:literal) => {
        call::Lua::new(include_str!(concat!(
            "../../../../redis/scripts/",
            $name,
            ".lua"
        )))
    };
}

/// How long a revocation of a family not created yet is remembered (longer than a code lives).
const TOMBSTONE_SECS: u64 = 300;

/// About the most analytics events one XRANGE returns (about 1.7 MB); the page's count of
/// entries follows the events an entry holds. Longer reads take several.
const ANALYTICS_PAGE: usize = 5_000;

pub struct RedisStore {
    conn: conn::Conn,
    /// Kept to open the dedicated pub/sub connections of [`Store::revocations`].
    origin: conn::Origin,
    /// `WAIT` after durable writes (`store.wait_replicas` > 0).
    wait: Option<call::Wait>,
    connect_timeout: Duration,
    /// The deadline of the subscription's pings too.
    command_timeout: Duration,
    keys: KeySpace,
    catalog_commit: call::Lua,
    app_for_client: call::Lua,
    code_claim: call::Lua,
    refresh_rotate: call::Lua,
    family_revoke: call::Lua,
    token_delete: call::Lua,
    quota: call::Lua,
    gcra: call::Lua,
    backoff: call::Lua,
    abuse: call::Lua,
    abuse_signals: call::Lua,
    abuse_mark: call::Lua,
    device_step: call::Lua,
    device_poll: call::Lua,
    upstream_login_add: call::Lua,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold an ACL password: never print it.
        f.debug_struct("RedisStore")
            .field("keys", &self.keys)
            .finish()
    }
}

impl RedisStore {
    pub fn open(cfg: &StoreConfig) -> Result<Self, StoreError> {
        let (conn, origin) = conn::open(cfg)?;
        Ok(RedisStore {
            conn,
            origin,
            wait: (cfg.wait_replicas > 0).then_some(call::Wait {
                replicas: cfg.wait_replicas,
                timeout_ms: cfg.wait_timeout_ms,
            }),
            connect_timeout: Duration::from_millis(cfg.connect_timeout_ms),
            command_timeout: Duration::from_millis(cfg.command_timeout_ms),
            keys: KeySpace::new(&cfg.prefix),
            catalog_commit: script!("catalog_commit"),
            app_for_client: script!("app_for_client"),
            code_claim: script!("code_claim"),
            refresh_rotate: script!("refresh_rotate"),
            family_revoke: script!("family_revoke"),
            token_delete: script!("token_delete"),
            quota: script!("quota"),
            gcra: script!("gcra"),
            backoff: script!("backoff"),
            abuse: script!("abuse"),
            abuse_signals: script!("abuse_signals"),
            abuse_mark: script!("abuse_mark"),
            device_step: script!("device_step"),
            device_poll: script!("device_poll"),
            upstream_login_add: script!("upstream_login_add"),
        })
    }
}

#[async_trait]
impl Store for RedisStore {
    /// On a cluster, every master must answer (the cluster client sends PING to each).
    async fn ping(&self) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut c).await?;
        Ok(())
    }

    async fn revocations(&self) -> Result<RevocationStream, StoreError> {
        let mut pubsub = self.pubsub().await?;
        // A node that accepted the connection but froze must not hold the subscriber forever.
        let channel = self.keys.revocation_channel();
        tokio::time::timeout(self.command_timeout, pubsub.subscribe(channel))
            .await
            .map_err(|_| StoreError::Unavailable("SUBSCRIBE timed out".into()))??;
        // The stream ends when the connection drops or stops answering pings, which is what
        // tells the subscriber to flush.
        Ok(subscription::watch(pubsub, self.command_timeout))
    }
}

#[cfg(test)]
mod slot_tests;
