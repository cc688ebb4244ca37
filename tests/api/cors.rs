//! CORS at the broker (issue 15, point 2): a browser app's allowed origins may read the answers
//! of `/token`, `/revoke` and `/device_authorization` for that app — errors included — after a
//! preflight that browsers cache; discovery and the JWKS are readable by every origin;
//! `/introspect` answers no CORS at all; any other origin gets no CORS headers.

use reqwest::StatusCode;
use serde_json::json;

use crate::gateway::raw_request;
use crate::helpers::*;
use crate::world::*;

const SPA: &str = "http://127.0.0.1:5173";
const OTHER: &str = "https://evil.example";

fn header<'a>(res: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A single-page app: public, code and refresh, allowed from [`SPA`].
/// `POST path` at the broker from a page of `origin`.
fn post_from(w: &World, path: &str, origin: &str) -> reqwest::RequestBuilder {
    w.app.http.post(w.app.url(path)).header("Origin", origin)
}

async fn spa(w: &World) -> Client {
    code_client(w, json!({"public": true, "allowed_origins": [SPA]})).await
}

#[tokio::test]
async fn token_preflights_are_answered_for_any_origin_cacheable_without_credentials() {
    let w = spawn_world().await;
    let res = w
        .app
        .http
        .request(reqwest::Method::OPTIONS, w.app.url("/token"))
        .header("Origin", SPA)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(SPA));
    assert_eq!(header(&res, "access-control-allow-methods"), Some("POST"));
    assert!(header(&res, "access-control-allow-headers")
        .unwrap()
        .contains("Content-Type"));
    assert_eq!(header(&res, "access-control-max-age"), Some("600"));
    assert_eq!(header(&res, "access-control-allow-credentials"), None);
    assert_eq!(header(&res, "vary"), Some("Origin"));
}

#[tokio::test]
async fn the_token_endpoint_answers_an_apps_own_origin_only() {
    let w = spawn_world().await;
    let c = spa(&w).await;
    // The code redeemed from the app's origin: readable there.
    let code = code_for(&w, &c, "openid read").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", c.id.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", APP_REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let res = (post_from(&w, "/token", SPA).form(&form))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(SPA));
    assert_eq!(header(&res, "vary"), Some("Origin"));
    assert!(header(&res, "access-control-expose-headers")
        .unwrap()
        .contains("Retry-After"));
    let tokens = json_of(res).await;
    let rt = tokens["refresh_token"].as_str().unwrap();

    // Errors are readable too, by the app's origin; another origin reads nothing.
    let bad = [
        ("grant_type", "refresh_token"),
        ("client_id", c.id.as_str()),
        ("refresh_token", "tsr_rt_x"),
    ];
    for (origin, allowed) in [
        (SPA, true),
        (OTHER, false),
        ("http://127.0.0.1:5174", false),
        ("null", false),
    ] {
        let res = (post_from(&w, "/token", origin).form(&bad))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            header(&res, "access-control-allow-origin"),
            allowed.then_some(origin),
            "{origin}"
        );
        assert_eq!(header(&res, "vary"), Some("Origin"));
    }
    // Without an Origin (not a browser), nothing changes.
    let res = w
        .app
        .http
        .post(w.app.url("/token"))
        .form(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&res, "access-control-allow-origin"), None);

    // Revocation from the app's origin.
    let form = [("client_id", c.id.as_str()), ("token", rt)];
    let res = (post_from(&w, "/revoke", SPA).form(&form))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(SPA));
}

