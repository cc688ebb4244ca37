//! The broker yardstick of issue 11 (P3/P4): the least a client_credentials token endpoint and
//! an RFC 7662 introspection endpoint can do in actix-web with Redis, to compare the broker with
//! in the same run (`bench/broker.sh`, same pinning, one worker, same wrk scripts).
//!
//! * `POST /token`: one constant-time check of the HTTP Basic credentials (RFC 6749 §2.3.1),
//!   the form's `grant_type=client_credentials`, a random 256-bit token, **one Redis `SET`** of
//!   its record with the token's lifetime, and the JSON token response (RFC 6749 §5.1).
//! * `POST /introspect`: the same Basic check, the form's `token`, **one Redis `GET`**, and the
//!   stored record (`"active": true`) or `{"active": false}` (RFC 7662 §2.2).
//!
//! Nothing else: no client registry (the one client's credentials come from the environment),
//! no rate limits, no hashing of the token before it becomes a key, no audit or revocation
//! bookkeeping — the yardstick is the floor, what the broker's promises are measured against.
//! Each worker owns its Redis connection (made lazily on the worker's own runtime, so no
//! cross-thread hand-off per call).
//!
//! Environment: `YARDSTICK_LISTEN` (127.0.0.1:PORT), `YARDSTICK_REDIS_URL`,
//! `YARDSTICK_CLIENT_ID`, `YARDSTICK_CLIENT_SECRET`, `YARDSTICK_WORKERS` (default 1).

use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::Deserialize;
use subtle::ConstantTimeEq;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOKEN_TTL_SECS: u64 = 3600;

/// One worker's state: its own Redis connection and the expected `client_id:client_secret`.
struct Worker {
    redis: ConnectionManager,
    credentials: Vec<u8>,
    client_id: String,
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
}

#[derive(Deserialize)]
struct IntrospectForm {
    token: String,
}

fn error(status: actix_web::http::StatusCode, code: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .content_type("application/json")
        .body(format!(r#"{{"error":"{code}"}}"#))
}

/// The Basic credentials equal the configured ones, compared in constant time.
fn authenticated(req: &HttpRequest, w: &Worker) -> bool {
    let Some(b64) = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    match STANDARD.decode(b64) {
        Ok(given) => bool::from(given.ct_eq(&w.credentials)),
        Err(_) => false,
    }
}

fn unauthorized() -> HttpResponse {
    let mut r = error(actix_web::http::StatusCode::UNAUTHORIZED, "invalid_client");
    r.headers_mut().insert(
        actix_web::http::header::WWW_AUTHENTICATE,
        actix_web::http::header::HeaderValue::from_static("Basic"),
    );
    r
}

fn unavailable() -> HttpResponse {
    error(
        actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn token(req: HttpRequest, form: web::Form<TokenForm>, w: web::Data<Worker>) -> HttpResponse {
    if !authenticated(&req, &w) {
        return unauthorized();
    }
    if form.grant_type != "client_credentials" {
        return error(
            actix_web::http::StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        );
    }
    let mut raw = [0u8; 32];
    if getrandom::fill(&mut raw).is_err() {
        return unavailable();
    }
    let token = URL_SAFE_NO_PAD.encode(raw);
    let record = format!(
        r#"{{"active":true,"client_id":"{}","scope":"read","token_type":"Bearer","exp":{}}}"#,
        w.client_id,
        now() + TOKEN_TTL_SECS
    );
    let mut conn = w.redis.clone();
    let set: redis::RedisResult<()> = redis::cmd("SET")
        .arg(format!("ys:at:{token}"))
        .arg(record)
        .arg("EX")
        .arg(TOKEN_TTL_SECS)
        .query_async(&mut conn)
        .await;
    if set.is_err() {
        return unavailable();
    }
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .content_type("application/json")
        .body(format!(
            r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{TOKEN_TTL_SECS},"scope":"read"}}"#
        ))
}

async fn introspect(
    req: HttpRequest,
    form: web::Form<IntrospectForm>,
    w: web::Data<Worker>,
) -> HttpResponse {
    if !authenticated(&req, &w) {
        return unauthorized();
    }
    let mut conn = w.redis.clone();
    let found: redis::RedisResult<Option<String>> = redis::cmd("GET")
        .arg(format!("ys:at:{}", form.token))
        .query_async(&mut conn)
        .await;
    match found {
        Ok(record) => HttpResponse::Ok()
            .content_type("application/json")
            .body(record.unwrap_or_else(|| r#"{"active":false}"#.to_string())),
        Err(_) => unavailable(),
    }
}

fn env(name: &str) -> std::io::Result<String> {
    std::env::var(name).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{name} must be set"),
        )
    })
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let listen = env("YARDSTICK_LISTEN")?;
    let client_id = env("YARDSTICK_CLIENT_ID")?;
    let credentials = format!("{client_id}:{}", env("YARDSTICK_CLIENT_SECRET")?).into_bytes();
    let workers = match std::env::var("YARDSTICK_WORKERS") {
        Ok(n) => n.parse().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "YARDSTICK_WORKERS: a number",
            )
        })?,
        Err(_) => 1,
    };
    let invalid =
        |e: redis::RedisError| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string());
    let client = redis::Client::open(env("YARDSTICK_REDIS_URL")?).map_err(invalid)?;
    // Whatever would make a worker's connection fail to build fails here, at start-up.
    ConnectionManager::new_lazy_with_config(client.clone(), ConnectionManagerConfig::new())
        .map_err(invalid)?;
    HttpServer::new(move || {
        // Made in the worker's factory and connected on first use, on the worker's runtime.
        let redis =
            ConnectionManager::new_lazy_with_config(client.clone(), ConnectionManagerConfig::new());
        let app = App::new();
        match redis {
            Ok(redis) => app.app_data(web::Data::new(Worker {
                redis,
                credentials: credentials.clone(),
                client_id: client_id.clone(),
            })),
            Err(_) => app,
        }
        .route("/token", web::post().to(token))
        .route("/introspect", web::post().to(introspect))
    })
    .workers(workers)
    .bind(listen)?
    .run()
    .await
}
