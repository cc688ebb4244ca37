//! The other ways a token, a login or an app ends at the broker that answers (a review of the
//! cache, issue 11, P4): refresh-token reuse detected here, an admin revoking a user's logins,
//! a developer suspended, an app deleted; and a credential expiring with time, which nothing
//! announces. Each change is seen by a cached answer before its call answers: the echo is
//! frozen (see `super`), so only the local eviction (`Tokens::revoke_*`, `reused`) or the
//! hit's re-check against the apps kept in process (evicted by the catalog's own commit) can
//! make it inactive; the credential's expiry only by that re-check.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::*;
use crate::gateway::relay::Relay;
use crate::world::*;

fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("no {k} in {v}"))
        .to_string()
}

/// A world whose broker's Redis connections go through `relay`.
async fn relayed_world(relay: &Relay) -> World {
    let url = relay.url();
    spawn_world_with(|cfg| cfg["store"]["url"] = json!(url)).await
}

async fn rotate(w: &World, c: &Client, rt: &str) -> reqwest::Response {
    w.app
        .token(c, &[("grant_type", "refresh_token"), ("refresh_token", rt)])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_token_reuse_detected_here_ends_the_cached_login_before_it_answers() {
    let relay = relay().await;
    let w = relayed_world(&relay).await;
    let c = code_client(&w, json!({})).await;
    let t0 = alice_tokens(&w, &c, "read").await;
    // Two rotations: the first refresh token is neither the live one nor the one a grace
    // period would answer again.
    let t1 = json_of(rotate(&w, &c, &s(&t0, "refresh_token")).await).await;
    let t2 = json_of(rotate(&w, &c, &s(&t1, "refresh_token")).await).await;
    let access = s(&t2, "access_token");
    cached(&w.app, &c, &access).await;
    relay.freeze_subscriptions();
    // RFC 9700 §4.14.2: a refresh token used again revokes the login.
    let res = rotate(&w, &c, &s(&t0, "refresh_token")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(
        !w.app.is_active(&c, &access).await,
        "a login revoked by reuse detection here was answered active from the cache"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_logins_revoked_through_the_admin_api_here_end_its_cached_tokens_at_once() {
    let relay = relay().await;
    let w = relayed_world(&relay).await;
    let c = code_client(&w, json!({})).await;
    let access = s(&alice_tokens(&w, &c, "read").await, "access_token");
    cached(&w.app, &c, &access).await;
    let sub = s(&w.app.introspect(&c, &access).await, "sub");
    relay.freeze_subscriptions();
    let path = format!(
        "/admin/developers/{}/apps/{}/users/{sub}/tokens",
        c.developer_id, c.app_id
    );
    let res = w.app.admin_delete(&path).await;
    assert!(res.status().is_success(), "{}", res.status());
    assert!(
        !w.app.is_active(&c, &access).await,
        "a user's revoked login was answered active from the cache"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_developer_suspended_or_an_app_deleted_here_ends_cached_tokens_at_once() {
    let (relay, a) = relayed_broker().await;
    let rs = a.default_client().await;
    let (c1, c2) = (a.default_client().await, a.default_client().await);
    let (t1, t2) = (a.access_token(&c1).await, a.access_token(&c2).await);
    cached(&a, &rs, &t1).await;
    cached(&a, &rs, &t2).await;
    relay.freeze_subscriptions();
    let res = a
        .admin_post(
            &format!("/admin/developers/{}/suspend", c1.developer_id),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        !a.is_active(&rs, &t1).await,
        "a suspended developer's token was answered active from the cache"
    );
    let app = format!("/admin/developers/{}/apps/{}", c2.developer_id, c2.app_id);
    let res = a.admin_delete(&app).await;
    assert!(res.status().is_success(), "{}", res.status());
    assert!(
        !a.is_active(&rs, &t2).await,
        "a deleted app's token was answered active from the cache"
    );
}

/// Nothing announces a credential's expiry: a cached answer ends with it because every hit
/// checks the credential again (`App::honours`), and a cached answer's `exp` is the
/// credential's expiry when that comes first (RFC 7662 §2.2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_token_ends_with_its_credential_and_says_so_in_exp() {
    let a = spawn_app().await;
    let rs = a.default_client().await;
    let c = a.default_client().await;
    let path = format!(
        "/admin/developers/{}/apps/{}/credentials",
        c.developer_id, c.app_id
    );
    let res = a.admin_post(&path, json!({"expires_in": 2})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body = json_of(res).await;
    let expires_at = body["expires_at"].as_i64().expect("an expiry");
    let short = Client {
        id: s(&body, "client_id"),
        secret: s(&body, "client_secret"),
        ..c.clone()
    };
    let token = a.access_token(&short).await;
    cached(&a, &rs, &token).await;
    let before = hits(&a).await;
    let info = a.introspect(&rs, &token).await;
    assert!(hits(&a).await > before, "answered from the cache");
    assert_eq!(info["exp"].as_i64(), Some(expires_at), "{info}");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_millis() as i64;
    let wait = (expires_at * 1000 + 300 - now_ms).max(0) as u64;
    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    assert!(
        !a.is_active(&rs, &token).await,
        "a token of an expired credential was answered active from the cache"
    );
}
