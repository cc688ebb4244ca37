//! The analytics shards: packed batches, ranges by write time merged across shards, the cap,
//! long ranges read whole, no event lost or read twice across shards.

use std::sync::Arc;
use std::time::Duration;

use tessera_shared::store::{Store, ANALYTICS_STREAMS_MAX};

use super::{cluster_store, memory_store, redis_store};

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

async fn analytics_ranges_select_by_write_time(s: Arc<dyn Store>) {
    use tessera_shared::time::now_ms;
    let all = |from, to, limit| {
        let s = s.clone();
        async move { s.analytics_range(from, to, limit).await.unwrap() }
    };
    assert!(all(0, i64::MAX, 10).await.is_empty(), "no stream yet");
    s.analytics_append(0, &[], 10).await.unwrap();
    let t0 = now_ms();
    s.analytics_append(3, &strings(&["a1", "a2"]), 1000)
        .await
        .unwrap();
    let t1 = now_ms();
    tokio::time::sleep(Duration::from_millis(5)).await;
    // Another shard (taken modulo the number of shards): merged by write time.
    s.analytics_append(ANALYTICS_STREAMS_MAX + 1, &strings(&["b"]), 1000)
        .await
        .unwrap();
    let t2 = now_ms();

    assert_eq!(all(t0, t2, 10).await, strings(&["a1", "a2", "b"]));
    assert_eq!(all(t0, t1, 10).await, strings(&["a1", "a2"]));
    assert_eq!(all(t1 + 1, t2, 10).await, strings(&["b"]));
    assert_eq!(all(t0, t2, 2).await, strings(&["a1", "a2"]), "oldest first");
    assert!(all(t0, t2, 0).await.is_empty());
    assert!(all(0, t0 - 1, 10).await.is_empty(), "before");
    assert!(all(t2 + 1, i64::MAX, 10).await.is_empty(), "after");
    assert!(all(t2, t0, 10).await.is_empty(), "reversed");
    assert_eq!(all(i64::MIN, i64::MAX, 10).await.len(), 3);

    // Both ends are inclusive: find a1's write time (the latest start that still holds it),
    // then a range of that one millisecond holds it.
    let mut stamp = None;
    for t in (t0..=t1).rev() {
        if all(t, t2, 1).await == strings(&["a1"]) {
            stamp = Some(t);
            break;
        }
    }
    let stamp = stamp.expect("a1 written between t0 and t1");
    assert_eq!(all(stamp, stamp, 1).await, strings(&["a1"]));
}

async fn analytics_stream_is_capped(s: Arc<dyn Store>) {
    // The cap counts entries (batches) of one shard: 500 batches of 2 events, capped at 150.
    let events: Vec<String> = (0..1000).map(|i| format!("e{i}")).collect();
    for chunk in events.chunks(2) {
        s.analytics_append(5, chunk, 150).await.unwrap();
    }
    let kept = s.analytics_range(0, i64::MAX, 10_000).await.unwrap();
    // Redis trims whole stream nodes (`MAXLEN ~`, 100 entries a node by default): about 150.
    assert!(
        (300..=500).contains(&kept.len()),
        "{} events kept",
        kept.len()
    );
    assert_eq!(kept[..], events[events.len() - kept.len()..], "newest kept");
}

async fn analytics_shards_lose_and_repeat_nothing(s: Arc<dyn Store>) {
    // Batches spread over every shard: each event read exactly once, and a limit counts events.
    let events: Vec<String> = (0..3_000).map(|i| format!("e{i}")).collect();
    for (i, chunk) in events.chunks(7).enumerate() {
        s.analytics_append(i % ANALYTICS_STREAMS_MAX, chunk, 100_000)
            .await
            .unwrap();
    }
    let mut read = s.analytics_range(0, i64::MAX, 10_000).await.unwrap();
    read.sort();
    let mut want = events.clone();
    want.sort();
    assert_eq!(read, want);
    let first = s.analytics_range(0, i64::MAX, 1_000).await.unwrap();
    assert_eq!(first.len(), 1_000);
    let distinct: std::collections::HashSet<&String> = first.iter().collect();
    assert_eq!(distinct.len(), 1_000, "no event twice");
}

async fn analytics_long_ranges_are_read_whole(s: Arc<dyn Store>) {
    // More than one page of the Redis store's paged reads.
    let events: Vec<String> = (0..12_345).map(|i| format!("e{i}")).collect();
    for chunk in events.chunks(1000) {
        s.analytics_append(9, chunk, 100_000).await.unwrap();
    }
    assert_eq!(
        s.analytics_range(0, i64::MAX, 20_000).await.unwrap(),
        events
    );
    let first = s.analytics_range(0, i64::MAX, 12_000).await.unwrap();
    assert_eq!(first[..], events[..12_000]);
}

conformance!(
    analytics_ranges_select_by_write_time,
    analytics_stream_is_capped,
    analytics_shards_lose_and_repeat_nothing,
    analytics_long_ranges_are_read_whole
);
