//! The device authorization grant (issue 15, point 3; RFC 8628) over HTTP against the real
//! broker, Redis and the development identity provider: the device's request, the user at the
//! broker's pages (code entry, upstream login, confirmation), and the device polling the token
//! endpoint through `authorization_pending`, `slow_down`, `access_denied`, `expired_token` and
//! its tokens — with what lands in Redis checked.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::world::*;

pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A world whose devices may poll every second.
pub async fn device_world(tweak: impl FnOnce(&mut Value)) -> World {
    spawn_world_with(|cfg| {
        cfg["tokens"] = json!({"device_poll_interval_secs": 1});
        tweak(cfg);
    })
    .await
}

/// A public app allowed the device grant and refresh.
pub async fn device_app(w: &World) -> Client {
    w.app
        .create_client(
            json!({"public": true, "scopes": ["openid", "read", "write"],
                              "grant_types": [DEVICE_GRANT, "refresh_token"]}),
        )
        .await
}

/// A browser of its own.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

/// `POST path` with `form` and `client_id` in the body (a public client).
async fn post_public(
    w: &World,
    path: &str,
    c: &Client,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut body = vec![("client_id", c.id.as_str())];
    body.extend_from_slice(form);
    w.app
        .http
        .post(w.app.url(path))
        .form(&body)
        .send()
        .await
        .unwrap()
}

