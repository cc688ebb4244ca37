//! The misbehaviour switches tests use to play a broken Okta: each one changes what is
//! minted, and `down` and `delay` change how the provider answers.

use std::time::{Duration, Instant};

use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{json, Map, Value};

use super::*;
use crate::helpers::json_of;

#[tokio::test]
async fn each_misbehaviour_switch_changes_what_is_minted() {
    let t = spawn_idp().await;
    let jwks = t.jwks().await;
    let b = t.idp.behaviour();
    let id = |nonce: Option<&str>| t.idp.issue_id_token(CLIENT, "alice", nonce).unwrap();
    let published_kid = jwks.keys[0].common.key_id.clone().unwrap();
    // Healthy first.
    verify(&id(Some("n")), &jwks, &t.base, CLIENT).unwrap();

    b.set_wrong_issuer(true);
    assert_eq!(
        claims_of(&id(None))["iss"],
        json!(format!("{}/evil", t.base))
    );
    let at = t
        .idp
        .issue_access_token(CLIENT, "alice", &["openid"], Map::new())
        .unwrap();
    assert_eq!(claims_of(&at)["iss"], json!(format!("{}/evil", t.base)));
    b.reset();

    b.set_wrong_audience(true);
    assert_eq!(claims_of(&id(None))["aud"], json!(format!("not-{CLIENT}")));
    let at = t
        .idp
        .issue_access_token(CLIENT, "alice", &["openid"], Map::new())
        .unwrap();
    assert_ne!(claims_of(&at)["aud"], "api://default");
    b.reset();

    b.set_bad_signature(true);
    let jwt = id(None);
    b.reset();
    assert_eq!(
        decode_header(&jwt).unwrap().kid,
        Some(published_kid.clone())
    );
    assert_eq!(
        *verify(&jwt, &jwks, &t.base, CLIENT).unwrap_err().kind(),
        jsonwebtoken::errors::ErrorKind::InvalidSignature
    );

    b.set_omit_nonce(true);
    assert!(claims_of(&id(Some("n"))).get("nonce").is_none());
    b.reset();

    b.set_wrong_nonce(true);
    let nonce = claims_of(&id(Some("n")))["nonce"].clone();
    assert!(nonce.is_string() && nonce != "n");
    b.reset();

    b.set_expired(true);
    let c = claims_of(&id(None));
    b.reset();
    let (iat, exp) = (c["iat"].as_i64().unwrap(), c["exp"].as_i64().unwrap());
    assert!(exp < now() - 300, "exp {exp} is well in the past");
    assert!(iat < exp);

    b.set_unknown_kid(true);
    let jwt = id(None);
    b.reset();
    let kid = decode_header(&jwt).unwrap().kid.unwrap();
    assert!(jwks.find(&kid).is_none(), "kid {kid} is not published");
    assert!(t.jwks().await.find(&kid).is_none());

    b.set_hs256(true);
    let jwt = id(None);
    b.reset();
    let header = decode_header(&jwt).unwrap();
    assert_eq!(header.alg, Algorithm::HS256);
    let mut v = Validation::new(Algorithm::HS256);
    v.set_audience(&[CLIENT]);
    decode::<Value>(&jwt, &DecodingKey::from_secret(SECRET.as_bytes()), &v)
        .expect("HMAC-signed with the client secret");

    // The switches reach the token endpoint too.
    b.set_wrong_issuer(true);
    let code = t.code("st", "n").await;
    let body = json_of(t.redeem(&code, VERIFIER).await).await;
    b.reset();
    assert_eq!(
        claims_of(body["id_token"].as_str().unwrap())["iss"],
        json!(format!("{}/evil", t.base))
    );
    // And after reset all is well again.
    verify(&id(Some("n")), &jwks, &t.base, CLIENT).unwrap();
}

#[tokio::test]
async fn down_answers_503_everywhere_and_delay_slows_the_api() {
    let t = spawn_idp().await;
    t.idp.behaviour().set_down(true);
    for path in [
        "/.well-known/openid-configuration",
        "/v1/keys",
        "/v1/userinfo",
    ] {
        assert_eq!(
            t.get(path, &[]).await.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{path}"
        );
    }
    let res = t.get("/v1/authorize", &authorize_query("st", "n")).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let res = t
        .token(&[("grant_type", "client_credentials"), ("scope", "x")])
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(t.idp.jwks_fetches(), 0, "a 503 is not a JWKS fetch");
    t.idp.behaviour().reset();
    assert_eq!(t.get("/v1/keys", &[]).await.status(), StatusCode::OK);

    let delay = Duration::from_millis(800);
    t.idp.behaviour().set_delay_ms(800);
    let started = Instant::now();
    let res = t.get("/.well-known/openid-configuration", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(started.elapsed() >= delay, "discovery delayed");
    let started = Instant::now();
    let res = t
        .token(&[("grant_type", "client_credentials"), ("scope", "x")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(started.elapsed() >= delay, "token endpoint delayed");
    let started = Instant::now();
    assert_eq!(
        t.get("/v1/authorize", &authorize_query("st", "n"))
            .await
            .status(),
        StatusCode::OK
    );
    assert!(started.elapsed() < delay, "the login page is not delayed");
    t.idp.behaviour().reset();
}
