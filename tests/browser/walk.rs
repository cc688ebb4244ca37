//! The portal walked through as people do it, in Chromium: Alice signs in through the
//! development identity provider's form, creates an app with two products, copies its secret,
//! gets a token with it over HTTP, calls the proxy a few times (one call over her product's
//! spike arrest) and sees those calls on her app's chart; Olivia, an operator, approves the
//! manual product and suspends the app, after which the proxy refuses its token, and the
//! console's security figures count the refusal. Screenshots of each step go to
//! `target/screenshots/` (the README's pictures, `docs/img/`, are taken from them).

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::driver::{find, in_chromium, shot, shot_of, text};
use crate::gateway::{route, spawn_echo, spawn_proxy};
use crate::helpers::json_of;
use crate::world::{spawn_world_with, World};

/// The sample backend and the proxy in front of it (one route, `orders:read` required),
/// sharing the broker's Redis: its base URL.
async fn proxy(w: &World) -> String {
    let scopes = json!({"scopes": {"required": ["orders:read"]}});
    let orders = route("orders", "/orders", &spawn_echo(), scopes);
    spawn_proxy(&w.app, json!([orders])).await.base
}

/// Signs in as `user` from the landing page, through the identity provider's form.
async fn sign_in(c: &Client, w: &World, user: &str) {
    c.goto(&w.app.url("/portal")).await.unwrap();
    find(c, "#signin").await.click().await.unwrap();
    find(c, "#username").await.send_keys(user).await.unwrap();
    find(c, "#password").await.send_keys(user).await.unwrap();
    find(c, "button[value=login]").await.click().await.unwrap();
    find(c, "form.signout").await;
    assert!(text(c, ".who")
        .await
        .contains(&format!("{user}@example.com")));
}

