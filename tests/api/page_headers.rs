//! Every HTML answer of the broker carries the security headers: a Content-Security-Policy that
//! allows no script (`default-src 'none'`, `frame-ancestors 'none'`), `Referrer-Policy:
//! no-referrer` and `X-Content-Type-Options: nosniff` — the error pages of `/authorize` and
//! `/callback`, `tessera dev`'s landing page and the development identity provider's login
//! page served by the broker.

use reqwest::Response;
use serde_json::json;

use crate::helpers::*;
use crate::world::*;

fn assert_page_headers(res: &Response, what: &str) {
    let h = res.headers();
    assert!(
        h["content-type"].to_str().unwrap().starts_with("text/html"),
        "{what}"
    );
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("script-src"),
        "{what}: {csp}"
    );
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
}

#[tokio::test]
async fn error_pages_of_the_login_endpoints_carry_the_headers() {
    let w = spawn_world().await;
    let http = &w.app.http;
    for path in [
        "/authorize",
        "/authorize?client_id=nobody",
        "/authorize?client_id=a&client_id=b",
        "/callback",
        "/callback?state=unknown",
    ] {
        let res = http.get(w.app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 400, "{path}");
        assert_page_headers(&res, path);
    }
    // Without [upstream]: the 404 page.
    let app = spawn_app().await;
    let res = app.http.get(app.url("/authorize")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_page_headers(&res, "no upstream");
    // JSON answers get nosniff, and no page policy.
    let res = app.http.get(app.url("/nope")).send().await.unwrap();
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn the_dev_pages_served_by_the_broker_carry_the_headers() {
    // Mounted on the broker's own listener, as `tessera dev` does.
    let (app, _idp) = crate::world::dev_broker().await;
    let base = app.base.clone();
    let c = app
        .create_client(json!({
            "redirect_uris": [format!("{base}/dev/callback")],
            "grant_types": ["authorization_code"],
            "scopes": ["openid"],
        }))
        .await;
    let res = app
        .http
        .get(app.url("/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", c.id.as_str()),
            ("scope", "openid"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    let login_page = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        login_page.starts_with(&format!("{base}/dev-idp/")),
        "{login_page}"
    );
    let res = app.http.get(&login_page).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_page_headers(&res, "dev IdP login page");
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("style-src 'sha256-"), "{csp}");
    let res = app
        .http
        .get(app.url("/dev/callback?code=x&state=y"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_page_headers(&res, "dev landing page");
}
