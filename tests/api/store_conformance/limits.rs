//! Rate limits (GCRA) and the failure back-off.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tessera_shared::store::{
    AbuseRule, Announcement, Backoff, BackoffNotice, Gcra, Lease, LimitKey, Store,
};

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

/// A lease takes several admissions in one call, in slots after its hold: from an idle bucket of
/// 20 (one per 100 ms), a lease of 8 held 500 ms takes 5 slots of hold and its 8 cells; the next
/// gets the 7 that still fit; then only single requests, refused as the plain step refuses.
async fn leases_take_several_admissions_after_their_hold(s: Arc<dyn Store>) {
    let key = LimitKey {
        limiter: "token",
        subject: "app:leased",
    };
    let gcra = Gcra {
        interval_us: 100_000,
        burst: 20,
    };
    let lease = Lease {
        cells: 8,
        hold_us: 500_000,
    };
    let v = s.rate_lease(&key, gcra, lease).await.unwrap();
    assert_eq!((v.allowed, v.granted, v.remaining), (true, 8, 7), "{v:?}");
    assert!((1290..=1300).contains(&v.reset_ms), "{v:?}");
    let v = s.rate_lease(&key, gcra, lease).await.unwrap();
    assert_eq!((v.granted, v.remaining), (7, 0), "{v:?}");
    let refused = s.rate_lease(&key, gcra, lease).await.unwrap();
    assert_eq!(
        (refused.allowed, refused.granted),
        (false, 0),
        "{refused:?}"
    );
    assert!((1..=100).contains(&refused.retry_after_ms), "{refused:?}");
    // One interval later a single request fits, never a lease of one.
    tokio::time::sleep(Duration::from_millis(110)).await;
    let v = s.rate_lease(&key, gcra, lease).await.unwrap();
    assert_eq!(v.granted, 1, "{v:?}");
    // A plain request is the lease of one.
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

/// A failure that leaves a back-off in force announces it on the revocation channel (what
/// brokers learn which subjects to check from); free failures and checks announce nothing.
async fn a_failure_that_starts_a_backoff_announces_it(s: Arc<dyn Store>) {
    let mut heard = s.revocations().await.unwrap();
    let key = LimitKey {
        limiter: "auth_failures_client",
        subject: "h:made-up",
    };
    let policy = Backoff {
        free: 1,
        base_ms: 5_000,
        max_ms: 10_000,
        forget_ms: 60_000,
    };
    assert_eq!(s.backoff(&key, policy, true).await.unwrap(), 0);
    assert_eq!(s.backoff(&key, policy, false).await.unwrap(), 0);
    let wait = s.backoff(&key, policy, true).await.unwrap();
    assert!((4_900..=5_000).contains(&wait), "{wait}");
    let wait = s.backoff(&key, policy, false).await.unwrap();
    assert!(wait > 0);
    let next = tokio::time::timeout(Duration::from_secs(3), heard.next()).await;
    let Ok(Some(Announcement::Backoff(BackoffNotice { id, wait_ms }))) = next else {
        panic!("no back-off announced: {next:?}");
    };
    assert_eq!(id, "auth_failures_client:h:made-up");
    assert!((4_900..=5_000).contains(&wait_ms), "{wait_ms}");
    // Only the one: the free failure and the checks announced nothing.
    let more = tokio::time::timeout(Duration::from_millis(300), heard.next()).await;
    assert!(more.is_err(), "{more:?}");
}

conformance!(
    rate_limits_allow_a_burst_then_the_rate,
    leases_take_several_admissions_after_their_hold,
    backoff_doubles_after_free_failures,
    a_failure_that_starts_a_backoff_announces_it,
    abuse_blocks_past_the_threshold_then_expires
);
