//! Revocation announcements on a cluster: published inside the revoking scripts with the
//! cluster-wide `PUBLISH`, they reach a subscriber on every node, master or replica; and the
//! promise that a lost subscription is noticed within 250 ms + the command timeout holds for
//! the node the subscription is on — frozen, it ends the stream, and the next subscription
//! goes to a live node.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tessera_shared::config::StoreConfig;
use tessera_shared::store::{self, Announcement, Revocation, Store};
use tessera_shared::token::TokenKind;

use super::fresh_prefix;
use crate::redis_cluster::{shared_cluster_nodes, RedisCluster};

fn store_on(
    nodes: Vec<String>,
    prefix: &str,
    command_timeout_ms: u64,
) -> std::sync::Arc<dyn Store> {
    store::open(&StoreConfig {
        cluster_nodes: nodes,
        prefix: prefix.to_string(),
        command_timeout_ms,
        connect_timeout_ms: 300,
        ..StoreConfig::default()
    })
    .unwrap()
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

#[tokio::test]
async fn every_node_hears_every_revocation() {
    let nodes = shared_cluster_nodes();
    let prefix = fresh_prefix();
    let channel = format!("{prefix}revocations");
    // A plain subscriber on each of the six nodes, masters and replicas alike.
    let mut subscribers = Vec::new();
    for url in &nodes {
        let mut p = redis::Client::open(url.as_str())
            .unwrap()
            .get_async_pubsub()
            .await
            .unwrap();
        p.subscribe(&channel).await.unwrap();
        subscribers.push(p);
    }
    let store = store_on(nodes.clone(), &prefix, 1000);
    // Revocations from scripts on many slots (one token per hash tag: spread over the masters).
    let hashes: Vec<String> = (0..12).map(|i| format!("h{i}")).collect();
    for h in &hashes {
        store.token_delete(TokenKind::AccessToken, h).await.unwrap();
    }
    store.family_revoke("fam-1").await.unwrap();
    let mut expected: Vec<String> = hashes.iter().map(|h| format!("t:{h}")).collect();
    expected.push("f:fam-1".into());
    for (url, p) in nodes.iter().zip(subscribers.iter_mut()) {
        let mut got = Vec::new();
        let mut messages = p.on_message();
        while got.len() < expected.len() {
            // A wait, not a promise: generous for a loaded machine.
            let m = tokio::time::timeout(Duration::from_secs(10), messages.next())
                .await
                .unwrap_or_else(|_| panic!("{url} heard only {got:?}"))
                .unwrap();
            got.push(m.get_payload::<String>().unwrap());
        }
        // Announcements from different masters travel on different links: any order.
        got.sort();
        assert_eq!(got, sorted(&expected), "on {url}");
    }
}

#[tokio::test]
async fn a_frozen_subscription_node_is_noticed_and_another_node_takes_over() {
    // Three masters of their own: a frozen node must not disturb the shared cluster's tests.
    let cluster = RedisCluster::start(3, 0, 15_000, None);
    let prefix = fresh_prefix();
    let timeout_ms = 300;
    let store = store_on(cluster.urls(), &prefix, timeout_ms);
    let mut stream = store.revocations().await.unwrap();
    let on = cluster.subscribed_nodes();
    assert_eq!(on.len(), 1, "one subscription: {on:?}");
    // A token whose slot is served by another node than the one about to freeze.
    let live_hash = (0..100)
        .map(|i| format!("x{i}"))
        .find(|h| cluster.master_of(&format!("{prefix}at:{{{h}}}")) != on[0])
        .unwrap();

    cluster.freeze(on[0], true);
    let frozen_at = Instant::now();
    let end = tokio::time::timeout(Duration::from_secs(3), stream.next()).await;
    let noticed = frozen_at.elapsed();
    assert!(
        matches!(end, Ok(None)),
        "the stream ends when its node freezes"
    );
    // 250 ms between pings + the command timeout, plus scheduling slack.
    let bound = Duration::from_millis(250 + timeout_ms + 150);
    assert!(
        noticed <= bound,
        "noticed after {noticed:?} (bound {bound:?})"
    );

    // Resubscribing finds a live node (the frozen one may still be listed healthy: its
    // connection attempts time out and the next node is tried).
    let start = Instant::now();
    let mut again = loop {
        match store.revocations().await {
            Ok(s) => break s,
            Err(_) => {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "never resubscribed"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let now_on = cluster.subscribed_nodes();
    assert!(!now_on.contains(&on[0]) || now_on.len() > 1, "{now_on:?}");
    // A revocation on a slot of a live master reaches the new subscription.
    store
        .token_delete(TokenKind::AccessToken, &live_hash)
        .await
        .unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(10), again.next()).await;
    assert_eq!(
        heard.unwrap(),
        Some(Announcement::Revoked(Revocation::Token(live_hash)))
    );
    cluster.freeze(on[0], false);
}
