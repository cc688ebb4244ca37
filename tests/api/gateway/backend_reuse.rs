//! When a kept-alive backend connection may carry the next caller's request, seen from a raw
//! backend that misbehaves: one caller's answer (or bytes of it) must never reach another.
//!
//! Bytes past the end of an answer (more than its `Content-Length`, a body after a `HEAD`
//! answer or a `204`, an answer nobody asked for) close the connection they came on: the next
//! caller gets its own answer, on a new connection (RFC 9112 §6.3: such bytes are not part of
//! the message).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

/// Every request head a raw backend read, with the number of the connection it came on.
type Log = Arc<Mutex<Vec<(usize, String)>>>;

/// Reads one request head off `sock` (buffered in `buf`), `None` at the end.
async fn read_head(sock: &mut TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head: Vec<u8> = buf.drain(..i + 4).collect();
            return Some(String::from_utf8_lossy(&head).into_owned());
        }
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The `Content-Length` of a request head (0 without one).
fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0)
}

/// Reads and drops a request body of `len` bytes (a well-behaved backend); false at the end.
async fn skip_body(sock: &mut TcpStream, buf: &mut Vec<u8>, len: usize) -> bool {
    let mut chunk = [0u8; 8192];
    while buf.len() < len {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    buf.drain(..len);
    true
}

/// A raw backend: each request head is logged with its connection's number, and answered by
/// `answer(request line, connection, bytes read past the request)`, which hands the
/// connection back to keep it. A request's body is read (by its `Content-Length`) first. Returns the backend's base URL and log.
async fn backend<F, Fut>(answer: F) -> (String, Log)
where
    F: Fn(String, TcpStream, Vec<u8>) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Option<(TcpStream, Vec<u8>)>> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log: Log = Arc::default();
    let seen = log.clone();
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut sock, _)) = listener.accept().await {
            n += 1;
            let (seen, answer) = (seen.clone(), answer.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                while let Some(head) = read_head(&mut sock, &mut buf).await {
                    if !skip_body(&mut sock, &mut buf, content_length(&head)).await {
                        return;
                    }
                    let line = head.lines().next().unwrap_or("").to_string();
                    seen.lock().unwrap().push((n, line.clone()));
                    match answer(line, sock, buf).await {
                        Some((s, b)) => (sock, buf) = (s, b),
                        None => return,
                    }
                }
            });
        }
    });
    (base, log)
}

/// A proxy with one worker (one pool) and the route `/raw` to `base`'s `/api`.
async fn proxy_to(s: &Setup, base: &str) -> TestProxy {
    let routes = json!([route(
        "raw",
        "/raw",
        &s.echo,
        json!({ "upstream": format!("{base}/api") })
    )]);
    spawn_proxy_with(&s.broker, routes, |cfg| {
        cfg["server"]["workers"] = json!(1);
    })
    .await
}

/// A whole answer, glued after another one.
const LEAK: &str = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nLEAKED";

/// The length of `/api/slow`'s answer.
const SLOW_LEN: usize = 100_000;

/// The answer of the raw backend of [`bytes_past_an_answer_never_reach_the_next_caller`]: each
/// misbehaving path answers with a whole second answer glued to its own, in one write.
async fn glued(line: String, mut sock: TcpStream, buf: Vec<u8>) -> Option<(TcpStream, Vec<u8>)> {
    let answer = if line.contains("/api/longer") {
        // More than its Content-Length.
        format!("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok{LEAK}")
    } else if line.starts_with("HEAD") || line.contains("/api/empty") {
        // A body after an answer that has none (RFC 9112 §6.3: HEAD, 204).
        let status = if line.starts_with("HEAD") {
            "200 OK"
        } else {
            "204 No Content"
        };
        format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{LEAK}",
            LEAK.len()
        )
    } else if line.contains("/api/switch") {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n{LEAK}"
        )
    } else if line.contains("/api/close") {
        // `Connection: close`, the connection left open by the backend.
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok".to_string()
    } else if line.contains("/api/trailers") {
        // A chunked answer with a trailer section: well formed, its connection kept.
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n\
         2\r\nok\r\n0\r\nX-T: 1\r\n\r\n"
            .to_string()
    } else if line.contains("/api/slow") {
        // A long answer, its first bytes at once, the rest later.
        let rest = "x".repeat(SLOW_LEN - 5);
        sock.write_all(
            format!("HTTP/1.1 200 OK\r\nContent-Length: {SLOW_LEN}\r\n\r\nfirst").as_bytes(),
        )
        .await
        .ok()?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        rest
    } else if line.contains("/api/hints") {
        // Interim answers before the final one (RFC 9110 §15.2): not answers of their own.
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n\
         HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
            .to_string()
    } else if line.contains("/api/later") {
        // An answer no request asked for, once the connection is idle.
        sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .await
            .ok()?;
        tokio::time::sleep(Duration::from_millis(100)).await;
        LEAK.to_string()
    } else {
        "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nmine".to_string()
    };
    sock.write_all(answer.as_bytes()).await.ok()?;
    Some((sock, buf))
}

