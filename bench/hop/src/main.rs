//! The proxy's ceiling of issue 11 (P1): the least a correct HTTP/1.1 forwarder does on the
//! stack the Tessera proxy is built on, to measure Tessera against in the same run
//! (`bench/proxy.sh`, same pinning, one worker, same backend and wrk settings) and per call
//! (`bench/percall.sh`, modes `hop`, `hop-h1` and `hop-hyper`).
//!
//! Every request, whatever its method and path, goes to one backend: the method, the path and
//! query, the headers less the hop-by-hop ones and those its `Connection` lists (RFC 9110
//! §7.6.1), `Host` set to the backend's authority, and the body (read whole); the backend's
//! answer comes back the same way, its body streamed. Toward the backend: hyper 1's own
//! HTTP/1.1 connections (`hyper::client::conn::http1`), kept alive in a small pool per worker
//! thread, as Tessera's `proxy/src/forward/` does. Nothing else: no route match, no token
//! check, no policies, no analytics, no identity headers, no timeout.
//!
//! Three servers in front of the same forwarding code (`HOP_SERVER`):
//! * `app` (default): actix-web, an `App` whose `default_service` forwards — Tessera's shape;
//! * `h1`: actix-http's `HttpService` with a plain service function, without actix-web's `App`,
//!   `HttpRequest` and extractors — what the `App` layer costs;
//! * `hyper`: hyper 1's own server, no actix at all (`hyper_server.rs`) — what actix costs
//!   against another Rust server core.
//!
//! Environment: `HOP_LISTEN` (127.0.0.1:PORT), `HOP_BACKEND` (HOST:PORT of an `http` backend),
//! `HOP_SERVER` (`app`, `h1` or `hyper`), `HOP_WORKERS` (default 1).

mod forward;
mod hyper_server;

use std::sync::Arc;

use actix_http::RequestHead;
use actix_web::body::BoxBody;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

use forward::Backend;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env(name: &str, default: Option<&str>) -> std::io::Result<String> {
    match (std::env::var(name), default) {
        (Ok(v), _) => Ok(v),
        (Err(_), Some(d)) => Ok(d.to_string()),
        (Err(_), None) => Err(std::io::Error::other(format!("{name} is not set"))),
    }
}

/// actix-web's `App`: the forwarder as its `default_service`, taking the request and its
/// payload as Tessera's handler does (the backend from the closure, not an extractor).
async fn via_app(req: HttpRequest, payload: web::Payload, backend: Arc<Backend>) -> HttpResponse {
    HttpResponse::from(relay(&backend, req.head(), payload.into_inner()).await)
}

/// actix-http's service: the same, on actix-http's own request.
async fn via_h1(
    mut req: actix_http::Request,
    backend: Arc<Backend>,
) -> Result<actix_http::Response<BoxBody>, std::convert::Infallible> {
    let payload = req.take_payload();
    Ok(relay(&backend, req.head(), payload).await)
}

/// The whole body read (none allocated when there is none), then the request forwarded; a body
/// that broke off is a `400`.
async fn relay(
    backend: &Backend,
    head: &RequestHead,
    mut payload: actix_http::Payload,
) -> actix_http::Response<BoxBody> {
    use futures_util::StreamExt;
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(c) => buf.extend_from_slice(&c),
            Err(_) => return forward::status(400),
        }
    }
    backend
        .forward(&head.method, &head.uri, &head.headers, buf.freeze())
        .await
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let listen = env("HOP_LISTEN", None)?;
    let backend = env("HOP_BACKEND", None)?;
    let workers: usize = env("HOP_WORKERS", Some("1"))?
        .parse()
        .map_err(|_| std::io::Error::other("HOP_WORKERS: a whole number"))?;
    let backend = Backend::new(&backend).map_err(std::io::Error::other)?;
    match env("HOP_SERVER", Some("app"))?.as_str() {
        "app" => {
            let backend = Arc::new(backend);
            HttpServer::new(move || {
                let backend = backend.clone();
                App::new().default_service(web::to(move |req, payload| {
                    via_app(req, payload, backend.clone())
                }))
            })
            // TCP_NODELAY on client connections, as Tessera's public server sets it.
            .tcp_nodelay(true)
            .workers(workers)
            .bind(listen)?
            .run()
            .await
        }
        "h1" => {
            let backend = Arc::new(backend);
            actix_server::Server::build()
                .bind("hop", listen, move || {
                    let backend = backend.clone();
                    actix_http::HttpService::build()
                        .tcp_nodelay(true)
                        .finish(actix_service::fn_service(move |req| {
                            via_h1(req, backend.clone())
                        }))
                        .tcp()
                })?
                .workers(workers)
                .run()
                .await
        }
        "hyper" => hyper_server::run(&listen, backend, workers),
        other => Err(std::io::Error::other(format!(
            "HOP_SERVER: app, h1 or hyper, not {other:?}"
        ))),
    }
}
