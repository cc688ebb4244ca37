//! The proxy's client toward backends (hyper, issue 11 direction 2), seen from a backend that
//! reads the bytes itself: the request line in origin form with the query encoded as before,
//! `Host` from the upstream, no header the client did not send beyond the proxy's own (no
//! `Accept: */*` invented), a redirect relayed and never followed, each call sent once, and
//! one kept-alive connection for consecutive calls.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// A backend that records the connections it accepts and each request head it reads, and
/// answers every request (these have no body) with `answer`, keeping the connection open.
struct RawBackend {
    base: String,
    heads: Arc<Mutex<Vec<String>>>,
    accepted: Arc<AtomicUsize>,
}

async fn raw_backend(answer: &'static str) -> RawBackend {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let heads = Arc::new(Mutex::new(Vec::new()));
    let accepted = Arc::new(AtomicUsize::new(0));
    let (seen, count) = (heads.clone(), accepted.clone());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head: Vec<u8> = buf.drain(..end).collect();
                    seen.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&head).into_owned());
                    if sock.write_all(answer.as_bytes()).await.is_err() {
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
    }
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
    let upstream = format!("{}/api", backend.base);
    let routes = json!([route(
        "raw",
        "/raw",
        &s.echo,
        json!({ "upstream": upstream })
    )]);
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
