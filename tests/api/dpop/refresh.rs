//! DPoP and user logins (RFC 9449 §5): the code grant binds the access token; a public
//! client's refresh token is bound to the key too, so a refresh needs a proof by that key,
//! while a confidential client's refresh token is not bound (it authenticates) — each refresh
//! binds its new access token to the proof it came with.

use serde_json::json;

use super::*;
use crate::helpers::assert_oauth_error;
use crate::world::{code_client, code_for, spawn_world, World, APP_REDIRECT, VERIFIER};

/// Alice's tokens for `c`, the code redeemed with a proof by `key`.
async fn bound_login(w: &World, c: &Client, key: &DpopKey) -> Value {
    let code = code_for(w, c, "read").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", APP_REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let proof = key.proof("POST", &w.app.url("/token"), None);
    let res = token_form(&w.app, c, Some(&proof), &form).await;
    assert_eq!(res.status(), 200);
    json_of(res).await
}

async fn refresh(w: &World, c: &Client, rt: &str, key: Option<&DpopKey>) -> reqwest::Response {
    // The world's broker is known by its own address (its issuer).
    let proof = key.map(|k| k.proof("POST", &w.app.url("/token"), None));
    let form = [("grant_type", "refresh_token"), ("refresh_token", rt)];
    token_form(&w.app, c, proof.as_deref(), &form).await
}

#[tokio::test]
async fn a_public_clients_refresh_token_needs_a_proof_by_the_same_key() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({"public": true})).await;
    let rs = w.app.default_client().await; // a resource server, to introspect
    let key = DpopKey::generate();
    let login = bound_login(&w, &c, &key).await;
    assert_eq!(login["token_type"], "DPoP");
    let access = login["access_token"].as_str().unwrap();
    assert_eq!(w.app.introspect(&rs, access).await["cnf"]["jkt"], key.jkt());
    let rt = login["refresh_token"].as_str().unwrap();

    // Stolen refresh token: without a proof, or with the thief's own key, nothing.
    let res = refresh(&w, &c, rt, None).await;
    assert_oauth_error(res, 400, "invalid_dpop_proof").await;
    let res = refresh(&w, &c, rt, Some(&DpopKey::generate())).await;
    assert_oauth_error(res, 400, "invalid_dpop_proof").await;

    // The owner refreshes (the failed attempts rotated and revoked nothing).
    let res = refresh(&w, &c, rt, Some(&key)).await;
    assert_eq!(res.status(), 200);
    let next = json_of(res).await;
    assert_eq!(next["token_type"], "DPoP");
    let access = next["access_token"].as_str().unwrap();
    assert_eq!(w.app.introspect(&rs, access).await["cnf"]["jkt"], key.jkt());
}

#[tokio::test]
async fn a_confidential_clients_refresh_token_is_not_bound() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({})).await;
    let key = DpopKey::generate();
    let login = bound_login(&w, &c, &key).await;
    assert_eq!(login["token_type"], "DPoP");
    let rt = login["refresh_token"].as_str().unwrap();
    let res = refresh(&w, &c, rt, None).await;
    assert_eq!(res.status(), 200);
    let next = json_of(res).await;
    assert_eq!(next["token_type"], "Bearer");
    let access = next["access_token"].as_str().unwrap();
    assert!(w.app.introspect(&c, access).await.get("cnf").is_none());
}
