//! `POST /introspect` (RFC 7662).

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn an_active_token_shows_its_record() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    let token = app.access_token(&c).await;
    let res = app
        .post_form("/introspect", &c, &[("token", token.as_str())])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body = json_of(res).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], c.id.as_str());
    assert_eq!(body["scope"], "read write");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["iss"], "http://localhost");
    let (iat, exp) = (body["iat"].as_i64().unwrap(), body["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, 3600);
    assert!(
        body.get("sub").is_none(),
        "client_credentials tokens have no subject"
    );
    assert_eq!(body["ext"]["app_id"], c.app_id.as_str());
    assert_eq!(body["ext"]["developer_id"], c.developer_id.as_str());
    assert_eq!(body["ext"]["attributes"]["tier"], "gold");
    assert_eq!(body["ext"]["grant_type"], "client_credentials");
}

#[tokio::test]
async fn a_resource_server_may_introspect_other_clients_tokens() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    let rs = app.default_client().await;
    let token = app.access_token(&c).await;
    assert!(app.is_active(&rs, &token).await);
}

#[tokio::test]
async fn anything_not_live_is_just_inactive() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    let real = app.access_token(&c).await;
    let mut tampered = real.clone().into_bytes();
    tampered[20] = if tampered[20] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    // Well formed (valid checksum) but never issued.
    let unknown = tessera_shared::token::TokenKind::AccessToken.generate();
    let secret_as_token = c.secret.clone();
    for t in [
        "garbage",
        "",
        tampered.as_str(),
        unknown.as_str(),
        secret_as_token.as_str(),
    ] {
        let res = app.post_form("/introspect", &c, &[("token", t)]).await;
        if t.is_empty() {
            assert_oauth_error(res, 400, "invalid_request").await;
            continue;
        }
        assert_eq!(json_of(res).await, json!({"active": false}), "{t}");
    }
}

#[tokio::test]
async fn introspection_requires_client_authentication() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    let token = app.access_token(&c).await;
    let res = app
        .http
        .post(app.url("/introspect"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;
    let res = app.post_form("/introspect", &c, &[]).await;
    assert_oauth_error(res, 400, "invalid_request").await;
}

/// A token-shaped string with a multi-byte character where the checksum begins (the right
/// length in bytes, the right prefix) is not well formed: it made the format check split a
/// character in two and panic, taking the broker's worker and every exchange on it down (a
/// code or device code presented at `/token` meets the same check). Now an inactive token, a
/// revocation of nothing (RFC 7662 §2.2, RFC 7009 §2.2).
#[tokio::test]
async fn a_multibyte_character_in_a_token_shaped_string_is_refused_not_a_panic() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    for (prefix, len) in [("tsr_at_", 56), ("tsr_rt_", 56)] {
        // `ü` (two bytes) across the byte where the 6-character checksum starts.
        let body = len - prefix.len() - 6 - 1;
        let t = format!("{prefix}{}ü{}", "A".repeat(body), "A".repeat(5));
        assert_eq!(t.len(), len);
        let res = app.post_form("/introspect", &c, &[("token", &t)]).await;
        assert_eq!(res.status(), 200);
        assert_eq!(json_of(res).await, json!({"active": false}));
        let res = app.post_form("/revoke", &c, &[("token", &t)]).await;
        assert_eq!(res.status(), 200);
    }
}
