//! Redis stopped mid-test, then restarted: the broker answers 503 quickly meanwhile — never
//! `invalid_client`, never `active: false` for a valid token — and recovers without a restart.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn redis_outage_is_503_then_recovers_by_itself() {
    let mut redis = RedisServer::start();
    let app = spawn_app_with(&redis.url(), |_| {}).await;
    let c = app.default_client().await;
    let token = app.access_token(&c).await;
    assert!(app.is_active(&c, &token).await);

    // What this test is about is the outage, not `everysec`'s loss window: a registration
    // answered while a background fsync ran may not be in the AOF yet, and a client lost with
    // it is rightly `invalid_client` after the restart ([`RedisServer::wait_aof_written`]).
    redis.wait_aof_written().await;
    redis.stop();
    for (path, form) in [
        ("/token", vec![("grant_type", "client_credentials")]),
        ("/introspect", vec![("token", token.as_str())]),
        ("/revoke", vec![("token", token.as_str())]),
    ] {
        let started = Instant::now();
        let res = app.post_form(path, &c, &form).await;
        let elapsed = started.elapsed();
        assert_eq!(res.status(), 503, "{path}");
        assert_eq!(res.headers()["retry-after"], "1");
        assert_eq!(
            json_of(res).await["error"],
            "temporarily_unavailable",
            "{path}"
        );
        // Quick: at the refused connection, not after the (10 s) command timeout; bounded well
        // under it rather than by wall-clock speed, which a loaded machine does not have.
        let quick = Duration::from_millis(STORE_TIMEOUT_MS / 2);
        assert!(elapsed < quick, "{path} took {elapsed:?}");
    }
    let res = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    let res = app.admin_get("/admin/developers").await;
    assert_eq!(res.status(), 503);
    let res = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200, "liveness does not depend on Redis");

    redis.restart();
    // The data survived (append-only file) and the token is active again.
    let info = answered_introspection(&app, &c, &token).await;
    assert_eq!(info["active"], json!(true));
    let form = [("grant_type", "client_credentials")];
    until_answered(|| app.post_form("/token", &c, &form)).await;
    until_answered(|| async { app.http.get(app.url("/readyz")).send().await.unwrap() }).await;
}

/// With the shipped persistence (`redis/redis.conf`: AOF, `appendfsync everysec`), a revocation
/// Redis has written to its append-only file survives Redis being killed with SIGKILL: Redis
/// replays it at start-up. Written, not only acknowledged: under `everysec` Redis may answer a
/// write it postponed behind a running fsync ([`RedisServer::wait_aof_written`]), and a SIGKILL
/// loses such a write (`redis/redis.conf` says so); `appendfsync always` loses none (below).
#[tokio::test]
async fn a_revocation_in_the_aof_survives_kill_9() {
    let args = crate::redis_server::shipped_persistence();
    let fsync = args.iter().position(|a| a == "--appendfsync").unwrap();
    assert_eq!(
        args[fsync + 1],
        "everysec",
        "the setting this test is about"
    );
    assert!(args.windows(2).any(|w| w == ["--appendonly", "yes"]));
    revocations_survive_kill_9(&[], true).await;
}

/// With `appendfsync always` (the choice `redis/redis.conf` offers when a revocation must hold
/// whatever happens), an acknowledged revocation survives a SIGKILL sent right after the
/// answer: Redis writes and fsyncs the AOF before it replies.
#[tokio::test]
async fn an_acknowledged_revocation_survives_kill_9_with_appendfsync_always() {
    revocations_survive_kill_9(&["--appendfsync", "always"], false).await;
}

/// Revokes a token and an app, kills Redis (started with `extra` after the shipped
/// persistence) with SIGKILL — once the AOF is written when `settle` — and checks both
/// revocations, and a kept token, after the restart.
async fn revocations_survive_kill_9(extra: &[&str], settle: bool) {
    let mut redis = RedisServer::start_with(extra);
    let app = spawn_app_with(&redis.url(), |_| {}).await;
    let c = app.default_client().await;
    let revoked = app.access_token(&c).await;
    let kept = app.access_token(&c).await;
    let res = app.post_form("/revoke", &c, &[("token", &revoked)]).await;
    assert_eq!(res.status(), 200);
    // The app as a whole too, from another client's point of view.
    let other = app.default_client().await;
    let other_token = app.access_token(&other).await;
    let res = app
        .admin_patch(
            &format!(
                "/admin/developers/{}/apps/{}",
                other.developer_id, other.app_id
            ),
            json!({"status": "revoked"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    if settle {
        redis.wait_aof_written().await;
    }
    redis.stop(); // SIGKILL, at once
    redis.restart();

    let kept = answered_introspection(&app, &c, &kept).await;
    assert_eq!(kept["active"], json!(true), "kept survives");
    let revoked = answered_introspection(&app, &c, &revoked).await;
    assert_eq!(revoked["active"], json!(false), "the revocation survived");
    let other = answered_introspection(&app, &c, &other_token).await;
    assert_eq!(
        other["active"],
        json!(false),
        "the app's revocation survived"
    );
}

/// The introspection of `token` once the broker answers it ([`until_answered`]).
async fn answered_introspection(app: &TestApp, c: &Client, token: &str) -> serde_json::Value {
    let form = [("token", token)];
    json_of(until_answered(|| app.post_form("/introspect", c, &form)).await).await
}

/// `call`'s first `200`, polled through the `503`s of a Redis restart: the connections heal
/// in the background, each worker its own, so one answer does not mean the next request's
/// worker is back yet. Bounded generously (30 s) for a loaded machine.
async fn until_answered<F: std::future::Future<Output = reqwest::Response>>(
    call: impl Fn() -> F,
) -> reqwest::Response {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = call().await;
        if res.status() == 200 {
            return res;
        }
        assert_eq!(res.status(), 503, "only unavailable while Redis restarts");
        assert!(
            Instant::now() < deadline,
            "no recovery after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
