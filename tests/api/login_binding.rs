//! Login bound to the browser, PKCE for everyone (issue 9, point 6).

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::world::*;

fn pkce_query(c: &Client) -> Vec<(String, String)> {
    Authorize::code_flow(c)
        .set("scope", "read")
        .set("state", "st")
        .into_pairs()
}

/// A browser of its own: its own cookie jar.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

/// In `http`: alice's login for `c`, up to the callback URL (not followed).
async fn callback_url(w: &World, http: &reqwest::Client, c: &Client) -> String {
    let q = pkce_query(c);
    let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    match until_callback(w, http, &q, "alice", "alice").await {
        Ok(url) => url,
        Err(res) => panic!("the login stopped at {}", res.status()),
    }
}

async fn assert_refused_page(res: reqwest::Response) {
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(
        res.headers().get("location").is_none(),
        "no redirect to the app"
    );
    let page = res.text().await.unwrap();
    assert!(page.contains("another browser"), "{page}");
    assert!(!page.contains("tsr_ac_"), "no code");
}

#[tokio::test]
async fn authorize_sets_the_login_cookie() {
    let w = spawn_world_with(|cfg| cfg["tokens"] = json!({"login_ttl_secs": 300})).await;
    let c = code_client(&w, json!({})).await;
    let res = browser()
        .get(w.app.url("/authorize"))
        .query(&pkce_query(&c))
        .send()
        .await
        .unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    // An http issuer (loopback only): no Secure, so no __Host- prefix either.
    assert!(cookie.starts_with("tessera-login="), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=300"] {
        assert!(cookie.contains(attr), "{attr} in {cookie}");
    }
    assert!(
        !cookie.contains("Secure") && !cookie.contains("Domain"),
        "{cookie}"
    );
    let value = cookie["tessera-login=".len()..].split(';').next().unwrap();
    assert_eq!(value.len(), 43);
    // Only its keyed hash is stored with the pending login.
    let stored = w.app.stored().await;
    assert!(stored.iter().all(|(_, v)| !v.contains(value)));

    // With an https issuer: the __Host- prefix, and Secure.
    let w = spawn_world_with(|cfg| cfg["server"]["issuer"] = json!("https://localhost")).await;
    let c = code_client(&w, json!({})).await;
    let res = browser()
        .get(w.app.url("/authorize"))
        .query(&pkce_query(&c))
        .send()
        .await
        .unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-tessera-login="), "{cookie}");
    for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{attr} in {cookie}");
    }
    assert!(!cookie.contains("Domain"));
}

/// Login CSRF (RFC 9700 §4.7): an attacker logs in as himself and sends the victim's browser to
/// the callback. Without the cookie of the browser that started it, no code reaches the app.
#[tokio::test]
async fn a_callback_in_another_browser_is_refused_without_a_code() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({})).await;
    let attacker = browser();
    let victim = browser();
    let callback = callback_url(&w, &attacker, &c).await;

    // The victim's browser has no login cookie at all: refused before the store is touched, so
    // the pending login is still there...
    assert_refused_page(victim.get(&callback).send().await.unwrap()).await;
    // ... and one it has from a login of its own does not match either (this consumes it).
    let _ = victim
        .get(w.app.url("/authorize"))
        .query(&pkce_query(&c))
        .send()
        .await
        .unwrap();
    assert_refused_page(victim.get(&callback).send().await.unwrap()).await;
    let res = attacker.get(&callback).send().await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "used up by the refused attempt"
    );

    // The browser that started a login completes it, even after a cookieless attempt.
    let callback = callback_url(&w, &attacker, &c).await;
    assert_refused_page(browser().get(&callback).send().await.unwrap()).await;
    let res = attacker.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let (to, p) = location(&res);
    assert_eq!(to, APP_REDIRECT);
    assert!(param(&p, "code").is_some());
}

/// One browser, two logins at once (two tabs): both complete.
#[tokio::test]
async fn two_logins_in_one_browser_both_complete() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({})).await;
    let http = browser();
    let first = callback_url(&w, &http, &c).await;
    let second = callback_url(&w, &http, &c).await;
    for cb in [second, first] {
        let res = http.get(&cb).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FOUND);
        assert!(param(&location(&res).1, "code").is_some());
    }
}

#[tokio::test]
async fn pkce_is_required_unless_a_confidential_app_opts_out() {
    let w = spawn_world().await;
    let q = |c: &Client| {
        vec![
            ("response_type", "code".to_string()),
            ("client_id", c.id.clone()),
            ("redirect_uri", APP_REDIRECT.to_string()),
        ]
    };
    // Confidential and public apps alike: no challenge, no login.
    for extra in [json!({}), json!({"public": true})] {
        let c = code_client(&w, extra).await;
        let res = w
            .app
            .http
            .get(w.app.url("/authorize"))
            .query(&q(&c))
            .send()
            .await
            .unwrap();
        let (to, p) = location(&res);
        assert_eq!(to, APP_REDIRECT);
        assert_eq!(param(&p, "error"), Some("invalid_request"));
    }
    // A public app cannot opt out, at creation or later.
    let dev = w.app.create_developer().await;
    let res = w
        .app
        .admin_post(
            &format!("/admin/developers/{dev}/apps"),
            json!({"name": "spa", "public": true, "pkce_required": false,
                   "redirect_uris": [APP_REDIRECT], "grant_types": ["authorization_code"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(res).await["field"], "pkce_required");
    let public = code_client(&w, json!({"public": true})).await;
    let path = format!(
        "/admin/developers/{}/apps/{}",
        public.developer_id, public.app_id
    );
    let res = w
        .app
        .admin_patch(&path, json!({"pkce_required": false}))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // A legacy confidential app turned off: logs in without PKCE, redeems without a verifier.
    let legacy = code_client(&w, json!({})).await;
    let path = format!(
        "/admin/developers/{}/apps/{}",
        legacy.developer_id, legacy.app_id
    );
    let res = w
        .app
        .admin_patch(&path, json!({"pkce_required": false}))
        .await;
    assert_eq!(json_of(res).await["pkce_required"], false);
    let res = login(
        &w,
        &[
            ("response_type", "code"),
            ("client_id", &legacy.id),
            ("redirect_uri", APP_REDIRECT),
        ],
        "alice",
        "alice",
    )
    .await;
    let code = param(&location(&res).1, "code").unwrap().to_string();
    let res = w
        .app
        .token(
            &legacy,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", APP_REDIRECT),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // Defaults are on, and shown.
    let fresh = code_client(&w, json!({})).await;
    let app = json_of(
        w.app
            .admin_get(&format!(
                "/admin/developers/{}/apps/{}",
                fresh.developer_id, fresh.app_id
            ))
            .await,
    )
    .await;
    assert_eq!(app["pkce_required"], true);
}
