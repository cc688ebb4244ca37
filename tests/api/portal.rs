//! The developer portal over HTTP, without a browser (the real-browser walk is
//! `tests/browser/`): sign-in through the development identity provider's form, the session
//! cookie and what Redis keeps of it, CSRF on every form, the Content-Security-Policy, operators
//! and everyone else, and apps created through the same catalog code as the admin API.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::world::*;

/// A world whose portal makes `tessera-operators` operators.
pub(crate) async fn portal_world() -> World {
    spawn_world_with(|cfg| {
        cfg["portal"] = json!({"operator_groups": ["tessera-operators"]});
    })
    .await
}

/// A browser (cookie-keeping client) signed in to the portal as `user`.
pub async fn signed_in(w: &World, user: &str) -> reqwest::Client {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let res = http.get(w.app.url("/portal/signin")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let (upstream, params) = location(&res);
    assert_eq!(
        param(&params, "redirect_uri"),
        Some(w.app.url("/portal/callback").as_str())
    );
    assert_eq!(param(&params, "code_challenge_method"), Some("S256"));
    assert!(param(&params, "nonce").is_some());
    let form_url = format!(
        "{upstream}?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish()
    );
    let back = submit_login_form(&http, &form_url, &[("username", user), ("password", user)]).await;
    let (callback, _) = location(&back);
    assert!(
        callback.starts_with(&w.app.url("/portal/callback")),
        "{callback}"
    );
    let done = http
        .get(back.headers()["location"].to_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        done.status(),
        StatusCode::SEE_OTHER,
        "{}",
        done.text().await.unwrap()
    );
    let cookie = done.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("tessera-portal="), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    http
}

pub async fn page(http: &reqwest::Client, url: &str) -> (StatusCode, String) {
    let res = http.get(url).send().await.unwrap();
    let status = res.status();
    if status == StatusCode::OK {
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(res.headers()["cache-control"], "no-store");
    }
    (status, res.text().await.unwrap())
}

/// The value of the first hidden `csrf` field of a page.
fn csrf(html: &str) -> String {
    hidden_fields(html)
        .into_iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v)
        .expect("a csrf field")
}

pub(crate) fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {html}"))
        + start.len();
    &html[from..from + html[from..].find(end).unwrap()]
}

