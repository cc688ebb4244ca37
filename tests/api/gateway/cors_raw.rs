//! The proxy's CORS policy over raw sockets, where a browser or reqwest would normalise: odd
//! `Origin` values (`null`, upper case, a trailing slash, the default port, a suffix, bytes
//! that are not UTF-8), repeated `Origin` and `Access-Control-Request-Headers` lines, a method
//! in lower case. A recording backend shows what reached it: no preflight ever does, and every
//! actual request does, whatever its origin (CORS guards the reading of answers, not the API).

use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

const SPA: &str = "http://127.0.0.1:5173";

/// A backend that records the head of every request it receives and answers `200 {}`.
struct Recorder {
    url: String,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    async fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&head).into_owned());
                let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                              content-length: 2\r\nconnection: close\r\n\r\n{}";
                let _ = sock.write_all(answer.as_bytes()).await;
            }
        });
        Recorder { url, heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

/// A proxy with route `/api` (Tessera tokens) to a recording backend, CORS for [`SPA`] and
/// `https://app.example.com`.
async fn proxied(s: &Setup) -> (TestProxy, Recorder) {
    let backend = Recorder::start().await;
    let mut r = route(
        "api",
        "/api",
        &s.echo,
        json!({"cors": {"allowed_origins": [SPA, "https://app.example.com"]}}),
    );
    r["upstream"] = json!(backend.url);
    (spawn_proxy(&s.broker, json!([r])).await, backend)
}

fn no_cors_header(res: &RawResponse) {
    assert!(
        !res.head.to_ascii_lowercase().contains("access-control-"),
        "{}",
        res.head
    );
}

#[tokio::test]
async fn odd_preflights_are_refused_and_none_reaches_the_backend() {
    let s = setup().await;
    let (proxy, backend) = proxied(&s).await;
    let addr = proxy.base.trim_start_matches("http://").to_string();
    let preflight = |lines: &[&[u8]]| {
        let mut req = format!("OPTIONS /api/orders HTTP/1.1\r\nHost: {addr}\r\n").into_bytes();
        for l in lines {
            req.extend_from_slice(l);
            req.extend_from_slice(b"\r\n");
        }
        req.extend_from_slice(b"Connection: close\r\n\r\n");
        req
    };
    let acrm: &[u8] = b"Access-Control-Request-Method: GET";
    let spa = format!("Origin: {SPA}");
    let spa = spa.as_bytes();
    let res = raw_bytes(&proxy.base, &preflight(&[spa, acrm])).await;
    assert_eq!(res.status, 204, "{}", res.head);
    assert_eq!(res.header("access-control-allow-origin"), Some(SPA));
    assert_eq!(res.body, "");
    let odd = [
        preflight(&[b"Origin: null", acrm]),
        preflight(&[b"Origin: HTTP://127.0.0.1:5173", acrm]),
        preflight(&[b"Origin: http://127.0.0.1:5173/", acrm]),
        preflight(&[b"Origin: http://127.0.0.1:5173.evil.example", acrm]),
        preflight(&[b"Origin: http://127.0.0.1:5173\xff", acrm]),
        preflight(&[b"Origin: https://app.example.com:443", acrm]),
        preflight(&[b"Origin: https://App.Example.com", acrm]),
        preflight(&[b"Origin: ", acrm]),
        // Repeated Origin lines: no single origin, even when each is allowed.
        preflight(&[spa, spa, acrm]),
        preflight(&[spa, b"Origin: https://evil.example", acrm]),
        // Methods are case-sensitive; every requested-headers line counts.
        preflight(&[spa, b"Access-Control-Request-Method: get"]),
        preflight(&[
            spa,
            acrm,
            b"Access-Control-Request-Headers: authorization",
            b"Access-Control-Request-Headers: x-secret",
        ]),
    ];
    for req in &odd {
        let res = raw_bytes(&proxy.base, req).await;
        let shown = String::from_utf8_lossy(req);
        assert_eq!(res.status, 403, "{shown}\n{}", res.head);
        no_cors_header(&res);
        assert_eq!(res.json()["error"], "cors_refused", "{shown}");
    }
    assert_eq!(
        backend.heads(),
        Vec::<String>::new(),
        "a preflight reached the backend"
    );
}

#[tokio::test]
async fn actual_requests_reach_the_backend_and_only_allowed_origins_may_read() {
    let s = setup().await;
    let (proxy, backend) = proxied(&s).await;
    let auth = bearer(&s.token);
    let get = |origins: &[&str]| {
        let mut lines: Vec<String> = origins.iter().map(|o| format!("Origin: {o}")).collect();
        lines.push(auth.clone());
        let proxy = &proxy;
        async move {
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            raw_request(&proxy.base, "GET", "/api/orders", &lines).await
        }
    };
    let res = get(&[SPA]).await;
    assert_eq!(res.status, 200, "{}", res.head);
    assert_eq!(res.header("access-control-allow-origin"), Some(SPA));
    assert_eq!(res.header("vary"), Some("Origin"));
    for origins in [
        &["null"][..],
        &["HTTP://127.0.0.1:5173"],
        &["http://127.0.0.1:5173/"],
        &[SPA, SPA],
        &[SPA, "https://evil.example"],
    ] {
        let res = get(origins).await;
        assert_eq!(res.status, 200, "{origins:?} {}", res.head);
        no_cors_header(&res);
        assert_eq!(res.header("vary"), Some("Origin"), "{origins:?}");
    }
    let heads = backend.heads();
    assert_eq!(heads.len(), 6, "every actual request is forwarded");
    assert!(
        heads.iter().all(|h| h.starts_with("GET /orders ")),
        "{heads:?}"
    );
    assert!(
        heads[1].to_ascii_lowercase().contains("origin: null"),
        "{}",
        heads[1]
    );
}
