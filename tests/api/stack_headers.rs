//! The broker's request stack as an attacker meets it (an attacker's review of the fifth
//! session's speed work, issue 11): span, metrics and security headers became one middleware
//! (`4405a9b`) and the client endpoints' CORS a `Transform` that a request without `Origin`
//! skips (`9f1b336`). Sent over a raw socket: every kind of answer — a token, a 429 of the rate
//! limit, a 413, a malformed form, `HEAD`, a preflight, with and without `Origin`, from
//! another app's origin, `null`, two `Origin` lines — keeps `X-Content-Type-Options`, token
//! answers keep `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1), every answer
//! to a request with an `Origin` says `Vary: Origin` (RFC 9110 §12.5.5) and none grants an
//! origin the app did not list; odd paths and methods add no metric series.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

use crate::gateway::{raw_bytes, raw_request, RawResponse};
use crate::helpers::*;
use crate::rate_limits::with_limits;

/// `POST path` with `body` as a form and `extra` header lines, over a raw socket.
async fn post(app: &TestApp, path: &str, extra: &[String], body: &str) -> RawResponse {
    let addr = app.base.trim_start_matches("http://");
    let mut req = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for h in extra {
        req.push_str(&format!("{h}\r\n"));
    }
    req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    req.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    raw_bytes(&app.base, req.as_bytes()).await
}

fn assert_nosniff(raw: &RawResponse, what: &str) {
    assert_eq!(
        raw.header("x-content-type-options"),
        Some("nosniff"),
        "{what}: {}",
        raw.head
    );
}

/// Pinned (checked sound): the headers of every kind of answer of the client endpoints.
#[tokio::test]
async fn every_kind_of_answer_keeps_its_security_cache_and_vary_headers() {
    let app = spawn_app_with(&shared_redis_url(), |cfg| {
        with_limits(cfg, json!({ "token": { "rate": "1pm", "burst": 2 } }));
        cfg["server"]["max_body_bytes"] = json!(1024);
    })
    .await;
    let c = app.default_client().await;
    let basic = format!(
        "Authorization: Basic {}",
        STANDARD.encode(format!("{}:{}", c.id, c.secret))
    );
    let grant = "grant_type=client_credentials";
    let evil = "Origin: https://evil.example".to_string();

    // A token, without and with an origin the app does not list.
    for extra in [vec![basic.clone()], vec![basic.clone(), evil.clone()]] {
        let raw = post(&app, "/token", &extra, grant).await;
        assert_eq!(raw.status, 200, "{}", raw.head);
        assert_nosniff(&raw, "token");
        assert_eq!(raw.header("cache-control"), Some("no-store"));
        assert_eq!(raw.header("pragma"), Some("no-cache"));
        assert_eq!(raw.header("access-control-allow-origin"), None);
        let vary = raw.header("vary").unwrap_or("");
        assert_eq!(extra.len() == 2, vary.contains("Origin"), "{}", raw.head);
    }
    // The rate limit's 429, from `Origin: null` and from two origins.
    for origins in [
        vec!["Origin: null"],
        vec!["Origin: null", "Origin: https://x.example"],
    ] {
        let mut extra = vec![basic.clone()];
        extra.extend(origins.iter().map(|o| o.to_string()));
        let raw = post(&app, "/token", &extra, grant).await;
        assert_eq!(raw.status, 429, "{}", raw.head);
        assert_nosniff(&raw, "429");
        assert_eq!(raw.header("cache-control"), Some("no-store"));
        assert!(raw.header("vary").unwrap_or("").contains("Origin"));
        assert_eq!(raw.header("access-control-allow-origin"), None);
    }
    // A body over the limit, a malformed form.
    let big = format!("{grant}&x={}", "a".repeat(4096));
    // (The malformed form comes without credentials: 401 or 400, whichever is found first.)
    for (body, status) in [
        (big.as_str(), [413, 413]),
        ("grant_type=%zz&&=", [400, 401]),
    ] {
        let raw = post(&app, "/token", std::slice::from_ref(&evil), body).await;
        assert!(status.contains(&raw.status), "{}", raw.head);
        assert_nosniff(&raw, body);
        assert_eq!(raw.header("cache-control"), Some("no-store"));
        assert!(raw.header("vary").unwrap_or("").contains("Origin"));
        assert_eq!(raw.header("access-control-allow-origin"), None);
    }
    other_methods_keep_their_headers(&app).await;
}

