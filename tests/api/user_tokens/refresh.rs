//! Refresh tokens rotate, and reuse — a replay, a forged or foreign token, two concurrent
//! refreshes — is answered as RFC 9700 §4.14.2 says.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::world::*;

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
