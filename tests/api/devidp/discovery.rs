//! What the provider publishes: its discovery document, its keys, and a key rotation
//! that keeps the previous key published.

use std::time::Duration;

use jsonwebtoken::{decode_header, DecodingKey};
use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::helpers::json_of;

#[tokio::test]
async fn discovery_document_lists_okta_endpoints() {
    let t = spawn_idp().await;
    let res = t.get("/.well-known/openid-configuration", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let m = json_of(res).await;
    let iss = &t.base;
    assert_eq!(m["issuer"], json!(iss));
    assert_eq!(
        m["authorization_endpoint"],
        json!(format!("{iss}/v1/authorize"))
    );
    assert_eq!(m["token_endpoint"], json!(format!("{iss}/v1/token")));
    assert_eq!(m["jwks_uri"], json!(format!("{iss}/v1/keys")));
    assert_eq!(m["userinfo_endpoint"], json!(format!("{iss}/v1/userinfo")));
    assert_eq!(m["response_types_supported"], json!(["code"]));
    assert_eq!(m["subject_types_supported"], json!(["public"]));
    assert_eq!(m["id_token_signing_alg_values_supported"], json!(["RS256"]));
    assert_eq!(
        m["scopes_supported"],
        json!(["openid", "profile", "email", "groups", "offline_access"])
    );
    assert_eq!(
        m["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    assert_eq!(
        m["grant_types_supported"],
        json!(["authorization_code", "password", "client_credentials"])
    );
    assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
    let claims = m["claims_supported"].as_array().unwrap();
    for c in ["sub", "iss", "email", "groups", "DealershipLocation"] {
        assert!(claims.contains(&json!(c)), "claims_supported lacks {c}");
    }
}

#[tokio::test]
async fn jwks_publishes_the_rsa_public_key_and_counts_fetches() {
    let t = spawn_idp().await;
    assert_eq!(t.idp.jwks_fetches(), 0);
    let res = t.get("/v1/keys", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = json_of(res).await;
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let k = &keys[0];
    assert_eq!(k["kty"], "RSA");
    assert_eq!(k["alg"], "RS256");
    assert_eq!(k["use"], "sig");
    assert!(!k["kid"].as_str().unwrap().is_empty());
    assert_eq!(k["e"], "AQAB");
    // RSA-2048: 256 bytes of modulus are 342 base64url characters, without padding.
    let n = k["n"].as_str().unwrap();
    assert_eq!(n.len(), 342);
    assert!(n
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert!(
        k.get("d").is_none() && k.get("p").is_none(),
        "no private parts"
    );
    // jsonwebtoken reads it, and the counter saw both fetches.
    let set = t.jwks().await;
    DecodingKey::from_jwk(&set.keys[0]).unwrap();
    assert_eq!(t.idp.jwks_fetches(), 2);
}

#[tokio::test]
async fn rotated_keys_get_a_new_kid_and_the_old_key_stays_published() {
    let t = spawn_idp().await;
    let old_token = t.idp.issue_id_token(CLIENT, "alice", None).unwrap();
    let old_kid = decode_header(&old_token).unwrap().kid.unwrap();
    t.idp.rotate_keys();
    let jwks = t.jwks().await;
    let kids: Vec<_> = jwks
        .keys
        .iter()
        .map(|k| k.common.key_id.clone().unwrap())
        .collect();
    assert_eq!(kids.len(), 2);
    assert_eq!(kids[1], old_kid, "previous key still published");
    assert_ne!(kids[0], old_kid);
    let new_token = t.idp.issue_id_token(CLIENT, "alice", None).unwrap();
    assert_eq!(decode_header(&new_token).unwrap().kid.unwrap(), kids[0]);
    verify(&old_token, &jwks, &t.base, CLIENT).unwrap();
    verify(&new_token, &jwks, &t.base, CLIENT).unwrap();
    // Rotation is bounded: the current key and at most three previous ones.
    for _ in 0..4 {
        t.idp.rotate_keys();
    }
    assert_eq!(t.jwks().await.keys.len(), 4);
}

/// A client pauses between two requests on one kept-alive connection (as reqwest's pool, 90 s
/// idle, does between a relying party's calls): the provider has not closed it meanwhile, so
/// the second request is answered, not lost to a close racing it. actix's default keep-alive
/// (5 s) closed it.
#[tokio::test]
async fn a_kept_alive_connection_outlasts_a_clients_pause() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let t = spawn_idp().await;
    let addr = t.base.trim_start_matches("http://");
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    let get = format!("GET /v1/keys HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    sock.write_all(get.as_bytes()).await.unwrap();
    // The first answer, by its Content-Length.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let complete = |got: &[u8]| {
        let text = String::from_utf8_lossy(got).to_ascii_lowercase();
        let (head, body) = text.split_once("\r\n\r\n")?;
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))?
            .trim()
            .parse()
            .ok()?;
        (body.len() >= len).then_some(head.to_string())
    };
    let head = loop {
        let n = sock.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the first answer");
        got.extend_from_slice(&buf[..n]);
        if let Some(head) = complete(&got) {
            break head;
        }
    };
    assert!(head.starts_with("http/1.1 200"), "{head}");
    tokio::time::sleep(Duration::from_secs(6)).await;
    let last = format!("GET /v1/keys HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let _ = sock.write_all(last.as_bytes()).await;
    let mut again = Vec::new();
    let _ = sock.read_to_end(&mut again).await;
    let again = String::from_utf8_lossy(&again);
    assert!(
        again.starts_with("HTTP/1.1 200"),
        "the idle connection was closed: {again:?}"
    );
}
