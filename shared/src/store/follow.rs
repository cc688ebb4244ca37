//! Following the revocation channel: the one loop that keeps an in-process cache honest
//! (the proxy's token cache, the broker's app cache and its back-off suspects).
//!
//! Subscribe; while subscribed, hand every announcement to the [`Follower`] and check on the
//! store's command connection that Redis still answers (a killed Redis does not always end a
//! subscription promptly); when the subscription is lost, tell the follower (it flushes
//! everything and stops trusting itself) and retry, backing off up to 2 s.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use super::{Announcement, BackoffNotice, Revocation, Store};

/// A cache kept honest by the revocation channel.
pub trait Follower: Send + Sync {
    /// The subscription is up (`true`: the cache may be used) or lost (`false`: flush
    /// everything, and answer from the store until it is up again).
    fn set_live(&self, live: bool);
    /// One announcement: evict what it names.
    fn apply(&self, r: &Revocation);
    /// A failure back-off came into force (only brokers care; others ignore it).
    fn backoff(&self, _n: &BackoffNotice) {}
}

/// Several followers on one subscription (the broker's apps and back-off suspects).
pub struct Followers(pub Vec<Arc<dyn Follower>>);

impl std::fmt::Debug for Followers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Followers").field(&self.0.len()).finish()
    }
}

impl Follower for Followers {
    fn set_live(&self, live: bool) {
        self.0.iter().for_each(|f| f.set_live(live));
    }

    fn apply(&self, r: &Revocation) {
        self.0.iter().for_each(|f| f.apply(r));
    }

    fn backoff(&self, n: &BackoffNotice) {
        self.0.iter().for_each(|f| f.backoff(n));
    }
}

/// How often Redis is pinged on the command connection while subscribed. The subscription's
/// own connection is pinged by the store ([`super::subscription`]): a silently dead
/// subscription ends its stream within 250 ms + `store.command_timeout_ms`.
pub const HEARTBEAT: Duration = Duration::from_millis(250);

/// Keeps the subscription up for as long as the process runs (never returns).
pub async fn follow(store: Arc<dyn Store>, follower: Arc<dyn Follower>, what: &'static str) {
    let mut backoff = Duration::from_millis(50);
    loop {
        match store.revocations().await {
            Ok(mut stream) => {
                backoff = Duration::from_millis(50);
                follower.set_live(true);
                tracing::info!(cache = what, "revocation channel subscribed; cache enabled");
                let mut beat = tokio::time::interval(HEARTBEAT);
                loop {
                    tokio::select! {
                        r = stream.next() => match r {
                            Some(Announcement::Revoked(r)) => follower.apply(&r),
                            Some(Announcement::Backoff(n)) => follower.backoff(&n),
                            None => break,
                        },
                        _ = beat.tick() => {
                            if store.ping().await.is_err() {
                                break;
                            }
                        }
                    }
                }
                follower.set_live(false);
                tracing::warn!(
                    cache = what,
                    "revocation channel lost; cache flushed until it is back"
                );
            }
            Err(e) => {
                tracing::debug!(error = %e, "revocation channel unavailable");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}
