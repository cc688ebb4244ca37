//! The refresh grace period (`tokens.refresh_grace_secs`): a refresh token presented again by
//! the same client shortly after its rotation (the answer was lost) gets the *same* successor;
//! outside the period, from another client, or for an older token, reuse revokes the login.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::world::*;

async fn refresh(w: &World, c: &Client, rt: &str) -> reqwest::Response {
    w.app
        .token(c, &[("grant_type", "refresh_token"), ("refresh_token", rt)])
        .await
}

/// The claims of a token response's id_token, without those that differ per minting.
fn id_claims(v: &Value) -> Value {
    use base64::Engine as _;
    let jwt = s(v, "id_token");
    let payload = jwt.split('.').nth(1).expect("a JWS");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    let mut claims: Value = serde_json::from_slice(&bytes).expect("JSON claims");
    for k in ["iat", "exp", "jti"] {
        claims.as_object_mut().expect("object").remove(k);
    }
    claims
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} in {v}"))
        .to_string()
}

async fn world_with_grace(secs: u64, store: Option<&str>) -> World {
    let store = store.map(str::to_string);
    spawn_world_with(move |cfg| {
        cfg["tokens"] = json!({ "refresh_grace_secs": secs });
        if let Some(url) = store {
            cfg["store"]["url"] = json!(url);
        }
    })
    .await
}

/// Logs alice in, refreshes once; (the first answer, the refresh that rotated it).
async fn rotated_once(w: &World, c: &Client) -> (Value, Value) {
    let t0 = alice_tokens(w, c, "openid read").await;
    let res = refresh(w, c, &s(&t0, "refresh_token")).await;
    assert_eq!(res.status(), StatusCode::OK);
    (t0.clone(), json_of(res).await)
}

#[tokio::test]
async fn a_retry_within_the_grace_period_gets_the_same_successor() {
    let w = world_with_grace(5, None).await;
    let c = code_client(&w, json!({})).await;
    let (t0, t1) = rotated_once(&w, &c).await;
    let rt0 = s(&t0, "refresh_token");
    // The answer was "lost": the client retries with the same token, twice.
    for _ in 0..2 {
        let res = refresh(&w, &c, &rt0).await;
        assert_eq!(res.status(), StatusCode::OK);
        let again = json_of(res).await;
        assert_eq!(s(&again, "access_token"), s(&t1, "access_token"));
        assert_eq!(s(&again, "refresh_token"), s(&t1, "refresh_token"));
        assert_eq!(again["scope"], t1["scope"]);
        // The id_token is minted again for the retry: the same login and claims, a new `jti`.
        assert_eq!(id_claims(&again), id_claims(&t1));
        let left = again["expires_in"].as_i64().unwrap();
        assert!(left > 0 && left <= t1["expires_in"].as_i64().unwrap());
    }
    assert!(w.app.is_active(&c, &s(&t1, "access_token")).await);
    // What Redis holds for the retry: ciphertext only, never a token, and only for the period.
    let mut r = w.app.redis().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}fgr:*", w.app.prefix))
        .query_async(&mut r)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let fields: Vec<String> = redis::cmd("HVALS")
        .arg(&keys[0])
        .query_async(&mut r)
        .await
        .unwrap();
    let dump = fields.join(" ");
    for token in [&t0, &t1].iter().flat_map(|t| {
        ["access_token", "refresh_token"]
            .into_iter()
            .map(|k| s(t, k))
    }) {
        assert!(!dump.contains(&token), "a token in clear in Redis");
    }
    assert!(!dump.contains("tsr_"), "{dump}");
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&keys[0])
        .query_async(&mut r)
        .await
        .unwrap();
    assert!(pttl > 0 && pttl <= 5000, "{pttl}");

    // The successor rotates as usual; then the first token is plain reuse again.
    let t2 = json_of(refresh(&w, &c, &s(&t1, "refresh_token")).await).await;
    assert_oauth_error(refresh(&w, &c, &rt0).await, 400, "invalid_grant").await;
    assert!(
        !w.app.is_active(&c, &s(&t2, "access_token")).await,
        "login revoked"
    );
}

