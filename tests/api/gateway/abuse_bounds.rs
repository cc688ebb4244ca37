//! What abuse detection's behaviour rules cost Redis (issue 11's rule: no round trip per
//! successful call): with every rule on, a run of proxied calls (token cache on, so without
//! the rules a call sends Redis nothing) costs only the flushes — one `abuse_signals.lua` per
//! subject seen per interval — counted on a Redis of the test's own through `MONITOR`; and how
//! far a flood of addresses can grow Redis (bounded per interval; IPv6 by /64; one-shot
//! addresses write nothing and cannot crowd out a guesser); and who
//! chooses the address (`X-Forwarded-For` only through a trusted hop).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use super::abuse_rules::{marker, rules_on};
use super::{
    bearer, proxy_config, raw_get, route, setup, spawn_echo, spawn_proxy_with, start_proxy,
};
use crate::cluster::costs::Seen;
use crate::helpers::RedisServer;
use crate::world::{code_client, spawn_world_with};

#[tokio::test]
async fn behaviour_rules_cost_redis_per_flush_not_per_call() {
    let redis = RedisServer::start_with(&["--appendonly", "no"]);
    let url = redis.url();
    let w = spawn_world_with(|cfg| cfg["store"]["url"] = json!(url)).await;
    let client = code_client(&w, json!({"grant_types": ["client_credentials"]})).await;
    let echo = spawn_echo();
    let mut cfg = proxy_config(
        &w.app,
        json!([route("orders", "/orders", &echo, json!({}))]),
    );
    let flag = |extra: serde_json::Value| {
        let mut r = json!({ "action": "flag" });
        r.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        r
    };
    cfg["abuse"] = json!({
        "signals": { "flush_ms": 200 },
        "client_rate": flag(json!({ "floor": 1_000_000 })),
        "client_errors": flag(json!({})),
        "ip_unauthorized": flag(json!({})),
        "ip_tokens": flag(json!({})),
    });
    let proxy = start_proxy(cfg).await;
    let token = w.app.access_token(&client).await;
    // Warm: the token cached, the scripts loaded.
    assert_eq!(proxy.get("/orders", &token).await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let seen = Seen::watch(&url).await;
    let sent = &seen.sent;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = sent.load(Ordering::Relaxed);
    let start = Instant::now();
    const CALLS: u64 = 200;
    for _ in 0..CALLS {
        assert_eq!(proxy.get("/orders", &token).await.status(), StatusCode::OK);
    }
    let elapsed = start.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let spent = sent.load(Ordering::Relaxed) - before;
    // Two subjects (the client, the address), one merge each per flush that saw them.
    let flushes = (elapsed + Duration::from_millis(800)).as_millis() as u64 / 200 + 2;
    eprintln!(
        "{CALLS} calls in {elapsed:?}: {spent} Redis commands ({:.3} per call)",
        spent as f64 / CALLS as f64
    );
    assert!(spent >= 1, "the signals were never merged");
    assert!(
        spent <= 2 * flushes,
        "{spent} commands for {CALLS} calls in {elapsed:?}"
    );
}

/// A flood of distinct addresses cannot grow Redis by a key set per address: one proxy counts
/// at most `signals.max_subjects` addresses per interval, and IPv6 addresses of one /64 are one
/// subject.
#[tokio::test]
async fn a_flood_of_addresses_is_bounded_per_interval_and_ipv6_counts_by_64() {
    let s = setup().await;
    let routes = json!([route("orders", "/orders", &s.echo, json!({}))]);
    let p = spawn_proxy_with(&s.broker, routes, |c| {
        c["abuse"] = json!({
            "signals": { "flush_ms": 100, "max_subjects": 5, "window_secs": 3600 },
            "ip_tokens": { "action": "flag", "max_distinct": 1000 },
        });
        c["server"]["trusted_proxies"] = json!(["127.0.0.1/32"]);
    })
    .await;
    let start = Instant::now();
    for i in 0..60 {
        let xff = format!("198.51.100.{i}");
        p.get_with("/orders", "guess", &[("x-forwarded-for", xff.as_str())])
            .await;
    }
    let intervals = start.elapsed().as_millis() as u64 / 100 + 2;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut r = s.broker.redis().await;
    let pattern = format!("{}abuse:{{s:*}}:state", s.broker.prefix);
    let keys: Vec<String> = redis::AsyncCommands::keys(&mut r, &pattern).await.unwrap();
    assert!(!keys.is_empty());
    assert!(
        keys.len() as u64 <= 5 * intervals && keys.len() < 60,
        "{} addresses stored over {intervals} intervals",
        keys.len()
    );

    // Two addresses of one /64 are one subject, with its TTL.
    for (i, ip) in ["2001:db8:7:7::1", "2001:db8:7:7:ffff::2"]
        .iter()
        .enumerate()
    {
        let token = format!("v6-guess-{i}");
        p.get_with("/orders", &token, &[("x-forwarded-for", ip)])
            .await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let tokens = format!("{}abuse:{{s:2001:db8:7:7::/64}}:tokens", s.broker.prefix);
    let n: u64 = redis::cmd("PFCOUNT")
        .arg(&tokens)
        .query_async(&mut r)
        .await
        .unwrap();
    assert_eq!(n, 2);
    let ttl: i64 = redis::AsyncCommands::ttl(&mut r, &tokens).await.unwrap();
    assert!(ttl > 0, "{ttl}");
}

/// Finding F4: a flood of one-shot addresses (one valid credential each, nothing a rule can
/// trip on) fills the interval's tally, yet the address guessing tokens among them is still
/// counted and blocked; and the flood writes no key to Redis — only the guesser has any.
#[tokio::test]
async fn one_shot_addresses_neither_blind_the_ip_rules_nor_grow_redis() {
    let s = setup().await;
    let routes = json!([route("orders", "/orders", &s.echo, json!({}))]);
    let p = spawn_proxy_with(&s.broker, routes, |c| {
        c["abuse"] = json!({
            "signals": { "flush_ms": 100, "max_subjects": 5, "window_secs": 3600 },
            "ip_tokens": { "action": "block", "max_distinct": 3, "ttl_secs": 30 },
        });
        c["server"]["trusted_proxies"] = json!(["127.0.0.1/32"]);
    })
    .await;
    let guesser = "203.0.113.50";
    let mut n = 0;
    for i in 0..4 {
        // Each guess lands amid more one-shot addresses than the tally holds.
        for _ in 0..10 {
            n += 1;
            let xff = format!("198.51.{}.{}", n / 250, n % 250);
            let res = p
                .get_with("/orders", &s.token, &[("x-forwarded-for", xff.as_str())])
                .await;
            assert_eq!(res.status(), StatusCode::OK);
        }
        let guess = format!("guess-{i}");
        p.get_with("/orders", &guess, &[("x-forwarded-for", guesser)])
            .await;
    }
    let start = Instant::now();
    let status = loop {
        let res = p
            .get_with("/orders", &s.token, &[("x-forwarded-for", guesser)])
            .await;
        if res.status() != StatusCode::OK || start.elapsed() > Duration::from_secs(3) {
            break res.status();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the guesser was not counted"
    );
    let (m, _) = marker(&s, &format!("s:{guesser}")).await;
    assert_eq!(m["rule"], "ip_tokens");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut r = s.broker.redis().await;
    let pattern = format!("{}abuse:{{s:*", s.broker.prefix);
    let keys: Vec<String> = redis::AsyncCommands::keys(&mut r, &pattern).await.unwrap();
    assert!(!keys.is_empty());
    assert!(
        keys.iter().all(|k| k.contains(guesser)),
        "{} address keys: {keys:?}",
        keys.len()
    );
}

/// Without `server.trusted_proxies`, `X-Forwarded-For` names nothing: a caller rotating it
/// over raw requests is still counted, and blocked, as the socket's address.
#[tokio::test]
async fn x_forwarded_for_does_not_choose_the_address_without_trusted_proxies() {
    let s = setup().await;
    let routes = json!([route("orders", "/orders", &s.echo, json!({}))]);
    let rules = json!({ "ip_tokens": { "action": "block", "max_distinct": 3, "ttl_secs": 30 } });
    let p = spawn_proxy_with(&s.broker, routes, move |c| {
        rules_on(rules)(c);
        c["server"]["trusted_proxies"] = json!([]);
    })
    .await;
    for i in 0..4 {
        let auth = bearer(&format!("guess-{i}"));
        let xff = format!("X-Forwarded-For: 198.51.100.{i}");
        let res = raw_get(&p.base, "/orders", &[auth.as_str(), xff.as_str()]).await;
        assert_eq!(res.status, 401);
    }
    let good = bearer(&s.token);
    let start = Instant::now();
    let res = loop {
        let res = raw_get(
            &p.base,
            "/orders",
            &[good.as_str(), "X-Forwarded-For: 192.0.2.1"],
        )
        .await;
        if res.status != 200 || start.elapsed() > Duration::from_secs(3) {
            break res;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(res.status, 429);
    let (m, _) = marker(&s, "s:127.0.0.1").await;
    assert_eq!(m["rule"], "ip_tokens");
    for i in 0..4 {
        assert!(marker(&s, &format!("s:198.51.100.{i}")).await.0.is_empty());
    }
}

/// The behaviour rules judge what every proxy sees together: on the in-memory store (or none)
/// a proxy with one on refuses to start, naming what it needs, instead of counting nothing.
#[tokio::test]
async fn the_behaviour_rules_refuse_to_start_without_redis() {
    let s = setup().await;
    let mut cfg = proxy_config(&s.broker, json!([route("o", "/o", &s.echo, json!({}))]));
    cfg["store"] = json!({ "url": "memory" });
    cfg["abuse"] = json!({ "ip_tokens": { "action": "block" } });
    let source = tessera_proxy::state::ConfigSource {
        file: None,
        defaults: cfg.clone(),
    };
    let config = tessera_proxy::config::ProxyConfig::load(cfg, None).unwrap();
    let listeners =
        tessera_proxy::Listeners::bind(&config, "127.0.0.1:0".parse().unwrap()).unwrap();
    let err = match tessera_proxy::Proxy::build(config, source, None, listeners) {
        Ok(_) => panic!("started without Redis"),
        Err(e) => e,
    };
    assert!(err.to_string().contains("need store.url (Redis)"), "{err}");
}