/// Bytes a backend sends past the end of an answer — more than its `Content-Length`, a body
/// after a `HEAD` answer or a `204`, an answer nobody asked for on an idle connection — are
/// not part of any answer (RFC 9112 §6.3): the connection they came on is closed, and the next
/// caller gets its own answer on a new one. So is one whose answer said `Connection: close`
/// (RFC 9112 §9.6), even left open; a chunked answer with trailers keeps its connection, and so
/// does one after `100` and `103` interim answers (which never reach the client as its answer). The proxy's pool relies on hyper for this (a
/// kept-alive connection is idle only with nothing unread, and reading anything while idle
/// closes it); pinned here.
#[tokio::test]
async fn bytes_past_an_answer_never_reach_the_next_caller() {
    let s = setup().await;
    let (base, log) = backend(glued).await;
    let proxy = proxy_to(&s, &base).await;
    let auth = bearer(&s.token);
    let cases = [
        ("GET", "/raw/longer", 200, "ok"),
        ("HEAD", "/raw/head", 200, ""),
        ("GET", "/raw/empty", 204, ""),
        ("GET", "/raw/later", 200, "ok"),
        ("GET", "/raw/close", 200, "ok"),
        ("GET", "/raw/trailers", 200, "ok"),
        ("GET", "/raw/hints", 200, "ok"),
    ];
    for (method, target, status, body) in cases {
        let first = raw_request(&proxy.base, method, target, &[&auth]).await;
        assert_eq!(
            (first.status, first.body.as_str()),
            (status, body),
            "{first:?}"
        );
        // Past the unasked answer of `/later`, which then comes on an idle connection.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let next = raw_get(&proxy.base, "/raw/mine", &[&auth]).await;
        assert_eq!(
            (next.status, next.body.as_str()),
            (200, "mine"),
            "after {method} {target}: {next:?}"
        );
    }
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 14, "each call sent once: {log:?}");
    // Each misbehaving answer's connection (and the one its backend said it would close)
    // closed: the call after it on a new connection; the well-formed chunked one kept, and
    // the one after interim answers.
    let connections: Vec<usize> = log.iter().map(|(n, _)| *n).collect();
    let expected = [1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 6, 6, 6];
    assert_eq!(connections, expected, "{log:?}");
}

/// A backend's `101 Switching Protocols` to a request that offered no protocol (the proxy never
/// forwards `Upgrade`) is an invalid answer: `502`, never relayed (RFC 9110 §7.8, §15.2.2 — on
/// main the client got a `101` without `Upgrade` and the connection went on as HTTP, which a
/// proxy in front would take for a tunnel). The bytes after it reach nobody.
#[tokio::test]
async fn a_101_nobody_asked_for_is_a_502() {
    let s = setup().await;
    let (base, log) = backend(glued).await;
    let proxy = proxy_to(&s, &base).await;
    let auth = bearer(&s.token);
    let upgrade = ["Upgrade: websocket", "Connection: upgrade"];
    for extra in [&[][..], &upgrade[..]] {
        let headers: Vec<&str> = [auth.as_str()]
            .into_iter()
            .chain(extra.iter().copied())
            .collect();
        let res = raw_get(&proxy.base, "/raw/switch", &headers).await;
        assert_eq!(res.status, 502, "{res:?}");
        assert_eq!(res.json()["error"], "bad_gateway");
        let next = raw_get(&proxy.base, "/raw/mine", &[&auth]).await;
        assert_eq!((next.status, next.body.as_str()), (200, "mine"), "{next:?}");
    }
    let log = log.lock().unwrap().clone();
    let connections: Vec<usize> = log.iter().map(|(n, _)| *n).collect();
    assert_eq!(connections, [1, 2, 2, 3], "{log:?}");
}

