//! Issue 11, P5: well-formed tokens the store does not know are remembered for
//! `cache.negative_ttl_ms`, so that repeating one costs no lookup; any app announcement empties
//! that memory at once, not after the TTL.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use super::*;

async fn lookups(proxy: &TestProxy) -> (u64, u64) {
    let m = proxy.metrics().await;
    (
        counter(&m, "tessera_proxy_token_cache_misses_total"),
        counter(&m, "tessera_proxy_token_cache_negative_hits_total"),
    )
}

/// A token of this deployment (tagged under its pepper) that the store does not know: what
/// reaches the lookup (a made-up one does not: `forged.rs`).
fn unknown() -> String {
    tessera_shared::crypto::Keys::from_pepper(&crate::helpers::PEPPER.to_string().into())
        .mint(tessera_shared::token::TokenKind::AccessToken)
}

async fn spawn(s: &Setup, negative_ttl_ms: u64) -> TestProxy {
    spawn_proxy_with(
        &s.broker,
        json!([route("orders", "/orders", &s.echo, json!({}))]),
        |c| c["cache"] = json!({ "negative_ttl_ms": negative_ttl_ms }),
    )
    .await
}

#[tokio::test]
async fn a_repeated_unknown_token_is_looked_up_once_then_again_after_the_ttl() {
    let s = setup().await;
    let proxy = spawn(&s, 300).await;
    let forged = unknown();
    let (m0, n0) = lookups(&proxy).await;
    for _ in 0..5 {
        assert_eq!(
            proxy.get("/orders", &forged).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(lookups(&proxy).await, (m0 + 1, n0 + 4));
    // Another unknown token is looked up: only the same token is remembered.
    let other = unknown();
    assert_eq!(
        proxy.get("/orders", &other).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(lookups(&proxy).await, (m0 + 2, n0 + 4));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        proxy.get("/orders", &forged).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(lookups(&proxy).await, (m0 + 3, n0 + 4));
    // A real token is unaffected.
    echoed(proxy.get("/orders", &s.token).await).await;
}

#[tokio::test]
async fn an_app_announcement_empties_the_remembered_refusals() {
    let s = setup().await;
    let proxy = spawn(&s, 2_000).await;
    echoed(proxy.get("/orders", &s.token).await).await;
    let app = format!(
        "/admin/developers/{}/apps/{}",
        s.client.developer_id, s.client.app_id
    );
    let res = s
        .broker
        .admin_patch(&app, json!({"status": "revoked"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(until_refused(&proxy, &s.token).await < Duration::from_secs(1));
    // The refusal is remembered: the next call costs no lookup.
    let (m0, n0) = lookups(&proxy).await;
    assert_eq!(
        proxy.get("/orders", &s.token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(lookups(&proxy).await, (m0, n0 + 1));

    // Any change to an app is announced and forgets every remembered refusal well before the
    // 2 s TTL: the token is looked up again (and, its app generation gone, still refused).
    let res = s
        .broker
        .admin_patch(&app, json!({"attributes": {"tier": "gold"}}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let start = Instant::now();
    loop {
        // Measured at the sending of each call still answered from memory.
        let sent = start.elapsed();
        assert_eq!(
            proxy.get("/orders", &s.token).await.status(),
            StatusCode::UNAUTHORIZED
        );
        if lookups(&proxy).await.0 > m0 {
            break;
        }
        assert!(
            sent < Duration::from_millis(1_000),
            "refusal still remembered {sent:?} after the announcement"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_negative_ttl_above_two_seconds_is_refused_at_load() {
    let s = setup().await;
    let mut cfg = proxy_config(&s.broker, json!([]));
    cfg["cache"] = json!({ "negative_ttl_ms": 2_001 });
    let Err(err) = tessera_proxy::config::ProxyConfig::load(cfg, None) else {
        panic!("a negative TTL of 2001 ms was accepted");
    };
    assert!(err.to_string().contains("cache.negative_ttl_ms"), "{err}");
}
