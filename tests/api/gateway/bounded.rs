//! Nothing an anonymous client sends makes Redis or the proxy grow with it: a flood of
//! oversized methods, paths, queries and headers gets only 4xx answers, Redis's memory stays
//! within a small bound, and what lands in the analytics streams is small and fixed-vocabulary.
//! Analytics are held back while Redis is short of memory.

use redis::aio::MultiplexedConnection;
use serde_json::json;

use super::*;
use crate::helpers::spawn_app_with;
use crate::redis_server::RedisServer;

async fn command(conn: &mut MultiplexedConnection, args: &[&str]) {
    let mut cmd = redis::cmd(args[0]);
    cmd.arg(&args[1..]);
    let _: redis::Value = cmd.query_async(conn).await.unwrap();
}

/// Every analytics event stored (all shards, unpacked).
async fn stored_events(broker: &crate::helpers::TestApp) -> Vec<String> {
    let store = broker.store();
    store.analytics_range(0, i64::MAX, 100_000).await.unwrap()
}

/// One oversized request of kind `i % 10`, with a unique part so nothing is deduplicated.
fn oversized(i: usize, addr: &str) -> Vec<u8> {
    let unique = format!("{i:06}");
    let (method, target, headers) = match i % 10 {
        0 => (
            format!("{}{unique}", "A".repeat(100_000)),
            "/orders".to_string(),
            String::new(),
        ),
        1 => (
            format!("EXT{unique}{}", "X".repeat(30)),
            "/orders".into(),
            String::new(),
        ),
        2 => (
            "GET".into(),
            format!("/orders/{}{unique}", "a".repeat(20_000)),
            String::new(),
        ),
        3 => (
            "GET".into(),
            format!("/{}{unique}", "a".repeat(70_000)),
            String::new(),
        ),
        4 => (
            "GET".into(),
            format!("/orders?q={}{unique}", "a".repeat(10_000)),
            String::new(),
        ),
        5 => (
            "GET".into(),
            "/orders".into(),
            (0..120).map(|h| format!("X-H{h}: {unique}\r\n")).collect(),
        ),
        6 => (
            "GET".into(),
            "/orders".into(),
            (0..40)
                .map(|h| format!("X-H{h}: {}\r\n", "v".repeat(1000)))
                .collect(),
        ),
        7 => (
            "GET".into(),
            "/orders".into(),
            format!("User-Agent: {}{unique}\r\n", "u".repeat(100_000)),
        ),
        8 => (
            "GET".into(),
            format!("/orders/{}%2e%2e/{unique}", "%41".repeat(1000)),
            String::new(),
        ),
        _ => (
            "GET".into(),
            "/orders".into(),
            format!("Authorization: Bearer {}{unique}\r\n", "t".repeat(50_000)),
        ),
    };
    format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n")
        .into_bytes()
}

