//! Tokens, codes, pending logins and refresh families: expiry, single use, rotation with
//! reuse detection and the grace period.

use std::sync::Arc;
use std::time::Duration;

use tessera_shared::store::{CodeClaim, RotateRequest, Rotation, Store};
use tessera_shared::token::TokenKind;

use super::{cluster_store, memory_store, redis_store, winners};

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
    assert_eq!(winners(|| s.mark_used("h3", 60)).await, 1);
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

conformance!(
    tokens_expire_and_delete,
    logins_are_taken_once,
    values_are_marked_used_once_until_the_mark_expires,
    codes_are_claimed_once,
    families_rotate_and_detect_reuse,
    rotations_replay_within_the_grace_period_only
);
