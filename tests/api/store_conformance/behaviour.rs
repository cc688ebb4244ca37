//! Abuse detection's behaviour signals (`abuse_signals.lua`, `abuse_mark.lua`) on a real Redis
//! and a Redis Cluster (the in-memory store has none: the proxy refuses the rules without
//! Redis): window totals over several merges, the moving baseline across windows and gaps,
//! the distinct-credential count, markers (a flag never replaces a block; a block clears the
//! window's counts), and the TTL of every key.

use std::sync::Arc;

use tessera_shared::store::behaviour::{Mark, SignalDelta};
use tessera_shared::store::Store;

use super::{cluster_store, memory_store, redis_store};

fn delta<'a>(window: u64, calls: u64, errors: u64, tokens: &'a [String]) -> SignalDelta<'a> {
    SignalDelta {
        window,
        window_secs: 60,
        keep_secs: 600,
        alpha_permille: 500,
        calls,
        errors,
        tokens,
    }
}

fn mark(action: &'static str, ttl_secs: u64) -> Mark<'static> {
    Mark {
        rule: "ip_tokens",
        action,
        value: 6.0,
        ttl_secs,
        now_ms: 1_700_000_000_000,
    }
}

async fn signals_merge_across_windows_and_markers_hold(s: Arc<dyn Store>) {
    let none: [String; 0] = [];
    // One window, two proxies' merges: totals.
    s.behaviour_merge("c:app", &delta(100, 5, 1, &none))
        .await
        .unwrap();
    let m = s
        .behaviour_merge("c:app", &delta(100, 3, 2, &none))
        .await
        .unwrap();
    assert_eq!((m.calls, m.errors, m.baseline, m.marker), (8, 3, 0.0, None));
    // The next window: the finished one weighs alpha (0.5) in the baseline.
    let m = s
        .behaviour_merge("c:app", &delta(101, 1, 0, &none))
        .await
        .unwrap();
    assert_eq!((m.calls, m.errors, m.baseline), (1, 0, 4.0));
    // Two empty windows in between decay it twice: (4 + 0.5 × (1 − 4)) × 0.5 × 0.5.
    let m = s
        .behaviour_merge("c:app", &delta(104, 0, 0, &none))
        .await
        .unwrap();
    assert_eq!((m.calls, m.baseline), (0, 0.625));
    // A merge from a proxy whose clock is behind counts in the current window.
    let m = s
        .behaviour_merge("c:app", &delta(103, 2, 0, &none))
        .await
        .unwrap();
    assert_eq!((m.calls, m.baseline), (2, 0.625));

    // Distinct credentials, over merges, per window.
    let t = |r: std::ops::Range<u32>| r.map(|i| format!("{i:016x}")).collect::<Vec<_>>();
    s.behaviour_merge("s:10.0.0.1", &delta(100, 3, 3, &t(0..3)))
        .await
        .unwrap();
    let m = s
        .behaviour_merge("s:10.0.0.1", &delta(100, 3, 0, &t(2..6)))
        .await
        .unwrap();
    assert_eq!((m.calls, m.errors, m.distinct), (6, 3, 6));

    // A block: the marker comes back with every merge, and clears the window's counts. Set
    // once, a second block (another proxy's merge tripped it too before this mark) is not set.
    assert!(s
        .behaviour_mark_once("s:10.0.0.1", &mark("block", 2))
        .await
        .unwrap());
    assert!(!s
        .behaviour_mark_once("s:10.0.0.1", &mark("block", 60))
        .await
        .unwrap());
    let m = s
        .behaviour_merge("s:10.0.0.1", &delta(100, 1, 0, &none))
        .await
        .unwrap();
    assert_eq!((m.calls, m.distinct), (1, 0));
    let marker = m.marker.unwrap();
    assert_eq!(
        (marker.rule.as_str(), marker.action.as_str()),
        ("ip_tokens", "block")
    );
    assert!((1..=2000).contains(&marker.left_ms), "{marker:?}");
    // A flag does not replace it.
    assert!(!s
        .behaviour_mark_once("s:10.0.0.1", &mark("flag", 60))
        .await
        .unwrap());
    let m = s
        .behaviour_merge("s:10.0.0.1", &delta(100, 0, 0, &none))
        .await
        .unwrap();
    assert_eq!(m.marker.unwrap().action, "block");
    // It ends with its TTL.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let m = s
        .behaviour_merge("s:10.0.0.1", &delta(100, 0, 0, &none))
        .await
        .unwrap();
    assert_eq!(m.marker, None);

    // Nothing to add on a subject without state: nothing written, the marker still read.
    let m = s
        .behaviour_merge("s:10.0.0.9", &delta(100, 0, 0, &none))
        .await
        .unwrap();
    assert_eq!((m.calls, m.errors, m.distinct, m.marker), (0, 0, 0, None));
    s.behaviour_mark("s:10.0.0.9", &mark("block", 60))
        .await
        .unwrap();
    let m = s
        .behaviour_merge("s:10.0.0.9", &delta(100, 0, 0, &none))
        .await
        .unwrap();
    assert_eq!(m.marker.unwrap().action, "block");
    assert_eq!(m.calls, 0);
    let m = s
        .behaviour_merge("s:10.0.0.8", &delta(100, 1, 0, &none))
        .await
        .unwrap();
    assert_eq!(m.calls, 1, "a call is counted");
}

#[tokio::test]
async fn behaviour_signals_on_redis() {
    signals_merge_across_windows_and_markers_hold(redis_store()).await;
}

#[tokio::test]
async fn behaviour_signals_on_a_cluster() {
    signals_merge_across_windows_and_markers_hold(cluster_store()).await;
}

/// The in-memory store says it has no behaviour signals (an error, never a silent zero).
#[tokio::test]
async fn behaviour_signals_need_redis() {
    let s = memory_store();
    assert!(s
        .behaviour_merge("c:app", &delta(1, 1, 0, &[]))
        .await
        .is_err());
    assert!(s.behaviour_mark("c:app", &mark("block", 1)).await.is_err());
}
