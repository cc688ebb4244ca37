//! Native apps (issue 15, point 1; RFC 8252): registered with `application_type = native`
//! through the admin API and RFC 7591; private-use scheme, claimed https and loopback redirect
//! URIs; the port of a loopback one chosen at run time; `localhost` refused; no secret; and
//! refresh tokens that expire when left unused.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::world::*;

const CUSTOM: &str = "com.example.app:/oauth2redirect";
const LOOPBACK: &str = "http://127.0.0.1/callback";

/// A native app (public, code + refresh) with the three kinds of redirect URI.
async fn native_app(w: &World, extra: Value) -> Client {
    let mut body = json!({
        "application_type": "native",
        "redirect_uris": [CUSTOM, LOOPBACK, "https://app.example.com/oauth2redirect"],
        "grant_types": ["authorization_code", "refresh_token"],
        "scopes": ["openid", "read"],
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    w.app.create_client(body).await
}

/// Alice's login for `c` to `redirect_uri`: where the broker sends the browser at the end.
async fn login_to(w: &World, c: &Client, redirect_uri: &str) -> reqwest::Response {
    let q = Authorize::code_flow(c)
        .set("redirect_uri", redirect_uri)
        .set("scope", "openid read")
        .set("state", "s1");
    login(w, &q.query(), "alice", "alice").await
}

/// The code of the final redirect, asserting it goes to `expected`.
fn code_at(res: &reqwest::Response, expected: &str) -> String {
    assert_eq!(res.status(), StatusCode::FOUND);
    let loc = res.headers()["location"].to_str().unwrap();
    assert!(loc.starts_with(&format!("{expected}?")), "{loc}");
    let (_, params) = location(res);
    assert_eq!(param(&params, "state"), Some("s1"));
    param(&params, "code").unwrap().to_string()
}

/// Redeems `code` as the public client `c` (client_id in the body) for `redirect_uri`.
async fn redeem_public(w: &World, c: &Client, code: &str, redirect_uri: &str) -> reqwest::Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", c.id.as_str()),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", VERIFIER),
    ];
    let url = w.app.url("/token");
    w.app.http.post(url).form(&form).send().await.unwrap()
}

