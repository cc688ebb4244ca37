//! The proxy's client toward backends (hyper, issue 11 direction 2), seen from a backend that
//! reads the bytes itself: the request line in origin form with the query encoded as before,
//! `Host` from the upstream, no header the client did not send beyond the proxy's own (no
//! `Accept: */*` invented), a redirect relayed and never followed, each call sent once, one
//! kept-alive connection for consecutive calls, a connection the backend closed never failing
//! a call, and idle connections closed after `backend.pool_idle_timeout_secs`.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// A backend that records the connections it accepts, each request head it reads, and the
/// connections the proxy closed, and answers every request (these have no body) with `answer`,
/// keeping the connection open.
struct RawBackend {
    base: String,
    heads: Arc<Mutex<Vec<String>>>,
    accepted: Arc<AtomicUsize>,
    /// Connections the proxy closed (read to their end).
    closed: Arc<AtomicUsize>,
}

async fn raw_backend(answer: &'static str) -> RawBackend {
    raw_backend_closing(answer, false).await
}

/// As [`raw_backend`]; with `close_after` the backend closes each connection right after its
/// first answer, which says nothing of it (no `Connection: close`).
async fn raw_backend_closing(answer: &'static str, close_after: bool) -> RawBackend {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let heads = Arc::new(Mutex::new(Vec::new()));
    let (accepted, closed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (seen, count, ended) = (heads.clone(), accepted.clone(), closed.clone());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let (seen, ended) = (seen.clone(), ended.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match sock.read(&mut chunk).await {
                            Ok(0) => {
                                ended.fetch_add(1, Ordering::SeqCst);
                                return;
                            }
                            Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head: Vec<u8> = buf.drain(..end).collect();
                    seen.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&head).into_owned());
                    if sock.write_all(answer.as_bytes()).await.is_err() || close_after {
                        return;
                    }
                }
            });
        }
    });
    RawBackend {
        base,
        heads,
        accepted,
        closed,
    }
}

/// The route `/raw` to `backend`'s `/api`.
fn raw_routes(s: &Setup, backend: &RawBackend) -> serde_json::Value {
    let upstream = format!("{}/api", backend.base);
    json!([route(
        "raw",
        "/raw",
        &s.echo,
        json!({ "upstream": upstream })
    )])
}

/// A kept-alive backend connection that the backend closed without saying so is never the
/// reason a call fails: a closed connection is not taken from the pool, and a request that one
/// gives back unwritten goes out on a new connection — each call reaches the backend once.
#[tokio::test]
async fn a_kept_alive_connection_the_backend_closed_never_fails_a_call() {
    let s = setup().await;
    let backend = raw_backend_closing("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true).await;
    let routes = raw_routes(&s, &backend);
    let proxy = spawn_proxy(&s.broker, routes).await;
    let auth = bearer(&s.token);
    for i in 0..6 {
        let res = raw_get(&proxy.base, &format!("/raw/{i}"), &[&auth]).await;
        assert_eq!(
            (res.status, res.body.as_str()),
            (200, "ok"),
            "call {i}: {res:?}"
        );
    }
    let heads = backend.heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 6, "each call sent once: {heads:?}");
    assert_eq!(backend.accepted.load(Ordering::SeqCst), 6);
}

/// `backend.pool_idle_timeout_secs`: a kept-alive backend connection left idle that long is
/// closed by the proxy even when no call comes, and the next call opens a new one.
#[tokio::test]
async fn idle_backend_connections_are_closed_after_the_idle_timeout() {
    let s = setup().await;
    let backend = raw_backend("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
    let routes = raw_routes(&s, &backend);
    let proxy = spawn_proxy_with(&s.broker, routes, |cfg| {
        cfg["backend"]["pool_idle_timeout_secs"] = json!(1);
    })
    .await;
    let auth = bearer(&s.token);
    let res = raw_get(&proxy.base, "/raw/1", &[&auth]).await;
    assert_eq!(res.status, 200, "{res:?}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        backend.closed.load(Ordering::SeqCst),
        0,
        "kept alive while fresh"
    );
    let started = std::time::Instant::now();
    while backend.closed.load(Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "an idle connection must be closed after the idle timeout"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let res = raw_get(&proxy.base, "/raw/2", &[&auth]).await;
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(backend.accepted.load(Ordering::SeqCst), 2);
    assert_eq!(backend.heads.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn the_backend_gets_exactly_the_request_meant_and_its_redirect_comes_back_unfollowed() {
    let s = setup().await;
    let backend = raw_backend(
        "HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    let upstream = format!("{}/api", backend.base);
    let proxy = spawn_proxy(
        &s.broker,
        json!([route(
            "raw",
            "/raw",
            &s.echo,
            json!({ "upstream": upstream })
        )]),
    )
    .await;
    for _ in 0..3 {
        let auth = bearer(&s.token);
        let res = raw_get(
            &proxy.base,
            "/raw/x?q='a'&r=%2e",
            &[&auth, "X-Custom: kept"],
        )
        .await;
        assert_eq!(res.status, 302, "{res:?}");
        assert_eq!(
            res.header("location"),
            Some("http://169.254.169.254/latest"),
            "the redirect is relayed, not followed"
        );
    }
    let heads = backend.heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 3, "each call sent once: {heads:?}");
    assert_eq!(
        backend.accepted.load(Ordering::SeqCst),
        1,
        "the three calls share one kept-alive connection"
    );
    let head = &heads[0];
    let mut lines = head.lines();
    assert_eq!(
        lines.next(),
        Some("GET /api/x?q=%27a%27&r=%2e HTTP/1.1"),
        "origin form, the query encoded as the URL standard says"
    );
    let names: BTreeSet<String> = lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split(':').next().unwrap_or("").to_ascii_lowercase())
        .collect();
    let expected: BTreeSet<String> = [
        "host",
        "x-custom",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-tessera-app",
        "x-tessera-app-id",
        "x-tessera-client-id",
        "x-tessera-developer-id",
        "x-tessera-scope",
    ]
    .map(String::from)
    .into();
    assert_eq!(names, expected, "{head}");
    let host = head
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .unwrap_or("");
    assert_eq!(host, backend.base.trim_start_matches("http://"));
    // The caller's identity headers are built once and reused: the same bytes every call.
    assert!(heads.iter().all(|h| h == head), "{heads:?}");
}

/// Each actix worker keeps its own backend connections (issue 11, direction 1: nothing crosses
/// between workers per call). Calls made one after the other on new client connections are
/// handed to the two workers in turn: a pool shared by the workers would carry all four on one
/// backend connection; one pool per worker opens exactly one each, and sends each call once.
#[tokio::test]
async fn each_worker_sends_on_its_own_backend_connection() {
    let s = setup().await;
    let backend = raw_backend("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
    let routes = raw_routes(&s, &backend);
    let proxy = spawn_proxy_with(&s.broker, routes, |cfg| {
        cfg["server"]["workers"] = json!(2);
    })
    .await;
    for i in 0..4 {
        let auth = bearer(&s.token);
        // `raw_get` closes its connection: the next call comes on a new one.
        let res = raw_get(&proxy.base, &format!("/raw/{i}"), &[&auth]).await;
        assert_eq!((res.status, res.body.as_str()), (200, "ok"), "{res:?}");
    }
    let heads = backend.heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 4, "each call sent once: {heads:?}");
    assert_eq!(
        backend.accepted.load(Ordering::SeqCst),
        2,
        "one backend connection per worker, each kept alive for its worker's calls"
    );
}
