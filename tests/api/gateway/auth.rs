//! Authentication through the proxy with Tessera opaque tokens: the cache and the revocation
//! channel, introspection without a store, and the failure answers. API keys and upstream
//! JWTs are in [`super::api_key_and_jwt`].

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::helpers::json_of;
use crate::world::{alice_tokens, code_client, spawn_world};

#[tokio::test]
async fn a_valid_token_is_forwarded_with_the_caller_and_without_credentials() {
    let s = setup().await;
    let proxy = spawn_proxy(
        &s.broker,
        json!([route("orders", "/orders", &s.echo, json!({}))]),
    )
    .await;
    let echo = echoed(proxy.get("/orders/42?x=1", &s.token).await).await;
    assert_eq!(echo["path"], "/backend/42");
    assert_eq!(echo["query"], "x=1");
    assert_eq!(
        header(&echo, "x-tessera-client-id"),
        Some(s.client.id.as_str())
    );
    assert_eq!(
        header(&echo, "x-tessera-app-id"),
        Some(s.client.app_id.as_str())
    );
    assert_eq!(
        header(&echo, "x-tessera-developer-id"),
        Some(s.client.developer_id.as_str())
    );
    assert_eq!(header(&echo, "x-tessera-scope"), Some("read write"));
    assert!(
        echo["headers"].get("authorization").is_none(),
        "credentials leaked: {echo}"
    );
}

