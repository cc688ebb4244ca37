//! Issue 11, P2: the proxy keeps apps in process (`policy/auth/tessera.rs`, `store_catalog`),
//! so that a lookup without the token cache sends only its token's `GET` (counted in
//! `cluster/costs.rs`). The promise that bought it must hold: a change to the app reaches
//! every call within a second, through the revocation channel, with the token cache off too.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use super::relay::relayed_proxy;
use super::*;

async fn uncached_proxy(s: &Setup, scope: &str) -> TestProxy {
    spawn_proxy_with(
        &s.broker,
        json!([route(
            "orders",
            "/orders",
            &s.echo,
            json!({ "scopes": { "required": [scope] } })
        )]),
        |c| c["cache"] = json!({ "enabled": false }),
    )
    .await
}

fn app_path(s: &Setup) -> String {
    format!(
        "/admin/developers/{}/apps/{}",
        s.client.developer_id, s.client.app_id
    )
}

#[tokio::test]
async fn without_the_token_cache_an_app_revoked_is_refused_within_a_second() {
    let s = setup().await;
    let proxy = uncached_proxy(&s, "read").await;
    // Several calls: the app is read once, then served from the process.
    for _ in 0..5 {
        echoed(proxy.get("/orders", &s.token).await).await;
    }
    let res = s
        .broker
        .admin_patch(&app_path(&s), json!({"status": "revoked"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(until_refused(&proxy, &s.token).await < Duration::from_secs(1));
}

#[tokio::test]
async fn without_the_token_cache_a_scope_taken_from_the_app_is_gone_within_a_second() {
    let s = setup().await;
    let proxy = uncached_proxy(&s, "write").await;
    for _ in 0..5 {
        echoed(proxy.get("/orders", &s.token).await).await;
    }
    let took = take_write(&s, &proxy).await;
    assert!(
        took < Duration::from_secs(1),
        "`write` honoured for {took:?}"
    );
}

/// Clients subscribed to the revocation channel of `s`'s prefix.
async fn subscribers(s: &Setup) -> i64 {
    let channel = format!("{}revocations", s.broker.prefix);
    let (_, n): (String, i64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(&channel)
        .query_async(&mut s.broker.redis().await)
        .await
        .expect("PUBSUB NUMSUB");
    n
}

/// The apps kept in process follow the token cache's subscription (one per proxy), and hear
/// each announcement before it. On a subscription of their own (as they did), an app's
/// announcement could reach the token cache first: a lookup in between built its caller from
/// the app as it was before the change and cached it, past the app's own eviction, for up to
/// `cache.max_ttl_secs` (a revoked app's token honoured for minutes).
#[tokio::test]
async fn apps_and_tokens_follow_one_subscription() {
    let s = setup().await;
    let broker_only = subscribers(&s).await;
    let proxy = spawn_proxy(
        &s.broker,
        json!([route("orders", "/orders", &s.echo, json!({}))]),
    )
    .await;
    echoed(proxy.get("/orders", &s.token).await).await;
    let start = Instant::now();
    while subscribers(&s).await == broker_only {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "proxy never subscribed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Whatever else the proxy subscribes starts with it: give it time to show up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(subscribers(&s).await, broker_only + 1);
}

/// Takes `write` from the app (the token was granted `read write`; its effective scopes follow
/// the app's): how long until the proxy refuses the token `/orders` for its scope.
async fn take_write(s: &Setup, proxy: &TestProxy) -> Duration {
    let res = s
        .broker
        .admin_patch(&app_path(s), json!({"scopes": ["read"]}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    until_forbidden(proxy, &s.token).await
}

/// Polls until the proxy refuses `token` on `/orders` for its scope (403; 200 until then).
async fn until_forbidden(proxy: &TestProxy, token: &str) -> Duration {
    let start = Instant::now();
    loop {
        let status = proxy.get("/orders", token).await.status();
        if status == StatusCode::FORBIDDEN {
            return start.elapsed();
        }
        assert_eq!(
            status,
            StatusCode::OK,
            "refused for its scope, not its token"
        );
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "`write` still honoured after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One of the proxy's subscriptions goes silent (its TCP peer frozen: `relay.rs`) just before
/// a scope is taken from an app; whichever it is, the app's token loses the scope within the
/// heartbeat's bound (250 ms + `store.command_timeout_ms`, 500 ms here). With the apps on a
/// subscription of their own (as they were), freezing theirs let the token cache alone hear of
/// the change: the next call built its caller from the app still kept, and the token cache kept
/// that caller for `cache.max_ttl_secs` — the scope honoured for minutes.
#[tokio::test]
async fn a_silent_subscription_never_leaves_a_caller_of_the_old_app_cached() {
    for n in 0..2 {
        let s = setup().await;
        let write = json!({ "scopes": { "required": ["write"] } });
        let routes = json!([route("orders", "/orders", &s.echo, write)]);
        let (relay, proxy) = relayed_proxy(&s, routes).await;
        // Subscribed, the app kept and the token cached.
        let start = Instant::now();
        while !proxy.runtime.cache.is_live() || relay.subscriptions() == 0 {
            assert!(start.elapsed() < Duration::from_secs(5), "never subscribed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        echoed(proxy.get("/orders", &s.token).await).await;
        echoed(proxy.get("/orders", &s.token).await).await;
        relay.freeze_subscription(n);
        let took = take_write(&s, &proxy).await;
        assert!(
            took < Duration::from_millis(1500),
            "subscription {n} frozen: `write` honoured for {took:?}"
        );
    }
}
