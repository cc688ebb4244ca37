//! The device confirmation page says who stands behind the app, since its name is the app's
//! own choice: an app registered by itself (RFC 7591) is marked unverified, its name escaped.
//! (An app of a developer shows the developer: `device_flow`'s first test.)

use reqwest::StatusCode;
use serde_json::json;

use crate::device_flow::{browser, device_world, log_in_for, start, DEVICE_GRANT};
use crate::helpers::*;
use crate::registration::register;

#[tokio::test]
async fn a_dynamically_registered_app_is_marked_unverified_on_the_confirmation_page() {
    let w = device_world(|cfg| {
        cfg["registration"] = json!({"initial_access_token": IAT, "allowed_scopes": ["read"]});
    })
    .await;
    let res = register(
        &w.app,
        IAT,
        json!({"grant_types": [DEVICE_GRANT], "token_endpoint_auth_method": "none",
               "client_name": "<b>Your Bank</b>", "scope": "read"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body = json_of(res).await;
    let c = Client {
        developer_id: String::new(),
        app_id: String::new(),
        id: body["client_id"].as_str().unwrap().into(),
        secret: String::new(),
    };
    let d = start(&w, &c, "read").await;
    let html = log_in_for(&w, &browser(), d["user_code"].as_str().unwrap()).await;
    assert!(html.contains("<strong>Unverified app:</strong>"), "{html}");
    assert!(html.contains("&lt;b&gt;Your Bank&lt;/b&gt;"), "{html}");
    assert!(!html.contains("<b>Your Bank"));
    assert!(!html.contains("Published by"));
}
