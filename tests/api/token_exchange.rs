//! RFC 8693 token exchange, safe by default (issue 9, point 4): opt-in per app, id_tokens only
//! the broker's own and only by the app they were minted for, upstream access tokens only from
//! allowed clients, every subject token once and fresh.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::world::*;

pub const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const AT_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const ID_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";

async fn exchange(w: &World, c: &Client, token: &str, ttype: &str) -> reqwest::Response {
    w.app
        .token(
            c,
            &[
                ("grant_type", EXCHANGE),
                ("subject_token", token),
                ("subject_token_type", ttype),
            ],
        )
        .await
}

/// An app with the code, refresh and token exchange grants.
async fn exchanger(w: &World, extra: Value) -> Client {
    let mut body = json!({"grant_types": ["authorization_code", "refresh_token", EXCHANGE]});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    code_client(w, body).await
}

/// Revokes the login of `tokens` (by its refresh token).
async fn revoke_login(w: &World, c: &Client, tokens: &Value) {
    let rt = tokens["refresh_token"].as_str().unwrap();
    let res = w.app.post_form("/revoke", c, &[("token", rt)]).await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn refused(res: reqwest::Response, why: &str) {
    let body = assert_oauth_error(res, 400, "invalid_request").await;
    let d = body["error_description"].as_str().unwrap();
    assert!(d.contains(why), "{d}");
}

#[tokio::test]
async fn an_apps_own_id_token_is_exchanged_once_by_that_app_only() {
    let w = spawn_world().await;
    let a = exchanger(&w, json!({})).await;
    let b = exchanger(&w, json!({})).await;
    let login = alice_tokens(&w, &a, "openid read").await;
    let id_token = login["id_token"].as_str().unwrap();

    // App B cannot exchange app A's id_token, and trying does not burn it.
    refused(exchange(&w, &b, id_token, ID_TYPE).await, "another client").await;
    let res = exchange(&w, &a, id_token, ID_TYPE).await;
    assert_eq!(res.status(), StatusCode::OK);
    let t = json_of(res).await;
    assert_eq!(t["issued_token_type"], AT_TYPE);
    assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none());
    assert_eq!(t["scope"], "openid read", "the login's scope");
    let access = t["access_token"].as_str().unwrap();
    let info = w.app.introspect(&a, access).await;
    assert_eq!(info["sub"], "00u-alice");
    assert_eq!(info["ext"]["grant_type"], EXCHANGE);
    assert_eq!(info["ext"]["attributes"]["email"], "alice@example.com");

    // Single use: the same id_token again is refused, even by its own app.
    refused(exchange(&w, &a, id_token, ID_TYPE).await, "already used").await;

    // The exchanged token belongs to the login: revoking the login revokes it.
    revoke_login(&w, &a, &login).await;
    assert!(!w.app.is_active(&a, access).await);
    // And an id_token of a revoked login exchanges for nothing.
    let other = alice_tokens(&w, &a, "openid").await;
    revoke_login(&w, &a, &other).await;
    refused(
        exchange(&w, &a, other["id_token"].as_str().unwrap(), ID_TYPE).await,
        "not active",
    )
    .await;
}

#[tokio::test]
async fn upstream_id_tokens_are_never_accepted() {
    let w = spawn_world().await;
    let a = exchanger(&w, json!({})).await;
    // Neither one the upstream issued for nothing, nor one of a login of this very app (its
    // upstream id_token is in Redis, sealed, and the proxy may forward it to a backend).
    for login_first in [false, true] {
        if login_first {
            let _ = alice_tokens(&w, &a, "openid").await;
        }
        let upstream = w
            .idp
            .issue_id_token(UPSTREAM_CLIENT, "alice", None)
            .unwrap();
        let res = exchange(&w, &a, &upstream, ID_TYPE).await;
        refused(res, "issued by this server").await;
    }
}

/// Signs an id_token as the broker would, with the key file's key (the test holds it).
pub(crate) fn broker_shaped(key_pem: &str, kid: &str, claims: &Value) -> String {
    let mut head = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    head.kid = Some(kid.to_string());
    let key = jsonwebtoken::EncodingKey::from_ec_pem(key_pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&head, claims, &key).unwrap()
}

