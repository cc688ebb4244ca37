//! Changes made at the broker that answers: they hold for its introspection before their call
//! answers, not when their announcement comes back (frozen here: see `super`).

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::world::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_here_is_inactive_as_soon_as_the_revocation_answers() {
    let (relay, a) = relayed_broker().await;
    let c = a.default_client().await;
    let token = a.access_token(&c).await;
    cached(&a, &c, &token).await;
    relay.freeze_subscriptions();
    let res = a.post_form("/revoke", &c, &[("token", &token)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        !a.is_active(&c, &token).await,
        "a token revoked at this broker was answered active from its cache"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_ended_here_is_inactive_as_soon_as_the_revocation_answers() {
    let relay = relay().await;
    let url = relay.url();
    let w = spawn_world_with(|cfg| cfg["store"]["url"] = json!(url)).await;
    let c = code_client(&w, json!({})).await;
    let tokens = alice_tokens(&w, &c, "read").await;
    let access = tokens["access_token"].as_str().expect("access_token");
    let refresh = tokens["refresh_token"].as_str().expect("refresh_token");
    cached(&w.app, &c, access).await;
    relay.freeze_subscriptions();
    // RFC 7009 §2.1: revoking the refresh token ends the login, its access tokens with it.
    let res = w.app.post_form("/revoke", &c, &[("token", refresh)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        !w.app.is_active(&c, access).await,
        "a login ended at this broker was answered active from its cache"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_removed_or_a_credential_revoked_here_shows_at_once_in_a_cached_answer() {
    let (relay, a) = relayed_broker().await;
    let rs = a.default_client().await;
    let c = a.default_client().await;
    let token = a.access_token(&c).await;
    cached(&a, &rs, &token).await;
    assert_eq!(
        a.introspect(&rs, &token).await["scope"],
        json!("read write")
    );
    relay.freeze_subscriptions();
    let app = format!("/admin/developers/{}/apps/{}", c.developer_id, c.app_id);
    let res = a.admin_patch(&app, json!({"scopes": ["read"]})).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Answered from the cache (its echo frozen, the broker has not noticed the silence yet):
    // the hit cuts the scope to the app as it is now.
    let info = a.introspect(&rs, &token).await;
    assert_eq!(info["active"], json!(true), "{info}");
    assert_eq!(info["scope"], json!("read"), "the app's scopes now: {info}");
    let res = a
        .admin_post(&format!("{app}/credentials/{}/revoke", c.id), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        !a.is_active(&rs, &token).await,
        "a token of a revoked credential was answered active from the cache"
    );
}
