//! The Redis store: one multiplexed connection per process, managed so that it reconnects by
//! itself, with connection and response timeouts so that an outage turns into a quick
//! [`StoreError::Unavailable`] instead of a hung request.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;

mod analytics;
mod catalog;
mod limits;
mod logins;
mod sessions;
mod tokens;

use super::keys::KeySpace;
use super::subscription;
use super::{RevocationStream, Store};
use crate::config::StoreConfig;
use crate::error::StoreError;

/// One of the Lua scripts in `redis/scripts/`, compiled in.
macro_rules! script {
    ($name:literal) => {
        Script::new(include_str!(concat!(
            "../../../../redis/scripts/",
            $name,
            ".lua"
        )))
    };
}

/// How long a revocation of a family not created yet is remembered (longer than a code lives).
const TOMBSTONE_SECS: u64 = 300;

/// Most analytics entries one XRANGE returns (about 1.7 MB); longer reads take several.
const ANALYTICS_PAGE: usize = 5_000;

pub struct RedisStore {
    /// Kept to open the dedicated pub/sub connections of [`Store::revocations`].
    client: redis::Client,
    conn: ConnectionManager,
    connect_timeout: Duration,
    /// The deadline of the subscription's pings too.
    command_timeout: Duration,
    keys: KeySpace,
    catalog_commit: Script,
    app_for_client: Script,
    code_claim: Script,
    refresh_rotate: Script,
    family_revoke: Script,
    quota: Script,
    gcra: Script,
    backoff: Script,
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
        let info = redis::IntoConnectionInfo::into_connection_info(cfg.url.as_str())?
            .set_tcp_settings(subscription::tcp_settings());
        let client = redis::Client::open(info)?;
        let timeout = Duration::from_millis(cfg.command_timeout_ms);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(cfg.connect_timeout_ms)))
            .set_response_timeout(Some(timeout))
            // Reconnection is retried in the background; requests made meanwhile fail fast.
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        Ok(RedisStore {
            client,
            conn,
            connect_timeout: Duration::from_millis(cfg.connect_timeout_ms),
            command_timeout: timeout,
            keys: KeySpace::new(&cfg.prefix),
            catalog_commit: script!("catalog_commit"),
            app_for_client: script!("app_for_client"),
            code_claim: script!("code_claim"),
            refresh_rotate: script!("refresh_rotate"),
            family_revoke: script!("family_revoke"),
            quota: script!("quota"),
            gcra: script!("gcra"),
            backoff: script!("backoff"),
        })
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut c).await?;
        Ok(())
    }

    async fn revocations(&self) -> Result<RevocationStream, StoreError> {
        let connect = self.client.get_async_pubsub();
        let mut pubsub = tokio::time::timeout(self.connect_timeout, connect)
            .await
            .map_err(|_| StoreError::Unavailable("pub/sub connection timed out".into()))??;
        pubsub.subscribe(self.keys.revocation_channel()).await?;
        // The stream ends when the connection drops or stops answering pings, which is what
        // tells the subscriber to flush.
        Ok(subscription::watch(pubsub, self.command_timeout))
    }
}
