//! Server-provided DPoP nonces (RFC 9449 §8, §9) with `dpop.require_nonce`: a proof without the
//! current nonce is refused with `use_dpop_nonce` and the nonce in `DPoP-Nonce`; the retry with
//! it passes. The broker and the proxies share the nonces (a MAC of the time window).

use reqwest::StatusCode;
use serde_json::json;

use super::proxy::{world_with, PUBLIC};
use super::*;
use crate::helpers::{assert_oauth_error, shared_redis_url, spawn_app_with};

#[tokio::test]
async fn the_token_endpoint_hands_out_a_nonce_and_accepts_it() {
    let app = spawn_app_with(&shared_redis_url(), |cfg| {
        cfg["dpop"] = json!({ "require_nonce": true });
    })
    .await;
    let client = app.default_client().await;
    let key = DpopKey::generate();
    let res = token_request(&app, &client, Some(&key.proof("POST", TOKEN_URL, None))).await;
    let nonce = res.headers()["dpop-nonce"].to_str().unwrap().to_string();
    assert_oauth_error(res, 400, "use_dpop_nonce").await;
    let forged = key.proof_with_nonce("POST", TOKEN_URL, None, "made-up");
    let res = token_request(&app, &client, Some(&forged)).await;
    assert_oauth_error(res, 400, "use_dpop_nonce").await;
    let good = key.proof_with_nonce("POST", TOKEN_URL, None, &nonce);
    let res = token_request(&app, &client, Some(&good)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(json_of(res).await["token_type"], "DPoP");
}

#[tokio::test]
async fn the_proxy_answers_use_dpop_nonce_then_accepts_the_retry() {
    let w = world_with(|cfg, _, _| cfg["dpop"] = json!({ "require_nonce": true })).await;
    let url = format!("{PUBLIC}/orders");
    let proof = w.key.proof("GET", &url, Some(&w.token));
    let res = w.call("GET", "/orders", &w.dpop(), Some(&proof)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let challenge = res.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("error=\"use_dpop_nonce\""),
        "{challenge}"
    );
    let nonce = res.headers()["dpop-nonce"].to_str().unwrap().to_string();
    assert_eq!(w.backend.hits(), 0);
    let proof = w.key.proof_with_nonce("GET", &url, Some(&w.token), &nonce);
    let res = w.call("GET", "/orders", &w.dpop(), Some(&proof)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(w.backend.hits(), 1);
}
