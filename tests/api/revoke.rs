//! `POST /revoke` (RFC 7009) and revocation of whole apps.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_client_revokes_its_own_token() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    let token = app.access_token(&c).await;
    let other = app.access_token(&c).await;
    let res = app
        .post_form(
            "/revoke",
            &c,
            &[("token", &token), ("token_type_hint", "access_token")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!app.is_active(&c, &token).await);
    assert!(
        app.is_active(&c, &other).await,
        "only the named token is revoked"
    );
    // Revoking again, or revoking garbage, is still 200 (RFC 7009 §2.2).
    for t in [token.as_str(), "garbage", "tsr_at_unknown"] {
        let res = app.post_form("/revoke", &c, &[("token", t)]).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn a_client_cannot_revoke_another_apps_token() {
    let app = spawn_app().await;
    let owner = app.default_client().await;
    let intruder = app.default_client().await;
    let token = app.access_token(&owner).await;
    let res = app
        .post_form("/revoke", &intruder, &[("token", &token)])
        .await;
    assert_eq!(res.status(), StatusCode::OK, "the answer reveals nothing");
    assert!(app.is_active(&owner, &token).await);
}

#[tokio::test]
async fn revocation_needs_client_authentication_and_a_token() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    let token = app.access_token(&c).await;
    let res = app
        .http
        .post(app.url("/revoke"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;
    let res = app.post_form("/revoke", &c, &[]).await;
    assert_oauth_error(res, 400, "invalid_request").await;
    assert!(app.is_active(&c, &token).await);
}

#[tokio::test]
async fn revoking_an_app_kills_all_its_tokens_at_once_for_good() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    let observer = app.default_client().await;
    let mut tokens = Vec::new();
    for _ in 0..5 {
        tokens.push(app.access_token(&c).await);
    }
    let path = format!("/admin/developers/{}/apps/{}", c.developer_id, c.app_id);
    let res = app.admin_patch(&path, json!({"status": "revoked"})).await;
    assert_eq!(json_of(res).await["status"], "revoked");
    for t in &tokens {
        assert!(!app.is_active(&observer, t).await);
    }
    // Approving the app again lets it get new tokens, but the old ones stay dead.
    let res = app.admin_patch(&path, json!({"status": "approved"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let fresh = app.access_token(&c).await;
    assert!(app.is_active(&observer, &fresh).await);
    for t in &tokens {
        assert!(!app.is_active(&observer, t).await);
    }
}
