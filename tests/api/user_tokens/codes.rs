//! Authorization code redemption: a code becomes tokens mapped to the upstream identity,
//! once; what a wrong verifier, client or redirect URI burns (nothing); lifetimes; public
//! clients.

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
