//! The id_tokens apps receive are minted by the broker for them (issue 9, point 4): its own
//! keys at `jwks_uri`, OpenID Connect Discovery, key files and rotation; the upstream id_token
//! stays in Redis sealed and reaches a backend only through a route that asks for it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::gateway::{echoed, header, route, spawn_echo, spawn_proxy};
use crate::helpers::*;
use crate::world::*;

/// A login as alice for `c` with the app's `nonce`; the token response.
async fn login_with_nonce(w: &World, c: &Client, nonce: &str) -> Value {
    let request = Authorize::code_flow(c)
        .set("scope", "openid read")
        .set("nonce", nonce);
    let code = code_from(w, &request).await;
    let res = redeem(w, c, &code).await;
    assert_eq!(res.status(), StatusCode::OK);
    json_of(res).await
}

async fn get_json(w: &World, url: &str) -> Value {
    let res = w.app.http.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{url}");
    json_of(res).await
}

/// Verifies `token` against the JWKS at `jwks_uri` as a relying party would: signature with
/// the key its `kid` names, `iss`, `aud`, `exp`. Returns the claims.
async fn verify(w: &World, jwks_uri: &str, token: &str, aud: &str) -> Value {
    let jwks: JwkSet = serde_json::from_value(get_json(w, jwks_uri).await).unwrap();
    let head = decode_header(token).unwrap();
    let jwk = jwks
        .find(head.kid.as_deref().unwrap())
        .expect("kid published");
    let mut v = Validation::new(head.alg);
    v.set_audience(&[aud]);
    v.set_issuer(&[w.app.base.as_str()]);
    decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .expect("verifies against the broker's JWKS")
        .claims
}

fn at_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(access_token.as_bytes())[..16])
}

#[tokio::test]
async fn apps_get_an_id_token_minted_for_them() {
    let w = spawn_world_with(|cfg| cfg["id_token"]["ttl_secs"] = json!(600)).await;
    let c = code_client(&w, json!({})).await;
    let disco = get_json(&w, &w.app.url("/.well-known/openid-configuration")).await;
    assert_eq!(disco["issuer"], w.app.base);
    assert_eq!(disco["jwks_uri"], w.app.url("/jwks"));
    assert_eq!(
        disco["id_token_signing_alg_values_supported"],
        json!(["ES256"])
    );
    assert_eq!(disco["subject_types_supported"], json!(["public"]));
    assert_eq!(disco["response_types_supported"], json!(["code"]));
    assert!(disco["scopes_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("openid")));
    let oauth = get_json(&w, &w.app.url("/.well-known/oauth-authorization-server")).await;
    assert_eq!(oauth["jwks_uri"], disco["jwks_uri"]);

    let t = login_with_nonce(&w, &c, "n-0S6_WzA2Mj").await;
    let id_token = t["id_token"].as_str().unwrap();
    let access = t["access_token"].as_str().unwrap();
    let claims = verify(&w, disco["jwks_uri"].as_str().unwrap(), id_token, &c.id).await;
    assert_eq!(claims["iss"], w.app.base);
    assert_eq!(claims["aud"], c.id.as_str());
    assert_eq!(claims["azp"], c.id.as_str());
    assert_eq!(claims["sub"], "00u-alice");
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["at_hash"], at_hash(access));
    assert!(claims["auth_time"].as_i64().unwrap() <= claims["iat"].as_i64().unwrap());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
    assert!(claims["jti"].is_string() && claims["sid"].is_string());

    // Another app's audience does not verify it.
    let other = code_client(&w, json!({})).await;
    let jwks: JwkSet = serde_json::from_value(get_json(&w, &w.app.url("/jwks")).await).unwrap();
    let head = decode_header(id_token).unwrap();
    let key = DecodingKey::from_jwk(jwks.find(head.kid.as_deref().unwrap()).unwrap()).unwrap();
    let mut v = Validation::new(head.alg);
    v.set_audience(&[other.id.as_str()]);
    assert!(decode::<Value>(id_token, &key, &v).is_err());

    // A refresh: a new id_token for the same login, the original auth_time, no nonce
    // (OIDC Core §12.2), at_hash of the new access token.
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
    let r = json_of(res).await;
    let again = verify(
        &w,
        &w.app.url("/jwks"),
        r["id_token"].as_str().unwrap(),
        &c.id,
    )
    .await;
    assert_eq!(again["sub"], claims["sub"]);
    assert_eq!(again["auth_time"], claims["auth_time"]);
    assert_eq!(again["sid"], claims["sid"]);
    assert!(again.get("nonce").is_none());
    assert_eq!(
        again["at_hash"],
        at_hash(r["access_token"].as_str().unwrap())
    );
}

#[tokio::test]
async fn the_upstream_id_token_is_stored_sealed_and_forwarded_only_where_asked() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({})).await;
    let code = code_for(&w, &c, "openid read").await;
    let sealed_only = |stored: &[(String, String)]| {
        assert!(!stored.is_empty());
        for (k, v) in stored {
            assert!(!v.contains("eyJ"), "JWT text in {k}: {v}");
        }
        assert!(stored
            .iter()
            .any(|(_, v)| v.contains("\"id_token_sealed\":\"v1.")));
    };
    sealed_only(&w.app.stored().await); // the code record
    let t = json_of(redeem(&w, &c, &code).await).await;
    sealed_only(&w.app.stored().await); // the login (family)

    let echo = spawn_echo();
    let proxy = spawn_proxy(
        &w.app,
        json!([
            route(
                "with",
                "/with",
                &echo,
                json!({"forward": {"id_token_header": "X-Id-Token"}})
            ),
            route("without", "/without", &echo, json!({})),
        ]),
    )
    .await;
    let access = t["access_token"].as_str().unwrap();
    let e = echoed(proxy.get("/with/x", access).await).await;
    let forwarded = header(&e, "x-id-token").expect("forwarded where the route asks");
    // It is the upstream's own id_token (opened from the sealed copy), not the app's.
    let payload = forwarded.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["iss"], w.idp_base);
    assert_eq!(claims["aud"], UPSTREAM_CLIENT);
    assert_ne!(forwarded, t["id_token"].as_str().unwrap());
    let e = echoed(proxy.get("/without/x", access).await).await;
    assert!(header(&e, "x-id-token").is_none());
}

