//! The proxy's CORS policy (issue 15, point 2): a preflight is answered by the proxy — without
//! authentication and without reaching the backend — for allowed origins, methods and headers,
//! and refused (403, no CORS header) otherwise; actual answers, refusals included, carry the
//! allow headers for allowed origins only, replacing the backend's; routes without the policy
//! behave as before.

use reqwest::StatusCode;
use serde_json::json;

use super::*;

const SPA: &str = "http://127.0.0.1:5173";

/// Sends `OPTIONS path` as a browser's preflight from `origin`, raw.
async fn preflight(
    proxy: &TestProxy,
    path: &str,
    origin: &str,
    method: &str,
    headers: &str,
) -> RawResponse {
    let mut extra = vec![
        format!("Origin: {origin}"),
        format!("Access-Control-Request-Method: {method}"),
    ];
    if !headers.is_empty() {
        extra.push(format!("Access-Control-Request-Headers: {headers}"));
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    raw_request(&proxy.base, "OPTIONS", path, &extra).await
}

async fn refusals(proxy: &TestProxy, route: &str) -> u64 {
    super::refusals::refusals(&proxy.metrics().await, route, "cors")
}

#[tokio::test]
async fn preflights_are_answered_by_the_proxy_without_authentication_or_backend() {
    let s = setup().await;
    let cors = json!({"allowed_origins": [SPA], "allowed_headers": ["authorization", "content-type", "x-trace"],
                      "max_age_secs": 1200, "allowed_methods": ["GET", "PUT"]});
    // The backend does not exist: a preflight that reached it would be a 502.
    let dead = route(
        "dead",
        "/dead",
        "http://127.0.0.1:1",
        json!({ "cors": cors }),
    );
    // A route that lists its methods: the preflight is routed by the method it asks about.
    let strict = route(
        "strict",
        "/strict",
        &s.echo,
        json!({"methods": ["GET"],
        "cors": {"allowed_origins": [SPA]}}),
    );
    let proxy = spawn_proxy(&s.broker, json!([dead, strict])).await;
    let res = preflight(&proxy, "/strict", SPA, "GET", "authorization").await;
    assert_eq!(res.status, 204, "{}", res.head);
    assert_eq!(res.header("access-control-allow-methods"), Some("GET"));
    let res = preflight(&proxy, "/dead/1", SPA, "PUT", "Authorization, Content-Type").await;
    assert_eq!(res.status, 204, "{}", res.head);
    assert_eq!(res.header("access-control-allow-origin"), Some(SPA));
    assert_eq!(res.header("access-control-allow-methods"), Some("GET, PUT"));
    assert_eq!(
        res.header("access-control-allow-headers"),
        Some("authorization, content-type, x-trace")
    );
    assert_eq!(res.header("access-control-max-age"), Some("1200"));
    assert_eq!(res.header("access-control-allow-credentials"), None);
    assert_eq!(res.header("vary"), Some("Origin"));
    assert_eq!(
        refusals(&proxy, "dead").await,
        0,
        "an answered preflight is no refusal"
    );

    // A disallowed origin, method or header: 403, no CORS header at all.
    for (origin, method, headers) in [
        ("https://evil.example", "PUT", ""),
        ("http://127.0.0.1:5174", "GET", ""),
        (SPA, "DELETE", ""),
        (SPA, "PUT", "x-secret"),
        (SPA, "put", ""),
    ] {
        let res = preflight(&proxy, "/dead/1", origin, method, headers).await;
        assert_eq!(res.status, 403, "{origin} {method} {headers}");
        assert!(
            !res.head.to_ascii_lowercase().contains("access-control-"),
            "{}",
            res.head
        );
        assert_eq!(res.json()["error"], "cors_refused");
    }
    assert_eq!(refusals(&proxy, "dead").await, 5);
    // An OPTIONS that is no preflight is an ordinary request: authentication first.
    let res = raw_request(
        &proxy.base,
        "OPTIONS",
        "/dead/1",
        &[&format!("Origin: {SPA}")],
    )
    .await;
    assert_eq!(res.status, 401);
}

#[tokio::test]
async fn answers_carry_the_allow_headers_for_allowed_origins_only() {
    let s = setup().await;
    let cors = json!({"allowed_origins": [SPA, "https://app.example.com"], "expose_headers": ["x-request-id"]});
    let r = route("orders", "/orders", &s.echo, json!({"cors": cors}));
    let proxy = spawn_proxy(&s.broker, json!([r])).await;
    let call = |origin: Option<&'static str>,
                token: Option<String>,
                extra: &'static [(&'static str, &'static str)]| {
        let proxy = &proxy;
        async move {
            let mut req = proxy.http.get(proxy.url("/orders/1"));
            if let Some(o) = origin {
                req = req.header("Origin", o);
            }
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            for (k, v) in extra {
                req = req.header(*k, *v);
            }
            req.send().await.unwrap()
        }
    };
    let h = |res: &reqwest::Response, n: &str| {
        res.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let res = call(Some(SPA), Some(s.token.clone()), &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(h(&res, "access-control-allow-origin").as_deref(), Some(SPA));
    assert_eq!(
        h(&res, "access-control-expose-headers").as_deref(),
        Some("x-request-id")
    );
    assert_eq!(h(&res, "vary").as_deref(), Some("Origin"));
    let echoed = echoed(res).await;
    assert_eq!(
        header(&echoed, "origin"),
        Some(SPA),
        "the backend sees the Origin"
    );
    // A refusal by a later step is readable by the app too.
    let res = call(Some(SPA), None, &[]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(h(&res, "access-control-allow-origin").as_deref(), Some(SPA));
    // Another origin: the call goes through (CORS guards reading), but no allow header; and
    // the backend's own CORS answer is dropped on a route with a CORS policy.
    let res = call(
        Some("https://evil.example"),
        Some(s.token.clone()),
        &[("x-echo-allow-origin", "*")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(h(&res, "access-control-allow-origin"), None);
    assert_eq!(h(&res, "vary").as_deref(), Some("Origin"));
    let res = call(None, Some(s.token.clone()), &[("x-echo-allow-origin", "*")]).await;
    assert_eq!(h(&res, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn routes_without_the_policy_are_unchanged() {
    let s = setup().await;
    let plain = route("plain", "/plain", &s.echo, json!({}));
    let any = route(
        "any",
        "/any",
        &s.echo,
        json!({"auth": {"kind": "none"},
        "cors": {"allowed_origins": ["*"]}}),
    );
    let proxy = spawn_proxy(&s.broker, json!([plain, any])).await;
    let res = preflight(&proxy, "/plain/1", SPA, "GET", "authorization").await;
    assert_eq!(res.status, 401, "authenticated like any OPTIONS request");
    assert_eq!(res.header("access-control-allow-origin"), None);
    // The backend's own CORS answer passes where the proxy has no policy.
    let res = proxy
        .http
        .get(proxy.url("/plain/1"))
        .bearer_auth(&s.token)
        .header("Origin", SPA)
        .header("x-echo-allow-origin", SPA)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], SPA);
    // Any origin: `*`, no Vary.
    let res = preflight(&proxy, "/any", "https://x.example", "POST", "content-type").await;
    assert_eq!(res.status, 204);
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
    assert_eq!(res.header("vary"), None);
    let res = proxy
        .http
        .get(proxy.url("/any"))
        .header("Origin", "https://x.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert!(res.headers().get("vary").is_none());
}

#[tokio::test]
async fn bad_cors_configuration_names_the_key() {
    let s = setup().await;
    let cors = json!({"allowed_origins": ["*"], "allow_credentials": true});
    let r = route("r", "/r", &s.echo, json!({ "cors": cors }));
    let err = super::methods::refused_config(&s, json!([r])).await;
    assert!(err.contains("routes[0] (r).cors.allowed_origins"), "{err}");
}
