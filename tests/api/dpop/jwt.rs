//! DPoP-bound upstream JWTs on a `jwt` route (RFC 9449 §6.1, §7.1): a JWT whose `cnf.jkt`
//! names a key passes only under the `DPoP` scheme with a proof by that key.

use reqwest::StatusCode;
use serde_json::{json, Map};

use super::proxy::assert_dpop_refusal;
use super::*;
use crate::gateway::{route, spawn_proxy_with};
use crate::world::spawn_world;

#[tokio::test]
async fn a_jwt_with_cnf_jkt_needs_a_proof_by_that_key() {
    let w = spawn_world().await;
    let backend = CountingBackend::spawn();
    let auth = json!({
        "kind": "jwt",
        "openid_config_urls": [format!("{}/.well-known/openid-configuration", w.idp_base)],
        "audiences": ["api://default"],
    });
    let routes = json!([route(
        "okta",
        "/okta",
        &backend.base,
        json!({ "auth": auth })
    )]);
    let proxy = spawn_proxy_with(&w.app, routes, |cfg| {
        cfg["server"]["public_url"] = json!("https://api.example.com");
    })
    .await;
    let key = DpopKey::generate();
    let mut extra = Map::new();
    extra.insert("cnf".into(), json!({ "jkt": key.jkt() }));
    let jwt = w
        .idp
        .issue_access_token("okta-client-1", "svc", &["orders:read"], extra)
        .unwrap();
    let url = "https://api.example.com/okta/x";
    let call = |scheme: &str, proof: Option<String>| {
        let mut req = proxy
            .http
            .get(proxy.url("/okta/x"))
            .header("Authorization", format!("{scheme} {jwt}"));
        if let Some(p) = proof {
            req = req.header("DPoP", p);
        }
        req.send()
    };
    let res = call("Bearer", None).await.unwrap();
    assert_dpop_refusal(res, "invalid_token").await;
    let thief = DpopKey::generate().proof("GET", url, Some(&jwt));
    assert_dpop_refusal(
        call("DPoP", Some(thief)).await.unwrap(),
        "invalid_dpop_proof",
    )
    .await;
    assert_eq!(backend.hits(), 0);
    let res = call("DPoP", Some(key.proof("GET", url, Some(&jwt))))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(backend.hits(), 1);
}
