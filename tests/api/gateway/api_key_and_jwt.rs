//! The proxy's other kinds of authentication: API keys (Apigee's VerifyAPIKey), verified
//! against the app and never forwarded, and upstream JWTs (Azure API Management's
//! validate-jwt) with required claims.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Map, Value};

use super::*;
use crate::helpers::json_of;
use crate::world::spawn_world;

#[tokio::test]
async fn api_keys_are_verified_against_the_app_and_not_forwarded() {
    let s = setup().await;
    let proxy = spawn_proxy(
        &s.broker,
        json!([route(
            "keyed",
            "/keyed",
            &s.echo,
            json!({
                "auth": { "kind": "api_key", "header": "x-api-key", "query": "apikey" }
            })
        )]),
    )
    .await;
    let res = proxy
        .http
        .get(proxy.url("/keyed/a"))
        .header("x-api-key", &s.client.id)
        .send()
        .await
        .unwrap();
    let e = echoed(res).await;
    assert!(e["headers"].get("x-api-key").is_none());
    assert_eq!(
        header(&e, "x-tessera-client-id"),
        Some(s.client.id.as_str())
    );
    let res = proxy
        .http
        .get(proxy.url(&format!("/keyed/a?b=1&apikey={}", s.client.id)))
        .send()
        .await
        .unwrap();
    let e = echoed(res).await;
    assert_eq!(e["query"], "b=1");

    let res = proxy.http.get(proxy.url("/keyed/a")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = proxy
        .http
        .get(proxy.url("/keyed/a"))
        .header("x-api-key", "not-a-key")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Revoking the credential (an app change) reaches the proxy's cache.
    let res = s
        .broker
        .http
        .post(s.broker.url(&format!(
            "/admin/developers/{}/apps/{}/credentials/{}/revoke",
            s.client.developer_id, s.client.app_id, s.client.id
        )))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let with_key = || async {
        let res = proxy
            .http
            .get(proxy.url("/keyed/a"))
            .header("x-api-key", &s.client.id)
            .send()
            .await
            .unwrap();
        res.status()
    };
    assert!(until_refused_by(with_key).await < Duration::from_secs(1));
}

#[tokio::test]
async fn upstream_jwts_are_validated_with_required_claims() {
    let w = spawn_world().await;
    let echo = spawn_echo();
    let jwt_route = |failure: Value| {
        let mut auth = json!({
            "kind": "jwt",
            "openid_config_urls": [format!("{}/.well-known/openid-configuration", w.idp_base)],
            "audiences": ["api://default"],
            "required_claims": [{ "name": "DealershipLocation", "match": "any",
                                  "values": ["Los Angeles", "San Francisco"] }],
        });
        for (k, v) in failure.as_object().unwrap() {
            auth[k] = v.clone();
        }
        auth
    };
    let proxy = spawn_proxy(
        &w.app,
        json!([
            route(
                "okta",
                "/okta",
                &echo,
                json!({
                    "auth": jwt_route(json!({})),
                    "scopes": { "required": ["orders:read"] },
                    "forward": { "claims": { "X-Dealership": "DealershipLocation" } },
                })
            ),
            route(
                "okta403",
                "/strict",
                &echo,
                json!({
                    "auth": jwt_route(json!({ "failure_status": 403,
                                              "failure_message": "Dealership not allowed" })),
                })
            ),
        ]),
    )
    .await;
    let token = |location: &str, scopes: &[&str]| {
        let mut extra = Map::new();
        extra.insert("DealershipLocation".into(), Value::String(location.into()));
        w.idp
            .issue_access_token("okta-client-1", "svc", scopes, extra)
            .unwrap()
    };
    let good = token("San Francisco", &["orders:read"]);
    let e = echoed(proxy.get("/okta/x", &good).await).await;
    assert_eq!(header(&e, "x-tessera-client-id"), Some("okta-client-1"));
    assert_eq!(header(&e, "x-dealership"), Some("San Francisco"));

    let elsewhere = token("Chicago", &["orders:read"]);
    let res = proxy.get("/okta/x", &elsewhere).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = proxy.get("/strict/x", &elsewhere).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        json_of(res).await["error_description"],
        "Dealership not allowed"
    );

    // Valid token, missing scope: 403 insufficient_scope.
    let res = proxy
        .get("/okta/x", &token("Los Angeles", &["profile"]))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.contains("insufficient_scope") && challenge.contains("orders:read"));

    // A tampered token.
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    parts[2] = parts[2].chars().rev().collect();
    let res = proxy.get("/okta/x", &parts.join(".")).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
