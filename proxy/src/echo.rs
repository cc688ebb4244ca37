//! The sample backend: answers every request with what it received — method, path, query,
//! headers and body length — as JSON, so a caller can see exactly what the proxy forwarded.
//! `tessera dev` puts it behind the proxy; tests and the benchmark use it as the backend.
//!
//! Knobs for tests: a `x-echo-delay-ms` request header delays the answer, `x-echo-status` sets
//! its status, and `x-echo-allow-origin` makes it answer `Access-Control-Allow-Origin` with that
//! value (a backend that speaks CORS itself).

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use bytes::Bytes;
use serde_json::json;

async fn echo(req: HttpRequest, body: Bytes) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
    };
    if let Some(ms) = header("x-echo-delay-ms") {
        tokio::time::sleep(Duration::from_millis(ms.min(60_000))).await;
    }
    let status = header("x-echo-status")
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::OK);
    let mut headers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, value) in req.headers() {
        headers
            .entry(name.as_str())
            .or_default()
            .push(value.to_str().unwrap_or("<binary>"));
    }
    let mut res = HttpResponse::build(status);
    if let Some(o) = req.headers().get("x-echo-allow-origin") {
        res.insert_header(("access-control-allow-origin", o.clone()));
    }
    res.json(json!({
        "method": req.method().as_str(),
        "path": req.path(),
        "query": req.query_string(),
        "headers": headers,
        "body_bytes": body.len(),
    }))
}

/// Starts the echo backend on `listener` with `workers` threads.
pub fn serve(listener: TcpListener, workers: usize) -> std::io::Result<Server> {
    Ok(HttpServer::new(|| {
        App::new()
            .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
            .default_service(web::to(echo))
    })
    .workers(workers.max(1))
    .listen(listener)?
    .run())
}
