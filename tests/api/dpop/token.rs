//! DPoP at the token endpoint (RFC 9449 §5): a client that proves a key gets a token bound to
//! it (`token_type` `DPoP`, introspection's `cnf.jkt`); an app with `dpop_required` gets none
//! without a proof; bad proofs are `400 invalid_dpop_proof` and mint nothing.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::json;

use super::*;
use crate::gateway::raw_bytes;
use crate::helpers::{assert_oauth_error, spawn_app};

#[tokio::test]
async fn a_proof_binds_the_token_to_the_clients_key_and_lands_in_the_replay_cache() {
    let app = spawn_app().await;
    let client = app.default_client().await;
    let key = DpopKey::generate();
    let proof = key.proof("POST", TOKEN_URL, None);
    let res = token_request(&app, &client, Some(&proof)).await;
    assert_eq!(res.status(), 200);
    let body = json_of(res).await;
    assert_eq!(body["token_type"], "DPoP");
    let token = body["access_token"].as_str().unwrap();

    let intro = app.introspect(&client, token).await;
    assert_eq!(intro["active"], true);
    assert_eq!(intro["token_type"], "DPoP");
    assert_eq!(intro["cnf"]["jkt"], key.jkt());

    // The proof's jti is remembered, for twice the iat window (+1 s), and only that long.
    let ttl = replay_ttl(&app, &key.jkt(), &jti_of(&proof)).await;
    assert!((100..=121).contains(&ttl), "ttl {ttl}");

    // Without a proof: a bearer token, no confirmation.
    let plain = json_of(token_request(&app, &client, None).await).await;
    assert_eq!(plain["token_type"], "Bearer");
    let intro = app
        .introspect(&client, plain["access_token"].as_str().unwrap())
        .await;
    assert_eq!(intro["token_type"], "Bearer");
    assert!(intro.get("cnf").is_none(), "{intro}");
}

#[tokio::test]
async fn an_app_with_dpop_required_gets_no_token_without_a_proof() {
    let app = spawn_app().await;
    let client = app
        .create_client(json!({"scopes": ["read"], "dpop_required": true}))
        .await;
    let view = json_of(
        app.admin_get(&format!(
            "/admin/developers/{}/apps/{}",
            client.developer_id, client.app_id
        ))
        .await,
    )
    .await;
    assert_eq!(view["dpop_required"], true);

    let res = token_request(&app, &client, None).await;
    assert_oauth_error(res, 400, "invalid_dpop_proof").await;
    let key = DpopKey::generate();
    assert_eq!(bound_token(&app, &client, &key).await["token_type"], "DPoP");

    // Turned off, a bearer token again.
    let path = format!(
        "/admin/developers/{}/apps/{}",
        client.developer_id, client.app_id
    );
    let res = app
        .admin_patch(&path, json!({"dpop_required": false}))
        .await;
    assert_eq!(res.status(), 200);
    let plain = json_of(token_request(&app, &client, None).await).await;
    assert_eq!(plain["token_type"], "Bearer");
}

