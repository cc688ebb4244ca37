//! Changes made at another broker of the same deployment reach this one's introspection cache
//! through the revocation channel within 1 s (the proxy's promise).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::world::*;

const WITHIN: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_at_another_broker_is_inactive_here_within_a_second() {
    let a = spawn_app().await;
    let b = sibling_on(&a, &a.redis_url).await;
    let c = a.default_client().await;
    let token = a.access_token(&c).await;
    cached(&b, &c, &token).await;
    let res = a.post_form("/revoke", &c, &[("token", &token)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    inactive_within(&b, &c, &token, WITHIN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_or_a_credential_revoked_at_another_broker_is_inactive_here_within_a_second() {
    let a = spawn_app().await;
    let b = sibling_on(&a, &a.redis_url).await;
    let rs = a.default_client().await;
    let (c1, c2) = (a.default_client().await, a.default_client().await);
    let (t1, t2) = (a.access_token(&c1).await, a.access_token(&c2).await);
    cached(&b, &rs, &t1).await;
    cached(&b, &rs, &t2).await;
    a.revoke_app(&c1).await;
    let res = a
        .admin_post(
            &format!(
                "/admin/developers/{}/apps/{}/credentials/{}/revoke",
                c2.developer_id, c2.app_id, c2.id
            ),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    inactive_within(&b, &rs, &t1, WITHIN).await;
    inactive_within(&b, &rs, &t2, WITHIN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_ended_at_another_broker_is_inactive_here_within_a_second() {
    let w = spawn_world().await;
    let b = sibling_on(&w.app, &w.app.redis_url).await;
    let c = code_client(&w, json!({})).await;
    let tokens = alice_tokens(&w, &c, "read").await;
    let access = tokens["access_token"].as_str().expect("access_token");
    let refresh = tokens["refresh_token"].as_str().expect("refresh_token");
    cached(&b, &c, access).await;
    let res = w.app.post_form("/revoke", &c, &[("token", refresh)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    inactive_within(&b, &c, access, WITHIN).await;
}