/// The device's request (asserting success).
pub async fn start(w: &World, c: &Client, scope: &str) -> Value {
    let res = post_public(w, "/device_authorization", c, &[("scope", scope)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    json_of(res).await
}

/// One poll by the device.
pub async fn poll(w: &World, c: &Client, device_code: &str) -> reqwest::Response {
    let form = [("grant_type", DEVICE_GRANT), ("device_code", device_code)];
    post_public(w, "/token", c, &form).await
}

/// The user in `http` enters `typed` at `/device`.
async fn enter_code(w: &World, http: &reqwest::Client, typed: &str) -> reqwest::Response {
    http.post(w.app.url("/device"))
        .form(&[("user_code", typed)])
        .send()
        .await
        .unwrap()
}

/// `http` submits the confirmation form's `fields`.
async fn submit_confirm(
    w: &World,
    http: &reqwest::Client,
    fields: &[(String, String)],
) -> reqwest::Response {
    http.post(w.app.url("/device/confirm"))
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// The user in `http` enters `typed` at `/device`, logs in as alice and arrives at the
/// confirmation page: its HTML.
pub async fn log_in_for(w: &World, http: &reqwest::Client, typed: &str) -> String {
    let res = enter_code(w, http, typed).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        res.text().await.unwrap()
    );
    let upstream = res.headers()["location"].to_str().unwrap().to_string();
    assert!(upstream.starts_with(&w.idp_base), "{upstream}");
    let res = submit_login_form(
        http,
        &upstream,
        &[("username", "alice"), ("password", "alice")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let callback = res.headers()["location"].to_str().unwrap().to_string();
    let res = http.get(callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let confirm = res.headers()["location"].to_str().unwrap().to_string();
    assert!(confirm.starts_with(&format!("{}/device/confirm?user_code=", w.app.base)));
    let res = http.get(confirm).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

/// The user's decision on the confirmation page `html`.
pub async fn decide(w: &World, http: &reqwest::Client, html: &str, decision: &str) -> String {
    let mut fields = hidden_fields(html);
    fields.push(("decision".into(), decision.into()));
    let res = submit_confirm(w, http, &fields).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

async fn error_of(res: reqwest::Response) -> (u16, String, String) {
    let status = res.status().as_u16();
    let body = json_of(res).await;
    let s = |k: &str| body[k].as_str().unwrap_or_default().to_string();
    (status, s("error"), s("error_description"))
}

fn interval_pause() -> Duration {
    Duration::from_millis(1100)
}

#[tokio::test]
async fn a_device_gets_tokens_once_its_user_logs_in_and_allows_it() {
    let w = device_world(|_| {}).await;
    let meta = json_of(
        w.app
            .http
            .get(w.app.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        meta["device_authorization_endpoint"],
        w.app.url("/device_authorization")
    );
    assert!(meta["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&json!(DEVICE_GRANT)));

    let c = device_app(&w).await;
    let d = start(&w, &c, "openid read").await;
    let user_code = d["user_code"].as_str().unwrap();
    let device_code = d["device_code"].as_str().unwrap();
    assert!(device_code.starts_with("tsr_dc_"));
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(user_code
        .chars()
        .all(|ch| ch == '-' || "BCDFGHJKLMNPQRSTVWXZ".contains(ch)));
    assert_eq!(d["verification_uri"], w.app.url("/device"));
    assert_eq!(
        d["verification_uri_complete"],
        format!("{}?user_code={user_code}", w.app.url("/device"))
    );
    assert_eq!(
        (d["expires_in"].as_u64(), d["interval"].as_u64()),
        (Some(600), Some(1))
    );

    assert_eq!(
        error_of(poll(&w, &c, device_code).await).await.1,
        "authorization_pending"
    );
    // verification_uri_complete fills the code in; the user still submits it.
    let http = browser();
    let page = http
        .get(d["verification_uri_complete"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains(&format!("form-action 'self' {}", w.idp_base)),
        "{csp}"
    );
    assert!(page
        .text()
        .await
        .unwrap()
        .contains(&format!("value=\"{user_code}\"")));
    // Typed loosely: lower case, no dash.
    let html = log_in_for(&w, &http, &user_code.replace('-', " ").to_lowercase()).await;
    assert!(
        html.contains(user_code) && html.contains("<code>read</code>"),
        "{html}"
    );
    // Who publishes the app: its developer (crate::helpers::create_developer), not a name the
    // app chose.
    assert!(
        html.contains("Published by Ada Lovelace (<code>dev-"),
        "{html}"
    );
    assert!(!html.contains("Unverified app"));
    tokio::time::sleep(interval_pause()).await;
    assert_eq!(
        error_of(poll(&w, &c, device_code).await).await.1,
        "authorization_pending"
    );
    assert!(decide(&w, &http, &html, "allow")
        .await
        .contains("Device connected"));

    tokio::time::sleep(interval_pause()).await;
    let res = poll(&w, &c, device_code).await;
    assert_eq!(res.status(), StatusCode::OK);
    let tokens = json_of(res).await;
    assert_eq!(tokens["scope"], "openid read");
    assert!(tokens["refresh_token"].is_string() && tokens["id_token"].is_string());
    let at = tokens["access_token"].as_str().unwrap();
    // Handed out once.
    tokio::time::sleep(interval_pause()).await;
    let (status, error, _) = error_of(poll(&w, &c, device_code).await).await;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    // Redis holds neither code, nor the upstream id_token in clear.
    for (k, v) in w.app.stored_records().await {
        for secret in [device_code, &user_code.replace('-', ""), at] {
            assert!(!k.contains(secret) && !v.contains(secret), "{k}");
        }
    }
}

#[tokio::test]
async fn polling_too_fast_slows_the_device_down_and_a_denial_is_final() {
    let w = device_world(|_| {}).await;
    let c = device_app(&w).await;
    let d = start(&w, &c, "read").await;
    let device_code = d["device_code"].as_str().unwrap();
    assert_eq!(
        error_of(poll(&w, &c, device_code).await).await.1,
        "authorization_pending"
    );
    let (status, error, why) = error_of(poll(&w, &c, device_code).await).await;
    assert_eq!((status, error.as_str()), (400, "slow_down"));
    assert!(why.contains("6 seconds"), "{why}");
    // The interval stays longer: a poll a second later is still too fast.
    tokio::time::sleep(interval_pause()).await;
    let (_, error, why) = error_of(poll(&w, &c, device_code).await).await;
    assert_eq!(error, "slow_down");
    assert!(why.contains("11 seconds"), "{why}");

    let d = start(&w, &c, "read").await;
    let http = browser();
    let html = log_in_for(&w, &http, d["user_code"].as_str().unwrap()).await;
    assert!(decide(&w, &http, &html, "deny")
        .await
        .contains("Device denied"));
    let device_code = d["device_code"].as_str().unwrap();
    for _ in 0..2 {
        let (status, error, _) = error_of(poll(&w, &c, device_code).await).await;
        assert_eq!((status, error.as_str()), (400, "access_denied"));
        tokio::time::sleep(interval_pause()).await;
    }
    // A decided code cannot be entered again.
    let res = enter_code(&w, &http, d["user_code"].as_str().unwrap()).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_grant_is_opt_in_and_bound_to_its_client() {
    let w = device_world(|_| {}).await;
    let code_only = code_client(&w, json!({})).await;
    let res = w
        .app
        .post_form("/device_authorization", &code_only, &[("scope", "read")])
        .await;
    assert_oauth_error(res, 400, "unauthorized_client").await;
    // A confidential client authenticates as at /token.
    let confidential = w
        .app
        .create_client(json!({"scopes": ["read"], "grant_types": [DEVICE_GRANT]}))
        .await;
    let res = w
        .app
        .post_form("/device_authorization", &confidential, &[])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let d = json_of(res).await;
    let mut wrong = confidential.clone();
    wrong.secret = "not-the-secret".into();
    let res = w.app.post_form("/device_authorization", &wrong, &[]).await;
    assert_oauth_error(res, 401, "invalid_client").await;
    let res = w
        .app
        .post_form(
            "/device_authorization",
            &confidential,
            &[("scope", "admin")],
        )
        .await;
    assert_oauth_error(res, 400, "invalid_scope").await;

    // Another client's device code: invalid_grant, and the device's own poll is unaffected.
    let device_code = d["device_code"].as_str().unwrap();
    let public = device_app(&w).await;
    let (_, error, _) = error_of(poll(&w, &public, device_code).await).await;
    assert_eq!(error, "invalid_grant");
    let form = [("grant_type", DEVICE_GRANT), ("device_code", device_code)];
    let res = w.app.token(&confidential, &form).await;
    assert_eq!(error_of(res).await.1, "authorization_pending");
    // Malformed or unknown codes.
    let (_, error, _) = error_of(poll(&w, &public, "tsr_dc_nope").await).await;
    assert_eq!(error, "invalid_grant");
    let unknown = tessera_shared::token::TokenKind::DeviceCode.generate();
    let (_, error, _) = error_of(poll(&w, &public, &unknown).await).await;
    assert_eq!(error, "expired_token");
}

#[tokio::test]
async fn an_expired_device_code_is_expired_token() {
    let w = device_world(|_| {}).await;
    let c = device_app(&w).await;
    let d = start(&w, &c, "read").await;
    let device_code = d["device_code"].as_str().unwrap();
    // Expire it as Redis would at the end of its TTL.
    let keys = tessera_shared::crypto::Keys::from_pepper(&PEPPER.to_string().into());
    let key = format!("{}dev:{{{}}}", w.app.prefix, keys.token_hash(device_code));
    let mut r = w.app.redis().await;
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut r)
        .await
        .unwrap();
    assert!(
        (590..=600).contains(&ttl),
        "stored with the code's lifetime: {ttl}"
    );
    let _: () = redis::cmd("PEXPIRE")
        .arg(&key)
        .arg(1)
        .query_async(&mut r)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (status, error, _) = error_of(poll(&w, &c, device_code).await).await;
    assert_eq!((status, error.as_str()), (400, "expired_token"));
}

#[tokio::test]
async fn wrong_codes_back_off_and_only_the_browser_that_logged_in_decides() {
    let w = device_world(|cfg| {
        cfg["limits"] = json!({"device_wrong_codes_per_ip": {"free_failures": 2,
            "base_delay_ms": 60000, "max_delay_secs": 60, "forget_after_secs": 600}});
    })
    .await;
    let c = device_app(&w).await;
    let d = start(&w, &c, "read").await;
    let http = browser();
    let enter = |typed: &'static str| {
        let (w, http) = (&w, &http);
        async move {
            let res = enter_code(w, http, typed).await;
            (res.status(), res.text().await.unwrap())
        }
    };
    // Malformed input is no guess.
    for _ in 0..3 {
        let (status, page) = enter("hello").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("eight letters"), "{page}");
    }
    for _ in 0..3 {
        let (status, page) = enter("BBBB-BBBB").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("not valid"), "{page}");
    }
    // Now even the right code waits: nothing is looked up meanwhile.
    let res = enter_code(&w, &http, d["user_code"].as_str().unwrap()).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));

    // On another broker (its own Redis prefix, so no back-off), the user logs in...
    let w2 = device_world(|_| {}).await;
    let c2 = device_app(&w2).await;
    let d2 = start(&w2, &c2, "read").await;
    let html = log_in_for(&w2, &http, d2["user_code"].as_str().unwrap()).await;
    // ...and another browser, or a form without its token, decides nothing.
    let thief = browser();
    let res = thief
        .get(w2.app.url(&format!(
            "/device/confirm?user_code={}",
            d2["user_code"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let mut fields = hidden_fields(&html);
    fields.push(("decision".into(), "allow".into()));
    let res = submit_confirm(&w2, &thief, &fields).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    fields.retain(|(k, _)| k != "csrf");
    let res = submit_confirm(&w2, &http, &fields).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let device_code = d2["device_code"].as_str().unwrap();
    assert_eq!(
        error_of(poll(&w2, &c2, device_code).await).await.1,
        "authorization_pending"
    );
    // The right browser with its token: allowed.
    assert!(decide(&w2, &http, &html, "allow")
        .await
        .contains("Device connected"));
}

#[tokio::test]
async fn device_authorizations_are_budgeted_per_address() {
    let w = device_world(|cfg| cfg["limits"] = json!({"device_codes_per_ip": 2})).await;
    let c = device_app(&w).await;
    for _ in 0..2 {
        start(&w, &c, "read").await;
    }
    let res = post_public(&w, "/device_authorization", &c, &[]).await;
    let (status, error, _) = error_of(res).await;
    assert_eq!((status, error.as_str()), (429, "slow_down"));
}
