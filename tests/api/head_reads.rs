//! `HEAD` wherever `GET` only reads (RFC 9110 §9.1: a server that supports GET MUST support
//! HEAD), over raw sockets so that nothing normalises the exchange: the device flow's pages,
//! the admin API's reads, the development identity provider's discovery, keys, sign-in form and
//! userinfo, `tessera dev`'s landing page, and the proxy's signing keys (`gateway/signed.rs`)
//! answer HEAD with GET's status and headers, and no body. Pages with effects stay GET-only, and
//! a HEAD spends nothing: the device's consent is still decided after one. The probes',
//! discovery's, client configuration's and the portal's HEAD are in `metadata.rs`, `portal.rs`
//! and `gateway/methods.rs`.

use std::sync::Arc;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::{StatusCode, Url};

use crate::device_flow::{decide, device_app, device_world, log_in_for, poll, start};
use crate::gateway::{raw_request, RawResponse};
use crate::helpers::*;

/// The answer's header lines but `date` (each answer has its own second): lower-case names,
/// values as sent, sorted.
fn headers(res: &RawResponse) -> Vec<(String, String)> {
    let mut lines: Vec<(String, String)> = (res.head.lines().skip(1))
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .filter(|(n, _)| n != "date")
        .collect();
    lines.sort();
    lines
}

/// `GET` and `HEAD` of `target` at `base` with the `extra` header lines: HEAD's status and
/// headers are GET's, and it has no body. GET's answer.
pub async fn head_as_get(base: &str, target: &str, extra: &[&str]) -> RawResponse {
    let get = raw_request(base, "GET", target, extra).await;
    let head = raw_request(base, "HEAD", target, extra).await;
    assert_eq!(head.status, get.status, "HEAD {target}: {}", head.head);
    assert_eq!(headers(&head), headers(&get), "HEAD {target}");
    assert_eq!(head.body, "", "HEAD {target} has a body");
    get
}

#[tokio::test]
async fn the_device_pages_answer_head_as_get_and_a_head_spends_nothing() {
    let w = device_world(|_| {}).await;
    let c = device_app(&w).await;
    for target in [
        "/device",
        "/device?user_code=BCDF-GHJK",
        "/device?error=access_denied",
        "/device/confirm?user_code=BCDF-GHJK",
    ] {
        head_as_get(&w.app.base, target, &[]).await;
    }
    // The consent page of a code its browser signed in for, with that browser's cookie.
    let jar = Arc::new(Jar::default());
    let http = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let d = start(&w, &c, "read").await;
    let code = d["user_code"].as_str().unwrap();
    let html = log_in_for(&w, &http, code).await;
    let target = format!("/device/confirm?user_code={code}");
    let url = Url::parse(&w.app.url(&target)).unwrap();
    let cookie = jar.cookies(&url).expect("the login cookie");
    let cookie = format!("Cookie: {}", cookie.to_str().unwrap());
    let page = head_as_get(&w.app.base, &target, &[&cookie]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("name=\"decision\""), "{}", page.body);
    // Neither the HEAD nor the GET spent the code: the user decides, the device gets tokens.
    decide(&w, &http, &html, "allow").await;
    let res = poll(&w, &c, d["device_code"].as_str().unwrap()).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_admin_apis_reads_answer_head_as_get() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    let auth = format!("Authorization: Bearer {ADMIN_TOKEN}");
    let dev = format!("/admin/developers/{}", c.developer_id);
    let app_path = format!("{dev}/apps/{}", c.app_id);
    for target in [
        "/admin/openapi.json".to_string(),
        "/admin/developers".into(),
        dev.clone(),
        format!("{dev}/apps"),
        app_path.clone(),
        format!("{app_path}/credentials"),
        format!("{app_path}/subscriptions"),
        format!("{app_path}/usage?from=0&to=1000"),
        "/admin/usage?from=0&to=1000".into(),
        "/admin/abuse".into(),
        "/admin/subscriptions".into(),
        "/admin/products".into(),
    ] {
        let get = head_as_get(&app.base, &target, &[&auth]).await;
        assert_eq!(get.status, 200, "{target}: {}", get.body);
    }
    // Without the token, the same refusal either way.
    let get = head_as_get(&app.base, "/admin/developers", &[]).await;
    assert_eq!(get.status, 401);
}

#[tokio::test]
async fn the_dev_identity_providers_reads_and_the_landing_page_answer_head_as_get() {
    let (app, mounted) = crate::world::dev_broker().await;
    let base = app.base.clone();
    let callback = format!("{base}/callback");
    let authorize = Url::parse_with_params(
        &format!("{base}/dev-idp/v1/authorize"),
        [
            ("response_type", "code"),
            ("client_id", tessera_devidp::mount::CLIENT_ID),
            ("redirect_uri", callback.as_str()),
            ("scope", "openid"),
            ("state", "st"),
            ("nonce", "n"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ],
    )
    .unwrap();
    let authorize = format!("{}?{}", authorize.path(), authorize.query().unwrap());
    let fetches = mounted.idp().jwks_fetches();
    for (target, status) in [
        ("/dev-idp/.well-known/openid-configuration", 200),
        ("/dev-idp/v1/keys", 200),
        (authorize.as_str(), 200),
        ("/dev-idp/v1/userinfo", 401),
        ("/dev/callback?code=abc&state=%3Cst%3E", 200),
    ] {
        let get = head_as_get(&app.base, target, &[]).await;
        assert_eq!(get.status, status, "{target}: {}", get.body);
    }
    // The sign-in form is the form; userinfo's refusal carries its challenge either way.
    let form = head_as_get(&app.base, &authorize, &[]).await;
    assert!(form.body.contains("name=\"password\""), "{}", form.body);
    let bad = ["Authorization: Bearer not-a-token"];
    let refused = head_as_get(&app.base, "/dev-idp/v1/userinfo", &bad).await;
    assert!(
        refused.header("www-authenticate").is_some(),
        "{}",
        refused.head
    );
    // Only the GETs read the keys.
    assert_eq!(mounted.idp().jwks_fetches(), fetches + 1);
    // Logout ends the user's session there: GET only, never HEAD.
    let res = raw_request(&app.base, "HEAD", "/dev-idp/v1/logout", &[]).await;
    assert!(!(200..400).contains(&res.status), "{}", res.head);
}
