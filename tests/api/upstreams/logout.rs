//! Logout per provider: a back-channel logout token is validated against the provider its
//! `iss` names and ends only that provider's logins — even of a user whose `sub` is the same
//! at the other provider; a token signed by one provider that claims the other's issuer is
//! refused; RP-initiated logout sends the browser to the end-session endpoint of the provider
//! that authenticated the login.

use reqwest::StatusCode;
use serde_json::{json, Map};

use super::*;

/// POSTs `logout_token` to the broker's back-channel logout endpoint.
async fn send_logout_token(t: &Two, logout_token: &str) -> reqwest::Response {
    let http = &t.w.app.http;
    let form = [("logout_token", logout_token)];
    let url = t.w.app.url("/backchannel_logout");
    http.post(url).form(&form).send().await.unwrap()
}

#[tokio::test]
async fn a_back_channel_logout_from_partners_ends_only_partners_logins() {
    let t = spawn_two().await;
    let c = code_client(&t.w, json!({})).await;
    let (a, b) = (t.w.idp_base.as_str(), t.partners_base.as_str());
    let partners = [("idp_hint", "partners")];
    // The same `sub` (00u-alice) at both providers: two different people (the broker's
    // `00u-alice` and `partners|00u-alice`); logout tokens name the provider's own `sub`.
    let alice_a = tokens_via(&t, &c, &[], (a, "alice", "alice")).await;
    let alice_b = tokens_via(&t, &c, &partners, (b, "alice", "alice-partner")).await;
    let pat = tokens_via(&t, &c, &partners, (b, "pat", "pat")).await;
    assert_eq!(families_of(&t, "partners").await, 2);
    let (tr, cr) = (&t, &c);
    let active = move |tokens: &serde_json::Value| {
        let at = access(tokens);
        async move { tr.w.app.is_active(cr, &at).await }
    };

    // A token signed by partners that claims the employees' issuer: checked against the
    // employees' keys, refused; nothing ends.
    let mut forged = Map::new();
    forged.insert("iss".into(), json!(a));
    let token = t
        .partners
        .issue_logout_token(UPSTREAM_CLIENT, None, Some("00u-alice"), forged)
        .unwrap();
    let res = send_logout_token(&t, &token).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // An issuer nobody configured: refused the same way.
    let mut stranger = Map::new();
    stranger.insert("iss".into(), json!("https://idp.stranger.example"));
    let token = t
        .partners
        .issue_logout_token(UPSTREAM_CLIENT, None, Some("00u-alice"), stranger)
        .unwrap();
    assert_eq!(
        send_logout_token(&t, &token).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert!(active(&alice_a).await && active(&alice_b).await && active(&pat).await);

    // Partners signs its alice out everywhere (a logout token naming only `sub`).
    assert_eq!(t.partners.logout_user("alice", false).await, 1);
    assert!(!active(&alice_b).await, "partners' alice is out");
    assert!(
        active(&alice_a).await,
        "the employee with the same sub is not"
    );
    assert!(active(&pat).await);

    // The employees' provider ends its alice's session: hers ends, pat's lives on.
    assert_eq!(t.w.idp.logout_user("alice", true).await, 1);
    assert!(!active(&alice_a).await);
    assert!(active(&pat).await);
}

#[tokio::test]
async fn rp_initiated_logout_goes_to_the_provider_of_the_login() {
    let t = spawn_two().await;
    let c = code_client(&t.w, json!({"upstreams": ["partners", "employees"]})).await;
    let b = (t.partners_base.as_str(), "pat", "pat");
    let tokens = tokens_via(&t, &c, &[("scope", "openid read")], b).await;
    let id_token = tokens["id_token"].as_str().expect("an id_token");
    let res =
        t.w.app
            .http
            .get(t.w.app.url("/end_session"))
            .query(&[("id_token_hint", id_token), ("client_id", c.id.as_str())])
            .send()
            .await
            .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let (to, _) = location(&res);
    assert_eq!(to, format!("{}/v1/logout", t.partners_base));
    assert!(!t.w.app.is_active(&c, &access(&tokens)).await);
}
