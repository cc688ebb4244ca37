//! RFC 7592 client configuration endpoint: a dynamically registered client reads, replaces and
//! deletes its registration with its registration access token (issue 9, point 8).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::registration::{cc_by_post, dcr_app, register, registered};

async fn config_call(
    app: &TestApp,
    method: reqwest::Method,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = app.http.request(method, uri).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

async fn assert_bearer_401(res: reqwest::Response) {
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    assert_eq!(json_of(res).await["error"], "invalid_token");
}

/// RFC 7592: read, replace and delete a registration with its registration access token.
#[tokio::test]
async fn the_client_configuration_endpoint_reads_replaces_and_deletes() {
    use reqwest::Method;
    let app = dcr_app().await;
    let res = register(
        &app,
        IAT,
        json!({"client_name": "crm", "grant_types": ["client_credentials"], "scope": "read"}),
    )
    .await;
    let reg = json_of(res).await;
    let id = reg["client_id"].as_str().unwrap();
    let uri = reg["registration_client_uri"].as_str().unwrap();
    let token = reg["registration_access_token"].as_str().unwrap();
    assert_eq!(uri, format!("http://localhost/register/{id}"));
    assert!(token.starts_with("tsr_rat_"));
    assert_eq!(reg["token_endpoint_auth_method"], "client_secret_basic");
    // Stored only as a keyed hash.
    assert!(app.stored().await.iter().all(|(_, v)| !v.contains(token)));
    let local = app.url(&format!("/register/{id}"));

    let res = config_call(&app, Method::GET, &local, token, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let read = json_of(res).await;
    for k in [
        "client_id",
        "client_name",
        "grant_types",
        "scope",
        "token_endpoint_auth_method",
        "registration_client_uri",
        "redirect_uris",
    ] {
        assert_eq!(read[k], reg[k], "{k}");
    }
    assert!(read.get("client_secret").is_none(), "never shown again");

    // Wrong, malformed or another client's token; an admin-made client has none.
    let other =
        json_of(register(&app, IAT, json!({"grant_types": ["client_credentials"]})).await).await;
    let other_token = other["registration_access_token"].as_str().unwrap();
    for t in [
        other_token,
        "nope",
        &tessera_shared::token::TokenKind::RegistrationToken.generate(),
    ] {
        assert_bearer_401(config_call(&app, Method::GET, &local, t, None).await).await;
    }
    let admin_made = app.default_client().await;
    let url = app.url(&format!("/register/{}", admin_made.id));
    assert_bearer_401(config_call(&app, Method::GET, &url, token, None).await).await;

    // PUT replaces everything: what is omitted takes its default (no scope, no name).
    let put = |body: Value| config_call(&app, Method::PUT, &local, token, Some(body));
    let res = put(
        json!({"client_id": id, "grant_types": ["client_credentials"],
                         "token_endpoint_auth_method": "client_secret_post"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let replaced = json_of(res).await;
    assert_eq!(replaced["scope"], "");
    assert!(replaced.get("client_name").is_none());
    assert_eq!(replaced["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(replaced["registration_access_token"], token);
    // The secret still works, now only with the method registered.
    let c = registered(&reg);
    assert_eq!(cc_by_post(&app, &c).await.status(), StatusCode::OK);
    assert_oauth_error(
        app.token(&c, &[("grant_type", "client_credentials")]).await,
        401,
        "invalid_client",
    )
    .await;
    // The rules of registration hold; client_id must match; a secret, if sent, must be right.
    for (body, code) in [
        (
            json!({"grant_types": ["client_credentials"]}),
            "invalid_request",
        ),
        (
            json!({"client_id": other["client_id"], "grant_types": ["client_credentials"]}),
            "invalid_request",
        ),
        (
            json!({"client_id": id, "grant_types": ["client_credentials"], "client_secret": "x"}),
            "invalid_client_metadata",
        ),
        (
            json!({"client_id": id, "grant_types": ["password"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"client_id": id, "grant_types": ["client_credentials"], "scope": "admin"}),
            "invalid_client_metadata",
        ),
        (
            json!({"client_id": id, "redirect_uris": ["https://a.example/cb"],
                "token_endpoint_auth_method": "none"}),
            "invalid_client_metadata",
        ),
    ] {
        assert_oauth_error(put(body.clone()).await, 400, code).await;
    }
    let res = put(
        json!({"client_id": id, "grant_types": ["client_credentials"],
                         "client_secret": c.secret, "client_name": "crm 2", "scope": "read",
                         "token_endpoint_auth_method": "client_secret_post"}),
    )
    .await;
    assert_eq!(json_of(res).await["client_name"], "crm 2");

    // DELETE: gone, with its tokens; the registration token no longer works.
    let access = json_of(cc_by_post(&app, &c).await).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let res = config_call(&app, Method::DELETE, &local, token, None).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_bearer_401(config_call(&app, Method::GET, &local, token, None).await).await;
    assert_oauth_error(cc_by_post(&app, &c).await, 401, "invalid_client").await;
    let admin = app.default_client().await;
    assert!(!app.is_active(&admin, &access).await);
}
