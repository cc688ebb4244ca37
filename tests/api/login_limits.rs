//! Limits on the user-login side: the password grant per username and per IP *before* the
//! upstream is asked, and `/authorize` and `/callback` per IP, answered with an HTML 429 page.

use reqwest::{Response, StatusCode};
use serde_json::json;

use crate::helpers::*;
use crate::rate_limits::{assert_slow_down, with_limits};
use crate::world::*;

/// `/authorize` for code client `c` from `ip` (through the trusted proxy), with `state`.
pub async fn authorize_from(w: &World, c: &Client, ip: &str, state: &str) -> Response {
    w.app
        .http
        .get(w.app.url("/authorize"))
        .header("x-forwarded-for", ip)
        .query(
            &Authorize::code_flow(c)
                .set("scope", "read")
                .set("state", state)
                .query(),
        )
        .send()
        .await
        .unwrap()
}

/// The password grant for `user` by client `c` from `ip` (through the trusted proxy).
pub async fn password_from(w: &World, c: &Client, ip: &str, user: &str, pass: &str) -> Response {
    w.app
        .http
        .post(w.app.url("/token"))
        .basic_auth(&c.id, Some(&c.secret))
        .header("x-forwarded-for", ip)
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", pass),
            ("scope", "read"),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn password_guesses_are_limited_before_they_reach_the_upstream() {
    let w = spawn_world_with(|cfg| {
        with_limits(
            cfg,
            json!({
                "password_per_username": { "rate": "1pm", "burst": 2 },
                "password_per_ip": { "rate": "1pm", "burst": 3 },
            }),
        )
    })
    .await;
    let c = code_client(&w, json!({"grant_types": ["password", "refresh_token"]})).await;
    let upstream_before = w.idp.token_requests();
    for _ in 0..2 {
        let res = password_from(&w, &c, "192.0.2.10", "alice", "wrong").await;
        assert_oauth_error(res, 400, "invalid_grant").await;
    }
    assert_eq!(w.idp.token_requests(), upstream_before + 2);
    // The third try for alice — even with her right password, even spelled differently, even
    // from elsewhere — is refused here, and the upstream never sees it.
    for (ip, user) in [("192.0.2.10", "alice"), ("192.0.2.11", " ALICE ")] {
        let res = password_from(&w, &c, ip, user, "alice").await;
        assert_slow_down(res).await;
    }
    assert_eq!(
        w.idp.token_requests(),
        upstream_before + 2,
        "nothing relayed"
    );
    // Per IP: 192.0.2.10 has spent its 3 (the one refused per username counts too) ...
    let res = password_from(&w, &c, "192.0.2.10", "bob", "bob").await;
    assert_slow_down(res).await;
    // ... while bob from another address logs in.
    let res = password_from(&w, &c, "192.0.2.12", "bob", "bob").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(w.idp.token_requests(), upstream_before + 3);
    let metrics = w.app.metrics().await;
    assert!(metrics.contains("tessera_rate_limited_total{limiter=\"password_username\"} 2"));
    assert!(metrics.contains("tessera_rate_limited_total{limiter=\"password_ip\"} 1"));
}

/// Asserts the HTML 429 page: `Retry-After`, the RateLimit fields, the page security headers.
async fn assert_429_page(res: Response) {
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let h = res.headers().clone();
    assert!(h.get("location").is_none(), "never a redirect");
    assert!(h["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(h["ratelimit-remaining"], "0");
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(res.text().await.unwrap().contains("Too many requests"));
}

#[tokio::test]
async fn authorize_and_callback_are_limited_per_ip_with_an_html_page() {
    let w = spawn_world_with(|cfg| {
        with_limits(
            cfg,
            json!({
                "authorize_per_ip": { "rate": "1pm", "burst": 2 },
                "callback_per_ip": { "rate": "1pm", "burst": 1 },
            }),
        )
    })
    .await;
    let c = code_client(&w, json!({})).await;
    let authorize = |ip: &'static str| authorize_from(&w, &c, ip, "st");
    for _ in 0..2 {
        assert_eq!(authorize("192.0.2.20").await.status(), 302);
    }
    assert_429_page(authorize("192.0.2.20").await).await;
    assert_eq!(authorize("192.0.2.21").await.status(), 302);

    let callback = |ip: &'static str| {
        w.app
            .http
            .get(w.app.url("/callback?state=unknown&code=x"))
            .header("x-forwarded-for", ip)
            .send()
    };
    assert_eq!(callback("192.0.2.30").await.unwrap().status(), 400);
    assert_429_page(callback("192.0.2.30").await.unwrap()).await;
    assert_eq!(callback("192.0.2.31").await.unwrap().status(), 400);
}
