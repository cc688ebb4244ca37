//! API products and subscriptions through the admin API, end to end: what an app's tokens may
//! hold follows its approved products at once (introspection, the proxy, the token endpoint),
//! product changes reach the subscribers, and a suspended developer's apps are refused
//! everywhere.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::gateway::{route, spawn_echo, spawn_proxy, until_refused, TestProxy};
use crate::helpers::*;

async fn product(app: &TestApp, body: Value) -> Value {
    let res = app.admin_post("/admin/products", body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    json_of(res).await
}

fn subs(c: &Client) -> String {
    format!(
        "/admin/developers/{}/apps/{}/subscriptions",
        c.developer_id, c.app_id
    )
}

async fn scoped_token(app: &TestApp, c: &Client, scope: &str) -> reqwest::Response {
    app.token(c, &[("grant_type", "client_credentials"), ("scope", scope)])
        .await
}

/// Polls until the proxy answers `want` for `token` on `path` (`OK` until then).
async fn until_status(proxy: &TestProxy, path: &str, token: &str, want: StatusCode) {
    let start = Instant::now();
    loop {
        let status = proxy.get(path, token).await.status();
        if status == want {
            return;
        }
        assert_eq!(status, StatusCode::OK);
        // Generous: the revocation channel is prompt, but a loaded machine can be slow.
        assert!(start.elapsed() < Duration::from_secs(30), "still {status}");
        // Slower than the `orders` product's spike arrest (100ps: one call per 10 ms, no
        // burst), which a 10 ms pause could meet when two calls' timings round together.
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn approved_products_grant_scopes_and_revocation_takes_them_back() {
    let app = spawn_app().await;
    product(
        &app,
        json!({"name": "orders", "display_name": "Orders API", "scopes": ["orders:read", "orders:write"],
               "rate_plan": {"spike_arrest": "100ps", "quota": {"limit": 1000, "period": "day"}}}),
    )
    .await;
    let billing = product(
        &app,
        json!({"name": "billing", "scopes": ["billing:read"], "approval": "manual",
               "visibility": "private"}),
    )
    .await;
    assert_eq!(billing["visibility"], "private");
    let c = app.create_client(json!({"scopes": ["profile"]})).await;

    let res = app
        .admin_post(&subs(&c), json!({"product": "orders"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(json_of(res).await["status"], "approved");
    let res = app
        .admin_post(&subs(&c), json!({"product": "billing"}))
        .await;
    assert_eq!(json_of(res).await["status"], "pending");
    let again = app
        .admin_post(&subs(&c), json!({"product": "billing"}))
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);

    // The token endpoint grants the approved product's scopes with the app's own, and not the
    // pending product's.
    let res = app.token(&c, &[("grant_type", "client_credentials")]).await;
    let body = json_of(res).await;
    assert_eq!(body["scope"], "orders:read orders:write profile");
    let token = body["access_token"].as_str().unwrap().to_string();
    let pending = scoped_token(&app, &c, "billing:read").await;
    assert_oauth_error(pending, 400, "invalid_scope").await;
    let info = app.introspect(&c, &token).await;
    assert_eq!(info["ext"]["rate_plan"]["spike_arrest"], "100ps");
    assert_eq!(info["ext"]["rate_plan"]["quota"]["limit"], 1000);

    // Approved by an operator, the manual product's scope can be asked for.
    let path = format!("{}/billing/approve", subs(&c));
    let res = app.admin_post(&path, json!({})).await;
    assert_eq!(json_of(res).await["status"], "approved");
    let res = scoped_token(&app, &c, "billing:read").await;
    assert_eq!(res.status(), StatusCode::OK);

    // Revoking the orders subscription takes its scopes from the live token, at the proxy
    // (told through the revocation channel) and at introspection.
    let echo = spawn_echo();
    let proxy = spawn_proxy(
        &app,
        json!([route(
            "orders",
            "/orders",
            &echo,
            json!({"scopes": {"required": ["orders:write"]}})
        )]),
    )
    .await;
    assert_eq!(proxy.get("/orders", &token).await.status(), StatusCode::OK);
    let res = app
        .admin_post(&format!("{}/orders/revoke", subs(&c)), json!({}))
        .await;
    assert_eq!(json_of(res).await["status"], "revoked");
    until_status(&proxy, "/orders", &token, StatusCode::FORBIDDEN).await;
    let info = app.introspect(&c, &token).await;
    assert_eq!(info["active"], true);
    assert_eq!(info["scope"], "profile");
    assert!(
        info["ext"]["rate_plan"].get("spike_arrest").is_none(),
        "{info}"
    );

    // What Redis holds: the app record carries its subscriptions and their copies.
    let stored = app.stored_records().await;
    let apps = stored
        .iter()
        .find(|(k, _)| k.ends_with("{catalog}:apps"))
        .unwrap();
    assert!(
        apps.1
            .contains("\"product\":\"orders\",\"status\":\"revoked\""),
        "{}",
        apps.1
    );
    assert!(apps
        .1
        .contains("\"product\":\"billing\",\"status\":\"approved\""));
    let listed = json_of(app.admin_get("/admin/subscriptions?status=approved").await).await;
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["product"] == "billing"));
}

#[tokio::test]
async fn product_changes_reach_subscribers_and_live_products_stay() {
    let app = spawn_app().await;
    product(
        &app,
        json!({"name": "reports", "scopes": ["reports:read", "reports:export"]}),
    )
    .await;
    let c = app.create_client(json!({})).await;
    app.admin_post(&subs(&c), json!({"product": "reports"}))
        .await;
    let token = app.access_token(&c).await;
    assert_eq!(
        app.introspect(&c, &token).await["scope"],
        "reports:export reports:read"
    );

    let res = app
        .admin_patch(
            "/admin/products/reports",
            json!({"scopes": ["reports:read"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.introspect(&c, &token).await["scope"], "reports:read");

    let res = app.admin_delete("/admin/products/reports").await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(json_of(res).await["error"], "conflict");
    app.admin_post(&format!("{}/reports/revoke", subs(&c)), json!({}))
        .await;
    let res = app.admin_delete("/admin/products/reports").await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let listed = json_of(app.admin_get(&subs(&c)).await).await;
    assert_eq!(listed, json!([]));
    let info = app.introspect(&c, &token).await;
    assert_eq!(info["active"], true);
    assert!(info["scope"].as_str().unwrap_or("").is_empty(), "{info}");
}

#[tokio::test]
async fn bad_product_requests_get_clear_errors() {
    let app = spawn_app().await;
    for (body, field) in [
        (json!({"name": "Bad Name"}), "name"),
        (json!({"name": "p", "scopes": ["a b"]}), "scopes"),
        (json!({"name": "p", "visibility": "secret"}), "visibility"),
        (json!({"name": "p", "approval": "maybe"}), "approval"),
        (json!({"name": "p", "surprise": 1}), "body"),
        (
            json!({"name": "p", "description": "x".repeat(2001)}),
            "description",
        ),
        (
            json!({"name": "p", "display_name": "a\u{7}b"}),
            "display_name",
        ),
    ] {
        let res = app.admin_post("/admin/products", body.clone()).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
        let err = json_of(res).await;
        assert_eq!(err["error"], "invalid_request");
        assert!(
            err["field"].as_str().unwrap_or("body").contains(field) || field == "body",
            "{err}"
        );
        assert!(!err.to_string().contains("Bad Name"), "never echoed: {err}");
    }
    product(&app, json!({"name": "p"})).await;
    let dup = app
        .admin_post("/admin/products", json!({"name": "p"}))
        .await;
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    let c = app.create_client(json!({})).await;
    let res = app.admin_post(&subs(&c), json!({"product": "nope"})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .admin_post(&format!("{}/p/approve", subs(&c)), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.admin_get("/admin/products/..%2F..").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.admin_get("/admin/subscriptions?status=bogus").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let anonymous = app
        .http
        .get(app.url("/admin/products"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_suspended_developer_is_refused_everywhere_until_reinstated() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    // A resource server of another developer introspects (the suspended app cannot).
    let rs = app.default_client().await;
    let token = app.access_token(&c).await;
    let echo = spawn_echo();
    let proxy = spawn_proxy(&app, json!([route("orders", "/orders", &echo, json!({}))])).await;
    assert_eq!(proxy.get("/orders", &token).await.status(), StatusCode::OK);

    let dev = format!("/admin/developers/{}", c.developer_id);
    let res = app.admin_post(&format!("{dev}/suspend"), json!({})).await;
    assert_eq!(json_of(res).await["status"], "suspended");
    until_refused(&proxy, &token).await;
    assert!(!app.is_active(&rs, &token).await);
    let res = app.token(&c, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(res, 401, "invalid_client").await;
    // An app created meanwhile is born suspended.
    let res = app
        .admin_post(&format!("{dev}/apps"), json!({"name": "late"}))
        .await;
    assert_eq!(json_of(res).await["developer_suspended"], true);

    let res = app.admin_post(&format!("{dev}/reinstate"), json!({})).await;
    assert_eq!(json_of(res).await["status"], "active");
    let fresh = app.access_token(&c).await;
    assert_eq!(proxy.get("/orders", &fresh).await.status(), StatusCode::OK);
    // Tokens from before the suspension stay dead.
    assert!(!app.is_active(&rs, &token).await);
    assert!(app.is_active(&rs, &fresh).await);
}

#[tokio::test]
async fn the_openapi_document_is_served_behind_the_admin_token() {
    let app = spawn_app().await;
    let res = app
        .http
        .get(app.url("/admin/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let doc = json_of(app.admin_get("/admin/openapi.json").await).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/admin/products",
        "/admin/developers/{dev}/apps/{app}/subscriptions",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
}
