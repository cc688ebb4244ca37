//! Rate limits (GCRA) and the failure back-off.

use std::sync::Arc;
use std::time::Duration;

use tessera_shared::store::{AbuseRule, Backoff, Gcra, LimitKey, Store};

use super::{cluster_store, memory_store, redis_store};

async fn rate_limits_allow_a_burst_then_the_rate(s: Arc<dyn Store>) {
    let key = LimitKey {
        limiter: "token",
        subject: "app:1",
    };
    let gcra = Gcra {
        interval_us: 200_000,
        burst: 3,
    };
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let v = s.rate_take(&key, gcra).await.unwrap();
        assert!(v.allowed);
        remaining.push(v.remaining);
    }
    assert_eq!(remaining, vec![2, 1, 0]);
    let refused = s.rate_take(&key, gcra).await.unwrap();
    assert!(!refused.allowed);
    assert!((1..=200).contains(&refused.retry_after_ms), "{refused:?}");
    assert!((400..=600).contains(&refused.reset_ms), "{refused:?}");
    // Other subjects and other limiters count apart.
    let other = LimitKey {
        limiter: "token",
        subject: "app:2",
    };
    assert!(s.rate_take(&other, gcra).await.unwrap().allowed);
    let other = LimitKey {
        limiter: "revoke",
        subject: "app:1",
    };
    assert!(s.rate_take(&other, gcra).await.unwrap().allowed);
    // Refused requests do not count: one interval later one more goes through.
    tokio::time::sleep(Duration::from_millis(210)).await;
    assert!(s.rate_take(&key, gcra).await.unwrap().allowed);
    assert!(!s.rate_take(&key, gcra).await.unwrap().allowed);
}

async fn backoff_doubles_after_free_failures(s: Arc<dyn Store>) {
    let key = LimitKey {
        limiter: "auth_ip",
        subject: "10.0.0.1",
    };
    let policy = Backoff {
        free: 2,
        base_ms: 300,
        max_ms: 500,
        forget_ms: 60_000,
    };
    assert_eq!(s.backoff(&key, policy, false).await.unwrap(), 0);
    assert_eq!(s.backoff(&key, policy, true).await.unwrap(), 0);
    assert_eq!(s.backoff(&key, policy, true).await.unwrap(), 0);
    let wait = s.backoff(&key, policy, true).await.unwrap();
    assert!((250..=300).contains(&wait), "{wait}");
    let wait = s.backoff(&key, policy, false).await.unwrap();
    assert!(
        (1..=300).contains(&wait),
        "a check reports the wait: {wait}"
    );
    let wait = s.backoff(&key, policy, true).await.unwrap();
    assert!((450..=500).contains(&wait), "doubled, then capped: {wait}");
    let other = LimitKey {
        limiter: "auth_ip",
        subject: "10.0.0.2",
    };
    assert_eq!(s.backoff(&other, policy, false).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(520)).await;
    assert_eq!(
        s.backoff(&key, policy, false).await.unwrap(),
        0,
        "waited out"
    );
}

/// The abuse rule: `max` strikes pass, the next blocks the subject for `block_secs`; a check
/// reads the block without counting; other subjects are unaffected; the block expires.
async fn abuse_blocks_past_the_threshold_then_expires(s: Arc<dyn Store>) {
    let rule = AbuseRule {
        window_secs: 60,
        max: 3,
        block_secs: 1,
    };
    for _ in 0..3 {
        assert_eq!(s.abuse("10.0.0.1", rule, true).await.unwrap(), 0);
    }
    assert_eq!(
        s.abuse("10.0.0.1", rule, false).await.unwrap(),
        0,
        "checks count nothing"
    );
    let left = s.abuse("10.0.0.1", rule, true).await.unwrap();
    assert!((500..=1000).contains(&left), "{left}");
    let left = s.abuse("10.0.0.1", rule, false).await.unwrap();
    assert!((1..=1000).contains(&left), "{left}");
    assert_eq!(s.abuse("::1", rule, false).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        s.abuse("10.0.0.1", rule, false).await.unwrap(),
        0,
        "expired"
    );
    // The counter restarted with the block: one strike does not block again.
    assert_eq!(s.abuse("10.0.0.1", rule, true).await.unwrap(), 0);
}

conformance!(
    rate_limits_allow_a_burst_then_the_rate,
    backoff_doubles_after_free_failures,
    abuse_blocks_past_the_threshold_then_expires
);
