//! DPoP-bound tokens through the proxy (RFC 9449 §7): the bound token with a fresh proof for
//! the public request passes, and every other presentation — replayed proof, wrong method,
//! wrong URL, another key's proof of a stolen token, the `Bearer` downgrade, no proof, two
//! proofs — is `401` with a `DPoP` challenge, and reaches no backend.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::gateway::{raw_request, route, spawn_proxy_with, TestProxy};
use crate::helpers::spawn_app;

/// How clients address the proxy: not its socket address (the `Host` header plays no part).
pub(super) const PUBLIC: &str = "https://api.example.com";

pub(super) struct World {
    pub broker: TestApp,
    pub proxy: TestProxy,
    pub backend: CountingBackend,
    pub key: DpopKey,
    pub token: String,
}

async fn world() -> World {
    world_with(|_, _, _| {}).await
}

/// Broker, counting backend, a proxy known as [`PUBLIC`] with `tweak` applied to its
/// configuration (given the broker and the token's client), and a token bound to a key.
pub(super) async fn world_with(
    tweak: impl FnOnce(&mut serde_json::Value, &TestApp, &Client),
) -> World {
    let broker = spawn_app().await;
    let backend = CountingBackend::spawn();
    let client = broker.default_client().await;
    let routes = json!([route("orders", "/orders", &backend.base, json!({}))]);
    let proxy = spawn_proxy_with(&broker, routes, |cfg| {
        cfg["server"]["public_url"] = json!(PUBLIC);
        tweak(cfg, &broker, &client);
    })
    .await;
    let key = DpopKey::generate();
    let token = bound_token(&broker, &client, &key).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    World {
        broker,
        proxy,
        backend,
        key,
        token,
    }
}

impl World {
    /// `method path` through the proxy with `authorization` and `proof` (if any).
    pub(super) async fn call(
        &self,
        method: &str,
        path: &str,
        authorization: &str,
        proof: Option<&str>,
    ) -> reqwest::Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .proxy
            .http
            .request(method, self.proxy.url(path))
            .header("Authorization", authorization);
        if let Some(p) = proof {
            req = req.header("DPoP", p);
        }
        req.send().await.unwrap()
    }

    pub(super) fn dpop(&self) -> String {
        format!("DPoP {}", self.token)
    }
}

/// A `401` with a DPoP challenge naming `error` and the algorithms; the error code.
pub(super) async fn assert_dpop_refusal(res: reqwest::Response, error: &str) {
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.starts_with("DPoP "), "{challenge}");
    assert!(
        challenge.contains(&format!("error=\"{error}\"")),
        "{challenge}"
    );
    assert!(challenge.contains("algs=\"ES256"), "{challenge}");
    assert_eq!(json_of(res).await["error"], error);
}

#[tokio::test]
async fn a_bound_token_with_a_fresh_proof_passes_and_the_proof_stays_at_the_proxy() {
    let w = world().await;
    let url = format!("{PUBLIC}/orders/42");
    let proof = w.key.proof("GET", &url, Some(&w.token));
    let res = w
        .call("GET", "/orders/42?page=2", &w.dpop(), Some(&proof))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let seen = json_of(res).await;
    assert_eq!(w.backend.hits(), 1);
    assert!(
        seen["headers"].get("dpop").is_none(),
        "proof forwarded: {seen}"
    );
    assert!(seen["headers"].get("authorization").is_none(), "{seen}");
    let ttl = replay_ttl(&w.broker, &w.key.jkt(), &jti_of(&proof)).await;
    assert!((100..=121).contains(&ttl), "ttl {ttl}");

    // The same proof again: a replay.
    let res = w.call("GET", "/orders/42", &w.dpop(), Some(&proof)).await;
    assert_dpop_refusal(res, "invalid_dpop_proof").await;
    assert_eq!(w.backend.hits(), 1);
}

