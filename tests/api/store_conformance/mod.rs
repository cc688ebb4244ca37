//! The store conformance suite: the same cases against the in-memory store and real Redis, so
//! that `tessera dev` behaves as production does. Each file holds one concern's cases and
//! runs each of them on both stores (`…::memory::case`, `…::redis::case`).

use std::sync::Arc;

use tessera_shared::config::StoreConfig;
use tessera_shared::store::{self, Store};

use crate::helpers::shared_redis_url;

fn redis_store() -> Arc<dyn Store> {
    store::open(&StoreConfig {
        url: shared_redis_url(),
        prefix: format!("conf:{}:", uuid::Uuid::new_v4().simple()),
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

macro_rules! conformance {
    ($($name:ident),*) => {
        mod memory {
            $(#[tokio::test] async fn $name() { super::$name(super::memory_store()).await })*
        }
        mod redis {
            $(#[tokio::test] async fn $name() { super::$name(super::redis_store()).await })*
        }
    };
}

mod analytics;
mod catalog;
mod limits;
mod sessions;
mod tokens;
