//! User tokens: authorization code redemption, refresh rotation, the password grant, token
//! exchange, and revocation of users, logins and apps across all of them.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::world::*;

#[tokio::test]
async fn a_code_becomes_tokens_mapped_to_the_upstream_identity() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({})).await;
    let code = code_for(&w, &c, "openid read").await;
    let res = redeem(&w, &c, &code).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let t = json_of(res).await;
    assert!(t["access_token"].as_str().unwrap().starts_with("tsr_at_"));
    assert!(t["refresh_token"].as_str().unwrap().starts_with("tsr_rt_"));
    assert_eq!(t["scope"], "openid read");
    assert_eq!(t["expires_in"], 3600);
    // openid was granted: the upstream id_token comes back, with alice's claims.
    let id_token = t["id_token"].as_str().unwrap();
    assert_eq!(id_token.split('.').count(), 3);

    let info = w
        .app
        .introspect(&c, t["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info["active"], true);
    assert_eq!(info["sub"], "00u-alice");
    assert_eq!(info["scope"], "openid read");
    assert_eq!(info["ext"]["grant_type"], "authorization_code");
    let attrs = &info["ext"]["attributes"];
    assert_eq!(attrs["email"], "alice@example.com");
    assert_eq!(
        attrs["dealership"], "Los Angeles",
        "renamed by the claim mapping"
    );
    assert!(attrs["groups"]
        .as_array()
        .unwrap()
        .contains(&json!("Dealers")));
    assert_eq!(attrs["tier"], "gold", "the app's custom attributes too");
    assert!(attrs.get("name").is_none(), "unmapped claims are dropped");

    // Without openid, no id_token.
    let code = code_for(&w, &c, "read").await;
    let t = json_of(redeem(&w, &c, &code).await).await;
    assert!(t.get("id_token").is_none());
}

#[tokio::test]
async fn wrong_verifier_client_or_redirect_revoke_nothing_and_burn_nothing() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({})).await;
    let other = code_client(&w, json!({})).await;
    let code = code_for(&w, &c, "read").await;
    let bad_verifier = "x".repeat(43);
    for (who, form) in [
        (
            &c,
            vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", APP_REDIRECT),
                ("code_verifier", bad_verifier.as_str()),
            ],
        ),
        (
            &c,
            vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", APP_REDIRECT),
            ],
        ),
        (
            &c,
            vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", "http://127.0.0.1:9/other"),
                ("code_verifier", VERIFIER),
            ],
        ),
        (
            &other,
            vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", APP_REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        ),
    ] {
        let res = w.app.token(who, &form).await;
        assert_oauth_error(res, 400, "invalid_grant").await;
    }
    // The genuine redemption still works afterwards, and its tokens stay live.
    let t = json_of(redeem(&w, &c, &code).await).await;
    let at = t["access_token"].as_str().unwrap();
    let res = w
        .app
        .token(
            &other,
            &[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", APP_REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_oauth_error(res, 400, "invalid_grant").await;
    assert!(
        w.app.is_active(&c, at).await,
        "a replay by another client revokes nothing"
    );
}

#[tokio::test]
async fn a_replayed_code_revokes_what_the_first_redemption_issued() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({})).await;
    let code = code_for(&w, &c, "read").await;
    let t = json_of(redeem(&w, &c, &code).await).await;
    let at = t["access_token"].as_str().unwrap().to_string();
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    assert!(w.app.is_active(&c, &at).await);
    assert_oauth_error(redeem(&w, &c, &code).await, 400, "invalid_grant").await;
    assert!(!w.app.is_active(&c, &at).await);
    let res = w
        .app
        .token(
            &c,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
        )
        .await;
    assert_oauth_error(res, 400, "invalid_grant").await;
}