/// A client_credentials token for `id`/`secret` with `scope`, over HTTP: the answer.
async fn token(w: &World, id: &str, secret: &str, scope: Option<&str>) -> reqwest::Response {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    reqwest::Client::new()
        .post(w.app.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn call(proxy: &str, token: &str) -> StatusCode {
    let url = format!("{proxy}/orders/1");
    let res = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    res.status()
}

#[tokio::test]
async fn a_developer_and_an_operator_walk_through_the_portal() {
    let w = spawn_world_with(|cfg| {
        cfg["portal"] = json!({"operator_groups": [tessera_devidp::OPERATOR_GROUP]});
    })
    .await;
    for p in [
        json!({"name": "orders", "display_name": "Orders API", "scopes": ["orders:read"],
               "description": "Read the dealership's orders.",
               "rate_plan": {"spike_arrest": "4ps", "quota": {"limit": 10000, "period": "day"}}}),
        json!({"name": "reports", "display_name": "Sales reports", "scopes": ["reports:read"],
               "description": "Monthly sales figures; an operator approves each app.",
               "approval": "manual"}),
    ] {
        assert_eq!(
            w.app.admin_post("/admin/products", p).await.status(),
            StatusCode::CREATED
        );
    }
    let proxy = proxy(&w).await;
    in_chromium("failure", |c| async move { walk(&c, &w, &proxy).await }).await;
}

async fn walk(c: &Client, w: &World, proxy: &str) {
    sign_in(c, w, "alice").await;
    find(c, "#product-orders").await;
    shot(c, "catalogue").await;

    // Alice creates an app with both products; the secret is shown once.
    c.goto(&w.app.url("/portal/apps")).await.unwrap();
    find(c, "input[name=name]")
        .await
        .send_keys("Dealer dashboard")
        .await
        .unwrap();
    find(c, "input[name=product][value=orders]")
        .await
        .click()
        .await
        .unwrap();
    find(c, "input[name=product][value=reports]")
        .await
        .click()
        .await
        .unwrap();
    find(c, "#create-app button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    let copy = find(c, "button.copy").await;
    assert!(
        copy.is_displayed().await.unwrap(),
        "the script shows the copy button"
    );
    copy.click().await.unwrap();
    let client_id = text(c, "#new-client-id").await;
    let secret = text(c, "#new-secret").await;
    assert!(secret.starts_with("tsr_cs_"));
    let subs = text(c, "#subscriptions").await;
    assert!(
        subs.contains("orders approved") && subs.contains("reports pending"),
        "{subs}"
    );

    // Over HTTP: a token with the secret, then calls through the proxy.
    let res = token(w, &client_id, &secret, None).await;
    let body: Value = json_of(res).await;
    assert_eq!(
        body["scope"], "orders:read",
        "the pending product grants nothing yet"
    );
    let access = body["access_token"].as_str().unwrap().to_string();
    // The product's spike arrest (4ps: one call every 250 ms, no burst) passes calls 300 ms
    // apart and refuses the second of two back to back.
    for _ in 0..5 {
        assert_eq!(call(proxy, &access).await, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(call(proxy, &access).await, StatusCode::OK);
    assert_eq!(call(proxy, &access).await, StatusCode::TOO_MANY_REQUESTS);
    let pending = token(w, &client_id, &secret, Some("reports:read")).await;
    assert_eq!(pending.status(), StatusCode::BAD_REQUEST);

    // The calls show on the app's page, in its chart.
    let app_id = app_page_id(c).await;
    let page = w.app.url(&format!("/portal/apps/{app_id}"));
    let start = Instant::now();
    loop {
        c.goto(&page).await.unwrap();
        if text(c, "#tile-calls").await == "7" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the calls never showed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let chart = find(c, "#traffic svg.chart path.line.s1").await;
    assert!(chart.attr("d").await.unwrap().is_some());
    assert_eq!(text(c, "#tile-throttled").await, "1");
    assert_eq!(
        text(c, "#tile-errors").await,
        "1",
        "the 429 is an error too"
    );
    let routes = text(c, "#traffic").await;
    assert!(routes.contains("orders"), "{routes}");
    shot(c, "app").await;
    assert!(
        !c.source().await.unwrap().contains(&secret),
        "the secret is shown once"
    );

    // Alice signs out; Olivia, an operator, signs in and approves the manual product.
    find(c, "form.signout button").await.click().await.unwrap();
    find(c, "#signin").await;
    sign_in(c, w, "olivia").await;
    find(c, "nav a[href='/portal/admin']")
        .await
        .click()
        .await
        .unwrap();
    find(c, "#pending").await;
    shot(c, "console").await;
    find(c, "#pending button.approve")
        .await
        .click()
        .await
        .unwrap();
    // The approval lands on the app's console page.
    find(c, "#app-standing").await;
    let subs = text(c, "#subscriptions").await;
    assert!(subs.contains("reports approved"), "{subs}");
    assert!(text(c, "#effective-scopes").await.contains("reports:read"));
    let res = token(w, &client_id, &secret, Some("reports:read")).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "approved: the product's scope is granted"
    );

    // Olivia suspends the app: the proxy refuses its token at once.
    find(c, "#app-standing").await.click().await.unwrap();
    find(c, "#app-status.revoked").await;
    let start = Instant::now();
    while call(proxy, &access).await != StatusCode::UNAUTHORIZED {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the token still works"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shot(c, "suspended").await;

    // The console's traffic counts the refused token among the security figures.
    let start = Instant::now();
    loop {
        c.goto(&w.app.url("/portal/admin")).await.unwrap();
        if text(c, "#tile-refused").await == "1" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the refusal never showed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(text(c, "#tile-authenticated").await, "7");
    // The range selector is a plain GET form, which the script submits on change (a click on
    // "Show" as well would race that navigation).
    let range = find(c, "#traffic select[name=range]").await;
    range.select_by_value("15m").await.unwrap();
    let start = Instant::now();
    while c.current_url().await.unwrap().query() != Some("range=15m") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the range form did not submit"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    find(c, "#traffic option[value='15m'][selected]").await;
    assert_eq!(
        text(c, "#tile-refused").await,
        "1",
        "the same figures in 15 minutes"
    );
    // A window tall enough for the whole section in one picture.
    c.set_window_size(1280, 2400)
        .await
        .expect("resize the window");
    shot_of(c, "#traffic", "traffic").await;
}

/// The app id in the current page's address (`…/portal/apps/{id}`), or from its settings.
async fn app_page_id(c: &Client) -> String {
    let form = c
        .find(Locator::Css("form[action$='/credentials']"))
        .await
        .unwrap();
    let action = form.attr("action").await.unwrap().unwrap();
    action
        .trim_start_matches("/portal/apps/")
        .trim_end_matches("/credentials")
        .to_string()
}
