//! Abuse detection, the per-IP rule: an address that collects more authentication refusals
//! (`401`) than `[abuse] max_unauthenticated_per_window` is refused with `429` and
//! `Retry-After` for `block_secs`, even with a valid token, without reaching the backend; the
//! block sits in Redis with its TTL, so a second proxy on the same Redis refuses the address
//! too; another address (through a trusted proxy's `X-Forwarded-For`) is unaffected; the block
//! expires.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::helpers::retry_after;

/// A backend that answers `200` to every request and counts the connections it accepted.
async fn counting_backend() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                    if s.write_all(ok).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (url, hits)
}

fn abuse_on(c: &mut Value) {
    c["abuse"] = json!({
        "enabled": true,
        "window_secs": 30,
        "max_unauthenticated_per_window": 3,
        "block_secs": 2,
    });
    // The test client is 127.0.0.1: a trusted hop, so X-Forwarded-For names another address.
    c["server"]["trusted_proxies"] = json!(["127.0.0.1/32"]);
}

#[tokio::test]
async fn repeated_bad_tokens_block_the_address_everywhere_until_the_block_expires() {
    let s = setup().await;
    let (backend, hits) = counting_backend().await;
    let routes = json!([route("orders", "/orders", &backend, json!({}))]);
    let p1 = spawn_proxy_with(&s.broker, routes.clone(), abuse_on).await;
    let p2 = spawn_proxy_with(&s.broker, routes, abuse_on).await;
    let attacker = [("x-forwarded-for", "203.0.113.7")];
    let other = [("x-forwarded-for", "198.51.100.1")];

    assert_eq!(
        p1.get_with("/orders", &s.token, &attacker).await.status(),
        StatusCode::OK
    );
    for i in 0..4 {
        let res = p1
            .get_with("/orders", &format!("guess-{i}"), &attacker)
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "guess {i}");
    }
    let before = hits.load(Ordering::SeqCst);

    // Blocked: even a valid token, on either proxy; the backend sees nothing.
    for p in [&p1, &p2] {
        let res = p.get_with("/orders", &s.token, &attacker).await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry = retry_after(&res);
        assert!((1..=2).contains(&retry), "{retry}");
        assert_eq!(json_of(res).await["error"], "too_many_requests");
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        before,
        "a blocked call reached the backend"
    );

    // The block is in Redis, with its TTL, under the address.
    let mut r = s.broker.redis().await;
    let key = format!("{}abuse:{{s:203.0.113.7}}:block", s.broker.prefix);
    let ttl: i64 = r.pttl(&key).await.unwrap();
    assert!((1..=2000).contains(&ttl), "{key}: {ttl}");
    let other_key = format!("{}abuse:{{s:198.51.100.1}}:block", s.broker.prefix);
    assert!(!r.exists::<_, bool>(&other_key).await.unwrap());

    // Another address is unaffected.
    assert_eq!(
        p1.get_with("/orders", &s.token, &other).await.status(),
        StatusCode::OK
    );

    // Counted in the metric, and by policy `abuse` among the refusals.
    let m = p1.metrics().await;
    assert_eq!(
        counter(
            &m,
            "tessera_proxy_abuse_blocked_total{rule=\"ip_unauthenticated\"}"
        ),
        1,
        "{m}"
    );
    assert!(m.contains("policy=\"abuse\""), "{m}");
    // And in analytics: the blocked call's event names the policy and the address.
    let all = super::refusal_events::events(&s, 8).await;
    let blocked = all
        .iter()
        .find(|e| e["status"] == 429)
        .unwrap_or_else(|| panic!("no 429 in {all:?}"));
    assert_eq!(blocked["refused_by"], "abuse");
    assert_eq!(blocked["client_ip"], "203.0.113.7");

    // After block_secs, calls pass again.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        p2.get_with("/orders", &s.token, &attacker).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        p1.get_with("/orders", &s.token, &attacker).await.status(),
        StatusCode::OK
    );
}

/// Off by default: bad tokens are only ever `401`, and nothing lands in Redis.
#[tokio::test]
async fn without_abuse_config_bad_tokens_never_block() {
    let s = setup().await;
    let routes = json!([route("orders", "/orders", &s.echo, json!({}))]);
    let p = spawn_proxy(&s.broker, routes).await;
    for i in 0..30 {
        let res = p.get("/orders", &format!("guess-{i}")).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(p.get("/orders", &s.token).await.status(), StatusCode::OK);
    let mut r = s.broker.redis().await;
    let key = format!("{}abuse:{{s:127.0.0.1}}:n", s.broker.prefix);
    assert!(!r.exists::<_, bool>(&key).await.unwrap());
}