#[tokio::test]
async fn outside_the_grace_period_reuse_still_revokes_the_login() {
    let w = world_with_grace(1, None).await;
    let c = code_client(&w, json!({})).await;
    let (t0, t1) = rotated_once(&w, &c).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_oauth_error(
        refresh(&w, &c, &s(&t0, "refresh_token")).await,
        400,
        "invalid_grant",
    )
    .await;
    assert!(!w.app.is_active(&c, &s(&t1, "access_token")).await);
    assert_oauth_error(
        refresh(&w, &c, &s(&t1, "refresh_token")).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn another_client_within_the_grace_period_gets_nothing() {
    let w = world_with_grace(30, None).await;
    let c = code_client(&w, json!({})).await;
    // Another app presenting the token: refused, and nothing changes (as without grace).
    let stranger = code_client(&w, json!({})).await;
    let (t0, t1) = rotated_once(&w, &c).await;
    let rt0 = s(&t0, "refresh_token");
    assert_oauth_error(refresh(&w, &stranger, &rt0).await, 400, "invalid_grant").await;
    assert!(w.app.is_active(&c, &s(&t1, "access_token")).await);
    // A second credential of the same app is another client: reuse, the login is revoked.
    let res = w
        .app
        .admin_post(
            &format!(
                "/admin/developers/{}/apps/{}/credentials",
                c.developer_id, c.app_id
            ),
            json!({}),
        )
        .await;
    let body = json_of(res).await;
    let sibling = Client {
        id: s(&body, "client_id"),
        secret: s(&body, "client_secret"),
        ..c.clone()
    };
    assert_oauth_error(refresh(&w, &sibling, &rt0).await, 400, "invalid_grant").await;
    assert!(!w.app.is_active(&c, &s(&t1, "access_token")).await);
    assert_oauth_error(refresh(&w, &c, &rt0).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn concurrent_refreshes_within_the_grace_period_get_one_successor() {
    let w = world_with_grace(10, None).await;
    let c = code_client(&w, json!({})).await;
    let t = alice_tokens(&w, &c, "read").await;
    let rt = s(&t, "refresh_token");
    let (a, b) = tokio::join!(refresh(&w, &c, &rt), refresh(&w, &c, &rt));
    assert_eq!((a.status(), b.status()), (StatusCode::OK, StatusCode::OK));
    let (a, b) = (json_of(a).await, json_of(b).await);
    assert_eq!(s(&a, "access_token"), s(&b, "access_token"));
    assert_eq!(s(&a, "refresh_token"), s(&b, "refresh_token"));
    assert!(w.app.is_active(&c, &s(&a, "access_token")).await);
    // Only one access token was left behind: the loser's own mint was discarded.
    let mut r = w.app.redis().await;
    let tokens: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}at:*", w.app.prefix))
        .query_async(&mut r)
        .await
        .unwrap();
    assert_eq!(tokens.len(), 2, "the login's first token and one successor");
}

#[tokio::test]
async fn the_grace_period_works_on_the_memory_store_too() {
    let w = world_with_grace(5, Some("memory")).await;
    let c = code_client(&w, json!({})).await;
    let (t0, t1) = rotated_once(&w, &c).await;
    let rt0 = s(&t0, "refresh_token");
    let again = json_of(refresh(&w, &c, &rt0).await).await;
    assert_eq!(s(&again, "refresh_token"), s(&t1, "refresh_token"));
    assert_eq!(s(&again, "access_token"), s(&t1, "access_token"));
    let t2 = json_of(refresh(&w, &c, &s(&t1, "refresh_token")).await).await;
    assert_oauth_error(refresh(&w, &c, &rt0).await, 400, "invalid_grant").await;
    assert!(!w.app.is_active(&c, &s(&t2, "access_token")).await);
}

#[test]
fn the_grace_period_is_at_most_60_seconds() {
    let mut cfg = test_config("memory");
    cfg["tokens"] = json!({ "refresh_grace_secs": 61 });
    let err = tessera_broker::config::BrokerConfig::load(cfg, None).unwrap_err();
    assert!(
        err.to_string().contains("tokens.refresh_grace_secs"),
        "{err}"
    );
}
