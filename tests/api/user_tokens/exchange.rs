//! RFC 8693 token exchange: an upstream access token or the app's own id_token in, a
//! Tessera token out; bad subject tokens get RFC 8693 errors.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::token_exchange::{AT_TYPE, EXCHANGE, ID_TYPE};
use crate::world::*;

#[tokio::test]
async fn upstream_tokens_are_exchanged_for_tessera_tokens() {
    let w = spawn_world().await;
    let c = code_client(
        &w,
        json!({"grant_types": [EXCHANGE], "token_exchange_clients": ["some-spa"]}),
    )
    .await;
    let okta_at = w
        .idp
        .issue_access_token(
            "some-spa",
            "alice@example.com",
            &["read"],
            Default::default(),
        )
        .unwrap();
    let res = w
        .app
        .token(
            &c,
            &[
                ("grant_type", EXCHANGE),
                ("subject_token", &okta_at),
                ("subject_token_type", AT_TYPE),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let t = json_of(res).await;
    assert_eq!(t["issued_token_type"], AT_TYPE);
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(
        t["scope"], "read",
        "what the app and the subject token both allow"
    );
    assert!(t.get("refresh_token").is_none());
    let info = w
        .app
        .introspect(&c, t["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info["active"], true);
    assert_eq!(info["sub"], "alice@example.com");
    assert_eq!(info["ext"]["grant_type"], EXCHANGE);

    // An upstream id_token is never accepted (only the broker's own, by the app it was
    // minted for: tests/api/token_exchange.rs).
    let id_token = w
        .idp
        .issue_id_token(UPSTREAM_CLIENT, "alice", None)
        .unwrap();
    let res = w
        .app
        .token(
            &c,
            &[
                ("grant_type", EXCHANGE),
                ("subject_token", &id_token),
                ("subject_token_type", ID_TYPE),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_oauth_error(res, 400, "invalid_request").await;
}

#[tokio::test]
async fn bad_subject_tokens_get_rfc8693_errors() {
    let w = spawn_world().await;
    let c = code_client(
        &w,
        json!({"grant_types": [EXCHANGE], "token_exchange_clients": ["spa"]}),
    )
    .await;
    let okta_at = w
        .idp
        .issue_access_token("spa", "alice@example.com", &["read"], Default::default())
        .unwrap();
    let ex = |token: String, ttype: &'static str, scope: Option<&'static str>| {
        let mut form = vec![
            ("grant_type", EXCHANGE.to_string()),
            ("subject_token", token),
            ("subject_token_type", ttype.to_string()),
        ];
        if let Some(s) = scope {
            form.push(("scope", s.to_string()));
        }
        let req = w
            .app
            .http
            .post(w.app.url("/token"))
            .basic_auth(&c.id, Some(&c.secret))
            .form(&form);
        async move { req.send().await.unwrap() }
    };
    assert_oauth_error(
        ex(
            okta_at.clone(),
            "urn:ietf:params:oauth:token-type:saml2",
            None,
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    assert_oauth_error(
        ex(okta_at.clone(), AT_TYPE, Some("read write")).await,
        400,
        "invalid_scope",
    )
    .await;
    assert_oauth_error(
        ex("not-a-jwt".into(), AT_TYPE, None).await,
        400,
        "invalid_request",
    )
    .await;
    // An id_token is not an access token (wrong audience) and vice versa.
    let id_token = w
        .idp
        .issue_id_token(UPSTREAM_CLIENT, "alice", None)
        .unwrap();
    assert_oauth_error(ex(id_token, AT_TYPE, None).await, 400, "invalid_request").await;
    assert_oauth_error(
        ex(okta_at.clone(), ID_TYPE, None).await,
        400,
        "invalid_request",
    )
    .await;
    // Foreign issuer and expired tokens.
    w.idp.behaviour().set_wrong_issuer(true);
    let foreign = w
        .idp
        .issue_access_token("spa", "alice@example.com", &["read"], Default::default())
        .unwrap();
    w.idp.behaviour().reset();
    assert_oauth_error(ex(foreign, AT_TYPE, None).await, 400, "invalid_request").await;
    w.idp.behaviour().set_expired(true);
    let expired = w
        .idp
        .issue_access_token("spa", "alice@example.com", &["read"], Default::default())
        .unwrap();
    w.idp.behaviour().reset();
    assert_oauth_error(ex(expired, AT_TYPE, None).await, 400, "invalid_request").await;
    // Without the grant on the app.
    let plain = code_client(&w, json!({})).await;
    let res = w
        .app
        .token(
            &plain,
            &[
                ("grant_type", EXCHANGE),
                ("subject_token", &okta_at),
                ("subject_token_type", AT_TYPE),
            ],
        )
        .await;
    assert_oauth_error(res, 400, "unauthorized_client").await;
}
