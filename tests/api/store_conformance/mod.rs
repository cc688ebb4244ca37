//! The store conformance suite: the same cases against the in-memory store, a real Redis and a
//! real Redis Cluster (3 masters, 3 replicas), so that `tessera dev` behaves as production does
//! and every command and script works on a cluster (none may fail with CROSSSLOT). Each file
//! holds one concern's cases and runs each of them on the three stores (`…::memory::case`,
//! `…::redis::case`, `…::cluster::case`).

use std::sync::Arc;

use tessera_shared::config::StoreConfig;
use tessera_shared::store::{self, Store};

use crate::helpers::{shared_redis_url, STORE_TIMEOUT_MS};
use crate::redis_cluster::shared_cluster_nodes;

fn redis_store() -> Arc<dyn Store> {
    store::open(&StoreConfig {
        url: shared_redis_url(),
        prefix: format!("conf:{}:", uuid::Uuid::new_v4().simple()),
        command_timeout_ms: STORE_TIMEOUT_MS,
        connect_timeout_ms: STORE_TIMEOUT_MS,
        ..StoreConfig::default()
    })
    .unwrap()
}

fn cluster_store() -> Arc<dyn Store> {
    store::open(&StoreConfig {
        cluster_nodes: shared_cluster_nodes(),
        prefix: format!("conf:{}:", uuid::Uuid::new_v4().simple()),
        command_timeout_ms: STORE_TIMEOUT_MS,
        connect_timeout_ms: STORE_TIMEOUT_MS,
        ..StoreConfig::default()
    })
    .unwrap()
}

fn memory_store() -> Arc<dyn Store> {
    store::open(&StoreConfig {
        url: "memory".into(),
        ..StoreConfig::default()
    })
    .unwrap()
}

/// Runs `attempt` twenty times at once; how many returned `true`.
async fn winners<
    F: std::future::Future<Output = Result<bool, tessera_shared::error::StoreError>>,
>(
    attempt: impl Fn() -> F,
) -> usize {
    let tries = (0..20).map(|_| attempt());
    futures_util::future::join_all(tries)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count()
}

macro_rules! conformance {
    ($($name:ident),*) => {
        mod memory {
            $(#[tokio::test] async fn $name() { super::$name(super::memory_store()).await })*
        }
        mod redis {
            $(#[tokio::test] async fn $name() { super::$name(super::redis_store()).await })*
        }
        mod cluster {
            $(#[tokio::test] async fn $name() { super::$name(super::cluster_store()).await })*
        }
    };
}

mod analytics;
mod behaviour;
mod catalog;
mod devices;
mod limits;
mod proofs;
mod sessions;
mod tokens;
mod upstream_logins;