#[tokio::test]
async fn missing_malformed_unknown_and_query_tokens_are_401() {
    let s = setup().await;
    let proxy = spawn_proxy(
        &s.broker,
        json!([route("orders", "/orders", &s.echo, json!({}))]),
    )
    .await;

    let res = proxy.http.get(proxy.url("/orders")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"test-api\""
    );

    // RFC 6750 §2.3 tokens in the query are not accepted (RFC 9700 §2.5).
    let res = proxy
        .http
        .get(proxy.url(&format!("/orders?access_token={}", s.token)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let before = counter(
        &proxy.metrics().await,
        "tessera_proxy_token_cache_misses_total",
    );
    for bad in [
        "garbage",
        "tsr_at_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let res = proxy.get("/orders", bad).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let challenge = res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        assert_eq!(json_of(res).await["error"], "invalid_token");
    }
    // Malformed tokens are refused by their checksum, before any lookup.
    let after = counter(
        &proxy.metrics().await,
        "tessera_proxy_token_cache_misses_total",
    );
    assert_eq!(before, after);

    // Another scheme, or a well-formed token nobody issued.
    let res = proxy
        .http
        .get(proxy.url("/orders"))
        .header("authorization", format!("Basic {}", s.token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let forged = tessera_shared::token::TokenKind::AccessToken.generate();
    assert_eq!(
        proxy.get("/orders", &forged).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_revoked_token_is_refused_by_a_running_proxy_within_a_second() {
    let s = setup().await;
    let proxy = spawn_proxy(
        &s.broker,
        json!([route("orders", "/orders", &s.echo, json!({}))]),
    )
    .await;
    for _ in 0..3 {
        echoed(proxy.get("/orders", &s.token).await).await;
    }
    let m = proxy.metrics().await;
    assert!(
        counter(&m, "tessera_proxy_token_cache_hits_total") >= 2,
        "cache not warm:\n{m}"
    );
    let res = s
        .broker
        .post_form("/revoke", &s.client, &[("token", &s.token)])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let took = until_refused(&proxy, &s.token).await;
    assert!(took < Duration::from_secs(1), "revocation took {took:?}");
}

#[tokio::test]
async fn revoking_the_app_or_a_user_login_reaches_the_cache() {
    let s = setup().await;
    let proxy = spawn_proxy(
        &s.broker,
        json!([route("orders", "/orders", &s.echo, json!({}))]),
    )
    .await;
    echoed(proxy.get("/orders", &s.token).await).await;
    let res = s
        .broker
        .admin_patch(
            &format!(
                "/admin/developers/{}/apps/{}",
                s.client.developer_id, s.client.app_id
            ),
            json!({"status": "revoked"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(until_refused(&proxy, &s.token).await < Duration::from_secs(1));

    // A user login (token family): revoking its refresh token kills its access tokens.
    let w = spawn_world().await;
    let echo = spawn_echo();
    let c = code_client(&w, json!({"scopes": ["openid", "orders:read"]})).await;
    let tokens = alice_tokens(&w, &c, "openid orders:read").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let proxy = spawn_proxy(
        &w.app,
        json!([route("orders", "/orders", &echo, json!({
            "forward": { "claims": { "X-User-Email": "email" }, "id_token_header": "X-Id-Token" }
        }))]),
    )
    .await;
    let e = echoed(proxy.get("/orders", access).await).await;
    assert_eq!(header(&e, "x-user-email"), Some("alice@example.com"));
    assert_eq!(
        header(&e, "x-tessera-sub").map(|s| !s.is_empty()),
        Some(true)
    );
    let id_token = header(&e, "x-id-token").expect("id_token forwarded");
    assert_eq!(id_token.split('.').count(), 3);
    let res = w.app.post_form("/revoke", &c, &[("token", refresh)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(until_refused(&proxy, access).await < Duration::from_secs(1));
}

#[tokio::test]
async fn refresh_token_reuse_revokes_the_login_at_the_proxy() {
    let w = spawn_world().await;
    let echo = spawn_echo();
    let c = code_client(&w, json!({"scopes": ["openid", "orders:read"]})).await;
    let tokens = alice_tokens(&w, &c, "openid orders:read").await;
    let first_refresh = tokens["refresh_token"].as_str().unwrap();
    let proxy = spawn_proxy(
        &w.app,
        json!([route("orders", "/orders", &echo, json!({}))]),
    )
    .await;
    let res = w
        .app
        .token(
            &c,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", first_refresh),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let access = json_of(res).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    echoed(proxy.get("/orders", &access).await).await;
    // The rotated-out refresh token comes back: reuse (RFC 9700 §4.14.2) revokes the login.
    let res = w
        .app
        .token(
            &c,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", first_refresh),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(until_refused(&proxy, &access).await < Duration::from_secs(1));
}

#[tokio::test]
async fn without_a_store_tokens_are_introspected_at_the_broker() {
    let s = setup().await;
    // The proxy authenticates to the broker as a confidential client of its own.
    let resource_server = s.broker.default_client().await;
    let proxy = spawn_proxy_with(
        &s.broker,
        json!([route(
            "orders",
            "/orders",
            &s.echo,
            json!({ "quota": { "limit": 2, "period": "minute" } })
        )]),
        |c| {
            c["store"] = json!({ "url": "" });
            c["introspection"] = json!({
                "url": s.broker.url("/introspect"),
                "client_id": resource_server.id,
                "client_secret": resource_server.secret,
            });
            c["cache"] = json!({ "max_ttl_secs": 1 });
        },
    )
    .await;
    let e = echoed(proxy.get("/orders/1", &s.token).await).await;
    assert_eq!(
        header(&e, "x-tessera-client-id"),
        Some(s.client.id.as_str())
    );
    assert_eq!(
        header(&e, "x-tessera-app-id"),
        Some(s.client.app_id.as_str())
    );
    let forged = tessera_shared::token::TokenKind::AccessToken.generate();
    assert_eq!(
        proxy.get("/orders/1", &forged).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Quotas count in process without a store.
    assert_eq!(
        proxy.get("/orders/1", &s.token).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        proxy.get("/orders/1", &s.token).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Nothing announces the revocation here: the cache entry lives at most max_ttl_secs (1 s).
    let res = s
        .broker
        .post_form("/revoke", &s.client, &[("token", &s.token)])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        proxy.get("/orders/1", &s.token).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // The broker unreachable: fail closed.
    let dead = spawn_proxy_with(
        &s.broker,
        json!([route("orders", "/orders", &s.echo, json!({}))]),
        |c| {
            c["store"] = json!({ "url": "" });
            c["introspection"] = json!({
                "url": "http://127.0.0.1:9/introspect",
                "client_id": resource_server.id,
                "client_secret": resource_server.secret,
            });
        },
    )
    .await;
    let other = s.broker.access_token(&resource_server).await;
    assert_eq!(
        dead.get("/orders/1", &other).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    // A made-up token is refused by its keyed tag before any introspection call: 401, not the
    // 503 of the unreachable endpoint (issue 11, P5).
    assert_eq!(
        dead.get("/orders/1", &forged).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
