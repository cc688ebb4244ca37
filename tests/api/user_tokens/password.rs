//! The password grant: opt-in per app, delegated to the upstream.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::world::*;

#[tokio::test]
async fn the_password_grant_is_opt_in_and_delegated_upstream() {
    let w = spawn_world().await;
    let without = code_client(&w, json!({})).await;
    let res = w
        .app
        .token(
            &without,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice"),
            ],
        )
        .await;
    assert_oauth_error(res, 400, "unauthorized_client").await;
    let c = code_client(&w, json!({"grant_types": ["password", "refresh_token"]})).await;
    let res = w
        .app
        .token(
            &c,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "wrong"),
            ],
        )
        .await;
    assert_oauth_error(res, 400, "invalid_grant").await;
    let res = w
        .app
        .token(&c, &[("grant_type", "password"), ("username", "alice")])
        .await;
    assert_oauth_error(res, 400, "invalid_request").await;
    let res = w
        .app
        .token(
            &c,
            &[
                ("grant_type", "password"),
                ("username", "bob"),
                ("password", "bob"),
                ("scope", "read"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let t = json_of(res).await;
    assert!(t["refresh_token"].is_string());
    let info = w
        .app
        .introspect(&c, t["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info["sub"], "00u-bob");
    assert_eq!(info["ext"]["attributes"]["dealership"], "Seattle");
    assert_eq!(info["ext"]["grant_type"], "password");
}
