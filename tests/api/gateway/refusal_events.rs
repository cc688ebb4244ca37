//! The analytics event of a refused call names the policy that refused it and the client's
//! address (read through trusted hops only); the event of a call the backend answered carries
//! neither. What the operator console's security figures are summed from.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::*;

/// The stored records, decoded, once they stand for at least `n` calls (refusals of unknown
/// callers in the same second are one record with a `count`).
pub(super) async fn events(s: &Setup, n: u64) -> Vec<Value> {
    let store = s.broker.store();
    let start = Instant::now();
    loop {
        let raw = store.analytics_range(0, i64::MAX, 1_000).await.unwrap();
        let records: Vec<Value> = raw
            .iter()
            .map(|e| serde_json::from_str(e).unwrap())
            .collect();
        let calls: u64 = records
            .iter()
            .map(|r| r.get("count").and_then(Value::as_u64).unwrap_or(1))
            .sum();
        if calls >= n {
            return records;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{calls} calls in {} records",
            records.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn refused_calls_record_their_policy_and_address() {
    let s = setup().await;
    let proxy = spawn_proxy_with(
        &s.broker,
        json!([
            route(
                "orders",
                "/orders",
                &s.echo,
                json!({"scopes": {"required": ["admin"]}})
            ),
            route("open", "/open", &s.echo, json!({}))
        ]),
        |cfg| cfg["server"]["trusted_proxies"] = json!(["127.0.0.1/32"]),
    )
    .await;
    let ok = proxy.get("/open", &s.token).await;
    assert_eq!(ok.status(), reqwest::StatusCode::OK);
    let scope = proxy
        .get_with("/orders", &s.token, &[("x-forwarded-for", "203.0.113.7")])
        .await;
    assert_eq!(scope.status(), reqwest::StatusCode::FORBIDDEN);
    let anon = proxy
        .http
        .get(proxy.url("/orders"))
        .header("x-forwarded-for", "198.51.100.9")
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), reqwest::StatusCode::UNAUTHORIZED);

    let all = events(&s, 3).await;
    let by_route = |route: &str, status: u64| {
        all.iter()
            .find(|e| e["route"] == route && e["status"] == status)
            .unwrap_or_else(|| panic!("{route} {status} in {all:?}"))
    };
    let ok = by_route("open", 200);
    assert!(
        ok.get("refused_by").is_none() && ok.get("client_ip").is_none(),
        "{ok}"
    );
    let scope = by_route("orders", 403);
    assert_eq!(scope["refused_by"], "scope");
    assert_eq!(scope["client_ip"], "203.0.113.7");
    assert_eq!(scope["client_id"], s.client.id.as_str());
    let anon = by_route("orders", 401);
    assert_eq!(anon["refused_by"], "auth");
    assert_eq!(anon["client_ip"], "198.51.100.9");
}