#[tokio::test]
async fn wrong_method_wrong_url_stolen_token_downgrade_and_no_proof_are_refused() {
    let w = world().await;
    let url = format!("{PUBLIC}/orders/1");
    let attacker = DpopKey::generate();
    let cases = [
        // Proof for POST, request GET.
        (
            "GET",
            w.dpop(),
            Some(w.key.proof("POST", &url, Some(&w.token))),
            "invalid_dpop_proof",
        ),
        // Proof for another path, another host, the proxy's socket address.
        (
            "GET",
            w.dpop(),
            Some(
                w.key
                    .proof("GET", &format!("{PUBLIC}/orders/2"), Some(&w.token)),
            ),
            "invalid_dpop_proof",
        ),
        (
            "GET",
            w.dpop(),
            Some(
                w.key
                    .proof("GET", "https://evil.example.com/orders/1", Some(&w.token)),
            ),
            "invalid_dpop_proof",
        ),
        (
            "GET",
            w.dpop(),
            Some(
                w.key
                    .proof("GET", &w.proxy.url("/orders/1"), Some(&w.token)),
            ),
            "invalid_dpop_proof",
        ),
        // A proof without ath, or for another token.
        (
            "GET",
            w.dpop(),
            Some(w.key.proof("GET", &url, None)),
            "invalid_dpop_proof",
        ),
        (
            "GET",
            w.dpop(),
            Some(w.key.proof("GET", &url, Some("tsr_at_other"))),
            "invalid_dpop_proof",
        ),
        // The stolen token with the attacker's own, perfectly valid, proof.
        (
            "GET",
            w.dpop(),
            Some(attacker.proof("GET", &url, Some(&w.token))),
            "invalid_dpop_proof",
        ),
        // No proof at all.
        ("GET", w.dpop(), None, "invalid_dpop_proof"),
        // The bearer downgrade, with and without a proof.
        ("GET", format!("Bearer {}", w.token), None, "invalid_token"),
        (
            "GET",
            format!("Bearer {}", w.token),
            Some(w.key.proof("GET", &url, Some(&w.token))),
            "invalid_token",
        ),
    ];
    for (method, authorization, proof, error) in cases {
        let res = w
            .call(method, "/orders/1", &authorization, proof.as_deref())
            .await;
        assert_dpop_refusal(res, error).await;
    }
    assert_eq!(w.backend.hits(), 0, "a refused call reached the backend");
    // The right proof still works: nothing above burnt the token.
    let proof = w.key.proof("GET", &url, Some(&w.token));
    let res = w.call("GET", "/orders/1", &w.dpop(), Some(&proof)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(w.backend.hits(), 1);
}

#[tokio::test]
async fn an_unbound_token_under_the_dpop_scheme_is_refused_and_bearer_still_works() {
    let w = world().await;
    let client = w.broker.default_client().await;
    let plain = w.broker.access_token(&client).await;
    let url = format!("{PUBLIC}/orders");
    let proof = w.key.proof("GET", &url, Some(&plain));
    let res = w
        .call("GET", "/orders", &format!("DPoP {plain}"), Some(&proof))
        .await;
    assert_dpop_refusal(res, "invalid_token").await;
    assert_eq!(w.backend.hits(), 0);
    let res = w
        .call("GET", "/orders", &format!("Bearer {plain}"), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn two_proof_headers_on_the_wire_are_refused() {
    let w = world().await;
    let url = format!("{PUBLIC}/orders/7");
    let a = w.key.proof("GET", &url, Some(&w.token));
    let b = w.key.proof("GET", &url, Some(&w.token));
    let auth = format!("Authorization: DPoP {}", w.token);
    let res = raw_request(
        &w.proxy.base,
        "GET",
        "/orders/7",
        &[&auth, &format!("DPoP: {a}"), &format!("DPoP: {b}")],
    )
    .await;
    assert_eq!(res.status, 401, "{}", res.body);
    assert_eq!(res.json()["error"], "invalid_dpop_proof");
    assert!(res.header("www-authenticate").unwrap().starts_with("DPoP "));
    assert_eq!(w.backend.hits(), 0);
    // One of them alone passes (neither was consumed).
    let res = raw_request(
        &w.proxy.base,
        "GET",
        "/orders/7",
        &[&auth, &format!("DPoP: {a}")],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
}

#[tokio::test]
async fn a_proxy_that_does_not_know_its_public_url_refuses_bound_tokens() {
    let w = world_with(|cfg, _, _| cfg["server"]["public_url"] = json!(null)).await;
    // Neither the URL it would be known by, nor its own address (the Host header), will do.
    for url in [format!("{PUBLIC}/orders"), w.proxy.url("/orders")] {
        let proof = w.key.proof("GET", &url, Some(&w.token));
        let res = w.call("GET", "/orders", &w.dpop(), Some(&proof)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let body = json_of(res).await;
        assert_eq!(
            body["error_description"],
            "DPoP proofs cannot be checked here"
        );
    }
    assert_eq!(w.backend.hits(), 0);
}

#[tokio::test]
async fn a_proxy_without_a_store_reads_the_binding_from_introspection() {
    let w = world_with(|cfg, broker, client| {
        cfg["store"] = json!({ "url": "" });
        // The token's own (confidential) client may introspect it.
        cfg["introspection"] = json!({
            "url": broker.url("/introspect"),
            "client_id": client.id,
            "client_secret": client.secret,
        });
    })
    .await;
    let url = format!("{PUBLIC}/orders");
    let res = w
        .call("GET", "/orders", &format!("Bearer {}", w.token), None)
        .await;
    assert_dpop_refusal(res, "invalid_token").await;
    let proof = w.key.proof("GET", &url, Some(&w.token));
    let res = w.call("GET", "/orders", &w.dpop(), Some(&proof)).await;
    assert_eq!(res.status(), StatusCode::OK);
    // The replay cache is in memory here, per instance: still one use per proof.
    let res = w.call("GET", "/orders", &w.dpop(), Some(&proof)).await;
    assert_dpop_refusal(res, "invalid_dpop_proof").await;
    assert_eq!(w.backend.hits(), 1);
}