#[tokio::test]
async fn old_subject_tokens_are_refused() {
    let (pem, file) = ec_signing_key();
    let w = spawn_world_with(|cfg| {
        cfg["id_token"] = json!({"signing_key_file": file.path().to_str().unwrap()});
        cfg["token_exchange"] = json!({"max_subject_age_secs": 60});
    })
    .await;
    let a = exchanger(&w, json!({"token_exchange_clients": ["spa"]})).await;
    let login = alice_tokens(&w, &a, "openid read").await;
    let real = login["id_token"].as_str().unwrap();
    let kid = jsonwebtoken::decode_header(real).unwrap().kid.unwrap();
    let mut claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(real.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let now = claims["iat"].as_i64().unwrap();
    // The same login, minted 61 s ago: too old. A fresh one with the same key passes.
    claims["iat"] = json!(now - 61);
    claims["jti"] = json!("old-one");
    refused(
        exchange(&w, &a, &broker_shaped(&pem, &kid, &claims), ID_TYPE).await,
        "too old",
    )
    .await;
    claims["iat"] = json!(now - 30);
    claims["jti"] = json!("fresh-one");
    let res = exchange(&w, &a, &broker_shaped(&pem, &kid, &claims), ID_TYPE).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Upstream access tokens too, by their iat.
    let extra = |iat: i64| {
        let mut m = serde_json::Map::new();
        m.insert("iat".into(), json!(iat));
        m
    };
    let old = w
        .idp
        .issue_access_token("spa", "alice@example.com", &["read"], extra(now - 61))
        .unwrap();
    refused(exchange(&w, &a, &old, AT_TYPE).await, "too old").await;
    let future = w
        .idp
        .issue_access_token("spa", "alice@example.com", &["read"], extra(now + 600))
        .unwrap();
    refused(exchange(&w, &a, &future, AT_TYPE).await, "future").await;
}

#[tokio::test]
async fn upstream_access_tokens_need_an_allowed_client_and_work_once() {
    let w = spawn_world().await;
    let allowed = exchanger(&w, json!({"token_exchange_clients": ["spa", "0oa-mobile"]})).await;
    let none = exchanger(&w, json!({})).await;
    let okta = |client: &str, extra: serde_json::Map<String, Value>| {
        w.idp
            .issue_access_token(client, "alice@example.com", &["read"], extra)
            .unwrap()
    };
    let from_spa = okta("spa", Default::default());
    let wrong_cid = okta("some-other-app", Default::default());
    // Not in the allow-list, or no allow-list at all: refused (and nothing burnt).
    refused(
        exchange(&w, &allowed, &wrong_cid, AT_TYPE).await,
        "not issued to a client",
    )
    .await;
    refused(
        exchange(&w, &none, &from_spa, AT_TYPE).await,
        "not issued to a client",
    )
    .await;
    let res = exchange(&w, &allowed, &from_spa, AT_TYPE).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Replayed: refused, by jti.
    refused(
        exchange(&w, &allowed, &from_spa, AT_TYPE).await,
        "already used",
    )
    .await;
    // A token without cid may name its client in azp (or RFC 9068 client_id).
    let mut m = serde_json::Map::new();
    m.insert("cid".into(), Value::Null);
    m.insert("azp".into(), json!("0oa-mobile"));
    let by_azp = okta("ignored", m.clone());
    assert_eq!(
        exchange(&w, &allowed, &by_azp, AT_TYPE).await.status(),
        StatusCode::OK
    );
    // Without a jti, the token itself is remembered.
    m.insert("jti".into(), Value::Null);
    let no_jti = okta("ignored", m);
    assert_eq!(
        exchange(&w, &allowed, &no_jti, AT_TYPE).await.status(),
        StatusCode::OK
    );
    refused(
        exchange(&w, &allowed, &no_jti, AT_TYPE).await,
        "already used",
    )
    .await;
    // The replay marks are keyed hashes: no subject token text in Redis.
    for (k, v) in w.app.stored().await {
        assert!(!v.contains("eyJ") && !k.contains("eyJ"), "{k}: {v}");
    }
}

#[tokio::test]
async fn token_exchange_is_off_unless_granted_and_never_through_registration() {
    let w = spawn_world_with(|cfg| {
        cfg["registration"] = json!({"initial_access_token": IAT, "allowed_scopes": ["read"]});
    })
    .await;
    let plain = code_client(&w, json!({})).await;
    let login = alice_tokens(&w, &plain, "openid").await;
    let res = exchange(&w, &plain, login["id_token"].as_str().unwrap(), ID_TYPE).await;
    assert_oauth_error(res, 400, "unauthorized_client").await;
    for grant in [EXCHANGE, "password"] {
        let res = w
            .app
            .http
            .post(w.app.url("/register"))
            .bearer_auth(IAT)
            .json(&json!({"grant_types": ["client_credentials", grant]}))
            .send()
            .await
            .unwrap();
        assert_oauth_error(res, 400, "invalid_client_metadata").await;
    }
    // The admin API shows the allow-list, empty by default.
    let app = json_of(
        w.app
            .admin_get(&format!(
                "/admin/developers/{}/apps/{}",
                plain.developer_id, plain.app_id
            ))
            .await,
    )
    .await;
    assert_eq!(app["token_exchange_clients"], json!([]));
    let path = format!(
        "/admin/developers/{}/apps/{}",
        plain.developer_id, plain.app_id
    );
    let res = w
        .app
        .admin_patch(
            &path,
            json!({"token_exchange_clients": ["bad id with spaces"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}
