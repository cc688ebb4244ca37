//! The request target decided once, before routing, over raw sockets (reqwest would normalise
//! what these tests send): every traversal and encoding trick is refused with 400 before any
//! policy and counted; what is forwarded is the canonical path the route matched, which the
//! echo backend reflects; hosts are compared one way; and, as a property, whatever the proxy
//! forwards stays under its route's upstream path once fully normalised.

use std::io::{Read, Write};

use proptest::prelude::*;
use serde_json::json;

use super::normalise::{fully_normalised, is_under};
use super::*;

/// `status` (no authentication, like the example configuration's), `orders` (tokens) and
/// `files` (encoded slashes allowed).
async fn proxy_for(s: &Setup) -> TestProxy {
    spawn_proxy(
        &s.broker,
        json!([
            route(
                "status",
                "/status",
                &s.echo,
                json!({
                    "methods": ["GET", "HEAD"],
                    "auth": { "kind": "none" },
                    "upstream": format!("{}/status", s.echo),
                })
            ),
            route(
                "orders",
                "/orders",
                &s.echo,
                json!({
                    "upstream": format!("{}/api/orders", s.echo),
                    "scopes": { "required": ["read"] },
                })
            ),
            route(
                "files",
                "/files",
                &s.echo,
                json!({
                    "auth": { "kind": "none" },
                    "upstream": format!("{}/files", s.echo),
                    "allow_encoded_slashes": true,
                })
            ),
        ]),
    )
    .await
}

/// Every class the issue names, and more, with the reason it is counted under.
const REFUSED: &[(&str, &str)] = &[
    ("/status/..\\..\\api\\orders\\42", "backslash"),
    ("/orders/..\\..\\anything", "backslash"),
    ("/status/..%5c..%5capi", "backslash"),
    ("/status/..%5C", "backslash"),
    ("/orders/..%2f..%2fadmin", "dot_segment"),
    ("/orders/%2e%2e%2fadmin", "dot_segment"),
    ("/orders/%2E%2e/admin", "dot_segment"),
    ("/orders/.%2E/admin", "dot_segment"),
    ("/orders/%ef%bc%8e%ef%bc%8e/admin", "dot_segment"),
    ("/orders/%e2%80%a5/admin", "dot_segment"),
    ("/orders/..", "dot_segment"),
    ("/orders/x/..", "dot_segment"),
    ("/orders/./x", "dot_segment"),
    ("/status/..;/orders/42", "semicolon"),
    ("/orders;jsessionid=1", "semicolon"),
    ("/orders/a%3bb", "semicolon"),
    ("/orders/..%00/x", "control"),
    ("/orders/%0d%0aX-Injected:%201", "control"),
    ("/orders/%c0%ae%c0%ae/admin", "utf8"),
    ("/orders/%e0%80%ae", "utf8"),
    ("/orders/%ff", "utf8"),
    ("/orders/%u002e%u002e/admin", "escape"),
    ("/orders/%zz", "escape"),
    ("/orders/%252e%252e/admin", "double_encoding"),
    ("/orders/%25%32%65%25%32%65/admin", "double_encoding"),
    ("/orders//admin", "empty_segment"),
    ("//orders", "empty_segment"),
    ("/orders/a%2fb", "encoded_slash"),
    ("/orders/%ef%bc%8f", "confusable"),
    ("/orders/%ef%bc%bc", "confusable"),
];

