//! The store conformance suite: the same cases against the in-memory store and real Redis, so
//! that `tessera dev` behaves as production does.

use std::sync::Arc;
use std::time::Duration;

use tessera_shared::config::StoreConfig;
use tessera_shared::store::{
    self, Backoff, CatalogTx, CodeClaim, Gcra, LimitKey, RotateRequest, Rotation, Store, Table,
};
use tessera_shared::token::TokenKind;

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

async fn conditional_commits(s: Arc<dyn Store>) {
    s.ping().await.unwrap();
    let mut tx = CatalogTx::default();
    tx.check(Table::DeveloperEmails, "a@x.io", None);
    tx.set(Table::DeveloperEmails, "a@x.io", "1".into());
    tx.set(Table::Developers, "1", "{\"v\":1}".into());
    assert_eq!(s.catalog_commit(&tx).await.unwrap(), None);
    // The same transaction again fails its first check and writes nothing.
    let mut again = tx.clone();
    again.sets.push(tessera_shared::store::Cell {
        table: Table::Developers,
        field: "2".into(),
        value: Some("x".into()),
    });
    assert_eq!(s.catalog_commit(&again).await.unwrap(), Some(0));
    assert_eq!(s.catalog_get(Table::Developers, "2").await.unwrap(), None);

    // Optimistic check on the exact stored value; the second failing check is reported as 1.
    let mut upd = CatalogTx::default();
    upd.check(Table::Developers, "1", Some("{\"v\":1}".into()));
    upd.check(Table::DeveloperEmails, "a@x.io", None);
    upd.set(Table::Developers, "1", "{\"v\":2}".into());
    assert_eq!(s.catalog_commit(&upd).await.unwrap(), Some(1));
    upd.checks.pop();
    upd.del(Table::DeveloperEmails, "a@x.io");
    assert_eq!(s.catalog_commit(&upd).await.unwrap(), None);
    assert_eq!(
        s.catalog_commit(&upd).await.unwrap(),
        Some(0),
        "stale value"
    );
    assert_eq!(
        s.catalog_get(Table::Developers, "1")
            .await
            .unwrap()
            .as_deref(),
        Some("{\"v\":2}")
    );
    assert_eq!(
        s.catalog_get(Table::DeveloperEmails, "a@x.io")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.catalog_values(Table::Developers).await.unwrap(),
        vec!["{\"v\":2}"]
    );
    assert!(s.catalog_values(Table::Apps).await.unwrap().is_empty());
}

async fn client_lookup(s: Arc<dyn Store>) {
    let mut tx = CatalogTx::default();
    tx.set(Table::Apps, "app-1", "{\"app\":1}".into());
    tx.set(Table::Clients, "cid", "app-1".into());
    tx.set(Table::Clients, "dangling", "app-gone".into());
    assert_eq!(s.catalog_commit(&tx).await.unwrap(), None);
    assert_eq!(
        s.app_for_client("cid").await.unwrap().as_deref(),
        Some("{\"app\":1}")
    );
    assert_eq!(s.app_for_client("nobody").await.unwrap(), None);
    assert_eq!(s.app_for_client("dangling").await.unwrap(), None);
}

async fn tokens_expire_and_delete(s: Arc<dyn Store>) {
    let k = TokenKind::AccessToken;
    s.token_put(k, "h1", "rec1", 1).await.unwrap();
    s.token_put(k, "h2", "rec2", 60).await.unwrap();
    assert_eq!(s.token_get(k, "h1").await.unwrap().as_deref(), Some("rec1"));
    assert_eq!(
        s.token_get(TokenKind::RefreshToken, "h1").await.unwrap(),
        None,
        "kinds are separate"
    );
    s.token_delete(k, "h2").await.unwrap();
    assert_eq!(s.token_get(k, "h2").await.unwrap(), None);
    s.token_delete(k, "never-there").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(s.token_get(k, "h1").await.unwrap(), None, "expired");
}

