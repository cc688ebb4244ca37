//! Failover: a 3-master/3-replica cluster of the test's own (node timeout 1 s) loses a master
//! to `kill -9` while a broker and a proxy are under a bounded load. They recover by themselves
//! (cluster failure detection, replica promotion, topology refresh); meanwhile every answer is
//! right or a 503 — never a revoked token accepted, never a live one refused; and with
//! `store.wait_replicas = 1` no token issued and no revocation acknowledged before the kill is
//! lost.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use tessera_shared::crypto::Keys;

use super::{broker_on, fresh_prefix, proxy_on};
use crate::gateway::{route, spawn_echo, TestProxy};
use crate::helpers::{json_of, Client, TestApp, PEPPER};
use crate::redis_cluster::RedisCluster;

/// Node timeout of the test's cluster: failure detection after about this long.
const NODE_TIMEOUT_MS: u64 = 1_000;
/// The bound the documentation gives for recovery with this node timeout (docs/scaling.md).
const RECOVERY_BOUND: Duration = Duration::from_secs(10);

/// What the load saw that it must never see.
#[derive(Default, Debug)]
struct Wrong {
    answers: Vec<String>,
    /// Tokens issued (200 from /token) while the load ran.
    issued: Vec<String>,
}

fn key_of(prefix: &str, token: &str) -> String {
    let keys = Keys::from_pepper(&PEPPER.to_string().into());
    format!("{prefix}at:{{{}}}", keys.token_hash(token))
}

