//! The broker under the `broker` ACL user of the shipped `redis/redis.conf` (read from the
//! file): every script it runs — rate limits and back-off on the Redis clock, budgets, the
//! refresh grace period, code claims, revocations — is allowed, so no limit silently falls back
//! to the in-process one in production. And the proxy under its `proxy` user: its one write
//! outside quotas and analytics, the DPoP replay cache, is allowed, and so are the abuse rule's
//! counters and blocks.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::redis_server::shipped_user;
use crate::world::*;

const PASSWORD: &str = "acl-test-password-0123456789";

#[tokio::test]
async fn every_broker_script_runs_under_the_shipped_acl() {
    let acl = shipped_user("broker", PASSWORD);
    let acl: Vec<&str> = acl.iter().map(String::as_str).collect();
    let redis = RedisServer::start_with(&acl);
    let url = format!("redis://broker:{PASSWORD}@127.0.0.1:{}", redis.port);
    let w = spawn_world_with(move |cfg| {
        cfg["store"]["url"] = json!(url);
        // The ACL's key pattern is ~tessera:*.
        cfg["store"]["prefix"] = json!("tessera:");
        cfg["tokens"] = json!({ "refresh_grace_secs": 5 });
    })
    .await;
    let c = code_client(
        &w,
        json!({"grant_types": ["authorization_code", "refresh_token", "client_credentials"]}),
    )
    .await;
    let token = w.app.access_token(&c).await;
    assert!(w.app.is_active(&c, &token).await);
    let wrong = Client {
        secret: "wrong".into(),
        ..c.clone()
    };
    let res = w
        .app
        .token(&wrong, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let t = alice_tokens(&w, &c, "openid read").await;
    let rt = t["refresh_token"].as_str().unwrap();
    let refresh = [("grant_type", "refresh_token"), ("refresh_token", rt)];
    let first = json_of(w.app.token(&c, &refresh).await).await;
    let again = json_of(w.app.token(&c, &refresh).await).await;
    assert_eq!(
        first["refresh_token"], again["refresh_token"],
        "grace replay"
    );
    let res = w
        .app
        .post_form(
            "/revoke",
            &c,
            &[("token", first["refresh_token"].as_str().unwrap())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        !w.app
            .is_active(&c, first["access_token"].as_str().unwrap())
            .await
    );
    // No check fell back to the in-process limiter: the store answered every one.
    let metrics = w.app.metrics().await;
    assert!(
        !metrics.contains("tessera_rate_limit_unavailable_total{"),
        "{metrics}"
    );
}

/// A DPoP-bound token at the proxy marks its proof's `jti` used (`SET NX EX`): under the shipped
/// `proxy` user that write must be allowed, or every DPoP call would fail in production.
#[tokio::test]
async fn the_proxys_dpop_replay_marks_run_under_the_shipped_acl() {
    let (_redis, store) = proxy_store();
    assert!(store.proof_first_use("a-proof", 60).await.unwrap());
    assert!(!store.proof_first_use("a-proof", 60).await.unwrap());
}

/// The proxy's abuse rule counts refusals and sets the shared block (`abuse.lua`: INCR, EXPIRE,
/// SET EX, DEL): under the shipped `proxy` user those writes must be allowed, or the rule would
/// fail open in production.
#[tokio::test]
async fn the_proxys_abuse_rule_runs_under_the_shipped_acl() {
    let (_redis, store) = proxy_store();
    let rule = tessera_shared::store::AbuseRule {
        window_secs: 60,
        max: 1,
        block_secs: 30,
    };
    assert_eq!(store.abuse("10.0.0.9", rule, true).await.unwrap(), 0);
    assert!(store.abuse("10.0.0.9", rule, true).await.unwrap() > 0);
    assert!(store.abuse("10.0.0.9", rule, false).await.unwrap() > 0);
}

/// The behaviour rules' merge (`abuse_signals.lua`: HSET, PFADD, EXPIRE, DEL) and marks
/// (`abuse_mark.lua`, then the marker index: ZADD, ZREMRANGEBYSCORE) run under the shipped
/// `proxy` user, or the rules would fail open in production.
#[tokio::test]
async fn the_proxys_behaviour_rules_run_under_the_shipped_acl() {
    use tessera_shared::store::behaviour::{Mark, SignalDelta};
    let (_redis, store) = proxy_store();
    let tokens = ["00000000000000aa".to_string()];
    let delta = |window| SignalDelta {
        window,
        window_secs: 60,
        keep_secs: 600,
        alpha_permille: 100,
        calls: 2,
        errors: 1,
        tokens: &tokens,
    };
    store
        .behaviour_merge("s:10.0.0.9", &delta(1))
        .await
        .unwrap();
    let m = store
        .behaviour_merge("s:10.0.0.9", &delta(2))
        .await
        .unwrap();
    assert_eq!((m.calls, m.distinct), (2, 1));
    let mark = Mark {
        rule: "ip_tokens",
        action: "block",
        value: 1.0,
        ttl_secs: 30,
        now_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    };
    store.behaviour_mark("s:10.0.0.9", &mark).await.unwrap();
    let m = store
        .behaviour_merge("s:10.0.0.9", &delta(2))
        .await
        .unwrap();
    assert_eq!(m.marker.unwrap().action, "block");
}

/// A Redis with the shipped ACL, and a store on it as the `proxy` user (keep the server alive).
fn proxy_store() -> (
    RedisServer,
    std::sync::Arc<dyn tessera_shared::store::Store>,
) {
    let acl = shipped_user("proxy", PASSWORD);
    let acl: Vec<&str> = acl.iter().map(String::as_str).collect();
    let redis = RedisServer::start_with(&acl);
    let store = tessera_shared::store::open(&tessera_shared::config::StoreConfig {
        url: format!("redis://proxy:{PASSWORD}@127.0.0.1:{}", redis.port),
        prefix: "tessera:".into(),
        command_timeout_ms: crate::helpers::STORE_TIMEOUT_MS,
        connect_timeout_ms: crate::helpers::STORE_TIMEOUT_MS,
        ..Default::default()
    })
    .unwrap();
    (redis, store)
}
