//! Device logins (RFC 8628) with several providers: the user logs in at the app's own provider
//! (the first of its `upstreams`), which the code entry page's `form-action` allows, and the
//! device's tokens name it.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::device_flow::{browser, decide, poll, start, DEVICE_GRANT};

#[tokio::test]
async fn a_device_of_a_partners_app_logs_its_user_in_at_partners() {
    let t = spawn_two_with(|cfg| cfg["tokens"] = json!({"device_poll_interval_secs": 1})).await;
    let c =
        t.w.app
            .create_client(
                json!({"public": true, "scopes": ["read"], "upstreams": ["partners"],
                              "grant_types": [DEVICE_GRANT]}),
            )
            .await;
    let d = start(&t.w, &c, "read").await;
    let (user_code, device_code) = (
        d["user_code"].as_str().unwrap(),
        d["device_code"].as_str().unwrap(),
    );

    let http = browser();
    let page = http.get(t.w.app.url("/device")).send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    let both = format!("form-action 'self' {} {};", t.w.idp_base, t.partners_base);
    assert!(csp.contains(&both), "{csp}");
    let res = http
        .post(t.w.app.url("/device"))
        .form(&[("user_code", user_code)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let form_url = res.headers()["location"].to_str().unwrap().to_string();
    let res = pat_signs_in(&t, &http, &form_url).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let confirm = res.headers()["location"].to_str().unwrap();
    let html = http
        .get(confirm)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(decide(&t.w, &http, &html, "allow")
        .await
        .contains("Device connected"));

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let res = poll(&t.w, &c, device_code).await;
    assert_eq!(res.status(), StatusCode::OK);
    let at = access(&json_of(res).await);
    let resource = code_client(&t.w, json!({})).await;
    let intro = t.w.app.introspect(&resource, &at).await;
    assert_eq!(intro["idp"], json!("partners"));
    assert_eq!(
        intro["sub"],
        json!("partners|00p-pat"),
        "namespaced by provider"
    );
    assert_eq!(t.w.idp.token_requests(), 0, "employees never asked");
}
