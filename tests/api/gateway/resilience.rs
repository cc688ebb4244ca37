//! Redis outages under traffic: the proxy fails closed (503, never a pass-through), counts
//! quotas in process meanwhile, and recovers by itself.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Map};

use super::relay::relayed_proxy;
use super::*;
use crate::helpers::{spawn_app_with, RedisServer};
use crate::world::spawn_world;

#[tokio::test]
async fn redis_stopped_and_restarted_under_traffic() {
    let mut redis = RedisServer::start();
    let broker = spawn_app_with(&redis.url(), |_| {}).await;
    let echo = spawn_echo();
    let client = broker.default_client().await;
    let token = broker.access_token(&client).await;
    let proxy = spawn_proxy(
        &broker,
        json!([route("orders", "/orders", &echo, json!({}))]),
    )
    .await;
    // Tagged under the pepper, so that it reaches the lookup (a made-up one would not).
    let unknown =
        tessera_shared::crypto::Keys::from_pepper(&crate::helpers::PEPPER.to_string().into())
            .mint(tessera_shared::token::TokenKind::AccessToken);
    echoed(proxy.get("/orders", &token).await).await;

    // The token must be in the AOF to be served again after the restart
    // ([`RedisServer::wait_aof_written`]: `everysec` may answer a write not yet written).
    redis.wait_aof_written().await;
    redis.stop();
    // Within a second the cached token is no longer trusted: the cache is flushed and every
    // lookup fails closed with 503.
    // Measured at the sending of each call still answered, not at its answer.
    let start = Instant::now();
    loop {
        let sent = start.elapsed();
        let status = proxy.get("/orders", &token).await.status();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(sent < Duration::from_secs(1), "outage unnoticed after 1 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Meanwhile nothing passes: neither the known token nor one nobody issued.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        assert_eq!(
            proxy.get("/orders", &token).await.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let stranger = proxy.get("/orders", &unknown).await.status();
        assert_ne!(
            stranger,
            StatusCode::OK,
            "an unknown token passed during the outage"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let res = proxy.get("/orders", &token).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key("retry-after"));

    redis.restart();
    let start = Instant::now();
    loop {
        let status = proxy.get("/orders", &token).await.status();
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no recovery after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        proxy.get("/orders", &unknown).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The revocation channel is back too: a revocation still reaches the cache.
    proxy.wait_for_channel().await;
    echoed(proxy.get("/orders", &token).await).await;
    // The broker, idle during the outage, may answer 503 once while it reconnects.
    let start = Instant::now();
    while broker
        .post_form("/revoke", &client, &[("token", &token)])
        .await
        .status()
        != StatusCode::OK
    {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the broker did not recover"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        until_refused(&proxy, &token).await < Duration::from_secs(1),
        "revocation lost after recovery"
    );
}

#[tokio::test]
async fn quotas_fall_back_to_a_per_instance_count_when_redis_is_down() {
    let w = spawn_world().await;
    let echo = spawn_echo();
    let mut redis = RedisServer::start();
    let proxy = spawn_proxy_with(
        &w.app,
        json!([route("okta", "/okta", &echo, json!({
            "auth": { "kind": "jwt",
                      "openid_config_urls": [format!("{}/.well-known/openid-configuration", w.idp_base)],
                      "audiences": ["api://default"] },
            "quota": { "limit": 100, "period": "day", "fallback_limit": 2 },
        }))]),
        |c| c["store"]["url"] = json!(redis.url()),
    )
    .await;
    // The in-process count starts afresh with each window: a day's, begun well inside it, so
    // that the calls below share one (a minute's window could turn between them).
    let into_day = tessera_shared::time::now() % 86_400;
    if into_day > 86_400 - 120 {
        tokio::time::sleep(Duration::from_secs((86_401 - into_day) as u64)).await;
    }
    let token = w
        .idp
        .issue_access_token("okta-client-9", "svc", &["orders:read"], Map::new())
        .unwrap();
    let res = proxy.get("/okta", &token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["ratelimit-limit"], "100");
    redis.stop();
    let mut statuses = vec![];
    for _ in 0..3 {
        statuses.push(proxy.get("/okta", &token).await.status());
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    let metrics = proxy.metrics().await;
    assert!(
        metrics.contains("tessera_proxy_quota_fallback_total 3"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_silently_dead_revocation_subscription_is_noticed_and_the_cache_flushed() {
    let s = setup().await;
    let routes = json!([route("orders", "/orders", &s.echo, json!({}))]);
    let (relay, proxy) = relayed_proxy(&s, routes).await;
    assert!(proxy.runtime.cache.is_live());
    echoed(proxy.get("/orders", &s.token).await).await;
    echoed(proxy.get("/orders", &s.token).await).await;
    assert!(proxy
        .metrics()
        .await
        .contains("tessera_proxy_token_cache_hits_total 1"));

    // The subscription's TCP peer goes silent; the proxy's command connection still works,
    // so only a ping on the subscription itself can tell.
    relay.freeze_subscriptions();
    assert_eq!(
        s.broker
            .post_form("/revoke", &s.client, &[("token", &s.token)])
            .await
            .status(),
        StatusCode::OK
    );
    // Bound: the ping interval (250 ms) + store.command_timeout_ms (500 ms here).
    let took = until_refused(&proxy, &s.token).await;
    assert!(took < Duration::from_millis(1500), "refused after {took:?}");
    let metrics = proxy.metrics().await;
    assert!(
        metrics.contains("tessera_proxy_token_cache_flushes_total 1"),
        "{metrics}"
    );
    // A fresh subscription (through the relay, not frozen) puts the cache back in use.
    let start = Instant::now();
    while !proxy.runtime.cache.is_live() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no resubscription"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
