//! The pool seen from a raw backend, with the request body in the test's hands: a connection
//! whose answer came before its request was sent in full is not kept ([`super::Lease::release`]).
//! Through the whole proxy this state is rare (actix closes a client connection whose body is
//! unread when the answer ends, which aborts the backend request), so the client is driven
//! directly here.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::super::answer::response;
use super::super::target::Endpoint;
use crate::body::Outbound;
use crate::tls::BackendConfig;

const SMUGGLED: &[u8] = b"GET /smuggled HTTP/1.1\r\nHost: backend\r\n\r\n";

/// Reads one request head off `sock` (buffered in `buf`), `None` at the end.
async fn head(sock: &mut TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    let mut chunk = [0u8; 4096];
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

/// A broken backend: it answers a `POST` as soon as it has the head and leaves the body unread
/// on the open connection, so it reads that body as its next request; the smuggled request
/// is answered slowly (after `smuggled` is told), anything else at once.
async fn backend(smuggled: tokio::sync::mpsc::UnboundedSender<()>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let smuggled = smuggled.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                while let Some(head) = head(&mut sock, &mut buf).await {
                    let answer: &[u8] = if head.starts_with("POST") {
                        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nearly"
                    } else if head.starts_with("GET /smuggled") {
                        let _ = smuggled.send(());
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled"
                    } else {
                        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nmine"
                    };
                    if sock.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, accepted)
}

/// A request to `addr` as the pipeline builds it: absolute URI, `Host`.
fn request(method: &str, addr: &str, path: &str, body: Outbound) -> http::Request<Outbound> {
    let mut req = http::Request::new(body);
    *req.method_mut() = method.parse().unwrap();
    *req.uri_mut() = format!("http://{addr}{path}").parse().unwrap();
    let host = http::HeaderValue::from_str(addr).unwrap();
    req.headers_mut().insert(http::header::HOST, host);
    req
}

/// Caller A's upload is answered before its body was sent; the rest of the body, sent after,
/// holds a request the backend answers slowly. Caller B's call must not go out on that
/// connection: on main it did, once the body was out, and B was handed the smuggled answer.
#[tokio::test]
async fn a_connection_answered_before_its_request_was_sent_is_not_kept() {
    let (smuggled_tx, mut smuggled) = tokio::sync::mpsc::unbounded_channel();
    let (addr, accepted) = backend(smuggled_tx).await;
    let client = BackendConfig::default().client().unwrap();
    let to = Endpoint::of(&url::Url::parse(&format!("http://{addr}/")).unwrap()).unwrap();

    let (body_tx, body_rx) = tokio::sync::mpsc::channel(8);
    let mut upload = request("POST", &addr, "/upload", Outbound::Streaming(body_rx));
    let len = http::HeaderValue::from(SMUGGLED.len());
    upload
        .headers_mut()
        .insert(http::header::CONTENT_LENGTH, len);
    let (res, lease) = client
        .send(&to, upload, std::time::Instant::now())
        .await
        .unwrap();
    let answer = actix_web::body::to_bytes(response(res, lease).into_body()).await;
    assert_eq!(answer.unwrap(), "early");
    body_tx
        .send(Ok(Bytes::from_static(SMUGGLED)))
        .await
        .unwrap();
    drop(body_tx);
    let read = tokio::time::timeout(Duration::from_secs(5), smuggled.recv()).await;
    assert!(read.is_ok(), "the backend read A's body as a request");

    let (res, lease) = client
        .send(
            &to,
            request("GET", &addr, "/mine", Outbound::Empty),
            std::time::Instant::now(),
        )
        .await
        .unwrap();
    let answer = actix_web::body::to_bytes(response(res, lease).into_body()).await;
    assert_eq!(answer.unwrap(), "mine");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        2,
        "B on a connection of its own"
    );
}
