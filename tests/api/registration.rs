//! `POST /register` (RFC 7591 dynamic client registration).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

pub(crate) async fn dcr_app() -> TestApp {
    spawn_app_with(&shared_redis_url(), |cfg| {
        cfg["registration"] =
            json!({"initial_access_token": IAT, "allowed_scopes": ["read", "write"]});
    })
    .await
}

/// The client a registration response describes.
pub(crate) fn registered(body: &Value) -> Client {
    Client {
        developer_id: String::new(),
        app_id: String::new(),
        id: body["client_id"].as_str().unwrap().into(),
        secret: body["client_secret"].as_str().unwrap().into(),
    }
}

/// A client_credentials request with `client_secret_post`.
pub(crate) async fn cc_by_post(app: &TestApp, c: &Client) -> reqwest::Response {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", c.id.as_str()),
        ("client_secret", c.secret.as_str()),
    ];
    app.http
        .post(app.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn register(app: &TestApp, iat: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url("/register"))
        .bearer_auth(iat)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn registration_is_off_unless_configured() {
    let app = spawn_app().await;
    let res = register(&app, IAT, json!({"grant_types": ["client_credentials"]})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let meta = json_of(
        app.http
            .get(app.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(meta.get("registration_endpoint").is_none());
}

#[tokio::test]
async fn a_registered_client_gets_tokens() {
    let app = dcr_app().await;
    let res = register(
        &app,
        IAT,
        json!({"client_name": "billing", "grant_types": ["client_credentials"], "scope": "read",
               "token_endpoint_auth_method": "client_secret_post", "logo_uri": "ignored"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body = json_of(res).await;
    assert_eq!(body["client_name"], "billing");
    assert_eq!(body["client_secret_expires_at"], 0);
    assert!(body["client_id_issued_at"].is_i64());
    let c = registered(&body);
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_post");
    let res = cc_by_post(&app, &c).await;
    assert_eq!(json_of(res).await["scope"], "read");
    // Registered for client_secret_post: the same secret over Basic is refused.
    let res = app.token(&c, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(res, 401, "invalid_client").await;
    let meta = json_of(
        app.http
            .get(app.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(meta["registration_endpoint"], "http://localhost/register");

    // client_name is a label, not a key: the same name registers again, as another client.
    let res = register(
        &app,
        IAT,
        json!({"client_name": "billing", "grant_types": ["client_credentials"]}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let again = json_of(res).await;
    assert_eq!(again["client_name"], "billing");
    assert_ne!(again["client_id"], body["client_id"]);
}

#[tokio::test]
async fn registration_requires_the_initial_access_token() {
    let app = dcr_app().await;
    let res = register(
        &app,
        "wrong-token",
        json!({"grant_types": ["client_credentials"]}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    let res = app
        .http
        .post(app.url("/register"))
        .json(&json!({"grant_types": ["client_credentials"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_metadata_is_refused_with_rfc7591_errors() {
    let app = dcr_app().await;
    let cases = [
        (
            json!({"grant_types": ["client_credentials"], "redirect_uris": ["http://evil.example/cb"]}),
            "invalid_redirect_uri",
        ),
        // The default grant is authorization_code, which needs a redirect URI.
        (json!({}), "invalid_redirect_uri"),
        (
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["implicit"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["client_credentials"], "scope": "admin"}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["client_credentials"], "response_types": ["token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["password"], "token_endpoint_auth_method": "none"}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["authorization_code"], "redirect_uris": ["https://a.example/cb"],
                   "response_types": ["token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["client_credentials"], "response_types": ["code"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": "client_credentials"}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["client_credentials"], "client_name": "bell\u{7}"}),
            "invalid_client_metadata",
        ),
    ];
    for (body, code) in cases {
        let res = register(&app, IAT, body.clone()).await;
        let err = assert_oauth_error(res, 400, code).await;
        assert!(err["error_description"].is_string(), "{body}");
    }
    let res = app
        .http
        .post(app.url("/register"))
        .bearer_auth(IAT)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 400, "invalid_client_metadata").await;
}

/// Public clients (`none`) get no secret, through registration and the admin API alike; a
/// client registered for one secret method is refused with the other.
#[tokio::test]
async fn public_clients_have_no_secret_and_methods_are_enforced() {
    let app = dcr_app().await;
    let res = register(
        &app,
        IAT,
        json!({"redirect_uris": ["https://spa.example/cb"], "token_endpoint_auth_method": "none"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let spa = json_of(res).await;
    assert_eq!(spa["token_endpoint_auth_method"], "none");
    assert!(spa.get("client_secret").is_none() && spa.get("client_secret_expires_at").is_none());

    let public = app
        .create_client(
            json!({"public": true, "redirect_uris": ["https://spa.example/cb"],
                              "grant_types": ["authorization_code"]}),
        )
        .await;
    assert_eq!(public.secret, "", "no client_secret in the admin answer");
    let path = format!(
        "/admin/developers/{}/apps/{}",
        public.developer_id, public.app_id
    );
    let res = app
        .admin_post(&format!("{path}/credentials"), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(json_of(res).await.get("client_secret").is_none());
    let shown = json_of(app.admin_get(&path).await).await;
    assert_eq!(shown["token_endpoint_auth_method"], "none");

    // Registered for client_secret_basic (the default): at the token endpoint Basic works and
    // post does not; introspection and revocation take either (RFC 7591 registers the token
    // endpoint's method; authlib uses Basic there whatever its token endpoint method).
    let reg =
        json_of(register(&app, IAT, json!({"grant_types": ["client_credentials"]})).await).await;
    assert_eq!(reg["token_endpoint_auth_method"], "client_secret_basic");
    let c = registered(&reg);
    let token = app.access_token(&c).await;
    assert!(app.is_active(&c, &token).await);
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let mut form = form;
        form.push(("client_id", c.id.clone()));
        form.push(("client_secret", c.secret.clone()));
        app.http.post(app.url(path)).form(&form).send()
    };
    let res = post("/token", vec![("grant_type", "client_credentials".into())])
        .await
        .unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;
    let res = post("/introspect", vec![("token", token.clone())])
        .await
        .unwrap();
    assert_eq!(json_of(res).await["active"], true);
    let res = post("/revoke", vec![("token", token.clone())])
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!app.is_active(&c, &token).await);
    // An admin-made app without a method may use either.
    let either = app.default_client().await;
    assert_eq!(cc_by_post(&app, &either).await.status(), StatusCode::OK);
    assert_eq!(
        app.token(&either, &[("grant_type", "client_credentials")])
            .await
            .status(),
        StatusCode::OK
    );

    let meta = json_of(
        app.http
            .get(app.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(meta["scopes_supported"], json!(["read", "write"]));
}