/// Writes `pem` to a fresh file; the file lives as long as the returned handle.
fn pem_file(pem: &str) -> tempfile::NamedTempFile {
    use std::io::Write;
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(pem.as_bytes()).unwrap();
    f
}

fn rsa_pem() -> (String, String) {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    let private = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
    let public = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    (private, public)
}

fn ec_pem() -> String {
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    p256::SecretKey::random(&mut rand::rngs::OsRng)
        .to_pkcs8_pem(LineEnding::LF)
        .unwrap()
        .to_string()
}

/// The documented rotation: the new key signs, the old one stays published (here only its
/// public half) so that tokens it signed still verify.
#[tokio::test]
async fn keys_load_from_pem_files_and_rotate() {
    let (rsa_private, rsa_public) = rsa_pem();
    let old = pem_file(&rsa_private);
    let path = |f: &tempfile::NamedTempFile| f.path().to_str().unwrap().to_string();
    let w1 = spawn_world_with(|cfg| {
        cfg["id_token"] = json!({"signing_key_file": path(&old)});
    })
    .await;
    let c1 = code_client(&w1, json!({})).await;
    let t1 = alice_tokens(&w1, &c1, "openid").await;
    let old_token = t1["id_token"].as_str().unwrap().to_string();
    assert_eq!(
        decode_header(&old_token).unwrap().alg,
        jsonwebtoken::Algorithm::RS256
    );
    let jwks1 = get_json(&w1, &w1.app.url("/jwks")).await;
    assert_eq!(jwks1["keys"].as_array().unwrap().len(), 1);
    let old_kid = jwks1["keys"][0]["kid"].as_str().unwrap().to_string();
    assert_eq!(
        decode_header(&old_token).unwrap().kid.as_deref(),
        Some(old_kid.as_str())
    );
    // The kid is the key's RFC 7638 thumbprint: every instance loading the file agrees.
    let k = &jwks1["keys"][0];
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        k["e"].as_str().unwrap(),
        k["n"].as_str().unwrap()
    );
    assert_eq!(
        old_kid,
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    );

    let new = pem_file(&ec_pem());
    let previous = pem_file(&rsa_public);
    let w2 = spawn_world_with(|cfg| {
        cfg["id_token"] = json!({"signing_key_file": path(&new),
                                 "previous_key_files": [path(&previous)]});
    })
    .await;
    let jwks2 = get_json(&w2, &w2.app.url("/jwks")).await;
    let kids: Vec<String> = jwks2["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kids.len(), 2);
    assert_eq!(kids[1], old_kid, "the previous key is still published");
    let disco = get_json(&w2, &w2.app.url("/.well-known/openid-configuration")).await;
    assert_eq!(
        disco["id_token_signing_alg_values_supported"],
        json!(["ES256", "RS256"])
    );
    // A token signed before the rotation verifies with the keys published after it.
    let set: JwkSet = serde_json::from_value(jwks2).unwrap();
    let key = DecodingKey::from_jwk(set.find(&old_kid).unwrap()).unwrap();
    let mut v = Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[c1.id.as_str()]);
    assert!(decode::<Value>(&old_token, &key, &v).is_ok());
    // New tokens are signed with the new key.
    let c2 = code_client(&w2, json!({})).await;
    let t2 = alice_tokens(&w2, &c2, "openid").await;
    let head = decode_header(t2["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(head.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(head.kid.as_ref(), Some(&kids[0]));
}

#[tokio::test]
async fn unusable_key_settings_stop_the_start_naming_the_key() {
    use tessera_broker::config::BrokerConfig;
    let garbage =
        pem_file("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END PRIVATE KEY-----\n");
    let base = |id_token: Value| {
        let mut cfg = test_config(&shared_redis_url());
        cfg["upstream"] = json!({"issuer": "https://idp.example", "client_id": "b",
                                 "client_secret": "s"});
        cfg["id_token"] = id_token;
        cfg
    };
    let err = BrokerConfig::load(base(json!({})), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("id_token.signing_key_file"), "{err}");
    let err = BrokerConfig::load(
        base(json!({"generate_key": true,
        "signing_key_file": "/nonexistent.pem"})),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("id_token.generate_key"), "{err}");
    for file in ["/nonexistent/key.pem", garbage.path().to_str().unwrap()] {
        let cfg = BrokerConfig::load(base(json!({"signing_key_file": file})), None).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let err = tessera_broker::Application::build_with_listener(cfg, listener)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("id_token signing key") && err.contains(file),
            "{err}"
        );
        assert!(!err.contains("c2VjcmV0"), "key material in {err}");
    }
}
