//! The index of logins by upstream session and subject: scoped per issuer and kind, never
//! shortened by a later login, expiring with its longest login, and forgetting only what it is
//! told to.

use std::sync::Arc;
use std::time::Duration;

use tessera_shared::store::{Store, UpstreamKey};

use super::{cluster_store, memory_store, redis_store};

async fn logins_are_indexed_by_session_and_subject(s: Arc<dyn Store>) {
    let okta = "https://example.okta.com";
    let sid = UpstreamKey::Session {
        issuer: okta,
        sid: "s1",
    };
    let sub = UpstreamKey::Subject {
        issuer: okta,
        sub: "s1",
    };
    let elsewhere = UpstreamKey::Session {
        issuer: "https://other.example",
        sid: "s1",
    };
    s.upstream_login_add(sid, "f1", 60).await.unwrap();
    s.upstream_login_add(sid, "f2", 60).await.unwrap();
    s.upstream_login_add(sub, "f3", 60).await.unwrap();
    let mut got = s.upstream_logins(sid).await.unwrap();
    got.sort();
    assert_eq!(got, ["f1", "f2"]);
    assert_eq!(s.upstream_logins(sub).await.unwrap(), ["f3"], "kinds apart");
    assert!(s.upstream_logins(elsewhere).await.unwrap().is_empty());

    // Forgetting removes what was revoked; a login added meanwhile stays.
    s.upstream_logins_forget(sid, &["f1".into(), "never".into()])
        .await
        .unwrap();
    assert_eq!(s.upstream_logins(sid).await.unwrap(), ["f2"]);
    s.upstream_logins_forget(sid, &["f2".into()]).await.unwrap();
    assert!(s.upstream_logins(sid).await.unwrap().is_empty());
    s.upstream_logins_forget(sid, &[]).await.unwrap();
}

async fn an_index_entry_lives_as_long_as_its_longest_login(s: Arc<dyn Store>) {
    let hostile = "a}b{c\u{0}é";
    let long = UpstreamKey::Subject {
        issuer: "https://example.okta.com",
        sub: hostile,
    };
    let short = UpstreamKey::Session {
        issuer: "https://example.okta.com",
        sid: hostile,
    };
    s.upstream_login_add(long, "f1", 60).await.unwrap();
    s.upstream_login_add(long, "f2", 1).await.unwrap();
    s.upstream_login_add(short, "f3", 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut got = s.upstream_logins(long).await.unwrap();
    got.sort();
    assert_eq!(
        got,
        ["f1", "f2"],
        "a later, shorter login does not shorten it"
    );
    assert!(
        s.upstream_logins(short).await.unwrap().is_empty(),
        "expired"
    );
}

async fn an_ended_session_says_so_to_the_logins_added_after(s: Arc<dyn Store>) {
    let sid = UpstreamKey::Session {
        issuer: "https://example.okta.com",
        sid: "s-ended",
    };
    assert!(!s.upstream_login_add(sid, "f1", 60).await.unwrap());
    s.upstream_logins_end(sid, 1).await.unwrap();
    assert_eq!(
        s.upstream_logins(sid).await.unwrap(),
        ["f1"],
        "the marker is no login"
    );
    assert!(s.upstream_login_add(sid, "f2", 60).await.unwrap(), "ended");
    s.upstream_logins_forget(sid, &["f1".into(), "f2".into()])
        .await
        .unwrap();
    assert!(
        s.upstream_login_add(sid, "f3", 60).await.unwrap(),
        "still ended"
    );
    let fresh = UpstreamKey::Session {
        issuer: "https://example.okta.com",
        sid: "s-fresh",
    };
    assert!(!s.upstream_login_add(fresh, "f4", 60).await.unwrap());
}

conformance!(
    logins_are_indexed_by_session_and_subject,
    an_index_entry_lives_as_long_as_its_longest_login,
    an_ended_session_says_so_to_the_logins_added_after
);
