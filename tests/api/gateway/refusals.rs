//! Refusals are counted by the policy that refused them: `tessera_proxy_refusals_total{route,
//! policy}` for each step of the chain, for the backend's failures, for a request refused after
//! its route was chosen, and `unavailable` when a policy fails closed.

use std::net::TcpListener;

use reqwest::StatusCode;
use serde_json::json;

use super::*;

/// The count of `tessera_proxy_refusals_total` for `route` and `policy`, 0 when absent.
pub fn refusals(metrics: &str, route: &str, policy: &str) -> u64 {
    let series = format!("tessera_proxy_refusals_total{{policy=\"{policy}\",route=\"{route}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn each_refusal_is_counted_by_the_policy_that_refused_it() {
    let s = setup().await;
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_backend = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let mut backend = route("r-backend", "/backend-down", &s.echo, json!({}));
    backend["upstream"] = json!(dead_backend);
    let proxy = spawn_proxy(
        &s.broker,
        json!([
            route(
                "r-ip",
                "/ip",
                &s.echo,
                json!({ "ip": { "deny": ["127.0.0.0/8", "::1/128"] } })
            ),
            route(
                "r-spike",
                "/spike",
                &s.echo,
                json!({ "spike_arrest": { "rate": "1pm" } })
            ),
            route("r-auth", "/auth", &s.echo, json!({})),
            route(
                "r-scope",
                "/scope",
                &s.echo,
                json!({ "scopes": { "required": ["admin"] } })
            ),
            route(
                "r-quota",
                "/quota",
                &s.echo,
                json!({ "quota": { "limit": 1, "period": "hour" } })
            ),
            route(
                "r-threat",
                "/threat",
                &s.echo,
                json!({ "threat": { "max_header_bytes": 64 } })
            ),
            backend,
        ]),
    )
    .await;
    let status = |path: &'static str| {
        let proxy = &proxy;
        let token = &s.token;
        async move { proxy.get(path, token).await.status() }
    };
    assert_eq!(status("/ip").await, StatusCode::FORBIDDEN);
    assert_eq!(status("/spike").await, StatusCode::OK);
    assert_eq!(status("/spike").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(status("/scope").await, StatusCode::FORBIDDEN);
    assert_eq!(status("/quota").await, StatusCode::OK);
    assert_eq!(status("/quota").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        status("/threat").await,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    assert_eq!(status("/backend-down").await, StatusCode::BAD_GATEWAY);
    let anonymous = proxy
        .http
        .get(proxy.url("/auth"))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    // An encoded slash, refused once the route is chosen.
    let res = raw_get(&proxy.base, "/auth/a%2Fb", &[&bearer(&s.token)]).await;
    assert_eq!(res.status, 400, "{}", res.body);

    let metrics = proxy.metrics().await;
    for (route, policy) in [
        ("r-ip", "ip"),
        ("r-spike", "spike_arrest"),
        ("r-auth", "auth"),
        ("r-scope", "scope"),
        ("r-quota", "quota"),
        ("r-threat", "threat"),
        ("r-backend", "backend"),
        ("r-auth", "request"),
    ] {
        assert_eq!(
            refusals(&metrics, route, policy),
            1,
            "{route} {policy}:\n{metrics}"
        );
    }
    let series = metrics
        .lines()
        .filter(|l| l.starts_with("tessera_proxy_refusals_total{"))
        .count();
    assert_eq!(series, 8, "one series per refusal:\n{metrics}");

    // The broker unreachable for introspection: the authentication fails closed.
    let dead = spawn_proxy_with(
        &s.broker,
        json!([route("r-closed", "/closed", &s.echo, json!({}))]),
        |c| {
            c["store"] = json!({ "url": "" });
            c["introspection"] = json!({
                "url": "http://127.0.0.1:9/introspect",
                "client_id": "resource-server",
                "client_secret": "not-checked-here",
            });
        },
    )
    .await;
    let res = dead.get("/closed", &s.token).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let metrics = dead.metrics().await;
    assert_eq!(
        refusals(&metrics, "r-closed", "unavailable"),
        1,
        "{metrics}"
    );
    assert_eq!(refusals(&metrics, "r-closed", "auth"), 0, "{metrics}");
}
