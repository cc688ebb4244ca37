//! An `id_token_hint` may have expired, but not be old: one minted longer ago than
//! `id_token.end_session_hint_max_age_secs` is refused and revokes nothing, so an id_token left
//! in a log or a history cannot be made into a link that logs its user out (logout CSRF).
//! The broker signs with a key file the test holds, so the test can mint hints of any age.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::decode_header;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::*;
use crate::token_exchange::broker_shaped;

/// The claims of `id_token` (its signature is the broker's; the test only reads them).
fn claims_of(id_token: &str) -> Value {
    let payload = id_token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// `id_token` re-signed with the broker's own key, minted `age` seconds ago and expired
/// `age - 3600` seconds ago.
fn aged(id_token: &str, pem: &str, age: i64) -> String {
    let mut claims = claims_of(id_token);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    claims["iat"] = json!(now - age);
    claims["exp"] = json!(now - age + 3600);
    let kid = decode_header(id_token).unwrap().kid.unwrap();
    broker_shaped(pem, &kid, &claims)
}

async fn end_session(s: &Scene, hint: &str) -> reqwest::Response {
    s.w.app
        .http
        .get(s.w.app.url("/end_session"))
        .query(&[("id_token_hint", hint), ("client_id", s.c.id.as_str())])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_hint_older_than_the_max_age_is_refused_and_revokes_nothing() {
    let (pem, file) = ec_signing_key();
    let path = file.path().to_str().unwrap().to_string();
    let s = scene_with(|cfg| {
        cfg["id_token"] = json!({"signing_key_file": path, "end_session_hint_max_age_secs": 7200});
    })
    .await;
    let tokens = alice_tokens(&s.w, &s.c, "openid read").await;
    let at = access(&tokens);
    let id_token = tokens["id_token"].as_str().unwrap();

    // Minted 2 h 2 min ago (past the 2 h maximum and the 30 s leeway): refused.
    let res = end_session(&s, &aged(id_token, &pem, 7320)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers().get("location").is_none());
    assert!(res.text().await.unwrap().contains("too old"));
    // Nothing was revoked: introspection, the proxy and a refresh still take the tokens, and
    // the upstream session is untouched.
    assert!(s.w.app.is_active(&s.c, &at).await);
    echoed(s.proxy.get("/orders", &at).await).await;
    assert_eq!(s.w.idp.sessions_of("alice").len(), 1);
    let fresh = s.refresh(&tokens).await.expect("the login is live");

    // The same hint minted 1 h 50 min ago — expired, but within the maximum — still logs out
    // (so the refusal above is for its age, not its signature).
    let res = end_session(&s, &aged(id_token, &pem, 6600)).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert!(!s.w.app.is_active(&s.c, &access(&fresh)).await);
    assert!(s.refresh(&fresh).await.is_none());
}
