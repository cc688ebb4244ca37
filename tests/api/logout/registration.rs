//! An app's `post_logout_redirect_uris` (OpenID Connect RP-Initiated Logout 1.0 §3.1): set and
//! changed through the admin API and RFC 7591 registration, checked as redirect URIs are.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::registration::{dcr_app, register};

#[tokio::test]
async fn post_logout_redirect_uris_are_kept_checked_and_shown() {
    let app = spawn_app().await;
    let dev = app.create_developer().await;
    let path = format!("/admin/developers/{dev}/apps");
    let body = |uris: serde_json::Value| {
        json!({
            "name": format!("app-{}", uuid::Uuid::new_v4().simple()),
            "grant_types": ["client_credentials"],
            "post_logout_redirect_uris": uris,
        })
    };
    for bad in [json!(["not a url"]), json!(["https://app.example/#frag"])] {
        let res = app.admin_post(&path, body(bad)).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let err = json_of(res).await;
        assert!(
            err.to_string().contains("post_logout_redirect_uris[0]"),
            "{err}"
        );
    }
    let res = app
        .admin_post(&path, body(json!(["https://app.example/bye"])))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created = json_of(res).await;
    assert_eq!(
        created["post_logout_redirect_uris"],
        json!(["https://app.example/bye"])
    );
    let app_path = format!("{path}/{}", created["id"].as_str().unwrap());
    let res = app
        .admin_patch(
            &app_path,
            json!({"post_logout_redirect_uris": ["https://app.example/later"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let shown = json_of(app.admin_get(&app_path).await).await;
    assert_eq!(
        shown["post_logout_redirect_uris"],
        json!(["https://app.example/later"])
    );
}

#[tokio::test]
async fn dynamic_registration_takes_post_logout_redirect_uris() {
    let app = dcr_app().await;
    let res = register(
        &app,
        IAT,
        json!({
            "redirect_uris": ["https://app.example/cb"],
            "post_logout_redirect_uris": ["https://app.example/bye"],
        }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body = json_of(res).await;
    assert_eq!(
        body["post_logout_redirect_uris"],
        json!(["https://app.example/bye"])
    );
    let res = register(
        &app,
        IAT,
        json!({
            "redirect_uris": ["https://app.example/cb"],
            "post_logout_redirect_uris": ["javascript:alert(1)"],
        }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}