async fn logins_are_taken_once(s: Arc<dyn Store>) {
    s.login_put("st", "pending", 60).await.unwrap();
    assert_eq!(
        s.login_take("st").await.unwrap().as_deref(),
        Some("pending")
    );
    assert_eq!(s.login_take("st").await.unwrap(), None);
    s.login_put("short", "x", 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(s.login_take("short").await.unwrap(), None);
}

async fn values_are_marked_used_once_until_the_mark_expires(s: Arc<dyn Store>) {
    assert!(s.mark_used("h1", 1).await.unwrap());
    assert!(!s.mark_used("h1", 60).await.unwrap(), "a second mark fails");
    assert!(s.mark_used("h2", 60).await.unwrap());
    // Twenty concurrent marks of one value: exactly one wins.
    let marks = (0..20).map(|_| s.mark_used("h3", 60));
    let won = futures_util::future::join_all(marks)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(won, 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        s.mark_used("h1", 60).await.unwrap(),
        "the first mark expired"
    );
}

async fn codes_are_claimed_once(s: Arc<dyn Store>) {
    s.code_put("c1", "rec", 60).await.unwrap();
    assert_eq!(s.code_get("c1").await.unwrap().as_deref(), Some("rec"));
    assert_eq!(s.code_claim("c1", "famA").await.unwrap(), CodeClaim::Won);
    assert_eq!(
        s.code_claim("c1", "famB").await.unwrap(),
        CodeClaim::Replayed("famA".into())
    );
    assert_eq!(
        s.code_get("c1").await.unwrap().as_deref(),
        Some("rec"),
        "kept for replay detection"
    );
    assert_eq!(s.code_claim("nope", "famC").await.unwrap(), CodeClaim::Gone);
}

/// A rotation without grace period, by client `c1`.
fn rotate<'a>(presented: &'a str, next: &'a str) -> RotateRequest<'a> {
    RotateRequest {
        presented,
        next,
        client_id: "c1",
        grace_ms: 0,
        sealed: "",
    }
}

async fn families_rotate_and_detect_reuse(s: Arc<dyn Store>) {
    s.family_put("f1", "rec", Some("rt1"), 60).await.unwrap();
    let f = s.family_get("f1").await.unwrap().unwrap();
    assert_eq!(
        (f.record.as_str(), f.live_refresh.as_deref(), f.revoked),
        ("rec", Some("rt1"), false)
    );
    assert_eq!(
        s.family_rotate("f1", &rotate("rt1", "rt2")).await.unwrap(),
        Rotation::Rotated("rec".into())
    );
    // The consumed token again: reuse, and the family is revoked.
    assert_eq!(
        s.family_rotate("f1", &rotate("rt1", "rt3")).await.unwrap(),
        Rotation::Reused
    );
    assert!(s.family_get("f1").await.unwrap().unwrap().revoked);
    assert_eq!(
        s.family_rotate("f1", &rotate("rt2", "rt4")).await.unwrap(),
        Rotation::Revoked
    );
    assert_eq!(
        s.family_rotate("none", &rotate("a", "b")).await.unwrap(),
        Rotation::Gone
    );

    // Revoking a family before it exists (a code replay racing the winner) still holds.
    s.family_revoke("f2").await.unwrap();
    assert_eq!(s.family_get("f2").await.unwrap(), None);
    s.family_put("f2", "rec2", None, 60).await.unwrap();
    assert!(s.family_get("f2").await.unwrap().unwrap().revoked);

    s.user_family_add("app", "user{1}", "f1", 60).await.unwrap();
    s.user_family_add("app", "user{1}", "f2", 60).await.unwrap();
    s.user_family_add("app", "other", "f3", 60).await.unwrap();
    let mut fams = s.user_families("app", "user{1}").await.unwrap();
    fams.sort();
    assert_eq!(fams, vec!["f1", "f2"]);
    assert!(s.user_families("app2", "user{1}").await.unwrap().is_empty());
}

async fn rotations_replay_within_the_grace_period_only(s: Arc<dyn Store>) {
    let graced = |presented, next, client_id| RotateRequest {
        presented,
        next,
        client_id,
        grace_ms: 400,
        sealed: "sealed-successor",
    };
    s.family_put("g1", "rec", Some("rt1"), 60).await.unwrap();
    assert_eq!(
        s.family_rotate("g1", &graced("rt1", "rt2", "c1"))
            .await
            .unwrap(),
        Rotation::Rotated("rec".into())
    );
    // The same token, the same client, within the grace period: the same successor, twice.
    for _ in 0..2 {
        assert_eq!(
            s.family_rotate("g1", &graced("rt1", "rt9", "c1"))
                .await
                .unwrap(),
            Rotation::Replayed {
                record: "rec".into(),
                sealed: "sealed-successor".into()
            }
        );
    }
    let f = s.family_get("g1").await.unwrap().unwrap();
    assert_eq!((f.live_refresh.as_deref(), f.revoked), (Some("rt2"), false));
    // The successor still rotates normally.
    assert_eq!(
        s.family_rotate("g1", &graced("rt2", "rt3", "c1"))
            .await
            .unwrap(),
        Rotation::Rotated("rec".into())
    );
    // Only the token replaced last replays; an older one is reuse.
    assert_eq!(
        s.family_rotate("g1", &graced("rt1", "rt9", "c1"))
            .await
            .unwrap(),
        Rotation::Reused
    );
    assert!(s.family_get("g1").await.unwrap().unwrap().revoked);

    // Another client: reuse. After the grace period: reuse.
    s.family_put("g2", "rec", Some("rt1"), 60).await.unwrap();
    s.family_rotate("g2", &graced("rt1", "rt2", "c1"))
        .await
        .unwrap();
    assert_eq!(
        s.family_rotate("g2", &graced("rt1", "rt9", "c2"))
            .await
            .unwrap(),
        Rotation::Reused
    );
    s.family_put("g3", "rec", Some("rt1"), 60).await.unwrap();
    s.family_rotate("g3", &graced("rt1", "rt2", "c1"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(
        s.family_rotate("g3", &graced("rt1", "rt9", "c1"))
            .await
            .unwrap(),
        Rotation::Reused
    );
    // Without a grace period nothing is kept to replay.
    s.family_put("g4", "rec", Some("rt1"), 60).await.unwrap();
    s.family_rotate("g4", &rotate("rt1", "rt2")).await.unwrap();
    assert_eq!(
        s.family_rotate("g4", &rotate("rt1", "rt3")).await.unwrap(),
        Rotation::Reused
    );
}

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
    s.analytics_append(&[], 10).await.unwrap();
    let t0 = now_ms();
    s.analytics_append(&strings(&["a1", "a2"]), 1000)
        .await
        .unwrap();
    let t1 = now_ms();
    tokio::time::sleep(Duration::from_millis(5)).await;
    s.analytics_append(&strings(&["b"]), 1000).await.unwrap();
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
    let events: Vec<String> = (0..1000).map(|i| format!("e{i}")).collect();
    for chunk in events.chunks(100) {
        s.analytics_append(chunk, 150).await.unwrap();
    }
    let kept = s.analytics_range(0, i64::MAX, 10_000).await.unwrap();
    // Redis trims whole stream nodes (`MAXLEN ~`, 100 entries a node by default): about 150.
    assert!(
        (150..=250).contains(&kept.len()),
        "{} entries kept",
        kept.len()
    );
    assert_eq!(kept[..], events[events.len() - kept.len()..], "newest kept");
}

async fn analytics_long_ranges_are_read_whole(s: Arc<dyn Store>) {
    // More than one page of the Redis store's paged reads.
    let events: Vec<String> = (0..12_345).map(|i| format!("e{i}")).collect();
    for chunk in events.chunks(1000) {
        s.analytics_append(chunk, 100_000).await.unwrap();
    }
    assert_eq!(
        s.analytics_range(0, i64::MAX, 20_000).await.unwrap(),
        events
    );
    let first = s.analytics_range(0, i64::MAX, 12_000).await.unwrap();
    assert_eq!(first[..], events[..12_000]);
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

conformance!(
    conditional_commits,
    client_lookup,
    tokens_expire_and_delete,
    logins_are_taken_once,
    values_are_marked_used_once_until_the_mark_expires,
    codes_are_claimed_once,
    families_rotate_and_detect_reuse,
    rotations_replay_within_the_grace_period_only,
    rate_limits_allow_a_burst_then_the_rate,
    backoff_doubles_after_free_failures,
    analytics_ranges_select_by_write_time,
    analytics_stream_is_capped,
    analytics_long_ranges_are_read_whole
);
