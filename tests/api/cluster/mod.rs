//! Tessera on a Redis Cluster: several brokers and proxies sharing one cluster (tokens,
//! revocations, quotas and usage across instances), every revocation heard on every node, a
//! lost subscription noticed per node, failover survived with `store.wait_replicas`, and TLS to
//! Redis (single node and cluster). The shared cluster (3 masters, 3 replicas) is started once
//! per test binary (`redis_cluster.rs`); tests that kill or freeze nodes start their own.

pub mod costs;
mod e2e;
mod failover;
mod pubsub;
mod tls;

use serde_json::{json, Value};

use crate::gateway::{proxy_config, start_proxy, TestProxy};
use crate::helpers::{spawn_app_with, TestApp};

/// Points a broker's or a proxy's configuration at the cluster `nodes`, under `prefix`.
pub fn on_cluster(cfg: &mut Value, nodes: &[String], prefix: &str) {
    cfg["store"]["url"] = json!("");
    cfg["store"]["cluster_nodes"] = json!(nodes);
    cfg["store"]["prefix"] = json!(prefix);
    cfg["store"]["command_timeout_ms"] = json!(1000);
}

/// A fresh key prefix, so that tests share the cluster without seeing each other's keys.
pub fn fresh_prefix() -> String {
    // Under the shipped ACL's key pattern (~tessera:*).
    format!("tessera:{}:", uuid::Uuid::new_v4().simple())
}

/// A broker on the cluster, `tweak` applied after.
pub async fn broker_on(nodes: &[String], prefix: &str, tweak: impl FnOnce(&mut Value)) -> TestApp {
    spawn_app_with("", |cfg| {
        on_cluster(cfg, nodes, prefix);
        tweak(cfg);
    })
    .await
}

/// A proxy on the cluster with `routes`, sharing `broker`'s pepper; `tweak` applied after.
pub async fn proxy_on(
    broker: &TestApp,
    nodes: &[String],
    routes: Value,
    tweak: impl FnOnce(&mut Value),
) -> TestProxy {
    let mut cfg = proxy_config(broker, routes);
    on_cluster(&mut cfg, nodes, &broker.prefix);
    tweak(&mut cfg);
    start_proxy(cfg).await
}