/// A `HEAD` answer goes back with the length the backend declared, the one a `GET` would have
/// (RFC 9110 §8.6: a `Content-Length` in an answer to `HEAD` MUST be that one); on main it
/// said `0`.
#[tokio::test]
async fn a_head_answer_keeps_its_declared_length() {
    let s = setup().await;
    let (base, _log) = backend(glued).await;
    let proxy = proxy_to(&s, &base).await;
    let res = raw_request(&proxy.base, "HEAD", "/raw/head", &[&bearer(&s.token)]).await;
    assert_eq!((res.status, res.body.as_str()), (200, ""), "{res:?}");
    let declared = LEAK.len().to_string();
    assert_eq!(
        res.header("content-length"),
        Some(declared.as_str()),
        "{res:?}"
    );
}

/// A client that goes away in the middle of an answer's body: the backend connection the body
/// was coming on is not kept (the rest of the body is still on its way), and the next call
/// goes out on a new one.
#[tokio::test]
async fn a_connection_whose_client_left_mid_answer_is_not_reused() {
    let s = setup().await;
    let (base, log) = backend(glued).await;
    let proxy = proxy_to(&s, &base).await;
    let auth = bearer(&s.token);
    let addr = proxy.base.trim_start_matches("http://");
    let mut a = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET /raw/slow HTTP/1.1\r\nHost: {addr}\r\n{auth}\r\n\r\n");
    a.write_all(req.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    while !got.windows(5).any(|w| w == b"first") {
        let n = tokio::time::timeout(Duration::from_secs(5), a.read(&mut chunk)).await;
        let n = n.unwrap().unwrap();
        assert!(n > 0, "{:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&chunk[..n]);
    }
    drop(a);
    // The rest of the answer reaches the proxy meanwhile.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let next = raw_get(&proxy.base, "/raw/mine", &[&auth]).await;
    assert_eq!((next.status, next.body.as_str()), (200, "mine"), "{next:?}");
    let log = log.lock().unwrap().clone();
    let connections: Vec<usize> = log.iter().map(|(n, _)| *n).collect();
    assert_eq!(connections, [1, 2], "{log:?}");
}

/// Keeping only connections done both ways costs nothing to the usual exchange: calls with a
/// body, answered after it was read, share one kept-alive connection as calls without do.
#[tokio::test]
async fn calls_with_a_body_answered_after_it_share_one_connection() {
    let s = setup().await;
    let (base, log) = backend(glued).await;
    let proxy = proxy_to(&s, &base).await;
    let auth = bearer(&s.token);
    for (i, len) in [10, 5000, 60_000].into_iter().enumerate() {
        let body = "b".repeat(len);
        let addr = proxy.base.trim_start_matches("http://");
        let req = format!(
            "POST /raw/mine HTTP/1.1\r\nHost: {addr}\r\n{auth}\r\nContent-Length: {len}\r\n\
             Connection: close\r\n\r\n{body}"
        );
        let res = raw_bytes(&proxy.base, req.as_bytes()).await;
        assert_eq!(
            (res.status, res.body.as_str()),
            (200, "mine"),
            "call {i}: {res:?}"
        );
    }
    let log = log.lock().unwrap().clone();
    let connections: Vec<usize> = log.iter().map(|(n, _)| *n).collect();
    assert_eq!(connections, [1, 1, 1], "{log:?}");
}
