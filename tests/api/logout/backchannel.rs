//! The story: alice signs in to an app twice (two sessions at the identity provider), bob
//! once; the provider ends alice's sessions and tells the broker on the back channel; every
//! token of hers dies — at the proxy within the revocation promise, her refresh tokens too —
//! and bob's live on.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Map, Value};

use super::*;
use crate::gateway::until_refused_by;

/// Bob signs in to the app: his token response.
async fn bob_logs_in(s: &Scene) -> Value {
    let request = Authorize::code_flow(&s.c).set("scope", "read");
    let res = login(&s.w, &request.query(), "bob", "bob").await;
    let (_, params) = location(&res);
    let code = param(&params, "code").expect("a code").to_string();
    let res = redeem(&s.w, &s.c, &code).await;
    assert_eq!(res.status(), StatusCode::OK);
    json_of(res).await
}

/// Asserts the proxy stops accepting `tokens`' access token within a second, and that the
/// login is dead at the broker: introspection inactive, refresh refused.
async fn assert_logged_out(s: &Scene, tokens: &Value) {
    let at = access(tokens);
    let took = until_refused_by(|| async { s.proxy.get("/orders", &at).await.status() }).await;
    assert!(took < Duration::from_secs(1), "revocation took {took:?}");
    assert!(!s.w.app.is_active(&s.c, &at).await);
    assert!(
        s.refresh(tokens).await.is_none(),
        "the refresh token is dead"
    );
}

/// The family ids the index holds under alice's subject (the entry with `n` members).
async fn alice_families(s: &Scene, n: usize) -> Vec<String> {
    let index = s.login_index().await;
    let entry = index
        .iter()
        .map(|(_, members)| members.lines().map(str::to_string).collect::<Vec<_>>())
        .find(|m| m.len() == n)
        .unwrap_or_else(|| panic!("no index entry with {n} logins: {index:?}"));
    entry
}

#[tokio::test]
async fn the_upstream_ending_alices_sessions_ends_every_login_of_hers() {
    let s = scene().await;
    let first = s.alice_logs_in().await;
    let second = s.alice_logs_in().await;
    let bob = bob_logs_in(&s).await;
    assert_eq!(s.w.idp.sessions_of("alice").len(), 2);
    // Indexed: alice's two sessions, her subject (two logins); bob's session and subject.
    assert_eq!(s.login_index().await.len(), 5);
    let families = alice_families(&s, 2).await;

    // Okta's "sign out everywhere": one logout token per session, each naming sid and sub.
    let accepted = s.w.idp.logout_user("alice", true).await;
    assert_eq!(accepted, 2, "the broker answered 200 to both logout tokens");

    for tokens in [&first, &second] {
        assert_logged_out(&s, tokens).await;
    }
    // Redis: her sessions' entries hold only the "ended" marker, her logins are revoked;
    // bob's intact.
    let index = s.login_index().await;
    let ended = index.iter().filter(|(_, m)| *m == "~ended").count();
    assert_eq!(ended, 2, "{index:?}");
    for f in &families {
        let holders = index.iter().filter(|(_, m)| m.contains(f.as_str())).count();
        assert_eq!(
            holders, 1,
            "only her subject's entry still names {f}: {index:?}"
        );
        let fam = s.family(f).await.expect("the family is kept as revoked");
        assert!(fam.contains("revoked\n1"), "{fam}");
    }
    echoed(s.proxy.get("/orders", &access(&bob)).await).await;
    assert!(s.refresh(&bob).await.is_some(), "bob's login lives on");
}

#[tokio::test]
async fn a_logout_token_naming_only_the_user_ends_all_of_their_logins() {
    let s = scene().await;
    let first = s.alice_logs_in().await;
    let second = s.alice_logs_in().await;
    let bob = bob_logs_in(&s).await;

    // §2.4: a logout token may carry only `sub`: every session of that user ends.
    assert_eq!(s.w.idp.logout_user("alice", false).await, 1);
    for tokens in [&first, &second] {
        assert_logged_out(&s, tokens).await;
    }
    assert!(s.refresh(&bob).await.is_some());
}

#[tokio::test]
async fn a_logout_token_naming_a_session_ends_that_session_only() {
    let s = scene().await;
    let first = s.alice_logs_in().await;
    let [sid1] = &s.w.idp.sessions_of("alice")[..] else {
        panic!("one session")
    };
    let sid1 = sid1.clone();
    let second = s.alice_logs_in().await;

    let token =
        s.w.idp
            .issue_logout_token(UPSTREAM_CLIENT, Some(&sid1), Some("00u-alice"), Map::new())
            .unwrap();
    let res = s.send_logout_token(&token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_logged_out(&s, &first).await;
    let second = s
        .refresh(&second)
        .await
        .expect("the other session lives on");
    echoed(s.proxy.get("/orders", &access(&second)).await).await;

    // A session nobody logged in with: 200, nothing revoked (§2.7: nothing to do).
    let token =
        s.w.idp
            .issue_logout_token(UPSTREAM_CLIENT, Some("no-such-sid"), None, Map::new())
            .unwrap();
    assert_eq!(s.send_logout_token(&token).await.status(), StatusCode::OK);
    assert!(s.refresh(&second).await.is_some());
    let _ = json!(null);
}

#[tokio::test]
async fn a_code_redeemed_after_its_upstream_session_ended_starts_a_dead_login() {
    let s = scene().await;
    // Alice completes the upstream login (the broker holds her code's id_token, sid included)...
    let code = code_for(&s.w, &s.c, "read").await;
    // ...her session ends upstream before the app redeems the code...
    assert_eq!(s.w.idp.logout_user("alice", true).await, 1);
    // ...so the login the code starts is revoked as it starts.
    let res = redeem(&s.w, &s.c, &code).await;
    assert_eq!(res.status(), StatusCode::OK);
    let tokens = json_of(res).await;
    assert_eq!(
        s.proxy.get("/orders", &access(&tokens)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert!(!s.w.app.is_active(&s.c, &access(&tokens)).await);
    assert!(s.refresh(&tokens).await.is_none());

    // A new sign-in is a new session, and works.
    let fresh = s.alice_logs_in().await;
    assert!(s.refresh(&fresh).await.is_some());
}
