//! Upstream answers are size-capped (`upstream.max_response_bytes`): a provider that serves an
//! endless JWKS, an oversized discovery document or an endless token response is cut off at
//! the cap as it streams in — the broker answers "unavailable" at once instead of buffering until
//! its timeout.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

const CAP: usize = 64 * 1024;

/// Bytes the hostile upstream has produced so far.
type Sent = Arc<AtomicUsize>;

fn endless(sent: Sent) -> HttpResponse {
    let chunk = web::Bytes::from(vec![b' '; 16 * 1024]);
    let stream = futures_util::stream::unfold((sent, chunk), |(sent, chunk)| async move {
        sent.fetch_add(chunk.len(), Ordering::SeqCst);
        Some((Ok::<_, actix_web::Error>(chunk.clone()), (sent, chunk)))
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(stream)
}

async fn discovery(mode: web::Path<String>, base: web::Data<String>) -> HttpResponse {
    let issuer = format!("{}/{mode}", base.get_ref());
    let doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    if mode.as_str() == "disco" {
        // Valid JSON, padded far past the cap, with an honest Content-Length.
        let mut body = doc.to_string();
        body.push_str(&" ".repeat(4 * 1024 * 1024));
        return HttpResponse::Ok()
            .content_type("application/json")
            .body(body);
    }
    HttpResponse::Ok().json(doc)
}

async fn jwks(mode: web::Path<String>, sent: web::Data<Sent>) -> HttpResponse {
    match mode.as_str() {
        "jwks" => endless(sent.get_ref().clone()),
        _ => HttpResponse::Ok().json(json!({"keys": []})),
    }
}

async fn token(sent: web::Data<Sent>) -> HttpResponse {
    endless(sent.get_ref().clone())
}

/// The hostile upstream: its base URL and its byte counter.
fn spawn_upstream() -> (String, Sent) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let sent: Sent = Arc::default();
    let (b, s) = (base.clone(), sent.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(b.clone()))
            .app_data(web::Data::new(s.clone()))
            .route(
                "/{mode}/.well-known/openid-configuration",
                web::get().to(discovery),
            )
            .route("/{mode}/jwks", web::get().to(jwks))
            .route("/{mode}/token", web::post().to(token))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (base, sent)
}

/// The upstream timeout of these tests; an answer cut off at the cap comes well before it
/// ([`QUICK`]), bounded by it rather than by wall-clock speed, which a loaded machine lacks.
const TIMEOUT_MS: u64 = 10_000;
const QUICK: Duration = Duration::from_millis(TIMEOUT_MS / 2);

async fn broker_for(issuer: String) -> TestApp {
    spawn_app_with(&shared_redis_url(), move |cfg| {
        cfg["upstream"] = json!({
            "issuer": issuer,
            "client_id": "tessera-broker",
            "client_secret": "upstream-secret-0123456789abcdef",
            "timeout_ms": TIMEOUT_MS,
            "max_response_bytes": CAP,
        });
        cfg["id_token"] = json!({"generate_key": true});
    })
    .await
}

/// `/authorize` for a fresh code client; where it sends the browser, and how long it took.
async fn authorize(app: &TestApp) -> (String, Duration) {
    let c = app
        .create_client(json!({
            "redirect_uris": ["http://127.0.0.1:9/cb"],
            "grant_types": ["authorization_code"],
            "scopes": ["read"],
        }))
        .await;
    let started = Instant::now();
    let res = app
        .http
        .get(app.url("/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", c.id.as_str()),
            ("scope", "read"),
            ("code_challenge", crate::world::CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    (to, started.elapsed())
}

#[tokio::test]
async fn an_endless_jwks_is_cut_off_at_the_cap() {
    let (base, sent) = spawn_upstream();
    let app = broker_for(format!("{base}/jwks")).await;
    let (to, took) = authorize(&app).await;
    assert!(to.contains("error=temporarily_unavailable"), "{to}");
    assert!(took < QUICK, "took {took:?}: read until the timeout?");
    // What was produced is the cap plus what the sockets buffer, not the 10 s of a full read.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let produced = sent.load(Ordering::SeqCst);
    assert!(produced < 16 * 1024 * 1024, "{produced} bytes produced");
}

#[tokio::test]
async fn an_oversized_discovery_document_is_refused_unread() {
    let (base, _) = spawn_upstream();
    let app = broker_for(format!("{base}/disco")).await;
    let (to, took) = authorize(&app).await;
    assert!(to.contains("error=temporarily_unavailable"), "{to}");
    assert!(took < QUICK, "took {took:?}");
}

#[tokio::test]
async fn an_endless_token_response_is_cut_off_at_the_cap() {
    let (base, _) = spawn_upstream();
    let app = broker_for(format!("{base}/token")).await;
    let c = app
        .create_client(json!({"grant_types": ["password"], "scopes": ["read"]}))
        .await;
    let started = Instant::now();
    let res = app
        .token(
            &c,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice"),
            ],
        )
        .await;
    assert_oauth_error(res, 503, "temporarily_unavailable").await;
    assert!(started.elapsed() < QUICK);
}

#[test]
fn the_cap_has_documented_bounds() {
    for (bad, key) in [
        (1024, "max_response_bytes"),
        (64 * 1024 * 1024, "max_response_bytes"),
    ] {
        let mut cfg = test_config("memory");
        cfg["upstream"] = json!({
            "issuer": "https://idp.example.com",
            "client_id": "c",
            "client_secret": "s",
            "max_response_bytes": bad,
        });
        cfg["id_token"] = json!({"generate_key": true});
        let err = tessera_broker::config::BrokerConfig::load(cfg, None).unwrap_err();
        assert!(err.to_string().contains(key), "{err}");
    }
}
