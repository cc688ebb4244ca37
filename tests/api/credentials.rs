//! App credentials: several live at once, revocation, deletion, expiry.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

fn cred_path(c: &Client) -> String {
    format!(
        "/admin/developers/{}/apps/{}/credentials",
        c.developer_id, c.app_id
    )
}

#[tokio::test]
async fn secrets_rotate_without_downtime() {
    let app = spawn_app().await;
    let first = app.default_client().await;
    let observer = app.default_client().await;
    let old_token = app.access_token(&first).await;

    // A second credential: both authenticate.
    let res = app.admin_post(&cred_path(&first), json!({})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body = json_of(res).await;
    let second = Client {
        id: body["client_id"].as_str().unwrap().into(),
        secret: body["client_secret"].as_str().unwrap().into(),
        ..first.clone()
    };
    assert_ne!(second.id, first.id);
    let new_token = app.access_token(&second).await;
    app.access_token(&first).await;

    // Listing never shows secrets.
    let listed = app
        .admin_get(&cred_path(&first))
        .await
        .text()
        .await
        .unwrap();
    assert!(listed.contains(&first.id) && listed.contains(&second.id));
    assert!(!listed.contains("client_secret") && !listed.contains(&first.secret));

    // Revoking the old one: it can no longer authenticate and its tokens die at once; the new
    // credential and its tokens are unaffected.
    let res = app
        .admin_post(
            &format!("{}/{}/revoke", cred_path(&first), first.id),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json_of(res).await["status"], "revoked");
    let res = app
        .token(&first, &[("grant_type", "client_credentials")])
        .await;
    assert_oauth_error(res, 401, "invalid_client").await;
    assert!(!app.is_active(&observer, &old_token).await);
    assert!(app.is_active(&observer, &new_token).await);

    // Deleting it removes it from the list and from client lookup.
    let res = app
        .admin_delete(&format!("{}/{}", cred_path(&first), first.id))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let listed = json_of(app.admin_get(&cred_path(&first)).await).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let res = app
        .admin_delete(&format!("{}/{}", cred_path(&first), first.id))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .admin_post(&format!("{}/nope/revoke", cred_path(&first)), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_expired_credential_no_longer_authenticates() {
    let app = spawn_app().await;
    let base = app.default_client().await;
    let observer = app.default_client().await;
    let res = app
        .admin_post(&cred_path(&base), json!({"expires_in": 1}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body = json_of(res).await;
    assert!(body["expires_at"].is_i64());
    let short = Client {
        id: body["client_id"].as_str().unwrap().into(),
        secret: body["client_secret"].as_str().unwrap().into(),
        ..base.clone()
    };
    let token = app.access_token(&short).await;
    assert!(app.is_active(&observer, &token).await);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let res = app
        .token(&short, &[("grant_type", "client_credentials")])
        .await;
    assert_oauth_error(res, 401, "invalid_client").await;
    assert!(!app.is_active(&observer, &token).await);
    app.access_token(&base).await;

    let res = app
        .admin_post(&cred_path(&base), json!({"expires_in": 0}))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}
