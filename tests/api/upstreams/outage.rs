//! One provider down does not stop logins through the other: each has its own discovery,
//! keys and HTTP client. The partners' provider is stopped for good (its port refuses
//! connections) before anyone logs in there.

use reqwest::StatusCode;
use serde_json::json;

use super::*;

#[tokio::test]
async fn with_one_provider_down_logins_through_the_other_work() {
    let t = spawn_two().await;
    t.stop_partners.stop(false).await;
    let c = code_client(&t.w, json!({})).await;
    let a = t.w.idp_base.as_str();

    for _ in 0..2 {
        let tokens = tokens_via(&t, &c, &[], (a, "alice", "alice")).await;
        let intro = t.w.app.introspect(&c, &access(&tokens)).await;
        assert_eq!(intro["idp"], json!("employees"));
    }
    // A login sent to the dead provider goes back to the app, in OAuth's words.
    let q = Authorize::code_flow(&c)
        .set("state", "p")
        .set("idp_hint", "partners");
    let res = authorize_answer(&t, &q).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let (to, params) = location(&res);
    assert_eq!(to, APP_REDIRECT);
    assert_eq!(param(&params, "error"), Some("temporarily_unavailable"));
    assert_eq!(param(&params, "state"), Some("p"));
    // ...and the employees' logins still work after it.
    let tokens = tokens_via(&t, &c, &[], (a, "bob", "bob")).await;
    assert!(t.w.app.is_active(&c, &access(&tokens)).await);
    assert_eq!(families_of(&t, "employees").await, 3);
    assert_eq!(families_of(&t, "partners").await, 0);
}

#[tokio::test]
async fn with_the_default_provider_down_partners_still_log_in() {
    let t = spawn_two().await;
    t.stop_employees.stop(false).await;
    let c = code_client(&t.w, json!({"upstreams": ["partners"]})).await;
    let b = (t.partners_base.as_str(), "pat", "pat");
    let tokens = tokens_via(&t, &c, &[], b).await;
    let intro = t.w.app.introspect(&c, &access(&tokens)).await;
    assert_eq!(intro["idp"], json!("partners"));
    let ready =
        t.w.app
            .http
            .get(t.w.app.url("/readyz"))
            .send()
            .await
            .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}