#[tokio::test]
async fn fifty_parallel_redemptions_give_exactly_one_success() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({})).await;
    let code = code_for(&w, &c, "read").await;
    let attempts = (0..50).map(|_| redeem(&w, &c, &code));
    let results = futures_util::future::join_all(attempts).await;
    let ok = results
        .iter()
        .filter(|r| r.status() == StatusCode::OK)
        .count();
    let bad = results
        .iter()
        .filter(|r| r.status() == StatusCode::BAD_REQUEST)
        .count();
    assert_eq!((ok, bad), (1, 49));
}

#[tokio::test]
async fn codes_expire_and_lifetimes_follow_the_configuration() {
    let w = spawn_world_with(|cfg| {
        cfg["tokens"] = json!({"authorization_code_ttl_secs": 1, "access_token_ttl_secs": 120});
    })
    .await;
    let c = code_client(&w, json!({})).await;
    let code = code_for(&w, &c, "read").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_oauth_error(redeem(&w, &c, &code).await, 400, "invalid_grant").await;
    let t = alice_tokens(&w, &c, "read").await;
    assert_eq!(t["expires_in"], 120);
}

#[tokio::test]
async fn a_public_client_uses_pkce_and_no_secret() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({"public": true})).await;
    let code = code_for(&w, &c, "read").await;
    let res = w
        .app
        .http
        .post(w.app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", APP_REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", c.id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // A public client cannot introspect, and a confidential one cannot skip its secret.
    let t = json_of(res).await;
    let res = w
        .app
        .http
        .post(w.app.url("/introspect"))
        .form(&[
            ("token", t["access_token"].as_str().unwrap()),
            ("client_id", c.id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;
    let conf = code_client(&w, json!({})).await;
    let res = w
        .app
        .http
        .post(w.app.url("/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", conf.id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;
}

async fn refresh(w: &World, c: &Client, rt: &str, scope: Option<&str>) -> reqwest::Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    w.app.token(c, &form).await
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({})).await;
    let t0 = alice_tokens(&w, &c, "read write").await;
    let rt0 = t0["refresh_token"].as_str().unwrap().to_string();
    let res = refresh(&w, &c, &rt0, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let t1 = json_of(res).await;
    let rt1 = t1["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt0, rt1);
    assert_eq!(t1["scope"], "read write");
    let at1 = t1["access_token"].as_str().unwrap().to_string();
    assert_eq!(w.app.introspect(&c, &at1).await["sub"], "00u-alice");

    // Narrowing is fine; widening is not.
    let t2 = json_of(refresh(&w, &c, &rt1, Some("read")).await).await;
    assert_eq!(t2["scope"], "read");
    let rt2 = t2["refresh_token"].as_str().unwrap().to_string();
    assert_oauth_error(
        refresh(&w, &c, &rt2, Some("read admin")).await,
        400,
        "invalid_scope",
    )
    .await;

    // Reusing a consumed token: invalid_grant, and the whole family dies.
    assert_oauth_error(refresh(&w, &c, &rt0, None).await, 400, "invalid_grant").await;
    assert!(!w.app.is_active(&c, &at1).await);
    assert!(
        !w.app
            .is_active(&c, t0["access_token"].as_str().unwrap())
            .await
    );
    assert_oauth_error(refresh(&w, &c, &rt2, None).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn forged_or_foreign_refresh_tokens_revoke_nothing() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({})).await;
    let other = code_client(&w, json!({})).await;
    let t = alice_tokens(&w, &c, "read").await;
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    let forged = tessera_shared::token::TokenKind::RefreshToken.generate();
    for (who, token) in [
        (&c, forged.as_str()),
        (&c, "garbage"),
        (&other, rt.as_str()),
    ] {
        assert_oauth_error(refresh(&w, who, token, None).await, 400, "invalid_grant").await;
    }
    assert!(
        w.app
            .is_active(&c, t["access_token"].as_str().unwrap())
            .await
    );
    assert_eq!(refresh(&w, &c, &rt, None).await.status(), StatusCode::OK);
}

/// Documented behaviour: two concurrent refreshes with one token give one success; the other
/// counts as reuse (RFC 9700 §4.14.2), so the family ends up revoked.
#[tokio::test]
async fn concurrent_refreshes_of_one_token_revoke_the_family() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({})).await;
    let t = alice_tokens(&w, &c, "read").await;
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    let (a, b) = tokio::join!(refresh(&w, &c, &rt, None), refresh(&w, &c, &rt, None));
    let statuses = [a.status(), b.status()];
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    let winner = if a.status() == StatusCode::OK {
        json_of(a).await
    } else {
        json_of(b).await
    };
    assert!(
        !w.app
            .is_active(&c, winner["access_token"].as_str().unwrap())
            .await
    );
}

#[tokio::test]
async fn the_password_grant_is_opt_in_and_delegated_upstream() {
    let w = spawn_world().await;
    let without = code_client(&w, json!({})).await;
    let res = w
        .app
        .token(
            &without,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice"),
            ],
        )
        .await;
    assert_oauth_error(res, 400, "unauthorized_client").await;
    let c = code_client(&w, json!({"grant_types": ["password", "refresh_token"]})).await;
    let res = w
        .app
        .token(
            &c,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "wrong"),
            ],
        )
        .await;
    assert_oauth_error(res, 400, "invalid_grant").await;
    let res = w
        .app
        .token(&c, &[("grant_type", "password"), ("username", "alice")])
        .await;
    assert_oauth_error(res, 400, "invalid_request").await;
    let res = w
        .app
        .token(
            &c,
            &[
                ("grant_type", "password"),
                ("username", "bob"),
                ("password", "bob"),
                ("scope", "read"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let t = json_of(res).await;
    assert!(t["refresh_token"].is_string());
    let info = w
        .app
        .introspect(&c, t["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info["sub"], "00u-bob");
    assert_eq!(info["ext"]["attributes"]["dealership"], "Seattle");
    assert_eq!(info["ext"]["grant_type"], "password");
}

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const AT_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const ID_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";

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

#[tokio::test]
async fn revoking_a_user_a_login_or_the_app_reaches_every_token() {
    let w = spawn_world().await;
    let c = code_client(
        &w,
        json!({"grant_types": ["authorization_code", "refresh_token", "password"]}),
    )
    .await;
    let a1 = alice_tokens(&w, &c, "read").await;
    let res = w
        .app
        .token(
            &c,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice"),
            ],
        )
        .await;
    let a2 = json_of(res).await;
    let res = w
        .app
        .token(
            &c,
            &[
                ("grant_type", "password"),
                ("username", "bob"),
                ("password", "bob"),
            ],
        )
        .await;
    let b1 = json_of(res).await;
    let at = |t: &serde_json::Value| t["access_token"].as_str().unwrap().to_string();

    // Revoking a refresh token ends that login, access tokens included (RFC 7009 §2.1).
    let res = w
        .app
        .post_form(
            "/revoke",
            &c,
            &[
                ("token", a2["refresh_token"].as_str().unwrap()),
                ("token_type_hint", "refresh_token"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!w.app.is_active(&c, &at(&a2)).await);
    assert!(w.app.is_active(&c, &at(&a1)).await);

    // Revoking alice in this app: every login of hers, not bob's.
    let a3 = alice_tokens(&w, &c, "read").await;
    let path = format!(
        "/admin/developers/{}/apps/{}/users/00u-alice/tokens",
        c.developer_id, c.app_id
    );
    let res = w.app.admin_delete(&path).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(json_of(res).await["revoked_logins"].as_u64().unwrap() >= 2);
    for t in [&a1, &a3] {
        assert!(!w.app.is_active(&c, &at(t)).await);
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
        assert_oauth_error(res, 400, "invalid_grant").await;
    }
    assert!(w.app.is_active(&c, &at(&b1)).await);

    // Revoking the app: bob's tokens too.
    let res = w
        .app
        .admin_patch(
            &format!("/admin/developers/{}/apps/{}", c.developer_id, c.app_id),
            json!({"status": "revoked"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let observer = w.app.default_client().await;
    assert!(!w.app.is_active(&observer, &at(&b1)).await);
}
