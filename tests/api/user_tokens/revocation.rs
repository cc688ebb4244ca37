//! Revoking a user, a login or the app reaches every token of it, whatever grant issued it.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::world::*;

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
