//! One set of client rules (`tessera_broker::flows::client_rules`): the admin API applies what
//! RFC 7591/7592 registration applies — a public client uses only the code and refresh grants,
//! authenticates with `none` and always uses PKCE; the code grant needs a redirect URI — on
//! creation and on every change, to the app as it would be stored. Nothing is stored when a
//! rule is broken.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::registration::{dcr_app, register};

/// The 400 of a broken rule names the member at fault.
async fn refused(res: reqwest::Response, field: &str) {
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = json_of(res).await;
    assert_eq!(body["error"], "invalid_request", "{body}");
    assert_eq!(body["field"], field, "{body}");
}

#[tokio::test]
async fn the_admin_api_refuses_what_registration_refuses() {
    let app = dcr_app().await;
    let dev = app.create_developer().await;
    let apps = format!("/admin/developers/{dev}/apps");
    let cb = ["https://spa.example/cb"];
    let cases = [
        // A public client with the client credentials grant (the default grant).
        (
            json!({"name": "a", "public": true, "redirect_uris": cb}),
            "grant_types",
        ),
        (
            json!({"name": "b", "public": true, "redirect_uris": cb,
                   "grant_types": ["authorization_code", "password"]}),
            "grant_types",
        ),
        // The code grant with no redirect URI to send the code to.
        (
            json!({"name": "c", "grant_types": ["authorization_code"]}),
            "redirect_uris",
        ),
        (
            json!({"name": "d", "public": true, "redirect_uris": cb,
                   "grant_types": ["authorization_code"], "pkce_required": false}),
            "pkce_required",
        ),
    ];
    for (body, field) in cases {
        refused(app.admin_post(&apps, body).await, field).await;
    }
    let listed = json_of(app.admin_get(&apps).await).await;
    assert_eq!(listed, json!([]), "nothing was stored");

    // Registration answers the same rules in its own shape (RFC 7591 §3.2.2).
    let res = register(
        &app,
        IAT,
        json!({"token_endpoint_auth_method": "none", "redirect_uris": cb,
               "grant_types": ["authorization_code", "client_credentials"]}),
    )
    .await;
    let err = assert_oauth_error(res, 400, "invalid_client_metadata").await;
    let description = err["error_description"].as_str().unwrap();
    assert!(description.starts_with("grant_types:"), "{description}");
    let res = register(&app, IAT, json!({"grant_types": ["authorization_code"]})).await;
    assert_oauth_error(res, 400, "invalid_redirect_uri").await;
}

#[tokio::test]
async fn a_change_is_checked_on_the_app_as_it_would_be_stored() {
    let app = spawn_app().await;
    let spa = app
        .create_client(
            json!({"public": true, "redirect_uris": ["https://spa.example/cb"],
                              "grant_types": ["authorization_code", "refresh_token"]}),
        )
        .await;
    let path = format!("/admin/developers/{}/apps/{}", spa.developer_id, spa.app_id);
    let before = json_of(app.admin_get(&path).await).await;
    // Each change alone looks harmless; on this public code-grant app each breaks a rule.
    let patches = [
        (
            json!({"grant_types": ["authorization_code", "client_credentials"]}),
            "grant_types",
        ),
        (json!({"redirect_uris": []}), "redirect_uris"),
        (json!({"pkce_required": false}), "pkce_required"),
    ];
    for (patch, field) in patches {
        refused(app.admin_patch(&path, patch).await, field).await;
    }
    let after = json_of(app.admin_get(&path).await).await;
    assert_eq!(after, before, "a refused change changes nothing");
    // A change that keeps to the rules goes through.
    let res = app
        .admin_patch(&path, json!({"grant_types": ["authorization_code"]}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // A confidential app may use client credentials and turn PKCE off, but the code grant
    // still needs a redirect URI.
    let confidential = app.default_client().await;
    let path = format!(
        "/admin/developers/{}/apps/{}",
        confidential.developer_id, confidential.app_id
    );
    let res = app
        .admin_patch(&path, json!({"pkce_required": false}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .admin_patch(
            &path,
            json!({"grant_types": ["client_credentials", "authorization_code"]}),
        )
        .await;
    refused(res, "redirect_uris").await;
}
