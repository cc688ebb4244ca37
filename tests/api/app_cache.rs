//! Issue 11, P3/P4: the broker keeps apps in process (client authentication, introspection)
//! and the revocation channel keeps that honest — a change made through any broker evicts the
//! app everywhere at once.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// A second broker on the same Redis, prefix and pepper (another instance of one deployment).
async fn sibling(a: &TestApp) -> TestApp {
    let prefix = a.prefix.clone();
    spawn_app_with(&a.redis_url, |c| c["store"]["prefix"] = json!(prefix)).await
}

/// Token calls until the broker's app cache follows the channel and holds `c`'s app.
async fn warm(a: &TestApp, c: &Client) -> String {
    let mut token = String::new();
    for _ in 0..10 {
        token = a.access_token(c).await;
        assert!(a.is_active(c, &token).await);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    token
}

#[tokio::test]
async fn a_known_client_is_authenticated_and_introspected_without_reading_its_app() {
    let a = spawn_app().await;
    let c = a.default_client().await;
    let token = warm(&a, &c).await;
    // Remove the app record behind the catalog's back (no announcement): only a broker that
    // no longer reads it can still serve the client.
    let mut r = a.redis().await;
    let apps = tessera_shared::store::keys::KeySpace::new(&a.prefix)
        .table(tessera_shared::store::Table::Apps);
    let removed: i64 = redis::cmd("HDEL")
        .arg(&apps)
        .arg(&c.app_id)
        .query_async(&mut r)
        .await
        .expect("HDEL");
    assert_eq!(removed, 1);
    let fresh = a.access_token(&c).await;
    assert!(a.is_active(&c, &token).await && a.is_active(&c, &fresh).await);
    // Another broker, which never held the app, reads Redis: the client is unknown there.
    let b = sibling(&a).await;
    let res = b.token(&c, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(res, 401, "invalid_client").await;
}

#[tokio::test]
async fn a_change_made_through_another_broker_evicts_the_app_within_a_second() {
    let a = spawn_app().await;
    let c = a.default_client().await;
    warm(&a, &c).await;
    let b = sibling(&a).await;
    let res = b
        .admin_patch(
            &format!("/admin/developers/{}/apps/{}", c.developer_id, c.app_id),
            json!({"status": "revoked"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // Within 1 s of the change's answer: measured at the sending of each request still
    // granted, not at its answer (which a loaded machine may deliver late).
    let start = Instant::now();
    loop {
        let sent = start.elapsed();
        let res = a.token(&c, &[("grant_type", "client_credentials")]).await;
        if res.status() != StatusCode::OK {
            assert_oauth_error(res, 401, "invalid_client").await;
            break;
        }
        assert!(
            sent < Duration::from_secs(1),
            "a revoked app still gets tokens from the other broker"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_secret_revoked_through_this_broker_is_refused_as_soon_as_the_call_answers() {
    let a = spawn_app().await;
    let c = a.default_client().await;
    warm(&a, &c).await;
    let res = a
        .admin_post(
            &format!(
                "/admin/developers/{}/apps/{}/credentials/{}/revoke",
                c.developer_id, c.app_id, c.id
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let res = a.token(&c, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(res, 401, "invalid_client").await;
}
