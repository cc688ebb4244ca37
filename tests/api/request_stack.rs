//! The public listener's request stack (`broker/src/http/stack.rs`: span, HTTP metrics and
//! security headers folded into one middleware, issue 11, P3): what the three layers did, it
//! still does on every kind of answer — a handler's, a resource's `405`, the application's
//! `404`, a mounted route's — and the metrics it keeps per worker count under the same labels,
//! every time.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::gateway::raw_request;
use crate::helpers::*;

/// The line of `metrics` for `series`, parsed as a number (0 when absent).
fn count(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn every_answer_is_counted_under_its_route_and_carries_nosniff() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    // Repeated: the second and third are counted by the series resolved on the first.
    for _ in 0..3 {
        app.access_token(&c).await;
    }
    for (method, path, status) in [
        ("GET", "/token", 405),
        ("GET", "/introspect", 404),
        ("GET", "/nope/deeper", 404),
        ("FOO", "/token", 405),
        ("FOO", "/token", 405),
    ] {
        let raw = raw_request(&app.base, method, path, &[]).await;
        assert_eq!(raw.status, status, "{method} {path}: {}", raw.head);
        assert_eq!(
            raw.header("x-content-type-options"),
            Some("nosniff"),
            "{method} {path}"
        );
        assert_eq!(raw.header("content-security-policy"), None);
    }
    let m = app.metrics().await;
    for (series, n) in [
        (
            r#"tessera_http_requests_total{method="POST",route="/token",status="200"}"#,
            3,
        ),
        (
            r#"tessera_http_requests_total{method="GET",route="/token",status="405"}"#,
            1,
        ),
        // A made-up method is `OTHER` (`tessera_shared::method`), resolved like the others.
        (
            r#"tessera_http_requests_total{method="OTHER",route="/token",status="405"}"#,
            2,
        ),
        // Not routed (the resource's guard is the method), yet its path is a route's.
        (
            r#"tessera_http_requests_total{method="GET",route="/introspect",status="404"}"#,
            1,
        ),
        (
            r#"tessera_http_requests_total{method="GET",route="unmatched",status="404"}"#,
            1,
        ),
        // One histogram per route, whatever the method and status.
        (
            r#"tessera_http_request_duration_seconds_count{route="/token"}"#,
            6,
        ),
    ] {
        assert_eq!(count(&m, series), n, "{series} in\n{m}");
    }
}

/// A route the caller mounts (as `tessera dev` mounts its identity provider) is counted under
/// its pattern, and its HTML gets the page policy, like the broker's own.
#[tokio::test]
async fn mounted_routes_are_counted_under_their_pattern_and_get_the_headers() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mount: tessera_broker::startup::Mount = std::sync::Arc::new(|cfg| {
        cfg.route(
            "/mounted/{name}",
            web::get().to(|| async {
                HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body("<p>hi</p>")
            }),
        );
    });
    let app = spawn_app_mounting(listener, &shared_redis_url(), |_| {}, Some(mount)).await;
    for name in ["a", "b"] {
        let raw = raw_request(&app.base, "GET", &format!("/mounted/{name}"), &[]).await;
        assert_eq!(raw.status, 200, "{}", raw.head);
        assert_eq!(raw.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(raw.header("x-frame-options"), Some("DENY"));
        assert_eq!(raw.header("referrer-policy"), Some("no-referrer"));
        let csp = raw.header("content-security-policy").unwrap_or("");
        assert!(csp.starts_with("default-src 'none'"), "{csp}");
    }
    let m = app.metrics().await;
    let series =
        r#"tessera_http_requests_total{method="GET",route="/mounted/{name}",status="200"}"#;
    assert_eq!(count(&m, series), 2, "{m}");
    assert!(!m.contains("/mounted/a"), "{m}");
    // The broker's own routes beside it.
    let res = app
        .http
        .post(app.url("/introspect"))
        .form(&json!({"token": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let m = app.metrics().await;
    let series = r#"tessera_http_requests_total{method="POST",route="/introspect",status="401"}"#;
    assert_eq!(count(&m, series), 1, "{m}");
}
