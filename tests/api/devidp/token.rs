//! The token endpoint's three grants and its RFC 6749 §5.2 errors, userinfo, and the
//! Okta-shaped tokens the provider mints for tests.

use reqwest::StatusCode;
use serde_json::{json, Map};

use super::*;
use crate::helpers::{assert_oauth_error, json_of};

#[tokio::test]
async fn codes_are_single_use_and_bound_to_verifier_redirect_and_client() {
    let t = spawn_idp().await;
    let code = t.code("st", "n").await;
    assert_eq!(t.redeem(&code, VERIFIER).await.status(), StatusCode::OK);
    assert_oauth_error(t.redeem(&code, VERIFIER).await, 400, "invalid_grant").await;

    // A wrong verifier fails, and burns the code.
    let code = t.code("st", "n").await;
    let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK";
    assert_oauth_error(t.redeem(&code, wrong).await, 400, "invalid_grant").await;
    assert_oauth_error(t.redeem(&code, VERIFIER).await, 400, "invalid_grant").await;

    // No verifier at all.
    let code = t.code("st", "n").await;
    let res = t
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    assert_oauth_error(res, 400, "invalid_grant").await;

    // Another redirect URI.
    let code = t.code("st", "n").await;
    let res = t
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_WITH_QUERY),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_oauth_error(res, 400, "invalid_grant").await;

    // Another client (client_secret_post).
    let code = t.code("st", "n").await;
    let res = t
        .http
        .post(t.url("/v1/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", OTHER),
            ("client_secret", OTHER_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 400, "invalid_grant").await;

    // A verifier for a request that had no challenge (RFC 9700 §2.1.1 downgrade).
    let query: Vec<_> = authorize_query("st", "n")
        .into_iter()
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .collect();
    let res = t.login(&query, ALICE).await;
    let code = param(&location(&res).1, "code").unwrap().to_string();
    assert_oauth_error(t.redeem(&code, VERIFIER).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn password_grant_issues_user_tokens() {
    let t = spawn_idp().await;
    let res = t
        .token(&[
            ("grant_type", "password"),
            ("username", "bob"),
            ("password", "bob"),
            ("scope", "openid email"),
        ])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = json_of(res).await;
    assert_eq!(body["scope"], "openid email");
    let jwks = t.jwks().await;
    let id = verify(body["id_token"].as_str().unwrap(), &jwks, &t.base, CLIENT).unwrap();
    assert_eq!(id["sub"], "00u-bob");
    assert_eq!(id["DealershipLocation"], "Seattle");
    assert!(id.get("nonce").is_none());
    let at = verify(
        body["access_token"].as_str().unwrap(),
        &jwks,
        &t.base,
        "api://default",
    )
    .unwrap();
    assert_eq!(at["sub"], "bob@example.com");
    assert_eq!(at["groups"], json!(["Everyone"]));

    // Without openid: no id_token.
    let res = t
        .token(&[
            ("grant_type", "password"),
            ("username", "bob"),
            ("password", "bob"),
            ("scope", "read"),
        ])
        .await;
    assert!(json_of(res).await.get("id_token").is_none());

    let res = t
        .token(&[
            ("grant_type", "password"),
            ("username", "bob"),
            ("password", "alice"),
            ("scope", "openid"),
        ])
        .await;
    assert_oauth_error(res, 400, "invalid_grant").await;
    let res = t
        .token(&[("grant_type", "password"), ("username", "bob")])
        .await;
    assert_oauth_error(res, 400, "invalid_request").await;
}

#[tokio::test]
async fn client_credentials_access_token_is_about_the_client() {
    let t = spawn_idp().await;
    let res = t
        .token(&[
            ("grant_type", "client_credentials"),
            ("scope", "orders:read"),
        ])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = json_of(res).await;
    assert!(body.get("id_token").is_none());
    assert_eq!(body["scope"], "orders:read");
    let at = verify(
        body["access_token"].as_str().unwrap(),
        &t.jwks().await,
        &t.base,
        "api://default",
    )
    .unwrap();
    assert_eq!(at["sub"], CLIENT);
    assert_eq!(at["cid"], CLIENT);
    assert_eq!(at["scp"], json!(["orders:read"]));
    assert_eq!(at["ver"], 1);
    assert!(at.get("uid").is_none());
    assert!(at.get("DealershipLocation").is_none());
}

#[tokio::test]
async fn token_endpoint_errors_follow_rfc6749_section_5_2() {
    let t = spawn_idp().await;
    let cc = [("grant_type", "client_credentials"), ("scope", "x")];
    let post = || t.http.post(t.url("/v1/token"));

    let res = post()
        .basic_auth(CLIENT, Some("wrong"))
        .form(&cc)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    assert_oauth_error(res, 401, "invalid_client").await;

    let res = post()
        .basic_auth("nobody", Some(SECRET))
        .form(&cc)
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;

    let res = post().form(&cc).send().await.unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;

    let mut wrong_post = cc.to_vec();
    wrong_post.extend([("client_id", CLIENT), ("client_secret", OTHER_SECRET)]);
    let res = post().form(&wrong_post).send().await.unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;

    let mut both = cc.to_vec();
    both.push(("client_secret", SECRET));
    let res = post()
        .basic_auth(CLIENT, Some(SECRET))
        .form(&both)
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 400, "invalid_request").await;

    let res = t.token(&[("grant_type", "implicit")]).await;
    assert_oauth_error(res, 400, "unsupported_grant_type").await;
    let res = t.token(&[("grant_type", "client_credentials")]).await;
    assert_oauth_error(res, 400, "invalid_scope").await;
    let res = t.token(&[("scope", "x")]).await;
    assert_oauth_error(res, 400, "invalid_request").await;
    let res = t
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", "forged"),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    assert_oauth_error(res, 400, "invalid_grant").await;

    let res = post()
        .basic_auth(CLIENT, Some(SECRET))
        .json(&json!({"grant_type": "client_credentials", "scope": "x"}))
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 400, "invalid_request").await;

    // client_secret_post works.
    let mut ok_post = cc.to_vec();
    ok_post.extend([("client_id", OTHER), ("client_secret", OTHER_SECRET)]);
    let res = post().form(&ok_post).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn userinfo_returns_the_users_claims() {
    let t = spawn_idp().await;
    let code = t.code("st", "n").await;
    let body = json_of(t.redeem(&code, VERIFIER).await).await;
    let at = body["access_token"].as_str().unwrap();
    let res = t
        .http
        .get(t.url("/v1/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let info = json_of(res).await;
    assert_eq!(info["sub"], "00u-alice");
    assert_eq!(info["email"], "alice@example.com");
    assert_eq!(info["DealershipLocation"], "Los Angeles");

    let res = t.get("/v1/userinfo", &[]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");

    let cc = json_of(
        t.token(&[("grant_type", "client_credentials"), ("scope", "openid")])
            .await,
    )
    .await;
    let res = t
        .http
        .get(t.url("/v1/userinfo"))
        .bearer_auth(cc["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let no_openid = t
        .idp
        .issue_access_token(CLIENT, "alice", &["read"], Map::new())
        .unwrap();
    let res = t
        .http
        .get(t.url("/v1/userinfo"))
        .bearer_auth(&no_openid)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));

    t.idp.behaviour().set_bad_signature(true);
    let forged = t
        .idp
        .issue_access_token(CLIENT, "alice", &["openid"], Map::new())
        .unwrap();
    t.idp.behaviour().reset();
    let res = t
        .http
        .get(t.url("/v1/userinfo"))
        .bearer_auth(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn issue_access_token_is_okta_shaped() {
    let t = spawn_idp().await;
    let mut extra = Map::new();
    extra.insert("tier".into(), json!("gold"));
    extra.insert("DealershipLocation".into(), json!("Portland"));
    let jwt = t
        .idp
        .issue_access_token("spa", "alice@example.com", &["read", "write"], extra)
        .unwrap();
    let at = verify(&jwt, &t.jwks().await, &t.base, "api://default").unwrap();
    assert_eq!(at["cid"], "spa");
    assert_eq!(at["sub"], "alice@example.com");
    assert_eq!(at["uid"], "00u-alice");
    assert_eq!(at["scp"], json!(["read", "write"]));
    assert_eq!(at["groups"], json!(["Everyone", "Dealers"]));
    assert_eq!(at["tier"], "gold");
    assert_eq!(at["DealershipLocation"], "Portland", "extra wins");

    let svc = claims_of(
        &t.idp
            .issue_access_token("svc", "svc", &[], Map::new())
            .unwrap(),
    );
    assert_eq!(svc["sub"], "svc");
    assert!(svc.get("uid").is_none());
    assert_eq!(svc["scp"], json!([]));

    let id = t.idp.issue_id_token(CLIENT, "bob", Some("nn")).unwrap();
    let id = verify(&id, &t.jwks().await, &t.base, CLIENT).unwrap();
    assert_eq!(id["sub"], "00u-bob");
    assert_eq!(id["nonce"], "nn");
    assert!(t.idp.issue_id_token(CLIENT, "mallory", None).is_err());
}
