//! Issue 11, P4: the broker answers introspection from the active tokens it keeps in process
//! (`broker/src/tokens/cache.rs`), and no revocation outlives it: at the same broker at once,
//! at another as soon as the channel brings it (within 1 s), and nothing stale once the
//! revocation channel is lost (noticed, when it dies silently, within 250 ms +
//! `store.command_timeout_ms`).
//!
//! Each test first sees a token answered from memory (the `hit` counter), so that the rule it
//! checks is the cache's, not the store's. Where a test must tell a local eviction from the
//! announcement coming back, the broker's Redis connections go through a relay
//! (`gateway/relay.rs`) that freezes its subscription: its echo never arrives, and the
//! broker notices the silence only after its ping times out (hundreds of ms later).
//!
//! * `answers` — a cached answer is the store's, to every client that may ask.
//! * `here` — revocations, scope and credential changes made at the same broker.
//! * `ended_here` — reuse detection, a user's logins revoked, a developer suspended, an app
//!   deleted at the same broker.
//! * `elsewhere` — the same made at another broker on the same Redis.
//! * `channel` — the subscription lost, a record removed by hand, the switch.

mod answers;
mod channel;
mod elsewhere;
mod ended_here;
mod here;

use std::time::{Duration, Instant};

use serde_json::json;

use crate::gateway::relay::Relay;
use crate::helpers::*;

/// The broker's `tessera_introspection_cache_total{result="hit"}`.
pub async fn hits(a: &TestApp) -> u64 {
    let m = a.metrics().await;
    m.lines()
        .find(|l| l.starts_with("tessera_introspection_cache_total{result=\"hit\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Introspects `token` (active) as `rs` until two answers 100 ms apart come from memory: the
/// broker follows the revocation channel, holds the token, and has heard every announcement
/// made before (the app's creation, say, would evict it). Panics after 10 s (a wait, not a
/// promise: a loaded machine may take seconds).
pub async fn cached(a: &TestApp, rs: &Client, token: &str) {
    let start = Instant::now();
    let mut hit_once = false;
    loop {
        let before = hits(a).await;
        let info = a.introspect(rs, token).await;
        assert_eq!(info["active"], json!(true), "{info}");
        let hit = hits(a).await > before;
        if hit && hit_once {
            return;
        }
        hit_once = hit;
        if hit {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the broker never answered from its introspection cache"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls until `token` is inactive at `a`; panics if a question sent `within` on or later is
/// still answered active (measured at the sending, not at the answer, which a loaded machine
/// may deliver late).
pub async fn inactive_within(a: &TestApp, rs: &Client, token: &str, within: Duration) {
    let start = Instant::now();
    let mut sent = Duration::ZERO;
    while a.is_active(rs, token).await {
        assert!(
            sent < within,
            "still active {sent:?} on: a stale cached answer"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
        sent = start.elapsed();
    }
}

/// Another broker of the same deployment (same Redis, prefix and pepper), its Redis
/// connections through `redis_url` (a relay, or the Redis itself).
pub async fn sibling_on(a: &TestApp, redis_url: &str) -> TestApp {
    let prefix = a.prefix.clone();
    spawn_app_with(redis_url, |c| c["store"]["prefix"] = json!(prefix)).await
}

/// A relay to the tests' Redis.
pub async fn relay() -> Relay {
    let url = shared_redis_url();
    Relay::start(url.trim_start_matches("redis://").to_string()).await
}

/// A broker whose Redis connections go through a fresh relay, with short store deadlines
/// (`gateway::relay::short_deadlines`: 500 ms per command).
pub async fn relayed_broker() -> (Relay, TestApp) {
    let relay = relay().await;
    let a = spawn_app_with(&relay.url(), crate::gateway::relay::short_deadlines).await;
    (relay, a)
}
