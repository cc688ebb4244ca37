//! Scopes follow the app: a scope removed from an app through the admin API is gone at once
//! from every live token — at introspection, at the proxy (whose token cache is told through the
//! revocation channel's `a:<app>` announcement) and at refresh.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::gateway::{route, spawn_echo, spawn_proxy};
use crate::helpers::*;
use crate::world::*;

fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} in {v}"))
        .to_string()
}

#[tokio::test]
async fn a_removed_scope_leaves_introspection_the_proxy_and_refresh() {
    let w = spawn_world().await;
    let c = code_client(
        &w,
        json!({"grant_types": ["authorization_code", "refresh_token", "client_credentials"]}),
    )
    .await;
    let user = alice_tokens(&w, &c, "openid read write").await;
    let app_token = w.app.access_token(&c).await;
    let echo = spawn_echo();
    let proxy = spawn_proxy(
        &w.app,
        json!([route(
            "orders",
            "/orders",
            &echo,
            json!({ "scopes": { "required": ["write"] } })
        )]),
    )
    .await;
    for token in [s(&user, "access_token"), app_token.clone()] {
        assert_eq!(proxy.get("/orders", &token).await.status(), StatusCode::OK);
        let info = w.app.introspect(&c, &token).await;
        assert!(info["scope"].as_str().unwrap().contains("write"), "{info}");
    }
    assert!(proxy.runtime.cache.len() >= 2, "both tokens are cached");

    // The administrator takes `write` away from the app.
    let res = w
        .app
        .admin_patch(
            &format!("/admin/developers/{}/apps/{}", c.developer_id, c.app_id),
            json!({"scopes": ["openid", "profile", "read"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // The proxy refuses both tokens on the route that needs it, soon (not after the cache's
    // max_ttl of 300 s): the app change reached its cache.
    for token in [s(&user, "access_token"), app_token.clone()] {
        let start = Instant::now();
        loop {
            // Measured at the sending of each call still allowed, not at its answer.
            let sent = start.elapsed();
            let res = proxy.get("/orders", &token).await;
            if res.status() == StatusCode::FORBIDDEN {
                let challenge = res.headers()["www-authenticate"].to_str().unwrap();
                assert!(challenge.contains("insufficient_scope"), "{challenge}");
                break;
            }
            assert_eq!(res.status(), StatusCode::OK);
            assert!(sent < Duration::from_secs(2), "still allowed");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let info = w.app.introspect(&c, &token).await;
        assert_eq!(info["active"], true);
        assert!(!info["scope"].as_str().unwrap().contains("write"), "{info}");
    }

    // Refresh no longer grants it, asked for or not.
    let refreshed = w
        .app
        .token(
            &c,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &s(&user, "refresh_token")),
            ],
        )
        .await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let refreshed = json_of(refreshed).await;
    assert_eq!(refreshed["scope"], "openid read");
    let asked = w
        .app
        .token(
            &c,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &s(&refreshed, "refresh_token")),
                ("scope", "read write"),
            ],
        )
        .await;
    let asked = json_of(asked).await;
    assert_eq!(asked["scope"], "read", "{asked}");
    let status = proxy
        .get("/orders", &s(&asked, "access_token"))
        .await
        .status();
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Given back, the scope is usable again by the tokens that were granted it.
    let res = w
        .app
        .admin_patch(
            &format!("/admin/developers/{}/apps/{}", c.developer_id, c.app_id),
            json!({"scopes": ["openid", "profile", "read", "write"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let info = w.app.introspect(&c, &app_token).await;
    assert!(info["scope"].as_str().unwrap().contains("write"), "{info}");
}