#[tokio::test]
async fn a_flood_of_oversized_requests_gets_4xx_and_leaves_redis_small() {
    let redis = RedisServer::start();
    let broker = spawn_app_with(&redis.url(), |_| {}).await;
    let echo = spawn_echo();
    let proxy = spawn_proxy(
        &broker,
        json!([
            route("orders", "/orders", &echo, json!({})),
            route("status", "/", &echo, json!({ "auth": { "kind": "none" } })),
        ]),
    )
    .await;
    let before = redis_used_memory(&redis.url()).await;
    let addr = proxy.base.trim_start_matches("http://").to_string();
    const FLOOD: usize = 300;
    let mut statuses = Vec::new();
    for batch in (0..FLOOD).collect::<Vec<_>>().chunks(20) {
        let calls = batch.iter().map(|&i| {
            let (base, req) = (proxy.base.clone(), oversized(i, &addr));
            async move { (i, raw_bytes(&base, &req).await.status) }
        });
        statuses.extend(futures_util::future::join_all(calls).await);
    }
    for (i, status) in &statuses {
        assert!(
            (400..500).contains(status),
            "request {i} (kind {}): {status}",
            i % 10
        );
    }
    // Wait until the proxy has written every call it counted: refusals of unknown callers
    // counted in process, and events queued (none here: no caller is known).
    let folded = metric_until(&proxy, "analytics_refusals_folded_total", |n| n > 0).await;
    let emitted = metric_until(&proxy, "analytics_emitted_total", |_| true).await;
    let counted = folded + emitted;
    let written = metric_until(&proxy, "analytics_written_total", |n| n >= counted).await;
    let after = redis_used_memory(&redis.url()).await;
    let grown = after.saturating_sub(before);
    assert!(
        grown < 1024 * 1024,
        "Redis grew by {grown} bytes for {FLOOD} requests"
    );

    let events = stored_events(&broker).await;
    assert!(
        !events.is_empty() && events.len() <= FLOOD,
        "{}",
        events.len()
    );
    // Refusals of unknown callers are aggregated: each record counts its calls.
    let calls: u64 = events
        .iter()
        .map(|e| {
            let v: serde_json::Value = serde_json::from_str(e).unwrap();
            v.get("count").and_then(|c| c.as_u64()).unwrap_or(1)
        })
        .sum();
    assert_eq!(calls, written, "every written call read once");
    for event in &events {
        assert!(
            event.len() < 400,
            "an analytics event of {} bytes",
            event.len()
        );
        assert!(!event.contains("AAAA") && !event.contains("EXT"), "{event}");
        let method = serde_json::from_str::<serde_json::Value>(event).unwrap()["method"].clone();
        assert!(
            ["GET", "OTHER"].contains(&method.as_str().unwrap()),
            "{event}"
        );
    }
    // Metrics carry no part of the flood either.
    let metrics = proxy.metrics().await;
    assert!(
        metrics.len() < 64 * 1024,
        "{} bytes of metrics",
        metrics.len()
    );
    assert!(
        !metrics.contains("AAAA") && !metrics.contains("EXT0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn analytics_are_held_back_while_redis_is_short_of_memory() {
    let redis = RedisServer::start();
    let broker = spawn_app_with(&redis.url(), |_| {}).await;
    let echo = spawn_echo();
    let client = broker.default_client().await;
    let token = broker.access_token(&client).await;
    let mut conn = broker.redis().await;

    // 1. INFO memory: used_memory is a quarter of maxmemory, above the proxy's 0.2.
    let used = redis_used_memory(&redis.url()).await;
    command(
        &mut conn,
        &["CONFIG", "SET", "maxmemory", &(used * 4).to_string()],
    )
    .await;
    let routes = json!([route("orders", "/orders", &echo, json!({}))]);
    let proxy = spawn_proxy_with(&broker, routes.clone(), |c| {
        c["analytics"]["max_memory_fraction"] = json!(0.2);
    })
    .await;
    for _ in 0..10 {
        echoed(proxy.get("/orders", &token).await).await;
    }
    metric_until(&proxy, "analytics_shed_total", |n| n >= 10).await;
    assert_eq!(
        metric_until(&proxy, "analytics_write_errors_total", |_| true).await,
        0
    );
    assert!(
        stored_events(&broker).await.is_empty(),
        "events written under memory pressure"
    );

    // 2. A proxy whose Redis user may not run INFO learns of the pressure from OOM errors,
    //    then holds writes back instead of failing every batch.
    command(
        &mut conn,
        &[
            "ACL", "SETUSER", "noinfo", "on", ">pw", "~*", "&*", "+@all", "-info",
        ],
    )
    .await;
    command(&mut conn, &["CONFIG", "SET", "maxmemory", "1"]).await;
    let url = redis.url().replace("redis://", "redis://noinfo:pw@");
    let blind = spawn_proxy_with(&broker, routes, |c| {
        c["store"]["url"] = json!(url);
        c["analytics"]["batch_size"] = json!(1);
    })
    .await;
    for _ in 0..10 {
        echoed(blind.get("/orders", &token).await).await;
    }
    metric_until(&blind, "analytics_shed_total", |n| n >= 10).await;
    let errors = metric_until(&blind, "analytics_write_errors_total", |n| n >= 1).await;
    assert!(
        errors < 5,
        "{errors} failed writes: the OOM did not hold writes back"
    );
    assert!(stored_events(&broker).await.is_empty());
    command(&mut conn, &["CONFIG", "SET", "maxmemory", "0"]).await;
}