#[tokio::test]
async fn bad_proofs_are_invalid_dpop_proof_and_mint_nothing() {
    let app = spawn_app().await;
    let client = app.default_client().await;
    let key = DpopKey::generate();
    let other = DpopKey::generate();
    let claims = |htm: &str, htu: &str, iat: i64| json!({"jti": uuid::Uuid::new_v4().to_string(), "htm": htm, "htu": htu, "iat": iat});
    let replayed = key.proof("POST", TOKEN_URL, None);
    assert_eq!(
        token_request(&app, &client, Some(&replayed)).await.status(),
        200
    );
    let mut private = key.jwk();
    private["d"] = json!("AAAA");
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD
            .encode(json!({"typ": "dpop+jwt", "alg": "none", "jwk": key.jwk()}).to_string()),
        URL_SAFE_NO_PAD.encode(claims("POST", TOKEN_URL, now()).to_string())
    );
    let cases = [
        ("replayed", replayed),
        ("wrong method", key.sign(&claims("GET", TOKEN_URL, now()))),
        (
            "wrong URL",
            key.sign(&claims("POST", "http://localhost/introspect", now())),
        ),
        (
            "wrong host",
            key.sign(&claims("POST", "http://evil.example/token", now())),
        ),
        ("too old", key.sign(&claims("POST", TOKEN_URL, now() - 300))),
        (
            "from the future",
            key.sign(&claims("POST", TOKEN_URL, now() + 300)),
        ),
        (
            "private key",
            key.sign_with(&claims("POST", TOKEN_URL, now()), private, "dpop+jwt"),
        ),
        (
            "wrong typ",
            key.sign_with(&claims("POST", TOKEN_URL, now()), key.jwk(), "JWT"),
        ),
        (
            "another key's jwk",
            key.sign_with(&claims("POST", TOKEN_URL, now()), other.jwk(), "dpop+jwt"),
        ),
        ("alg none", unsigned),
        (
            "no jti",
            key.sign(&json!({"htm": "POST", "htu": TOKEN_URL, "iat": now()})),
        ),
        ("not a JWT", "not-a-jwt".to_string()),
    ];
    for (case, proof) in cases {
        let res = token_request(&app, &client, Some(&proof)).await;
        assert_eq!(res.status(), 400, "{case}");
        let body = assert_oauth_error(res, 400, "invalid_dpop_proof").await;
        let description = body["error_description"].as_str().unwrap();
        assert!(
            !description.contains("evil"),
            "{case}: echoes input: {description}"
        );
    }
    // Only the one good token was minted.
    let tokens = app.stored().await;
    let minted = tokens.iter().filter(|(k, _)| k.contains(":at:")).count();
    assert_eq!(minted, 1);
}

#[tokio::test]
async fn two_dpop_headers_or_an_oversized_one_are_refused() {
    let app = spawn_app().await;
    let client = app.default_client().await;
    let key = DpopKey::generate();
    let (a, b) = (
        key.proof("POST", TOKEN_URL, None),
        key.proof("POST", TOKEN_URL, None),
    );
    let body = "grant_type=client_credentials";
    let basic = STANDARD.encode(format!("{}:{}", client.id, client.secret));
    let request = |dpop: &str| {
        format!(
            "POST /token HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {basic}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n{dpop}\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let two = request(&format!("DPoP: {a}\r\nDPoP: {b}\r\n"));
    let res = raw_bytes(&app.base, two.as_bytes()).await;
    assert_eq!(res.status, 400, "{}", res.body);
    assert_eq!(res.json()["error"], "invalid_dpop_proof");
    let one = request(&format!("DPoP: {a}\r\n"));
    assert_eq!(raw_bytes(&app.base, one.as_bytes()).await.status, 200);
    let huge = request(&format!("DPoP: {}\r\n", "A".repeat(9000)));
    let res = raw_bytes(&app.base, huge.as_bytes()).await;
    assert_eq!(res.json()["error"], "invalid_dpop_proof");
}

#[tokio::test]
async fn a_client_registered_with_dpop_bound_access_tokens_must_send_proofs() {
    use crate::helpers::IAT;
    use crate::registration::{dcr_app, register, registered};
    let app = dcr_app().await;
    let meta = json!({"grant_types": ["client_credentials"], "scope": "read",
                      "dpop_bound_access_tokens": true});
    let res = register(&app, IAT, meta).await;
    assert_eq!(res.status(), 201);
    let body = json_of(res).await;
    assert_eq!(body["dpop_bound_access_tokens"], true);
    let client = registered(&body);
    let res = token_request(&app, &client, None).await;
    assert_oauth_error(res, 400, "invalid_dpop_proof").await;
    let key = DpopKey::generate();
    assert_eq!(bound_token(&app, &client, &key).await["token_type"], "DPoP");
}
