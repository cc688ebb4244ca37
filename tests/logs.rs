//! No secret, token, password or Authorization header ever reaches a log line, even at the most
//! verbose level. A test binary of its own: it installs the process-wide subscriber.

// Tests may panic on what they did not expect: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "api/redis_server.rs"]
#[allow(dead_code)]
mod redis_server;
#[path = "api/world.rs"]
#[allow(dead_code)]
mod world;

use std::io::Write;
use std::sync::{Arc, Mutex};

use helpers::*;
use serde_json::json;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_never_reach_the_logs() {
    let capture = Capture::default();
    let sink = capture.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .init();

    let app = spawn_app_with(&shared_redis_url(), |cfg| {
        cfg["registration"] = json!({"initial_access_token": IAT, "allowed_scopes": ["read"]});
    })
    .await;
    let c = app.default_client().await;
    let token = app.access_token(&c).await;
    let _ = app.introspect(&c, &token).await;
    let _ = app
        .http
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.id.as_str()),
            ("client_secret", c.secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    // A secret in the query string (refused) must not be logged either.
    let _ = app
        .http
        .post(app.url(&format!("/token?client_secret={}", c.secret)))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let wrong = Client {
        secret: "tsr_cs_wrong-guess-1234".into(),
        ..c.clone()
    };
    let _ = app
        .token(&wrong, &[("grant_type", "client_credentials")])
        .await;
    let res = app
        .http
        .post(app.url("/register"))
        .bearer_auth(IAT)
        .json(&json!({"grant_types": ["client_credentials"]}))
        .send()
        .await
        .unwrap();
    let dcr_secret = json_of(res).await["client_secret"]
        .as_str()
        .unwrap()
        .to_string();
    let _ = app.post_form("/revoke", &c, &[("token", &token)]).await;

    // User flows: a login through the upstream, the password grant (right and wrong password),
    // a refresh, and a code replay.
    let w = world::spawn_world().await;
    let wc = world::code_client(
        &w,
        json!({"grant_types": ["authorization_code", "refresh_token", "password"]}),
    )
    .await;
    let user_tokens = world::alice_tokens(&w, &wc, "openid read").await;
    let refresh = user_tokens["refresh_token"].as_str().unwrap().to_string();
    let id_token = user_tokens["id_token"].as_str().unwrap().to_string();
    let res = w
        .app
        .token(
            &wc,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    let rotated = json_of(res).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let password = "Pw-never-logged-7Qz";
    let _ = w
        .app
        .token(
            &wc,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", password),
            ],
        )
        .await;
    let res = w
        .app
        .token(
            &wc,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice"),
            ],
        )
        .await;
    let pw_token = json_of(res).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let code = world::code_for(&w, &wc, "read").await;
    let _ = world::redeem(&w, &wc, &code).await;
    let _ = world::redeem(&w, &wc, &code).await;

    // The proxy: a valid token, a revoked one, an API key in the query, a dead backend.
    let proxied = app.access_token(&c).await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let proxy = spawn_proxy(&app, &dead).await;
    for path in ["/orders/1?q=1", "/keyed/1"] {
        let _ = app
            .http
            .get(format!("{proxy}{path}"))
            .bearer_auth(&proxied)
            .send()
            .await;
    }
    let _ = app
        .http
        .get(format!("{proxy}/keyed/1?apikey={}&q=1", c.id))
        .send()
        .await;
    let _ = app.post_form("/revoke", &c, &[("token", &proxied)]).await;
    let _ = app
        .http
        .get(format!("{proxy}/orders/1"))
        .bearer_auth(&proxied)
        .send()
        .await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("route=/token"),
        "the capture works and records routes:\n{logs}"
    );
    // The request span (broker/src/telemetry.rs): route, a request id (a v4 UUID) and the
    // status, with one `request` event per request and the error's description on a refusal.
    let token_line = |status: &str| {
        logs.lines().find(|l| {
            l.contains("route=/token") && l.contains(&format!(" request status={status}"))
        })
    };
    let ok = token_line("200").expect("a `request` event for a 200 at /token");
    let id = ok.split("request_id=").nth(1).expect("a request id");
    assert!(
        uuid::Uuid::parse_str(&id[..36]).is_ok(),
        "the request id is a UUID: {ok}"
    );
    assert!(
        token_line("401").is_some(),
        "a refused guess is logged:\n{logs}"
    );
    assert!(
        logs.lines().any(|l| l.contains(" WARN ")
            && l.contains("Error encountered while processing the incoming HTTP request")),
        "an error answer logs its description at warn:\n{logs}"
    );
    assert!(
        logs.contains("backend exchange failed"),
        "the proxy's calls were captured:\n{logs}"
    );
    for secret in [
        c.secret.as_str(),
        token.as_str(),
        &token[7..30],
        dcr_secret.as_str(),
        "tsr_cs_wrong-guess-1234",
        ADMIN_TOKEN,
        IAT,
        PEPPER,
        refresh.as_str(),
        rotated.as_str(),
        &id_token[id_token.len() - 30..],
        password,
        pw_token.as_str(),
        proxied.as_str(),
        &proxied[7..30],
        &format!("apikey={}", c.id),
        code.as_str(),
        world::UPSTREAM_SECRET,
        world::VERIFIER,
    ] {
        assert!(
            !logs.contains(secret),
            "a secret reached the logs: {}…",
            &secret[..10]
        );
    }
    assert!(!logs.to_ascii_lowercase().contains("authorization: basic"));
    assert!(
        !logs.contains("client_secret="),
        "a query string was logged"
    );
}

/// A proxy in front of `backend` on `app`'s Redis, with a token route and an API-key route;
/// its base URL.
async fn spawn_proxy(app: &TestApp, backend: &str) -> String {
    use tessera_proxy::config::ProxyConfig;
    use tessera_proxy::state::ConfigSource;
    let defaults = json!({
        "server": { "listen": "127.0.0.1:0", "workers": 1 },
        "store": { "url": app.redis_url, "prefix": app.prefix },
        "security": { "pepper": PEPPER },
        "routes": [
            { "name": "orders", "path": "/orders", "upstream": backend,
              "auth": { "kind": "tessera" } },
            { "name": "keyed", "path": "/keyed", "upstream": backend,
              "auth": { "kind": "api_key", "query": "apikey" } },
        ],
    });
    let source = ConfigSource {
        file: None,
        defaults,
    };
    let cfg = ProxyConfig::load(source.defaults.clone(), None).unwrap();
    let listeners = tessera_proxy::Listeners::bind(&cfg, "127.0.0.1:0".parse().unwrap()).unwrap();
    let proxy = tessera_proxy::Proxy::build(cfg, source, None, listeners).unwrap();
    let base = format!("http://127.0.0.1:{}", proxy.port());
    tokio::spawn(proxy.run_until_stopped());
    base
}
