//! Calls of two callers interleaved on one client connection and one backend connection (an
//! attacker's review of the fifth session's speed work, issue 11): the proxied call's futures
//! were shrunk and moved (`da08a2f`) and the analytics writer copies a line's caller and route
//! from the line before when they repeat (`fc8a149`). Nothing of one call may reach the next:
//! the backend sees each caller's own credentials and headers, and Redis's analytics stream
//! holds one event per call with its own caller, route, status and latency.

use serde_json::{json, Value};

use super::refusal_events::events;
use super::*;
use crate::helpers::json_of;

/// How long the backend holds each of B's calls, so that B's latency cannot pass for A's.
const B_DELAY_MS: u64 = 400;

#[tokio::test]
async fn interleaved_callers_keep_their_own_headers_and_analytics() {
    let s = setup().await;
    let b = s.broker.create_client(json!({"scopes": ["read"]})).await;
    let b_token = s.broker.access_token(&b).await;
    let proxy = spawn_proxy_with(
        &s.broker,
        json!([
            route("orders", "/orders", &s.echo, json!({})),
            route("stock", "/stock", &s.echo, json!({}))
        ]),
        |_| {},
    )
    .await;
    let callers = [("a", &s.token, &s.client.id), ("b", &b_token, &b.id)];
    // (caller, route, status): runs of one caller and route (the writer's memo copies their
    // fields), then one field changed at a time — the route, then the caller.
    let calls = [
        (0, 0, 200u16),
        (0, 0, 201),
        (0, 1, 418),
        (1, 1, 409),
        (1, 1, 202),
        (1, 0, 410),
        (0, 0, 404),
        (0, 0, 203),
    ];
    let routes = [("orders", "/orders/1"), ("stock", "/stock/2")];
    let mut expected = Vec::new();
    // Sequential on the test's pooled client: one connection to the proxy, reused.
    for (i, (caller, r, status)) in calls.into_iter().enumerate() {
        let (who, token, client_id) = callers[caller];
        let (route, path) = routes[r];
        let delay = if who == "b" { B_DELAY_MS } else { 0 };
        let (status_text, delay_text) = (status.to_string(), delay.to_string());
        let mut headers = vec![("x-who", who), ("x-echo-status", status_text.as_str())];
        if delay > 0 {
            headers.push(("x-echo-delay-ms", delay_text.as_str()));
        }
        let res = proxy.get_with(path, token, &headers).await;
        assert_eq!(res.status().as_u16(), status, "call {i} by {who}");
        let echo: Value = json_of(res).await;
        assert_eq!(header(&echo, "x-who"), Some(who), "call {i}: {echo}");
        // The caller the proxy names to the backend is this call's.
        let named = header(&echo, "x-tessera-client-id");
        assert_eq!(named, Some(client_id.as_str()), "call {i}: {echo}");
        assert_eq!(
            echo["path"],
            format!("/backend{}", &path[route.len() + 1..])
        );
        expected.push((client_id.to_string(), route.to_string(), status as u64, who));
    }

    let all = events(&s, calls.len() as u64).await;
    assert_one_event_per_call(&all, expected);
}

/// `all` holds exactly one event per expected (client id, route, status, caller), each with
/// its own method and latency (B's held by the backend, A's not).
fn assert_one_event_per_call(all: &[Value], mut expected: Vec<(String, String, u64, &str)>) {
    let mut got: Vec<(String, String, u64, &Value)> = all
        .iter()
        .map(|e| {
            let id = e["client_id"].as_str().unwrap_or("-").to_string();
            let route = e["route"].as_str().unwrap_or("-").to_string();
            (id, route, e["status"].as_u64().unwrap_or(0), e)
        })
        .collect();
    got.sort_by(|x, y| (&x.0, &x.1, x.2).cmp(&(&y.0, &y.1, y.2)));
    expected.sort();
    assert_eq!(got.len(), expected.len(), "one event per call: {all:?}");
    for ((id, route, status, event), (want_id, want_route, want_status, who)) in
        got.iter().zip(&expected)
    {
        assert_eq!(
            (id, route, status),
            (want_id, want_route, want_status),
            "{event}"
        );
        assert_eq!(event["method"], "GET", "{event}");
        assert!(event.get("count").is_none(), "{event}");
        // Each call's own latency: B's calls were held, A's were not.
        let latency = event["latency_us"].as_u64().unwrap_or(0);
        match *who {
            "b" => assert!(latency >= B_DELAY_MS * 1000, "{event}"),
            _ => assert!(latency < B_DELAY_MS * 1000, "{event}"),
        }
    }
}
