//! End-to-end tests of the proxy: a real broker issuing real tokens into a real Redis, the
//! proxy in front of the sample echo backend, everything over HTTP on 127.0.0.1.

mod abuse;
mod abuse_bounds;
mod abuse_rules;
mod abuse_users;
mod analytics;
mod api_key_and_jwt;
mod apps_in_process;
mod auth;
mod backend_client;
mod backend_reuse;
mod bodies;
mod bounded;
mod canonical;
mod cors;
mod cors_raw;
mod credential_expiry;
mod encode;
mod example;
mod forged;
mod forwarding;
mod harness;
mod interleaved;
mod methods;
mod negative_cache;
mod normalise;
mod packed_analytics;
mod policies;
mod refusal_events;
mod refusals;
pub mod relay;
mod reload;
mod resilience;
mod signed;
mod stored_records;
mod tls;
mod verifier;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{json_of, spawn_app, Client, TestApp};

pub use harness::*;

/// Broker, echo backend, and a client with a token scoped `read write`.
pub struct Setup {
    pub broker: TestApp,
    pub echo: String,
    pub client: Client,
    pub token: String,
}

pub async fn setup() -> Setup {
    let broker = spawn_app().await;
    let echo = spawn_echo();
    let client = broker.default_client().await;
    let token = broker.access_token(&client).await;
    Setup {
        broker,
        echo,
        client,
        token,
    }
}

/// What the echo backend received (the proxied request), asserting a 200.
pub async fn echoed(res: reqwest::Response) -> Value {
    assert_eq!(res.status(), StatusCode::OK, "proxied call failed");
    json_of(res).await
}

/// The single value of `name` the backend received, if any.
pub fn header<'a>(echo: &'a Value, name: &str) -> Option<&'a str> {
    let values = echo["headers"][name].as_array()?;
    assert_eq!(values.len(), 1, "{name} received {} times", values.len());
    values[0].as_str()
}

/// Polls until the proxy refuses `token`; returns how long that took.
/// A counter's value in a Prometheus text exposition (0 when absent).
pub fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0) as u64
}

pub async fn until_refused(proxy: &TestProxy, token: &str) -> Duration {
    until_refused_by(|| async { proxy.get("/orders", token).await.status() }).await
}

/// Polls `call` until it answers 401 (200 until then); returns when, from the start, the last
/// call still accepted was sent (zero when the first was refused). A promise that something is
/// refused within a time holds when every call sent after that time is refused: measured from
/// the sending, not the answer, which a loaded machine may deliver seconds later.
pub async fn until_refused_by<F: std::future::Future<Output = StatusCode>>(
    call: impl Fn() -> F,
) -> Duration {
    let start = Instant::now();
    let mut accepted = Duration::ZERO;
    loop {
        let sent = start.elapsed();
        let status = call().await;
        if status == StatusCode::UNAUTHORIZED {
            return accepted;
        }
        assert_eq!(status, StatusCode::OK);
        accepted = sent;
        assert!(
            sent < Duration::from_secs(5),
            "still accepted when sent 5 s on"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A response read off a raw socket.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Status line and headers, as received.
    pub head: String,
    pub body: String,
}

impl RawResponse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The value of response header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Decodes a chunked body (RFC 9112 §7.1), enough for the answers of these tests.
fn unchunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..end]).unwrap_or("0");
        let size =
            usize::from_str_radix(size.split(';').next().unwrap_or("0").trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&body[start..(start + size).min(body.len())]);
        body = body.get(start + size + 2..).unwrap_or_default();
    }
    out
}

/// Sends `request` (request line, headers, blank line and any body) exactly as written and
/// reads the answer until the server closes the connection (send `Connection: close`).
pub async fn raw_bytes(base: &str, request: &[u8]) -> RawResponse {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut sock = tokio::net::TcpStream::connect(addr).await.expect("connect");
    // A server may answer (and close) before reading all of an oversized request.
    let _ = sock.write_all(request).await;
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), sock.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "no answer within 10 s");
    assert!(
        !out.is_empty(),
        "the connection closed without an answer: {read:?}"
    );
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(out.len());
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let mut body = out.get(split + 4..).unwrap_or_default().to_vec();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head:?}"));
    let response = RawResponse {
        status,
        head,
        body: String::new(),
    };
    if response
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        body = unchunk(&body);
    }
    RawResponse {
        body: String::from_utf8_lossy(&body).into_owned(),
        ..response
    }
}

/// Sends `GET target` exactly as written, with `Host` and `extra` header lines
/// (`"Name: value"`), `Connection: close`.
pub async fn raw_get(base: &str, target: &str, extra: &[&str]) -> RawResponse {
    raw_request(base, "GET", target, extra).await
}

/// Sends `method target` exactly as written, with `Host` (unless `extra` has one) and `extra`
/// header lines, `Connection: close`.
pub async fn raw_request(base: &str, method: &str, target: &str, extra: &[&str]) -> RawResponse {
    let addr = base.trim_start_matches("http://");
    let mut req = format!("{method} {target} HTTP/1.1\r\n");
    if !extra
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("host:"))
    {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for h in extra {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("Connection: close\r\n\r\n");
    raw_bytes(base, req.as_bytes()).await
}

/// An `Authorization: Bearer` header line.
pub fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}")
}

/// `INFO memory`'s `used_memory` of the Redis at `url`.
pub async fn redis_used_memory(url: &str) -> u64 {
    let mut c = crate::redis_server::connect(url)
        .await
        .expect("redis connection");
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut c)
        .await
        .expect("INFO");
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory")
}

/// Waits until `tessera_proxy_<name> <value>` satisfies `ok` on `/metrics`; returns the value.
pub async fn metric_until(proxy: &TestProxy, name: &str, ok: impl Fn(u64) -> bool) -> u64 {
    let start = Instant::now();
    loop {
        let text = proxy.metrics().await;
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("tessera_proxy_{name} ")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if ok(value) {
            return value;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{name} = {value} after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
