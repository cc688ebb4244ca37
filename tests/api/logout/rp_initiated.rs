//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the app sends alice's browser
//! to the broker's `end_session_endpoint`; her login ends at once, the browser goes through the
//! identity provider's own logout (which ends her session there) and back to the app with its
//! `state`. A redirect the app did not register is an error page, never a redirect.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::gateway::until_refused_by;

/// The broker's discovery names its end-session endpoint.
async fn end_session_endpoint(s: &Scene) -> String {
    let res =
        s.w.app
            .http
            .get(s.w.app.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap();
    let doc = json_of(res).await;
    doc["end_session_endpoint"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_app_logs_alice_out_here_and_upstream_and_gets_its_state_back() {
    let s = scene().await;
    let tokens = alice_tokens(&s.w, &s.c, "openid read").await;
    let at = access(&tokens);
    echoed(s.proxy.get("/orders", &at).await).await;
    let id_token = tokens["id_token"]
        .as_str()
        .expect("an id_token")
        .to_string();
    let endpoint = end_session_endpoint(&s).await;
    assert_eq!(endpoint, s.w.app.url("/end_session"));

    let browser = &s.w.app.http;
    let res = browser
        .get(&endpoint)
        .query(&[
            ("id_token_hint", id_token.as_str()),
            ("client_id", s.c.id.as_str()),
            ("post_logout_redirect_uri", APP_LOGGED_OUT),
            ("state", "app-state-42"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    // The login is dead before the browser goes anywhere.
    let took = until_refused_by(|| async { s.proxy.get("/orders", &at).await.status() }).await;
    assert!(took < std::time::Duration::from_secs(1), "took {took:?}");
    assert!(s.refresh(&tokens).await.is_none());

    // To the identity provider's end-session endpoint, with the upstream id_token (not the
    // broker's) and the broker's own callback and state.
    let (to, params) = location(&res);
    assert_eq!(to, format!("{}/v1/logout", s.w.idp_base));
    let hint = param(&params, "id_token_hint").unwrap();
    assert_ne!(hint, id_token, "the upstream's own id_token");
    assert_eq!(
        param(&params, "post_logout_redirect_uri"),
        Some(s.w.app.url("/end_session/callback").as_str())
    );
    assert_ne!(param(&params, "state"), Some("app-state-42"));
    assert_eq!(s.w.idp.sessions_of("alice").len(), 1);

    // The provider ends alice's session there and sends the browser back to the broker.
    let res = browser
        .get(res.headers()["location"].to_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert!(
        s.w.idp.sessions_of("alice").is_empty(),
        "upstream session ended"
    );
    let callback = res.headers()["location"].to_str().unwrap().to_string();
    assert!(callback.starts_with(&s.w.app.url("/end_session/callback?")));

    // And the broker sends it back to the app, with the app's state.
    let res = browser.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let (to, params) = location(&res);
    assert_eq!(to, APP_LOGGED_OUT);
    assert_eq!(param(&params, "state"), Some("app-state-42"));

    // The broker's state works once.
    let res = browser.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("location").is_none());
}

#[tokio::test]
async fn a_logout_redirect_the_app_did_not_register_is_an_error_page() {
    let s = scene().await;
    let tokens = alice_tokens(&s.w, &s.c, "openid read").await;
    let id_token = tokens["id_token"].as_str().unwrap().to_string();
    let other = code_client(&s.w, json!({})).await;
    // One character in the middle of the signature changed.
    let mut forged: Vec<char> = id_token.chars().collect();
    let i = forged.len() - 20;
    forged[i] = if forged[i] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "unregistered redirect",
            vec![
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", "https://evil.example/"),
            ],
        ),
        (
            "a prefix of a registered one",
            vec![
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", "http://127.0.0.1:9/app/logged"),
            ],
        ),
        (
            "another client",
            vec![
                ("id_token_hint", &id_token),
                ("client_id", &other.id),
                ("post_logout_redirect_uri", APP_LOGGED_OUT),
            ],
        ),
        (
            "a forged hint",
            vec![
                ("id_token_hint", &forged),
                ("post_logout_redirect_uri", APP_LOGGED_OUT),
            ],
        ),
        (
            "no hint",
            vec![("post_logout_redirect_uri", APP_LOGGED_OUT)],
        ),
    ];
    for (case, query) in cases {
        let res =
            s.w.app
                .http
                .get(s.w.app.url("/end_session"))
                .query(&query)
                .send()
                .await
                .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{case}");
        assert!(res.headers().get("location").is_none(), "{case}");
        let page = res.text().await.unwrap();
        assert!(!page.contains("evil.example"), "{case}: {page}");
    }
    // Nothing was logged out.
    assert!(s.w.app.is_active(&s.c, &access(&tokens)).await);
    assert_eq!(s.w.idp.sessions_of("alice").len(), 1);
}

#[tokio::test]
async fn a_logout_posted_without_a_redirect_ends_on_the_signed_out_page() {
    let s = scene().await;
    let tokens = alice_tokens(&s.w, &s.c, "openid read").await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let browser = &s.w.app.http;
    // §2: POST with a form body works as GET does.
    let res = browser
        .post(s.w.app.url("/end_session"))
        .form(&[("id_token_hint", id_token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert!(!s.w.app.is_active(&s.c, &access(&tokens)).await);
    let res = browser
        .get(res.headers()["location"].to_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND, "the provider's logout");
    let res = browser
        .get(res.headers()["location"].to_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("location").is_none());
    assert!(res.text().await.unwrap().contains("Signed out"));
    // The hint still names the (now revoked) login: a second logout is harmless, and goes
    // straight to the signed-out page (no upstream id_token is handed out again).
    let res = browser
        .get(s.w.app.url("/end_session"))
        .query(&[("id_token_hint", id_token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}