#[tokio::test]
async fn native_apps_register_as_public_clients_with_native_redirect_uris() {
    let w = spawn_world().await;
    let dev = w.app.create_developer().await;
    let path = format!("/admin/developers/{dev}/apps");
    let body = json!({"name": "tv", "application_type": "native",
                      "redirect_uris": [CUSTOM, LOOPBACK, "http://[::1]:8000/cb"],
                      "grant_types": ["authorization_code", "refresh_token"]});
    let res = w.app.admin_post(&path, body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let app = json_of(res).await;
    assert_eq!(app["application_type"], "native");
    assert_eq!(app["public"], true);
    assert_eq!(app["token_endpoint_auth_method"], "none");
    assert!(
        app["credentials"][0].get("client_secret").is_none(),
        "{app}"
    );

    let refused = |body: Value| {
        let (w, path) = (&w, path.clone());
        async move { json_of(w.app.admin_post(&path, body).await).await }
    };
    let err = refused(
        json!({"name": "n2", "application_type": "native", "public": false,
                             "redirect_uris": [CUSTOM]}),
    )
    .await;
    assert_eq!(err["field"], "application_type", "{err}");
    // A web app may not use a private-use scheme; nobody may register localhost, or a
    // scheme without a dot, or a dangerous one.
    let err = refused(json!({"name": "w1", "redirect_uris": [CUSTOM],
                             "grant_types": ["authorization_code"]}))
    .await;
    assert_eq!(err["field"], "redirect_uris[0]", "{err}");
    for bad in [
        "http://localhost:8000/cb",
        "myapp:/cb",
        "javascript:alert(1)",
        "data:text/html,x",
        "file:///etc/passwd",
        "http://app.example.com/cb",
    ] {
        let err = refused(json!({"name": "n3", "application_type": "native",
                                 "redirect_uris": [bad]}))
        .await;
        assert_eq!(err["field"], "redirect_uris[0]", "{bad}: {err}");
        assert!(!err.to_string().contains(bad), "the input is not echoed");
    }
    let err = refused(json!({"name": "n4", "application_type": "tv"})).await;
    assert_eq!(err["field"], "application_type");
}

#[tokio::test]
async fn a_loopback_redirect_uri_takes_any_port_and_nothing_else_varies() {
    let w = spawn_world().await;
    let c = native_app(&w, json!({})).await;
    assert!(c.secret.is_empty(), "a native app gets no secret");
    // RFC 8252 §7.3: the port picked at run time.
    let at_port = "http://127.0.0.1:53219/callback";
    let res = login_to(&w, &c, at_port).await;
    let code = code_at(&res, at_port);
    // The code is bound to the URI as requested, port included.
    let other_port = redeem_public(&w, &c, &code, "http://127.0.0.1:53220/callback").await;
    assert_oauth_error(other_port, 400, "invalid_grant").await;
    let res = redeem_public(&w, &c, &code, at_port).await;
    assert_eq!(res.status(), StatusCode::OK);
    let tokens = json_of(res).await;
    assert!(tokens["refresh_token"].is_string() && tokens["id_token"].is_string());

    // Anything but the port differs: the error page, no redirect.
    for other in [
        "http://127.0.0.1:53219/callback/",
        "http://127.0.0.1:53219/other",
        "http://localhost:53219/callback",
        "http://[::1]:53219/callback",
        "http://127.0.0.1:53219@evil.example/callback",
        "https://127.0.0.1:53219/callback",
    ] {
        let q = Authorize::code_flow(&c).set("redirect_uri", other);
        let res = (w.app.http.get(w.app.url("/authorize")).query(&q.query()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{other}");
        assert!(res.headers().get("location").is_none(), "{other}");
    }
}

#[tokio::test]
async fn private_use_scheme_and_claimed_https_redirects_get_the_code() {
    let w = spawn_world().await;
    let c = native_app(&w, json!({})).await;
    let res = login_to(&w, &c, CUSTOM).await;
    let code = code_at(&res, CUSTOM);
    let (_, params) = location(&res);
    assert_eq!(param(&params, "iss"), Some(w.app.base.as_str()));
    let res = redeem_public(&w, &c, &code, CUSTOM).await;
    assert_eq!(res.status(), StatusCode::OK);

    let claimed = "https://app.example.com/oauth2redirect";
    let res = login_to(&w, &c, claimed).await;
    let code = code_at(&res, claimed);
    // Its port does not vary: only loopback ones do.
    let q =
        Authorize::code_flow(&c).set("redirect_uri", "https://app.example.com:444/oauth2redirect");
    let res = (w.app.http.get(w.app.url("/authorize")).query(&q.query()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(redeem_public(&w, &c, &code, claimed).await.status(), 200);
}

#[tokio::test]
async fn dynamic_registration_takes_application_type_native() {
    let w = spawn_world_with(|cfg| {
        cfg["registration"] = json!({"initial_access_token": IAT, "allowed_scopes": ["read"]});
    })
    .await;
    let register = |body: Value| {
        let w = &w;
        async move {
            let res = (w
                .app
                .http
                .post(w.app.url("/register"))
                .bearer_auth(IAT)
                .json(&body))
            .send()
            .await
            .unwrap();
            (res.status(), json_of(res).await)
        }
    };
    let (status, c) = register(json!({"application_type": "native",
        "redirect_uris": [CUSTOM, LOOPBACK], "grant_types": ["authorization_code",
        "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"]}))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    assert_eq!(c["application_type"], "native");
    assert_eq!(c["token_endpoint_auth_method"], "none");
    assert!(c.get("client_secret").is_none(), "{c}");
    let (status, err) = register(json!({"application_type": "native",
        "token_endpoint_auth_method": "client_secret_basic", "redirect_uris": [CUSTOM]}))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"], "invalid_client_metadata", "{err}");
    let (_, err) = register(json!({"redirect_uris": [CUSTOM]})).await;
    assert_eq!(err["error"], "invalid_redirect_uri", "a web client: {err}");
    let (_, err) = register(json!({"redirect_uris": ["http://localhost/cb"]})).await;
    assert_eq!(err["error"], "invalid_redirect_uri", "{err}");
    let (_, web) = register(json!({"redirect_uris": ["https://app.example.com/cb"]})).await;
    assert_eq!(web["application_type"], "web");
    assert!(web["client_secret"].is_string());
}

/// Refreshes `rt` as the public client `c`.
async fn refresh(w: &World, c: &Client, rt: &str) -> reqwest::Response {
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", c.id.as_str()),
        ("refresh_token", rt),
    ];
    w.app
        .http
        .post(w.app.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_unused_refresh_token_expires_after_the_idle_lifetime() {
    let w = spawn_world_with(|cfg| cfg["tokens"] = json!({"refresh_idle_secs": 2})).await;
    let c = native_app(&w, json!({})).await;
    let res = login_to(&w, &c, LOOPBACK).await;
    let code = code_at(&res, LOOPBACK);
    let tokens = json_of(redeem_public(&w, &c, &code, LOOPBACK).await).await;
    // Used within the idle lifetime, each refresh token starts a new period.
    let mut rt = tokens["refresh_token"].as_str().unwrap().to_string();
    for _ in 0..2 {
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        let res = refresh(&w, &c, &rt).await;
        assert_eq!(res.status(), StatusCode::OK);
        rt = json_of(res).await["refresh_token"]
            .as_str()
            .unwrap()
            .to_string();
    }
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert_oauth_error(refresh(&w, &c, &rt).await, 400, "invalid_grant").await;

    // An app's own idle lifetime wins over the configuration (0: none).
    let c = native_app(&w, json!({"refresh_idle_secs": 0})).await;
    let res = login_to(&w, &c, LOOPBACK).await;
    let code = code_at(&res, LOOPBACK);
    let tokens = json_of(redeem_public(&w, &c, &code, LOOPBACK).await).await;
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(refresh(&w, &c, rt).await.status(), StatusCode::OK);
    let err = json_of(
        w.app
            .admin_post(
                &format!("/admin/developers/{}/apps", c.developer_id),
                json!({"name": "too-idle", "refresh_idle_secs": 400 * 86_400}),
            )
            .await,
    )
    .await;
    assert_eq!(err["field"], "refresh_idle_secs");
}
