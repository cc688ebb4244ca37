//! A misbehaving upstream: every id_token fault is rejected (the app gets `access_denied`), a
//! slow or dead upstream fails the login cleanly (`temporarily_unavailable`), tokens already
//! issued are unaffected, and key rotation just works with one rate-limited JWKS refetch.

use reqwest::StatusCode;
use serde_json::json;
use tessera_devidp::Behaviour;

use crate::world::*;

async fn login_outcome(w: &World, c: &crate::helpers::Client) -> (Option<String>, Option<String>) {
    let request = Authorize::code_flow(c).set("state", "st");
    let res = login(w, &request.query(), "alice", "alice").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let (to, p) = location(&res);
    assert_eq!(to, APP_REDIRECT);
    assert_eq!(param(&p, "state"), Some("st"));
    (
        param(&p, "code").map(str::to_string),
        param(&p, "error").map(str::to_string),
    )
}

#[tokio::test]
async fn every_id_token_fault_is_rejected() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({})).await;
    // Warm up discovery and prove the happy path first.
    assert!(login_outcome(&w, &c).await.0.is_some());
    let faults: Vec<(&str, fn(&Behaviour))> = vec![
        ("wrong iss", |b| b.set_wrong_issuer(true)),
        ("wrong aud", |b| b.set_wrong_audience(true)),
        ("bad signature", |b| b.set_bad_signature(true)),
        ("no nonce", |b| b.set_omit_nonce(true)),
        ("wrong nonce", |b| b.set_wrong_nonce(true)),
        ("expired", |b| b.set_expired(true)),
        ("unknown kid", |b| b.set_unknown_kid(true)),
        ("HS256", |b| b.set_hs256(true)),
    ];
    for (name, set) in faults {
        set(w.idp.behaviour());
        let (code, error) = login_outcome(&w, &c).await;
        w.idp.behaviour().reset();
        assert!(code.is_none(), "{name}: a code was issued");
        assert_eq!(error.as_deref(), Some("access_denied"), "{name}");
    }
    assert!(login_outcome(&w, &c).await.0.is_some(), "healthy again");
}

#[tokio::test]
async fn key_rotation_refetches_the_jwks_once_and_rate_limits_it() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({})).await;
    assert!(login_outcome(&w, &c).await.0.is_some());
    let before = w.idp.jwks_fetches();
    w.idp.rotate_keys();
    assert!(
        login_outcome(&w, &c).await.0.is_some(),
        "rotation just works"
    );
    assert_eq!(w.idp.jwks_fetches(), before + 1, "one refetch");
    // Two forged kids in a row: at most the one refetch above per interval.
    w.idp.behaviour().set_unknown_kid(true);
    for _ in 0..2 {
        assert_eq!(
            login_outcome(&w, &c).await.1.as_deref(),
            Some("access_denied")
        );
    }
    w.idp.behaviour().reset();
    assert_eq!(
        w.idp.jwks_fetches(),
        before + 1,
        "refetches are rate-limited"
    );
}

#[tokio::test]
async fn a_slow_or_dead_upstream_fails_logins_cleanly_and_spares_issued_tokens() {
    let w = spawn_world_with(|cfg| cfg["upstream"]["timeout_ms"] = json!(1500)).await;
    let c = code_client(&w, json!({})).await;
    let t = alice_tokens(&w, &c, "read").await;
    let at = t["access_token"].as_str().unwrap().to_string();

    w.idp.behaviour().set_delay_ms(3000); // beyond the 1.5 s upstream timeout
    let (code, error) = login_outcome(&w, &c).await;
    w.idp.behaviour().reset();
    assert!(code.is_none());
    assert_eq!(error.as_deref(), Some("temporarily_unavailable"));

    w.idp.behaviour().set_down(true);
    let (code, error) = login_outcome_after_form_down(&w, &c).await;
    assert!(code.is_none());
    assert_eq!(error.as_deref(), Some("temporarily_unavailable"));
    // Tokens already issued do not depend on the upstream.
    assert!(w.app.is_active(&c, &at).await);
    let res = w
        .app
        .token(
            &c,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    w.idp.behaviour().reset();
}

/// With the upstream down, the broker cannot even send the user there once its cached
/// discovery is stale; with it cached, the callback's code exchange fails. Either way the app
/// hears `temporarily_unavailable`. Here the discovery is cached, so the user reaches the
/// (down) provider only if we let them: we go straight from /authorize to a forged callback.
async fn login_outcome_after_form_down(
    w: &World,
    c: &crate::helpers::Client,
) -> (Option<String>, Option<String>) {
    let http = &w.app.http;
    let res = http
        .get(w.app.url("/authorize"))
        .query(&Authorize::code_flow(c).set("state", "st").query())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let (_, up) = location(&res);
    let up_state = param(&up, "state").unwrap().to_string();
    let res = http
        .get(w.app.url("/callback"))
        .query(&[("state", up_state.as_str()), ("code", "whatever")])
        .send()
        .await
        .unwrap();
    let (to, p) = location(&res);
    assert_eq!(to, APP_REDIRECT);
    (
        param(&p, "code").map(str::to_string),
        param(&p, "error").map(str::to_string),
    )
}