#[tokio::test]
async fn a_master_killed_under_load_loses_nothing_acknowledged() {
    let mut cluster = RedisCluster::start(3, 1, NODE_TIMEOUT_MS, None);
    let nodes = cluster.urls();
    let prefix = fresh_prefix();
    let durable = |cfg: &mut serde_json::Value| {
        cfg["store"]["wait_replicas"] = json!(1);
        cfg["store"]["wait_timeout_ms"] = json!(500);
    };
    let broker = broker_on(&nodes, &prefix, durable).await;
    let echo = spawn_echo();
    let routes = json!([route("orders", "/orders", &echo, json!({}))]);
    let proxy = proxy_on(&broker, &nodes, routes, |_| {}).await;
    let client = broker.default_client().await;

    // 30 tokens, 10 of them revoked, all acknowledged with wait_replicas = 1.
    let mut live = Vec::new();
    let mut revoked = Vec::new();
    for i in 0..30 {
        let token = broker.access_token(&client).await;
        if i % 3 == 0 {
            let res = broker
                .post_form("/revoke", &client, &[("token", &token)])
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            revoked.push(token);
        } else {
            live.push(token);
        }
    }
    // The victim: a master holding both live and revoked tokens' slots.
    let victim = cluster.master_of(&key_of(&prefix, &live[0]));
    let on_victim = |t: &&String| cluster.master_of(&key_of(&prefix, t)) == victim;
    let live_there: Vec<String> = live.iter().filter(on_victim).cloned().collect();
    let revoked_there: Vec<String> = revoked.iter().filter(on_victim).cloned().collect();
    assert!(!revoked_there.is_empty(), "a revoked token on the victim");

    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(load(
        broker.clone(),
        proxy.clone(),
        client.clone(),
        live_there[0].clone(),
        revoked_there[0].clone(),
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;

    cluster.kill(victim);
    let killed = Instant::now();
    while !cluster.converged() {
        assert!(killed.elapsed() < RECOVERY_BOUND, "no replica promoted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let promoted = killed.elapsed();
    // Broker and proxy recover by themselves: an issuance and a call on the victim's slots.
    loop {
        let issued = broker
            .token(&client, &[("grant_type", "client_credentials")])
            .await
            .status();
        let proxied = proxy.get("/orders", &live_there[0]).await.status();
        if issued == StatusCode::OK && proxied == StatusCode::OK {
            break;
        }
        assert!(
            killed.elapsed() < RECOVERY_BOUND,
            "not recovered: /token {issued}, proxy {proxied}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let recovered = killed.elapsed();
    stop.store(true, Ordering::Relaxed);
    let wrong = load.await.unwrap();
    println!("failover: promoted after {promoted:?}, recovered after {recovered:?}");
    assert!(
        wrong.answers.is_empty(),
        "wrong answers: {:?}",
        wrong.answers
    );

    // Nothing acknowledged was lost: every token issued (before the kill and under load) is
    // active, every revoked one refused, at the broker and at the proxy.
    for t in live.iter().chain(wrong.issued.iter()) {
        assert!(
            broker.is_active(&client, t).await,
            "an issued token was lost"
        );
    }
    for t in &live_there {
        assert_eq!(proxy.get("/orders", t).await.status(), StatusCode::OK);
    }
    for t in &revoked {
        assert!(!broker.is_active(&client, t).await, "a revocation was lost");
        assert_eq!(
            proxy.get("/orders", t).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

/// Until `stop` (and 30 s at most), 20 ms apart: issues a token, introspects and proxies a
/// live and a revoked token; records every answer that is neither right nor a 503.
async fn load(
    broker: TestApp,
    proxy: TestProxy,
    client: Client,
    live: String,
    revoked: String,
    stop: Arc<AtomicBool>,
) -> Wrong {
    let mut wrong = Wrong::default();
    let start = Instant::now();
    while !stop.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(30) {
        let res = broker
            .token(&client, &[("grant_type", "client_credentials")])
            .await;
        match res.status() {
            StatusCode::OK => {
                let body = json_of(res).await;
                wrong
                    .issued
                    .push(body["access_token"].as_str().unwrap().to_string());
            }
            StatusCode::SERVICE_UNAVAILABLE => {}
            s => wrong.answers.push(format!("/token {s}")),
        }
        for (token, right) in [
            (&live, StatusCode::OK),
            (&revoked, StatusCode::UNAUTHORIZED),
        ] {
            let s = proxy.get("/orders", token).await.status();
            if s != right && s != StatusCode::SERVICE_UNAVAILABLE {
                wrong.answers.push(format!("proxy {s}, expected {right}"));
            }
            let res = broker
                .post_form("/introspect", &client, &[("token", token)])
                .await;
            match res.status() {
                StatusCode::OK => {
                    let active = json_of(res).await["active"] == json!(true);
                    if active != (right == StatusCode::OK) {
                        wrong.answers.push(format!("introspection active={active}"));
                    }
                }
                StatusCode::SERVICE_UNAVAILABLE => {}
                s => wrong.answers.push(format!("/introspect {s}")),
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wrong
}

/// `store.wait_replicas` is honoured, not assumed: asking for more replicas than the cluster
/// has (one per master) fails issuance and revocation with 503 instead of acknowledging them.
#[tokio::test]
async fn writes_wait_for_the_replicas_asked_for() {
    let nodes = crate::redis_cluster::shared_cluster_nodes();
    let prefix = fresh_prefix();
    let one = broker_on(&nodes, &prefix, |cfg| {
        cfg["store"]["wait_replicas"] = json!(1);
        cfg["store"]["wait_timeout_ms"] = json!(300);
    })
    .await;
    let two = broker_on(&nodes, &prefix, |cfg| {
        cfg["store"]["wait_replicas"] = json!(2);
        cfg["store"]["wait_timeout_ms"] = json!(100);
    })
    .await;
    let client = one.default_client().await;
    let token = one.access_token(&client).await;
    let res = two
        .token(&client, &[("grant_type", "client_credentials")])
        .await;
    crate::helpers::assert_oauth_error(res, 503, "temporarily_unavailable").await;
    let res = two
        .post_form("/revoke", &client, &[("token", &token)])
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let res = one
        .post_form("/revoke", &client, &[("token", &token)])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!one.is_active(&client, &token).await);
}
