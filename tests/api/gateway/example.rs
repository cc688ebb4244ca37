//! The example configuration as shipped (`tessera-proxy.example.toml`), run by the real
//! `tessera proxy` binary with only its listen address, store, pepper and backends pointed at
//! the test's: the attacks issue 8 reported against it are refused, and the calls it means to
//! allow still pass.

use std::time::Duration;

use serde_json::json;

use super::reload::ProxyProcess;
use super::*;
use crate::redis_server::free_port;

/// The example file with the test's listen address, Redis, pepper and echo backend.
fn example_config(s: &Setup, listen: u16) -> String {
    let text = include_str!("../../../tessera-proxy.example.toml");
    let replacements = [
        (
            "listen = \"0.0.0.0:8081\"",
            format!("listen = \"127.0.0.1:{listen}\""),
        ),
        (
            "url = \"redis://proxy:CHANGE_ME_PROXY@127.0.0.1:6379\"",
            format!("url = \"{}\"", s.broker.redis_url),
        ),
        (
            "prefix = \"tessera:\"",
            format!("prefix = \"{}\"", s.broker.prefix),
        ),
        (
            "pepper = \"CHANGE_ME_PEPPER_AT_LEAST_32_CHARACTERS_LONG\"",
            format!("pepper = \"{}\"", crate::helpers::PEPPER),
        ),
        ("http://orders.internal:9000", s.echo.clone()),
        ("https://dealers.internal.example.com", s.echo.clone()),
        ("https://inventory.internal.example.com", s.echo.clone()),
        ("http://status.internal:9000", s.echo.clone()),
    ];
    let mut out = text.to_string();
    for (from, to) in replacements {
        assert!(out.contains(from), "the example no longer holds {from}");
        out = out.replace(from, &to);
    }
    out
}

#[tokio::test]
async fn the_example_configuration_refuses_the_reported_attacks() {
    let s = setup().await;
    let app = s
        .broker
        .create_client(json!({"scopes": ["orders:read"], "attributes": {"tier": "gold"}}))
        .await;
    let token = bearer(&s.broker.access_token(&app).await);
    let dir = tempfile::tempdir().unwrap();
    let (config, log) = (dir.path().join("proxy.toml"), dir.path().join("proxy.log"));
    std::fs::write(&config, example_config(&s, free_port())).unwrap();
    let mut proxy = ProxyProcess::start(&config, &log);
    let http = reqwest::Client::new();
    proxy.wait_until_healthy(&http, &log).await;
    let base = proxy.public.clone();
    // Spike arrest (10/s per app on orders, 300/min per IP on status) must not interfere.
    let pause = || tokio::time::sleep(Duration::from_millis(250));

    // What the example means to allow.
    let res = raw_get(&base, "/orders/42", &[&token]).await;
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(res.json()["path"], "/api/orders/42");
    pause().await;
    let res = raw_get(&base, "/status", &[]).await;
    assert_eq!(res.json()["path"], "/status");

    // 1. Traversal to another route's backend path, with and without a token.
    for target in [
        "/status/..\\..\\api\\orders\\42",
        "/orders/..\\..\\anything",
        "/status/..%2f..%2fapi%2forders%2f42",
        "/status/%2e%2e%2fapi",
        "/status/..%5c..%5capi",
        "/status/..;/api/orders/42",
        "/status/..%00/api",
    ] {
        for auth in [&[][..], &[token.as_str()][..]] {
            let res = raw_get(&base, target, auth).await;
            assert_eq!(res.status, 400, "{target}: {res:?}");
        }
    }
    // 2. Spoofed identity headers in underscore spelling never reach the backend.
    pause().await;
    let res = raw_get(
        &base,
        "/orders/1",
        &[
            &token,
            "X_Tessera_Client_Id: someone-else",
            "X_Tier: platinum",
        ],
    )
    .await;
    let e = res.json();
    assert_eq!(header(&e, "x-tessera-client-id"), Some(app.id.as_str()));
    assert_eq!(header(&e, "x-tier"), Some("gold"));
    assert!(
        e["headers"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.contains('_')),
        "{e}"
    );
    // 3. A lower-case method cannot skip the POST scope rule.
    let res = raw_request(&base, "post", "/orders", &[&token, "Content-Length: 0"]).await;
    assert_eq!(res.status, 501);
    pause().await;
    let res = raw_request(&base, "POST", "/orders", &[&token, "Content-Length: 0"]).await;
    assert_eq!(res.status, 403, "orders:write is missing");
    // 4. A 100 KB method is refused and stored nowhere.
    let long = "A".repeat(100_000);
    assert_eq!(raw_request(&base, &long, "/nowhere", &[]).await.status, 400);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let events = s
        .broker
        .store()
        .analytics_range(0, i64::MAX, 100_000)
        .await
        .unwrap();
    assert!(!events.is_empty());
    assert!(events.iter().all(|e| e.len() < 400 && !e.contains("AAAA")));
}
