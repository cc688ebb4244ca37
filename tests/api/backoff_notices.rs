//! The failed-authentication back-off without a store check per request (issue 11, P3/P4):
//! client authentication asks the store about a back-off only while the IP or the client may
//! be in one. The failure that starts a back-off announces it on the revocation channel to
//! every broker; a broker that was not listening then asks about every subject once, for as
//! long as a back-off can last (`max_delay_secs`).

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::rate_limits::{assert_slow_down, token_from, with_limits};

/// Back-offs of `secs` at most: per client after one free failure, per IP after 100.
fn backoffs(secs: u64) -> Value {
    let b = |free: u32| {
        json!({ "free_failures": free, "base_delay_ms": secs * 1000,
                "max_delay_secs": secs, "forget_after_secs": 60 })
    };
    json!({ "auth_failures_per_client": b(1), "auth_failures_per_ip": b(100) })
}

/// A second broker on `a`'s Redis and key prefix.
async fn twin(a: &TestApp, limits: Value) -> TestApp {
    let prefix = a.prefix.clone();
    spawn_app_with(&a.redis_url, |cfg| {
        with_limits(cfg, limits);
        cfg["store"]["prefix"] = json!(prefix);
    })
    .await
}

/// `/token` as `c` with `secret`, from one address (the back-offs per IP stay out of the way).
async fn token_as(app: &TestApp, c: &Client, secret: &str) -> Response {
    token_from(app, "203.0.113.50", &c.id, secret).await
}

#[tokio::test]
async fn a_backoff_started_on_one_broker_is_enforced_by_another_without_a_check_per_call() {
    let redis = RedisServer::start();
    let a = spawn_app_with(&redis.url(), |cfg| with_limits(cfg, backoffs(2))).await;
    let b = twin(&a, backoffs(2)).await;
    let c = a.default_client().await;
    // Each broker reads the app once its subscription is up (a busy machine may take a
    // moment); past the 2 s after subscribing in which every subject is asked about once, none
    // is.
    for _ in 0..10 {
        for app in [&a, &b] {
            let token = app.access_token(&c).await;
            assert!(app.is_active(&c, &token).await);
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let scripts = || redis.command_calls("evalsha");
    let before = scripts().await;
    let token = a.access_token(&c).await;
    b.access_token(&c).await;
    assert!(b.is_active(&c, &token).await);
    assert_eq!(scripts().await - before, 3, "the per-app rate limit only");

    // Two wrong secrets at b: the second starts the client's back-off...
    for _ in 0..2 {
        let res = token_as(&b, &c, "wrong").await;
        assert_oauth_error(res, 401, "invalid_client").await;
    }
    // ...which a heard of: there too even the right secret is refused, asked in the store.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = scripts().await;
    assert_slow_down(token_as(&a, &c, &c.secret).await).await;
    assert_eq!(
        scripts().await - before,
        4,
        "checked and not recorded, per IP and client"
    );
    assert_slow_down(token_as(&b, &c, &c.secret).await).await;
    // Another client is not asked about.
    let other = a.default_client().await;
    a.access_token(&other).await;
    let before = scripts().await;
    a.access_token(&other).await;
    assert_eq!(scripts().await - before, 1);

    // The back-off ends by itself, and so do the checks.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(token_as(&a, &c, &c.secret).await.status(), StatusCode::OK);
    let before = scripts().await;
    assert_eq!(token_as(&a, &c, &c.secret).await.status(), StatusCode::OK);
    assert_eq!(scripts().await - before, 1);
}

#[tokio::test]
async fn a_broker_that_was_not_listening_asks_about_every_subject_once() {
    let a = spawn_app_with(&shared_redis_url(), |cfg| with_limits(cfg, backoffs(30))).await;
    let c = a.default_client().await;
    for _ in 0..2 {
        let res = token_as(&a, &c, "wrong").await;
        assert_oauth_error(res, 401, "invalid_client").await;
    }
    // b starts after the announcement: it did not hear it, and asks the store.
    let b = twin(&a, backoffs(30)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let res = token_as(&b, &c, &c.secret).await;
    let retry = retry_after(&res);
    assert!((25..=30).contains(&retry), "{retry}");
    assert_slow_down(res).await;
    // A client in no back-off goes through there.
    let other = a.default_client().await;
    assert_eq!(token_as(&b, &other, &other.secret).await.status(), 200);
}