#[tokio::test]
async fn every_traversal_and_encoding_variant_is_refused_before_any_policy() {
    let s = setup().await;
    let proxy = proxy_for(&s).await;
    for (target, _) in REFUSED {
        // No token: a 401 would mean the route's policies ran.
        let res = raw_get(&proxy.base, target, &[]).await;
        assert_eq!(res.status, 400, "{target}: {res:?}");
        let body = res.json();
        assert_eq!(body["error"], "invalid_request", "{target}");
        let text = body["error_description"].as_str().unwrap();
        assert!(!text.contains("admin") && !text.contains("%"), "{text}");
        assert_eq!(res.header("connection"), Some("close"), "{target}");
        // With a token it is the same answer.
        let res = raw_get(&proxy.base, target, &[&bearer(&s.token)]).await;
        assert_eq!(res.status, 400, "{target} with a token");
    }
    let metrics = proxy.metrics().await;
    for (target, reason) in REFUSED {
        let line = format!("tessera_proxy_rejected_requests_total{{reason=\"{reason}\"}}");
        assert!(
            metrics.contains(&line),
            "{target}: {line} missing\n{metrics}"
        );
    }
    // Refusals before routing are attributed to no route and run no policy.
    assert!(
        !metrics.contains("tessera_proxy_refusals_total{policy=\"auth\""),
        "{metrics}"
    );
    assert!(
        metrics.contains("route=\"(rejected)\",status=\"400\""),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_http_parser_refuses_raw_control_and_non_ascii_bytes() {
    let s = setup().await;
    let proxy = proxy_for(&s).await;
    for target in [
        &b"/orders/\x01"[..],
        b"/orders/caf\xc3\xa9",
        b"/orders/a\x00b",
        b"/a b",
    ] {
        let mut req = b"GET ".to_vec();
        req.extend_from_slice(target);
        req.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let res = raw_bytes(&proxy.base, &req).await;
        assert_eq!(res.status, 400, "{target:?}: {res:?}");
    }
}

#[tokio::test]
async fn other_request_target_forms_are_refused_or_read_one_way() {
    let s = setup().await;
    let proxy = proxy_for(&s).await;
    let res = raw_request(&proxy.base, "OPTIONS", "*", &[]).await;
    assert_eq!(res.status, 400, "asterisk-form: {res:?}");
    let res = raw_request(&proxy.base, "CONNECT", "example.com:443", &[]).await;
    assert_eq!(res.status, 400, "authority-form: {res:?}");
    // Absolute-form: the target's host wins, and must agree with Host.
    let addr = proxy.base.trim_start_matches("http://");
    let res = raw_get(&proxy.base, &format!("http://{addr}/status/up"), &[]).await;
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(res.json()["path"], "/status/up");
    let res = raw_get(
        &proxy.base,
        "http://other.example/status/up",
        &[&format!("Host: {addr}")],
    )
    .await;
    assert_eq!(res.status, 400, "{res:?}");
    assert!(
        res.body.contains("differs from the Host header"),
        "{}",
        res.body
    );
    // A fragment never reaches the backend, and cannot hide a traversal.
    let res = raw_get(&proxy.base, "/status/up#/../../orders", &[]).await;
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(res.json()["path"], "/status/up");
}

#[tokio::test]
async fn the_backend_receives_the_canonical_path_the_route_matched() {
    let s = setup().await;
    let proxy = proxy_for(&s).await;
    let token = bearer(&s.token);
    let cases = [
        ("/orders/%34%32", "/api/orders/42"),
        ("/%6Frders/7", "/api/orders/7"),
        ("/orders/", "/api/orders/"),
        ("/orders", "/api/orders"),
        ("/orders/a%20b%3fc%23d", "/api/orders/a%20b%3Fc%23d"),
        ("/orders/caf%c3%a9", "/api/orders/caf%C3%A9"),
        ("/orders/a|b", "/api/orders/a%7Cb"),
        ("/orders/...", "/api/orders/..."),
        ("/files/a%2fb", "/files/a%2Fb"),
    ];
    for (target, received) in cases {
        let res = raw_get(&proxy.base, target, &[&token]).await;
        assert_eq!(res.status, 200, "{target}: {res:?}");
        assert_eq!(res.json()["path"], received, "{target}");
    }
    // The query is forwarded as received (its bytes, not re-encoded).
    let res = raw_get(&proxy.base, "/orders/1?a=%2e%2e/&b=\\&c=%2F", &[&token]).await;
    assert_eq!(res.json()["query"], "a=%2e%2e/&b=\\&c=%2F");
    // A route allowing encoded slashes still refuses traversal between them.
    let res = raw_get(&proxy.base, "/files/..%2f..%2fetc", &[]).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        raw_get(&proxy.base, "/files/a%2f%2fb", &[]).await.status,
        400
    );
}

#[tokio::test]
async fn host_based_routing_cannot_be_confused() {
    let s = setup().await;
    let proxy = spawn_proxy(
        &s.broker,
        json!([
            route(
                "internal",
                "/orders",
                &s.echo,
                json!({
                    "host": "Api.Example.COM",
                    "auth": { "kind": "none" },
                    "upstream": format!("{}/internal", s.echo),
                })
            ),
            route(
                "public",
                "/orders",
                &s.echo,
                json!({
                    "auth": { "kind": "none" },
                    "upstream": format!("{}/public", s.echo),
                })
            ),
        ]),
    )
    .await;
    let path_with = |host: &'static str| {
        let base = proxy.base.clone();
        async move {
            let res = raw_get(&base, "/orders", &[host]).await;
            (res.status, res.json().get("path").cloned())
        }
    };
    let internal = (200, Some(json!("/internal")));
    let public = (200, Some(json!("/public")));
    assert_eq!(path_with("Host: api.example.com").await, internal);
    assert_eq!(path_with("Host: API.EXAMPLE.COM.:8081").await, internal);
    assert_eq!(path_with("Host: api.example.com.evil").await, public);
    assert_eq!(path_with("Host: evil.example").await, public);
    for bad in [
        "Host: api.example.com:x",
        "Host: api%2eexample.com",
        "Host: a b",
    ] {
        assert_eq!(path_with(bad).await.0, 400, "{bad}");
    }
    // X-Forwarded-Host never routes.
    let res = raw_get(
        &proxy.base,
        "/orders",
        &["Host: evil.example", "X-Forwarded-Host: api.example.com"],
    )
    .await;
    assert_eq!(res.json()["path"], "/public");
    // Two Host headers, or an absolute-form target naming another host, are refused.
    let res = raw_get(
        &proxy.base,
        "/orders",
        &["Host: evil.example", "Host: api.example.com"],
    )
    .await;
    assert_eq!(res.status, 400, "{res:?}");
    let res = raw_get(
        &proxy.base,
        "http://api.example.com/orders",
        &["Host: evil.example"],
    )
    .await;
    assert_eq!(res.status, 400, "{res:?}");
    let res = raw_get(
        &proxy.base,
        "http://api.example.com/orders",
        &["Host: api.example.com"],
    )
    .await;
    assert_eq!(res.json()["path"], "/internal");
}

