//! Every proxied call, refused or not, becomes an analytics event in the broker's Redis, and the
//! broker's usage API reports it per client; the proxy's `/metrics` counts it too.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::*;
use crate::helpers::json_of;

async fn usage(s: &Setup, query: &str) -> Value {
    let res = s.broker.admin_get(&format!("/admin/usage?{query}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    json_of(res).await
}

#[tokio::test]
async fn proxied_calls_reach_the_usage_api_and_metrics() {
    let s = setup().await;
    let proxy = spawn_proxy(
        &s.broker,
        json!([
            route(
                "orders",
                "/orders",
                &s.echo,
                json!({
                    "quota": { "limit": 3, "period": "hour" }
                })
            ),
            route("idle", "/idle", &s.echo, json!({}))
        ]),
    )
    .await;
    for _ in 0..4 {
        proxy.get("/orders/1", &s.token).await;
    }
    let res = proxy.http.get(proxy.url("/orders/1")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let start = Instant::now();
    let report = loop {
        let r = usage(&s, &format!("client_id={}", s.client.id)).await;
        if r["total"]["calls"] == 4 {
            break r;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "events not recorded: {r}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let total = &report["total"];
    assert_eq!(total["by_status"]["200"], 3);
    assert_eq!(total["by_status"]["429"], 1);
    assert_eq!(total["throttled"], 1);
    assert!(total["bytes_out"].as_u64().unwrap() > 100, "{total}");
    assert!(total["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    assert_eq!(report["by_client"][0]["app_id"], s.client.app_id.as_str());

    // The anonymous 401 is recorded too, attributed to nobody.
    let all = usage(&s, "").await;
    assert!(
        all["total"]["auth_failures"].as_u64().unwrap() >= 1,
        "{all}"
    );

    let metrics = proxy.metrics().await;
    let line = format!(
        "tessera_proxy_requests_total{{client=\"{}\",method=\"GET\",route=\"orders\",status=\"429\"}} 1",
        s.client.id
    );
    assert!(metrics.contains(&line), "{line} missing from\n{metrics}");
    assert!(metrics.contains("tessera_proxy_request_duration_seconds_bucket{route=\"orders\""));
    // Every call of the route is timed in its series (kept by the route after its first call);
    // a route never called publishes none.
    let count = "tessera_proxy_request_duration_seconds_count{route=\"orders\"} 5";
    assert!(metrics.contains(count), "{count} missing from\n{metrics}");
    assert!(!metrics.contains("route=\"idle\""), "{metrics}");
}
