//! A single-page app in headless Chromium (issue 15, points 2 and 4): the page under
//! `tests/clients/spa/`, served from an origin of its own, logs in through the broker and the
//! development identity provider, redeems its code with a cross-origin `fetch` to `/token`,
//! calls an API through the proxy (the browser's CORS preflight answered by the proxy's CORS
//! policy), refreshes and revokes — the browser enforcing CORS as it does for real apps. The
//! same page served from an origin the app did not register can read neither the broker's
//! answers nor the API's.

use std::net::TcpListener;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use fantoccini::Client;
use serde_json::{json, Value};

use crate::driver::{find, in_chromium, text_when_written};
use crate::gateway::{route, spawn_echo, spawn_proxy, TestProxy};
use crate::world::spawn_world;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/spa");

async fn spa_file(req: HttpRequest, config: web::Data<String>) -> HttpResponse {
    let (file, kind) = match req.path() {
        "/config.js" => {
            return HttpResponse::Ok()
                .content_type("text/javascript")
                .body(config.get_ref().clone())
        }
        "/spa.js" => ("spa.js", "text/javascript"),
        "/" | "/callback.html" | "/probe.html" => ("index.html", "text/html; charset=utf-8"),
        _ => return HttpResponse::NotFound().finish(),
    };
    match std::fs::read(format!("{DIR}/{file}")) {
        Ok(body) => HttpResponse::Ok().content_type(kind).body(body),
        Err(e) => panic!("{DIR}/{file}: {e}"),
    }
}

/// A free port on 127.0.0.1 and the origin it makes.
fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    (listener, origin)
}

/// Serves the page on `listener`, with `config` as `/config.js`.
fn serve_spa(listener: TcpListener, config: String) {
    let config = web::Data::new(config);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(config.clone())
            .default_service(web::to(spa_file))
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    tokio::spawn(server);
}

#[tokio::test]
async fn a_single_page_app_logs_in_and_calls_the_api_across_origins_in_chromium() {
    let w = spawn_world().await;
    // The page's origin must be known before the app is registered.
    let (listener, spa) = bind();
    let (other_listener, other) = bind();
    let redirect = format!("{spa}/callback.html");
    let app = w
        .app
        .create_client(json!({"public": true, "redirect_uris": [redirect],
            "allowed_origins": [spa], "grant_types": ["authorization_code", "refresh_token"],
            "scopes": ["openid", "read"]}))
        .await;
    let echo = spawn_echo();
    let cors = json!({"allowed_origins": [spa], "expose_headers": ["ratelimit-remaining"]});
    let api = route(
        "api",
        "/api",
        &echo,
        json!({"cors": cors, "quota": {"limit": 100, "period": "day"}}),
    );
    let proxy = spawn_proxy(&w.app, json!([api])).await;
    let config = json!({"broker": w.app.base, "api": proxy.base, "clientId": app.id,
                        "redirectUri": redirect});
    let config = format!("window.TESSERA = {config};");
    serve_spa(listener, config.clone());
    serve_spa(other_listener, config);

    in_chromium("spa-failure", |c| async move {
        let r = log_in(&c, &spa, &redirect).await;
        assert_eq!(r["token_status"], 200, "{r}");
        assert_eq!(r["token_type"], "Bearer", "{r}");
        assert_eq!(r["has_id_token"], true, "{r}");
        assert_eq!(r["api_status"], 200, "{r}");
        assert_eq!(
            r["api_ratelimit"], "99",
            "an exposed header is readable: {r}"
        );
        let echoed = &r["echoed"];
        assert_eq!(echoed["method"], "GET", "{r}");
        assert_eq!(echoed["path"], "/backend/orders/7", "{r}");
        assert_eq!(echoed["headers"]["x-tessera-client-id"][0], app.id.as_str());
        assert_eq!(echoed["headers"]["origin"][0], spa.as_str());
        assert_eq!(r["refresh_status"], 200, "{r}");
        assert_eq!(r["rotated"], true, "{r}");
        assert_eq!(r["revoke_status"], 200, "{r}");
        assert_one_preflight_answered(&proxy).await;

        // The same page from an origin the app did not register.
        c.goto(&format!("{other}/probe.html")).await.unwrap();
        let p = result(&c).await;
        assert_eq!(p["token"], "blocked (TypeError)", "{p}");
        assert_eq!(p["api"], "blocked (TypeError)", "{p}");
        assert_eq!(p["discovery"], "read 200", "discovery is public: {p}");
    })
    .await;
}

/// Opens the page at `spa`, signs in as alice through the identity provider's form, and
/// returns what the page wrote once back at `redirect`.
async fn log_in(c: &Client, spa: &str, redirect: &str) -> Value {
    c.goto(&format!("{spa}/")).await.unwrap();
    find(c, "#login").await.click().await.unwrap();
    find(c, "#username").await.send_keys("alice").await.unwrap();
    find(c, "#password").await.send_keys("alice").await.unwrap();
    find(c, "button[value=login]").await.click().await.unwrap();
    let r = result(c).await;
    let at = c.current_url().await.unwrap();
    assert!(at.as_str().starts_with(&format!("{redirect}?")), "{at}");
    r
}

/// The JSON the page wrote into `#result`.
async fn result(c: &Client) -> Value {
    let text = text_when_written(c, "#result").await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The browser's preflight was answered by the proxy (204), not forwarded: once.
async fn assert_one_preflight_answered(proxy: &TestProxy) {
    let metrics = proxy.metrics().await;
    let preflights = metrics.lines().find(|l| {
        l.starts_with("tessera_proxy_requests_total{")
            && l.contains("route=\"api\"")
            && l.contains("method=\"OPTIONS\"")
            && l.contains("status=\"204\"")
    });
    assert!(preflights.is_some_and(|l| l.ends_with(" 1")), "{metrics}");
}