/// Attack pieces, and plain ones often enough that a good share of paths is forwarded.
const PIECES: &[&str] = &[
    "a",
    "b",
    "c",
    "/a",
    "/b",
    "/",
    "//",
    ".",
    "..",
    "\\",
    ";",
    "%",
    "%41",
    "%2e",
    "%2E",
    "%2f",
    "%5c",
    "%3b",
    "%00",
    "%25",
    "%252e",
    "%c0%ae",
    "%ef%bc%8e",
    "%u002e",
    "%20",
    "%3F",
    "%c3%a9",
    "~",
    "-",
];

/// One raw GET over a blocking socket: the status and the body.
fn blocking_get(addr: &str, target: &str) -> (u16, String) {
    let mut sock = std::net::TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let req = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    sock.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = sock.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatever_is_forwarded_stays_under_the_upstream_path() {
    let s = setup().await;
    let proxy = proxy_for(&s).await;
    let addr = proxy.base.trim_start_matches("http://").to_string();
    let forwarded = tokio::task::spawn_blocking(move || {
        let forwarded = std::cell::Cell::new(0u32);
        let rng = proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        );
        let mut runner =
            proptest::test_runner::TestRunner::new_with_rng(ProptestConfig::with_cases(300), rng);
        let pieces = proptest::collection::vec(proptest::sample::select(PIECES), 0..10);
        let outcome = runner.run(&(pieces, any::<bool>()), |(pieces, files)| {
            let route = if files { "/files" } else { "/status" };
            let target = format!("{route}{}", pieces.concat());
            let (status, body) = blocking_get(&addr, &target);
            prop_assert!(
                status == 200 || status == 400 || status == 404,
                "{target}: {status}"
            );
            if status == 200 {
                forwarded.set(forwarded.get() + 1);
                let echo: serde_json::Value = serde_json::from_str(&body).unwrap();
                let seen = fully_normalised(echo["path"].as_str().unwrap());
                prop_assert!(is_under(&seen, route), "{target} reached {seen}");
            }
            Ok(())
        });
        outcome.map(|()| forwarded.get())
    })
    .await
    .unwrap();
    let forwarded = forwarded.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        forwarded >= 30,
        "only {forwarded} of 300 forwarded: the property is too weak"
    );
}
