//! Issue 11, direction 1: on a single Redis server, each thread that runs its own
//! current-thread runtime (an actix worker) sends its commands on its own connection, driven by
//! its own runtime — no cross-thread hop per command. Work on a multi-thread runtime shares one
//! connection. Against a real `redis-server` of the test's own, whose `CLIENT LIST` shows the
//! connections.

use std::sync::{mpsc, Arc};
use std::time::Duration;

use tessera_shared::config::StoreConfig;
use tessera_shared::store::{self, Store};

use crate::redis_server::RedisServer;

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Connections Redis sees, ours for `CLIENT LIST` included.
fn clients(url: &str) -> usize {
    let mut c = redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .expect("a connection");
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut c)
        .expect("CLIENT LIST");
    list.lines().count()
}

/// Pings from a fresh thread running its own current-thread runtime, within 3 s.
fn ping_from_new_thread(store: &Arc<dyn Store>) -> bool {
    let store = store.clone();
    std::thread::spawn(move || {
        current_thread().block_on(async {
            matches!(
                tokio::time::timeout(Duration::from_secs(3), store.ping()).await,
                Ok(Ok(()))
            )
        })
    })
    .join()
    .expect("the pinging thread")
}

/// A store opened as the services open theirs: on a multi-thread runtime, returned with it.
fn open(url: String) -> (tokio::runtime::Runtime, Arc<dyn Store>) {
    let mt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let store = mt.block_on(async {
        store::open(&StoreConfig {
            url,
            command_timeout_ms: crate::helpers::STORE_TIMEOUT_MS,
            ..StoreConfig::default()
        })
        .expect("a store")
    });
    (mt, store)
}

#[test]
fn each_worker_runtime_drives_its_own_connection() {
    let redis = RedisServer::start();
    let (mt, store) = open(redis.url());
    assert_eq!(clients(&redis.url()), 1, "lazy: nothing connected yet");

    // Worker A sends its first command, then stops running its runtime (busy, or parked) while
    // keeping it alive. Had A's runtime been the one driving a shared connection, nobody else
    // could use it now: B's command would wait for the response timeout and fail.
    let (parked_tx, parked_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let a_store = store.clone();
    let a = std::thread::spawn(move || {
        let rt = current_thread();
        let ok = rt.block_on(a_store.ping()).is_ok();
        parked_tx.send(()).expect("parked");
        release_rx.recv().expect("released");
        ok
    });
    parked_rx.recv().expect("A pinged");
    assert!(
        ping_from_new_thread(&store),
        "worker B is served while A's runtime is parked"
    );

    // A multi-thread runtime's tasks share one connection, however many of them.
    let before = clients(&redis.url());
    mt.block_on(async {
        let pings = (0..8).map(|_| {
            let s = store.clone();
            tokio::spawn(async move { s.ping().await.is_ok() })
        });
        for p in futures_util::future::join_all(pings).await {
            assert!(p.expect("a ping task"), "shared connection answers");
        }
    });
    assert!(
        clients(&redis.url()) <= before + 1,
        "one shared connection for the multi-thread runtime"
    );

    release_tx.send(()).expect("release A");
    assert!(a.join().expect("worker A"), "A's own ping answered");
}

#[test]
fn a_thread_keeps_its_connection_and_a_new_runtime_gets_a_new_one() {
    let redis = RedisServer::start();
    let (_mt, store) = open(redis.url());
    let url = redis.url();
    let counts = std::thread::spawn(move || {
        let rt = current_thread();
        let id = |rt: &tokio::runtime::Runtime| {
            rt.block_on(async {
                for _ in 0..5 {
                    store.ping().await.expect("ping");
                }
            });
            clients(&url)
        };
        let first = id(&rt);
        let again = id(&rt);
        drop(rt);
        // The old runtime's connection died with it: the next one answers on a new one.
        let later = id(&current_thread());
        (first, again, later)
    })
    .join()
    .expect("the thread");
    assert_eq!(counts.0, 2, "one connection for the thread (and ours)");
    assert_eq!(counts.1, 2, "the same connection again: {counts:?}");
    assert!(counts.2 >= 2, "a new runtime is served: {counts:?}");
}