/// `HEAD` (a client endpoint's `405`, discovery's and the JWKS's answer), a preflight from
/// another origin, a `405` from `Origin: null`: `nosniff` on each.
async fn other_methods_keep_their_headers(app: &TestApp) {
    for (method, path, extra, status) in [
        ("HEAD", "/token", vec![], 405),
        (
            "HEAD",
            "/.well-known/oauth-authorization-server",
            vec![],
            200,
        ),
        (
            "OPTIONS",
            "/revoke",
            vec![
                "Origin: https://evil.example",
                "Access-Control-Request-Method: POST",
            ],
            204,
        ),
        ("DELETE", "/device_authorization", vec!["Origin: null"], 405),
    ] {
        let raw = raw_request(&app.base, method, path, &extra).await;
        assert_eq!(raw.status, status, "{method} {path}: {}", raw.head);
        assert_nosniff(&raw, path);
        if method == "HEAD" && status == 200 {
            assert!(raw.body.is_empty(), "{path}: {}", raw.body);
            assert_eq!(raw.header("access-control-allow-origin"), Some("*"));
        }
        if method == "OPTIONS" {
            // Answered for any origin, granting nothing by itself (`oauth::cors`).
            assert!(raw.header("vary").unwrap_or("").contains("Origin"));
        }
    }
}

/// Pinned (checked sound): odd paths — percent-encoded, dot segments, very long — and odd
/// methods are counted under a route's pattern or `unmatched`, by a label from the fixed set; nothing of what was
/// sent becomes a label, and every answer carries `nosniff`.
#[tokio::test]
async fn odd_paths_and_methods_add_no_series() {
    let app = spawn_app().await;
    let long = format!("/{}", "q".repeat(6000));
    let paths = [
        "/%74oken".to_string(),
        "/token%2F..".to_string(),
        "/./token/../x%00y".to_string(),
        long.clone(),
    ];
    for path in &paths {
        for method in ["GET", "get", "PROPFIND"] {
            let raw = raw_request(&app.base, method, path, &[]).await;
            // `%74` is `t` (RFC 3986 §2.3): `/token`, whose 405 lists its methods.
            let status = raw.status;
            assert!(
                [400, 404, 405].contains(&status),
                "{method} {path:.40}: {}",
                raw.head
            );
            assert_nosniff(&raw, path);
        }
    }
    let m = app.metrics().await;
    for line in m.lines().filter(|l| l.starts_with("tessera_http_")) {
        for odd in ["%", "..", "qqqq", "get", "PROPFIND", "x\\u0000y"] {
            assert!(!line.contains(odd), "{odd} in {line}");
        }
    }
    assert!(
        m.contains(r#"method="OTHER",route="unmatched",status="404""#),
        "{m}"
    );
}

/// Pinned (a stated limit): what actix-http answers before the application sees a request — a
/// malformed request head — gets no security header from the request stack, and carries no
/// body a browser could sniff; 40 KB targets and header values reach the application.
#[tokio::test]
async fn answers_made_before_the_application_carry_no_body() {
    let app = spawn_app().await;
    for head in [
        "GET /token HTTP/1.1\r\nHost: a\r\nConnection: close\r\nNo colon here\r\n\r\n".to_string(),
        format!(
            "GET /{} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
            "x".repeat(40_000)
        ),
        format!(
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Big: {}\r\n\r\n",
            "y".repeat(40_000)
        ),
    ] {
        let raw = raw_bytes(&app.base, head.as_bytes()).await;
        assert!(raw.status >= 400, "{}", raw.head);
        if raw.header("x-content-type-options").is_none() {
            assert!(raw.body.is_empty(), "{}: {}", raw.head, raw.body);
        }
    }
}
