//! Unit tests of the emitter, on the in-memory store and on a Redis that is not there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use tessera_shared::analytics::AuthOutcome;
use tessera_shared::config::StoreConfig;
use tessera_shared::store::memory::MemoryStore;

use super::*;

fn event(i: u64) -> CallEvent {
    CallEvent {
        ts_ms: 1_700_000_000_000 + i as i64,
        client_id: Some(format!("client-{i}")),
        app_id: None,
        developer_id: None,
        route: "orders".into(),
        method: "GET".into(),
        status: 200,
        latency_us: i,
        bytes_in: 0,
        bytes_out: 0,
        auth: AuthOutcome::Ok,
        throttled: false,
        refused_by: None,
        client_ip: None,
        flagged_by: None,
        count: 1,
        ips: vec![],
    }
}

fn config(capacity: usize, batch: usize, flush_ms: u64) -> AnalyticsConfig {
    AnalyticsConfig {
        channel_capacity: capacity,
        batch_size: batch,
        flush_interval_ms: flush_ms,
        ..AnalyticsConfig::default()
    }
}

async fn stored(store: &dyn Store) -> Vec<CallEvent> {
    let raw = store.analytics_range(0, i64::MAX, 100_000).await.unwrap();
    raw.iter()
        .map(|r| serde_json::from_str(r).unwrap())
        .collect()
}

/// A Redis URL where nothing listens: every write fails at once.
fn dead_redis() -> Arc<dyn Store> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    tessera_shared::store::open(&StoreConfig {
        url: format!("redis://127.0.0.1:{port}"),
        command_timeout_ms: 200,
        connect_timeout_ms: 200,
        ..StoreConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn events_are_written_in_order_and_shutdown_flushes_the_queue() {
    let store = Arc::new(MemoryStore::default());
    let metrics = EmitterMetrics::new().unwrap();
    // One shard: batches of one writer keep their order (across shards, entries written within
    // the same millisecond are merged by shard).
    let cfg = AnalyticsConfig {
        streams: 1,
        ..config(1000, 10, 10_000)
    };
    let (emitter, writer) = Emitter::start(store.clone(), cfg, metrics.clone());
    for i in 0..95 {
        emitter.clone().emit(event(i));
    }
    // The flush interval is long: only shutdown gets the last, partial batch written.
    writer.shutdown().await;
    let got = stored(store.as_ref()).await;
    assert_eq!(got, (0..95).map(event).collect::<Vec<_>>());
    assert_eq!((metrics.emitted.get(), metrics.written.get()), (95, 95));
    assert_eq!((metrics.dropped.get(), metrics.write_errors.get()), (0, 0));
    emitter.emit(event(99));
    assert_eq!(
        metrics.dropped.get(),
        1,
        "after shutdown, events are refused"
    );
}

#[tokio::test]
async fn a_lone_event_is_written_after_the_flush_interval() {
    let store = Arc::new(MemoryStore::default());
    let metrics = EmitterMetrics::new().unwrap();
    let (emitter, _writer) = Emitter::start(store.clone(), config(100, 256, 20), metrics.clone());
    emitter.emit(event(1));
    // A wait, not a promise (the flush interval is 20 ms): generous for a loaded machine.
    let deadline = Instant::now() + Duration::from_secs(10);
    while stored(store.as_ref()).await.is_empty() {
        assert!(Instant::now() < deadline, "not written within 10 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(metrics.written.get(), 1);
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_instead_of_blocking() {
    let metrics = EmitterMetrics::new().unwrap();
    let (emitter, writer) = Emitter::start(dead_redis(), config(4, 2, 5), metrics.clone());
    let started = Instant::now();
    for i in 0..1000 {
        emitter.emit(event(i));
    }
    // Blocking would never end (the runtime's one thread is this loop's): any bound tells, and
    // a generous one holds on a loaded machine.
    assert!(started.elapsed() < Duration::from_secs(5));
    // This test's runtime has one thread: the writer did not run during the loop.
    assert_eq!((metrics.emitted.get(), metrics.dropped.get()), (4, 996));
    let started = Instant::now();
    writer.shutdown().await;
    assert!(started.elapsed() < SHUTDOWN_TIMEOUT + Duration::from_secs(1));
    assert_eq!(metrics.written.get(), 0);
    assert_eq!(
        metrics.write_errors.get(),
        2,
        "two batches of two, each failed"
    );
}

#[tokio::test]
async fn disabled_analytics_write_nothing() {
    let store = Arc::new(MemoryStore::default());
    let metrics = EmitterMetrics::new().unwrap();
    let cfg = AnalyticsConfig {
        enabled: false,
        ..AnalyticsConfig::default()
    };
    let (emitter, writer) = Emitter::start(store.clone(), cfg, metrics.clone());
    emitter.emit(event(1));
    writer.shutdown().await;
    assert!(stored(store.as_ref()).await.is_empty());
    assert_eq!(metrics.emitted.get() + metrics.dropped.get(), 0);
}

#[test]
fn configuration_defaults_unknown_keys_and_limits() {
    let c: AnalyticsConfig = serde_json::from_str("{}").unwrap();
    assert!(c.enabled);
    assert_eq!(
        (
            c.channel_capacity,
            c.batch_size,
            c.flush_interval_ms,
            c.max_stream_len
        ),
        (10_000, 256, 200, 1_000_000)
    );
    assert!(c.validate().is_ok());
    assert!(serde_json::from_str::<AnalyticsConfig>(r#"{"batchsize": 1}"#).is_err());
    let zero = AnalyticsConfig { batch_size: 0, ..c };
    let err = zero.validate().unwrap_err().to_string();
    assert!(err.contains("analytics.batch_size"), "{err}");
}

#[test]
fn metrics_register_under_their_documented_names() {
    let registry = prometheus::Registry::new();
    let m = EmitterMetrics::register(&registry).unwrap();
    m.dropped.inc();
    let names: Vec<String> = registry
        .gather()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    for n in ["emitted", "dropped", "written", "write_errors"] {
        let name = format!("analytics_{n}_total");
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert!(
        EmitterMetrics::register(&registry).is_err(),
        "registered once"
    );
}
