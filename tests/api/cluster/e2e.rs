//! Two brokers and two proxies on the shared Redis Cluster, as a scaled-out deployment runs: a
//! token issued at broker A works at proxy B; revoked at broker B, it is refused at proxy A
//! (which had it cached) within 100 ms; a quota is exact across both proxies under concurrent
//! callers; the usage API of either broker sums the calls of both proxies, whose analytics
//! batches land on more than one master (sharded streams). Brokers and proxies
//! connect as the `broker` and `proxy` users of the shipped `redis/redis.conf`.

use std::cell::Cell;
use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_shared::time::now_ms;

use super::{broker_on, proxy_on};
use crate::gateway::{route, spawn_echo, until_refused_by, TestProxy};
use crate::helpers::json_of;
use crate::redis_cluster::{as_user, shared_cluster_nodes};

const QUOTA: usize = 20;

fn routes(echo: &str) -> Value {
    json!([
        route("orders", "/orders", echo, json!({})),
        route(
            "metered",
            "/metered",
            echo,
            json!({ "quota": { "limit": QUOTA, "period": "hour" } })
        ),
    ])
}

#[tokio::test]
async fn two_brokers_and_two_proxies_share_tokens_revocations_quotas_and_usage() {
    // Each service as its user of the shipped redis.conf: the ACL works on a cluster.
    let brokers = as_user(&shared_cluster_nodes(), "broker");
    let proxies = as_user(&shared_cluster_nodes(), "proxy");
    // The shipped ACL's selectors name `tessera:quota:*` and `tessera:analytics:*`: the one
    // prefix it fits (the other cluster tests use prefixes of their own, apps are fresh, and
    // the usage is read from this test's start on).
    let prefix = "tessera:".to_string();
    let started = now_ms();
    let broker_a = broker_on(&brokers, &prefix, |_| {}).await;
    let broker_b = broker_on(&brokers, &prefix, |_| {}).await;
    let echo = spawn_echo();
    // Small batches: enough of them to go round the analytics shards.
    let batches = |cfg: &mut Value| cfg["analytics"]["batch_size"] = json!(4);
    let proxy_a = proxy_on(&broker_a, &proxies, routes(&echo), batches).await;
    let proxy_b = proxy_on(&broker_a, &proxies, routes(&echo), batches).await;
    let mut calls = 0;

    // Issued at broker A, accepted at proxy B, and at A (which caches it now).
    let client = broker_a.default_client().await;
    let token = broker_a.access_token(&client).await;
    assert_eq!(
        proxy_b.get("/orders", &token).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        proxy_a.get("/orders", &token).await.status(),
        StatusCode::OK
    );
    assert!(
        broker_b.is_active(&client, &token).await,
        "B introspects A's token"
    );
    calls += 2;

    // Revoked at broker B: both proxies refuse it within the documented revocation promise
    // (1 s), by the announcement alone (their caches would keep the token for minutes); proxy B
    // hears it from its own node (the cluster bus relays it). Measured from the revocation's
    // answer to the sending of the last call still accepted ([`until_refused_by`]).
    let res = broker_b
        .post_form("/revoke", &client, &[("token", &token)])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let start = Instant::now();
    let counted = Cell::new(0);
    let a = until_refused_by(|| counted_call(&proxy_a, &token, &counted)).await;
    assert!(a < Duration::from_secs(1), "proxy A accepted it {a:?} on");
    let b_from = start.elapsed();
    let b = until_refused_by(|| counted_call(&proxy_b, &token, &counted)).await;
    let b = if b.is_zero() { b } else { b_from + b };
    assert!(b < Duration::from_secs(1), "proxy B accepted it {b:?} on");
    calls += counted.get();

    // A quota of 20 per hour, 60 concurrent callers over both proxies: exactly 20 admitted.
    let fresh = broker_b.access_token(&client).await;
    let tries = (0..3 * QUOTA).map(|i| {
        let proxy = if i % 2 == 0 { &proxy_a } else { &proxy_b };
        let fresh = fresh.clone();
        async move { proxy.get("/metered", &fresh).await.status() }
    });
    let statuses = join_all(tries).await;
    let admitted = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((admitted, throttled), (QUOTA, 2 * QUOTA), "{statuses:?}");
    calls += 3 * QUOTA;

    // The usage API (either broker) sums both proxies' calls, every one of them.
    let usage = wait_for_usage(&broker_b, started, calls).await;
    assert_eq!(usage["total"]["calls"], json!(calls), "{usage}");
    assert_eq!(usage["total"]["throttled"], json!(2 * QUOTA), "{usage}");
    let by_status = &usage["total"]["by_status"];
    assert_eq!(by_status["429"], json!(2 * QUOTA));
    assert!(by_status["200"].as_u64().unwrap() >= (QUOTA + 2) as u64);
    let from_a = wait_for_usage(&broker_a, started, calls).await;
    assert_eq!(
        from_a["total"], usage["total"],
        "both brokers read the same shards"
    );
    // The shards spread over the cluster: no one hot key on one master (issue 12.3).
    assert!(masters_with_analytics(&prefix).await > 1);
}

/// How many masters of the shared cluster hold an analytics shard of `prefix`.
async fn masters_with_analytics(prefix: &str) -> usize {
    let mut masters = 0;
    for url in shared_cluster_nodes() {
        let mut c = crate::redis_server::connect(&url).await.unwrap();
        let info: String = redis::cmd("INFO")
            .arg("replication")
            .query_async(&mut c)
            .await
            .unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}analytics:*"))
            .query_async(&mut c)
            .await
            .unwrap();
        if info.contains("role:master") && !keys.is_empty() {
            masters += 1;
        }
    }
    masters
}

/// `/admin/usage` since `from` once it counts at least `calls` calls (the proxies write their
/// events in batches).
/// A call to `proxy` with `token`, counted in `calls`; its status.
fn counted_call<'a>(
    proxy: &'a TestProxy,
    token: &'a str,
    calls: &'a Cell<usize>,
) -> impl Future<Output = StatusCode> + 'a {
    calls.set(calls.get() + 1);
    async move { proxy.get("/orders", token).await.status() }
}

async fn wait_for_usage(broker: &crate::helpers::TestApp, from: i64, calls: usize) -> Value {
    let start = Instant::now();
    loop {
        let res = broker.admin_get(&format!("/admin/usage?from={from}")).await;
        assert_eq!(res.status(), StatusCode::OK);
        let usage = json_of(res).await;
        if usage["total"]["calls"].as_u64().unwrap_or(0) >= calls as u64 {
            // One more beat, so that late batches are in before the totals are compared.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let res = broker.admin_get(&format!("/admin/usage?from={from}")).await;
            return json_of(res).await;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "usage stuck at {}",
            usage["total"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
