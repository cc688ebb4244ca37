//! What abuse detection's behaviour rules cost Redis (issue 11's rule: no round trip per
//! successful call): with every rule on, a run of proxied calls (token cache on, so without
//! the rules a call sends Redis nothing) costs only the flushes — one `abuse_signals.lua` per
//! subject seen per interval — counted on a Redis of the test's own through `MONITOR`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::json;

use super::{proxy_config, route, spawn_echo, start_proxy};
use crate::helpers::RedisServer;
use crate::world::{code_client, spawn_world_with};

/// Commands clients send to the Redis at `url` (not those scripts run, nor heartbeats, the
/// analytics writer's `INFO` and `XADD`s), counted until the test ends.
async fn sent_commands(url: &str) -> Arc<AtomicU64> {
    let monitor = redis::Client::open(url)
        .unwrap()
        .get_async_monitor()
        .await
        .unwrap();
    let sent = Arc::new(AtomicU64::new(0));
    let count = sent.clone();
    tokio::spawn(async move {
        let mut lines = monitor.into_on_message::<String>();
        while let Some(line) = lines.next().await {
            let Some((origin, command)) = line.split_once("] \"") else {
                continue;
            };
            let command = command.to_ascii_uppercase();
            let background = ["PING\"", "INFO\"", "XADD\""];
            if origin.ends_with(" lua") || background.iter().any(|c| command.starts_with(c)) {
                continue;
            }
            count.fetch_add(1, Ordering::Relaxed);
        }
    });
    sent
}

#[tokio::test]
async fn behaviour_rules_cost_redis_per_flush_not_per_call() {
    let redis = RedisServer::start_with(&["--appendonly", "no"]);
    let url = redis.url();
    let w = spawn_world_with(|cfg| cfg["store"]["url"] = json!(url)).await;
    let client = code_client(&w, json!({"grant_types": ["client_credentials"]})).await;
    let echo = spawn_echo();
    let mut cfg = proxy_config(
        &w.app,
        json!([route("orders", "/orders", &echo, json!({}))]),
    );
    let flag = |extra: serde_json::Value| {
        let mut r = json!({ "action": "flag" });
        r.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        r
    };
    cfg["abuse"] = json!({
        "signals": { "flush_ms": 200 },
        "client_rate": flag(json!({ "floor": 1_000_000 })),
        "client_errors": flag(json!({})),
        "ip_unauthorized": flag(json!({})),
        "ip_tokens": flag(json!({})),
    });
    let proxy = start_proxy(cfg).await;
    let token = w.app.access_token(&client).await;
    // Warm: the token cached, the scripts loaded.
    assert_eq!(proxy.get("/orders", &token).await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let sent = sent_commands(&url).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = sent.load(Ordering::Relaxed);
    let start = Instant::now();
    const CALLS: u64 = 200;
    for _ in 0..CALLS {
        assert_eq!(proxy.get("/orders", &token).await.status(), StatusCode::OK);
    }
    let elapsed = start.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let spent = sent.load(Ordering::Relaxed) - before;
    // Two subjects (the client, the address), one merge each per flush that saw them.
    let flushes = (elapsed + Duration::from_millis(800)).as_millis() as u64 / 200 + 2;
    eprintln!(
        "{CALLS} calls in {elapsed:?}: {spent} Redis commands ({:.3} per call)",
        spent as f64 / CALLS as f64
    );
    assert!(spent >= 1, "the signals were never merged");
    assert!(
        spent <= 2 * flushes,
        "{spent} commands for {CALLS} calls in {elapsed:?}"
    );
}