#[tokio::test]
async fn other_apps_unknown_clients_and_introspection_get_no_cors() {
    let w = spawn_world().await;
    let c = spa(&w).await;
    let confidential = w
        .app
        .create_client(json!({"scopes": ["read"], "allowed_origins": ["https://app.example.com"]}))
        .await;
    // A confidential app's own origin, with its Basic credentials.
    let res = (post_from(&w, "/token", "https://app.example.com"))
        .basic_auth(&confidential.id, Some(&confidential.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        header(&res, "access-control-allow-origin"),
        Some("https://app.example.com")
    );
    // The SPA's origin is not the confidential app's.
    let res = (post_from(&w, "/token", SPA))
        .basic_auth(&confidential.id, Some(&confidential.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(header(&res, "access-control-allow-origin"), None);
    // An unknown client: nothing to read.
    let res = (post_from(&w, "/token", SPA))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "nobody"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&res, "access-control-allow-origin"), None);

    // Introspection serves resource servers: no CORS, not even a preflight.
    let token = w.app.access_token(&confidential).await;
    let res = (post_from(&w, "/introspect", "https://app.example.com"))
        .basic_auth(&confidential.id, Some(&confidential.secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "access-control-allow-origin"), None);
    let raw = raw_request(
        &w.app.base,
        "OPTIONS",
        "/introspect",
        &[
            "Origin: https://app.example.com",
            "Access-Control-Request-Method: POST",
        ],
    )
    .await;
    assert_ne!(raw.status, 204);
    assert_eq!(raw.header("access-control-allow-origin"), None);
    // A raw preflight of the token endpoint for another method: no CORS either.
    let raw = raw_request(
        &w.app.base,
        "OPTIONS",
        "/token",
        &[
            &format!("Origin: {SPA}"),
            "Access-Control-Request-Method: PUT",
        ],
    )
    .await;
    assert_eq!(raw.status, 204);
    assert_eq!(raw.header("access-control-allow-origin"), None);
    assert_eq!(raw.header("allow"), Some("POST, OPTIONS"));
    let _ = c;
}

#[tokio::test]
async fn discovery_and_keys_are_readable_by_every_origin() {
    let w = spawn_world().await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/jwks",
    ] {
        let res = (w.app.http.get(w.app.url(path)).header("Origin", OTHER))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header(&res, "access-control-allow-origin"),
            Some("*"),
            "{path}"
        );
        assert_eq!(header(&res, "access-control-allow-credentials"), None);
        let res = (w
            .app
            .http
            .request(reqwest::Method::OPTIONS, w.app.url(path)))
        .header("Origin", OTHER)
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "{path}");
        assert_eq!(header(&res, "access-control-allow-origin"), Some("*"));
        assert_eq!(header(&res, "access-control-allow-methods"), Some("GET"));
    }
}

#[tokio::test]
async fn allowed_origins_are_exact_origins() {
    let app = spawn_app().await;
    let dev = app.create_developer().await;
    let path = format!("/admin/developers/{dev}/apps");
    for bad in [
        "https://spa.example.com/",
        "https://spa.example.com/app",
        "http://spa.example.com",
        "*",
    ] {
        let res = app
            .admin_post(&path, json!({"name": "x", "allowed_origins": [bad]}))
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(json_of(res).await["field"], "allowed_origins[0]");
    }
    let res = app
        .admin_post(
            &path,
            json!({"name": "ok", "allowed_origins": ["https://spa.example.com:8443"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body = json_of(res).await;
    assert_eq!(
        body["allowed_origins"],
        json!(["https://spa.example.com:8443"])
    );
    let id = body["id"].as_str().unwrap();
    let res = app
        .admin_patch(&format!("{path}/{id}"), json!({"allowed_origins": []}))
        .await;
    assert_eq!(json_of(res).await["allowed_origins"], json!([]));
}

/// The client endpoints are routed by method without actix's method guards
/// (`broker/src/http/methods.rs`); another method still gets actix's answer: `405` with the
/// resource's methods in `Allow` and no body, counted under the route. `/introspect` (a route of
/// its own) still falls through to the `404` of unknown endpoints.
#[tokio::test]
async fn other_methods_on_the_client_endpoints_get_405_with_allow() {
    let w = spawn_world().await;
    for (method, path) in [
        ("GET", "/token"),
        ("PUT", "/token"),
        ("HEAD", "/revoke"),
        ("DELETE", "/device_authorization"),
    ] {
        let raw = raw_request(&w.app.base, method, path, &[]).await;
        assert_eq!(raw.status, 405, "{method} {path}: {}", raw.head);
        assert_eq!(
            raw.header("allow"),
            Some("POST, OPTIONS"),
            "{method} {path}"
        );
        assert_eq!(raw.body, "", "{method} {path}");
    }
    let raw = raw_request(&w.app.base, "GET", "/introspect", &[]).await;
    assert_eq!(raw.status, 404, "{}", raw.head);
    assert_eq!(raw.header("allow"), None);
    let metrics = w.app.metrics().await;
    assert!(
        metrics
            .contains(r#"tessera_http_requests_total{method="GET",route="/token",status="405"} 1"#),
        "{metrics}"
    );
}
