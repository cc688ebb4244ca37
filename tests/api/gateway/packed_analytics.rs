//! Analytics events travel packed, many to a stream entry, over several shards: N calls through
//! the proxy are counted exactly N times by the usage API (nothing lost, nothing read twice
//! across shards), with far fewer `XADD`s than calls (Redis's own `INFO commandstats`, on a
//! Redis of this test's own), and the batches land on more than one shard key.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::*;
use crate::helpers::{json_of, spawn_app_with};
use crate::redis_server::RedisServer;

const CALLS: usize = 600;

#[tokio::test]
async fn every_call_is_counted_once_from_packed_sharded_batches() {
    let redis = RedisServer::start();
    let broker = spawn_app_with(&redis.url(), |_| {}).await;
    let echo = spawn_echo();
    let client = broker.default_client().await;
    let token = broker.access_token(&client).await;
    let proxy = spawn_proxy_with(
        &broker,
        json!([route("orders", "/orders", &echo, json!({}))]),
        |cfg| cfg["analytics"]["streams"] = json!(4),
    )
    .await;
    let xadds_before = redis.command_calls("xadd").await;
    let started = tessera_shared::time::now_ms();

    // Authenticated calls and refused ones (no token), 50 at a time.
    for round in 0..CALLS / 50 {
        let calls = (0..50).map(|i| {
            let (proxy, token) = (&proxy, &token);
            async move {
                match (round + i) % 3 {
                    0 => proxy.http.get(proxy.url("/orders")).send().await.unwrap(),
                    _ => proxy.get("/orders", token).await,
                }
                .status()
            }
        });
        for status in join_all(calls).await {
            assert!(
                [StatusCode::OK, StatusCode::UNAUTHORIZED].contains(&status),
                "{status}"
            );
        }
    }

    let usage = || async {
        let res = broker
            .admin_get(&format!("/admin/usage?from={started}"))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        json_of(res).await
    };
    let start = Instant::now();
    loop {
        let u: Value = usage().await;
        if u["total"]["calls"] == json!(CALLS) {
            break;
        }
        assert!(
            u["total"]["calls"].as_u64().unwrap_or(0) <= CALLS as u64,
            "{u}"
        );
        assert!(start.elapsed() < Duration::from_secs(10), "calls lost: {u}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Still exactly CALLS once the writer is surely idle: nothing counted twice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(usage().await["total"]["calls"], json!(CALLS));

    let xadds = redis.command_calls("xadd").await - xadds_before;
    assert!(
        (2..=(CALLS / 20) as u64).contains(&xadds),
        "{xadds} XADDs for {CALLS} calls"
    );
    let mut c = crate::redis_server::connect(&redis.url()).await.unwrap();
    let shards: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}analytics:*", broker.prefix))
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(shards.len() > 1, "one shard only: {shards:?}");
}