#[tokio::test]
async fn a_developer_signs_in_creates_an_app_and_gets_a_token_with_its_secret() {
    let w = portal_world().await;
    let res = w
        .app
        .admin_post(
            "/admin/products",
            json!({"name": "orders", "display_name": "Orders API",
            "scopes": ["orders:read"], "description": "<b>Orders</b> & more"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    w.app
        .admin_post(
            "/admin/products",
            json!({"name": "secret-sauce", "visibility": "private"}),
        )
        .await;

    // Anonymous: the landing page, and no page of the portal proper.
    let anon = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (status, landing) = page(&anon, &w.app.url("/portal")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(landing.contains("/portal/signin") && !landing.contains("Orders API"));
    let res = anon.get(w.app.url("/portal/apps")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    let http = signed_in(&w, "alice").await;
    let (status, catalogue) = page(&http, &w.app.url("/portal")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(catalogue.contains("Orders API"), "{catalogue}");
    assert!(
        !catalogue.contains("<b>Orders") && catalogue.contains("&#60;b&#62;Orders"),
        "escaped"
    );
    assert!(
        !catalogue.contains("secret-sauce"),
        "private products stay unknown"
    );
    assert!(
        !catalogue.contains("style=") && !catalogue.contains("<script>"),
        "no inline style or script"
    );

    // A form without the session's token does nothing.
    let (_, apps) = page(&http, &w.app.url("/portal/apps")).await;
    let token = csrf(&apps);
    let form = [
        ("name", "shop"),
        ("redirect_uris", "http://127.0.0.1:9/cb"),
        ("product", "orders"),
    ];
    let res = http
        .post(w.app.url("/portal/apps"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let mut forged = form.to_vec();
    forged.push(("csrf", "forged-token-forged-token-forged-token-12"));
    let res = http
        .post(w.app.url("/portal/apps"))
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let devs = json_of(w.app.admin_get("/admin/developers").await).await;
    let alice = devs
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["email"] == "alice@example.com")
        .unwrap();
    let dev_apps = format!("/admin/developers/{}/apps", alice["id"].as_str().unwrap());
    assert_eq!(json_of(w.app.admin_get(&dev_apps).await).await, json!([]));

    // With it: the app, its secret shown once, subscribed through the catalog.
    let mut good = form.to_vec();
    good.push(("csrf", &token));
    let res = http
        .post(w.app.url("/portal/apps"))
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    let client_id = between(&html, "id=\"new-client-id\">", "<").to_string();
    let secret = between(&html, "id=\"new-secret\" class=\"secret-value\">", "<").to_string();
    assert!(secret.starts_with("tsr_cs_"), "{secret}");
    let apps = json_of(w.app.admin_get(&dev_apps).await).await;
    let app: &Value = &apps[0];
    assert_eq!(app["name"], "shop");
    assert_eq!(app["subscriptions"][0]["status"], "approved");
    assert_eq!(app["effective_scopes"], json!(["orders:read"]));
    let stored = w.app.stored().await;
    assert!(
        !stored.iter().any(|(_, v)| v.contains(&secret)),
        "the secret is not stored"
    );

    // The secret works at the token endpoint, with the product's scope.
    let c = Client {
        developer_id: alice["id"].as_str().unwrap().into(),
        app_id: app["id"].as_str().unwrap().into(),
        id: client_id,
        secret,
    };
    let res = w
        .app
        .token(&c, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(json_of(res).await["scope"], "orders:read");

    // Reloading the app page never shows the secret again.
    let (_, again) = page(&http, &w.app.url(&format!("/portal/apps/{}", c.app_id))).await;
    assert!(!again.contains(&c.secret) && again.contains(&c.id));
    // Bob cannot see Alice's app.
    let bob = signed_in(&w, "bob").await;
    let (status, _) = page(&bob, &w.app.url(&format!("/portal/apps/{}", c.app_id))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn only_operators_reach_the_console_and_sessions_end() {
    let w = portal_world().await;
    let alice = signed_in(&w, "alice").await;
    let (status, _) = page(&alice, &w.app.url("/portal/admin")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let olivia = signed_in(&w, "olivia").await;
    let (status, console) = page(&olivia, &w.app.url("/portal/admin")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(console.contains("Security") && console.contains("<svg class=\"chart\""));
    let (status, devs) = page(&olivia, &w.app.url("/portal/admin/developers")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(devs.contains("alice@example.com") && devs.contains("olivia@example.com"));

    // Redis keeps the session under the cookie's keyed hash, never the cookie itself.
    let sessions: Vec<(String, String)> = w
        .app
        .stored()
        .await
        .into_iter()
        .filter(|(k, _)| k.contains("psess:"))
        .collect();
    assert_eq!(sessions.len(), 2, "{sessions:?}");

    // Suspending Alice signs her out of everything.
    let row = devs
        .split("<tr>")
        .find(|r| r.contains(">alice@example.com<"))
        .unwrap();
    let dev = between(row, "href=\"/portal/admin/developers/", "\"").to_string();
    let token = csrf(&devs);
    let res = olivia
        .post(
            w.app
                .url(&format!("/portal/admin/developers/{dev}/suspend")),
        )
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let d = json_of(w.app.admin_get(&format!("/admin/developers/{dev}")).await).await;
    assert_eq!(
        (d["email"].as_str(), d["status"].as_str()),
        (Some("alice@example.com"), Some("suspended"))
    );
    let (status, _) = page(&alice, &w.app.url("/portal/apps")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Signing out ends the session in Redis too.
    let res = olivia
        .post(w.app.url("/portal/signout"))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = olivia.get(w.app.url("/portal/apps")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "signed out");
    let left = w
        .app
        .stored()
        .await
        .into_iter()
        .filter(|(k, _)| k.contains("psess:"))
        .count();
    assert_eq!(left, 1, "only Alice's (suspended) session is left");
}

#[tokio::test]
async fn sign_in_answers_are_checked() {
    let w = portal_world().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    for query in [
        "",
        "?state=x&code=y",
        "?error=access_denied&state=x",
        "?state=%00&code=%ff",
    ] {
        let res = http
            .get(w.app.url(&format!("/portal/callback{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{query}");
        let body = res.text().await.unwrap();
        assert!(
            !body.contains("access_denied") && !body.contains("%ff"),
            "never echoed: {body}"
        );
    }
    // A sign-in started in one browser does not complete in another.
    let res = http.get(w.app.url("/portal/signin")).send().await.unwrap();
    let (upstream, params) = location(&res);
    let form_url = format!(
        "{upstream}?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish()
    );
    let back = submit_login_form(
        &http,
        &form_url,
        &[("username", "alice"), ("password", "alice")],
    )
    .await;
    let other = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = other
        .get(back.headers()["location"].to_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers().get("set-cookie").is_none());
    // Static files are the only script and style, and nothing else is served there.
    let css = http
        .get(w.app.url("/portal/static/portal.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    // Pages and files that only read answer HEAD too (RFC 9110 §9.1): their head, no body.
    for path in ["/portal/static/portal.css", "/portal"] {
        let head = http.head(w.app.url(path)).send().await.unwrap();
        assert_ne!(head.status(), StatusCode::METHOD_NOT_ALLOWED, "HEAD {path}");
        assert!(
            head.status().is_success() || head.status().is_redirection(),
            "HEAD {path}"
        );
        assert_eq!(head.bytes().await.unwrap().len(), 0, "HEAD {path}");
    }
    let none = http
        .get(w.app.url("/portal/static/..%2Fsecret"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
}
