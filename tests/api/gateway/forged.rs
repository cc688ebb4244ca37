//! Issue 11, P5: access and refresh tokens carry a tag keyed by the pepper, so a flood of
//! made-up tokens — well formed, with the public checksum right, but never minted — is refused
//! by the proxy (401 `invalid_token`, RFC 6750 §3.1) and by the broker's introspection
//! (`{"active": false}`, RFC 7662 §2.2) and revocation (RFC 7009 §2.2) with no Redis command at
//! all: counted on a Redis of the test's own with `INFO commandstats`. Tokens minted before tags
//! existed are looked up again only while `security.accept_untagged_tokens` is on.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use tessera_shared::crypto::Keys;
use tessera_shared::token::TokenKind;

use super::*;
use crate::helpers::{json_of, spawn_app_with, PEPPER};
use crate::redis_server::RedisServer;

const FLOOD: usize = 300;

/// The commands run between two snapshots, without the time-driven ones (heartbeat `PING`s,
/// `INFO` — the analytics writer's memory check and this test's own snapshots) and the analytics
/// writer's `XADD`s (one per batch of events, returned apart).
fn per_call(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> (Vec<String>, u64) {
    let mut ran = Vec::new();
    let mut xadds = 0;
    for (name, calls) in after {
        let n = calls - before.get(name).copied().unwrap_or(0);
        match name.as_str() {
            _ if n == 0 => {}
            "ping" | "info" => {}
            "xadd" => xadds = n,
            _ => ran.push(format!("{name}={n}")),
        }
    }
    (ran, xadds)
}

/// Made-up access tokens: untagged (any string of the public format), and tagged under another
/// deployment's pepper.
fn made_up(n: usize) -> Vec<String> {
    let other = Keys::from_pepper(&"another deployment's pepper, 32+ chars".to_string().into());
    (0..n)
        .map(|i| match i % 2 {
            0 => TokenKind::AccessToken.generate(),
            _ => other.mint(TokenKind::AccessToken),
        })
        .collect()
}

async fn settle() {
    // The analytics writer flushes every 50 ms in these tests.
    tokio::time::sleep(Duration::from_millis(400)).await;
}

#[tokio::test]
async fn a_flood_of_made_up_tokens_costs_redis_nothing() {
    let redis = RedisServer::start();
    // Each introspection checks the app's rate on its own (no leases: two introspections
    // within 10 ms may share one at the default rate, which would make the counts timing's).
    let broker = spawn_app_with(&redis.url(), |cfg| cfg["limits"]["lease_ms"] = json!(0)).await;
    let echo = spawn_echo();
    let client = broker.default_client().await;
    let token = broker.access_token(&client).await;
    let proxy = spawn_proxy(
        &broker,
        json!([route("orders", "/orders", &echo, json!({}))]),
    )
    .await;
    echoed(proxy.get("/orders", &token).await).await;
    let forged_before = counter(&proxy.metrics().await, "tessera_proxy_token_forged_total");
    settle().await;

    // The proxy: every made-up token is 401 invalid_token, and Redis sees no command.
    let tokens = made_up(FLOOD);
    let before = redis.commands().await;
    for chunk in tokens.chunks(50) {
        let answers = join_all(chunk.iter().map(|t| proxy.get("/orders", t))).await;
        for res in answers {
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
            let challenge = res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .to_string();
            assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
            assert_eq!(json_of(res).await["error"], "invalid_token");
        }
    }
    settle().await;
    let (ran, xadds) = per_call(&before, &redis.commands().await);
    assert!(ran.is_empty(), "the flood reached Redis: {ran:?}");
    assert!(
        xadds <= 20,
        "{xadds} XADDs for {FLOOD} refusals: not packed"
    );
    let forged = counter(&proxy.metrics().await, "tessera_proxy_token_forged_total");
    assert_eq!(forged - forged_before, FLOOD as u64);

    // The broker: introspection and revocation of made-up access and refresh tokens look
    // nothing up — what remains is the client's authentication and rate limit, as for a
    // token that is never looked up at all ("garbage"); refresh is invalid_grant.
    broker_cost(&redis, &broker, &client, &["garbage"; 2]).await; // warms the app cache
    let baseline = broker_cost(&redis, &broker, &client, &["garbage"; 10]).await;
    let made_up_refresh: Vec<String> = (0..10)
        .map(|_| TokenKind::RefreshToken.generate())
        .collect();
    let mut flood: Vec<&str> = tokens[..10].iter().map(String::as_str).collect();
    flood.extend(made_up_refresh.iter().map(String::as_str));
    let cost = broker_cost(&redis, &broker, &client, &flood[..10]).await;
    assert_eq!(
        cost, baseline,
        "introspecting made-up access tokens looked them up"
    );
    let cost = broker_cost(&redis, &broker, &client, &flood[10..]).await;
    assert_eq!(
        cost, baseline,
        "introspecting made-up refresh tokens looked them up"
    );

    // Real tokens still work everywhere.
    echoed(
        proxy
            .get("/orders", &broker.access_token(&client).await)
            .await,
    )
    .await;
    assert!(broker.is_active(&client, &token).await);
}

/// The commands (but `PING`/`INFO`) that introspecting and revoking each of `tokens` costs,
/// asserting every introspection is inactive.
async fn broker_cost(
    redis: &RedisServer,
    broker: &crate::helpers::TestApp,
    client: &crate::helpers::Client,
    tokens: &[&str],
) -> Vec<String> {
    settle().await;
    let before = redis.commands().await;
    for t in tokens {
        assert_eq!(
            broker.introspect(client, t).await,
            json!({ "active": false })
        );
        let res = broker.post_form("/revoke", client, &[("token", t)]).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    settle().await;
    per_call(&before, &redis.commands().await).0
}

/// Stores a copy of `real`'s record under a token of the format tags replaced (32 random bytes,
/// no tag): what a broker of the previous version left in Redis.
async fn untagged_copy(broker: &crate::helpers::TestApp, real: &str) -> String {
    let keys = Keys::from_pepper(&PEPPER.to_string().into());
    let key = |t: &str| format!("{}at:{{{}}}", broker.prefix, keys.token_hash(t));
    let untagged = TokenKind::AccessToken.generate();
    assert!(!keys.is_genuine(TokenKind::AccessToken, &untagged));
    let mut r = broker.redis().await;
    let record: String = redis::cmd("GET")
        .arg(key(real))
        .query_async(&mut r)
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(key(&untagged))
        .arg(record)
        .arg("EX")
        .arg(600)
        .query_async(&mut r)
        .await
        .unwrap();
    untagged
}

#[tokio::test]
async fn untagged_tokens_are_honoured_only_while_the_upgrade_switch_is_on() {
    let s = setup().await;
    let routes = json!([route("orders", "/orders", &s.echo, json!({}))]);
    let old = untagged_copy(&s.broker, &s.token).await;

    // Off (the default): refused without a lookup, by the proxy and the broker.
    let proxy = spawn_proxy(&s.broker, routes.clone()).await;
    let res = proxy.get("/orders", &old).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        counter(&proxy.metrics().await, "tessera_proxy_token_forged_total"),
        1
    );
    assert!(!s.broker.is_active(&s.client, &old).await);
    echoed(proxy.get("/orders", &s.token).await).await;

    // On: looked up as before tags existed, by a broker and a proxy on the same store.
    let upgrading = |cfg: &mut serde_json::Value| {
        cfg["security"]["accept_untagged_tokens"] = json!(true);
    };
    let prefix = s.broker.prefix.clone();
    let broker = spawn_app_with(&s.broker.redis_url, |cfg| {
        cfg["store"]["prefix"] = json!(prefix);
        upgrading(cfg);
    })
    .await;
    let proxy = spawn_proxy_with(&broker, routes, upgrading).await;
    let e = echoed(proxy.get("/orders", &old).await).await;
    assert_eq!(
        header(&e, "x-tessera-client-id"),
        Some(s.client.id.as_str())
    );
    assert!(broker.is_active(&s.client, &old).await);
    // Tagged tokens work too, and a made-up one is still refused (after its lookup).
    echoed(proxy.get("/orders", &s.token).await).await;
    let made_up = TokenKind::AccessToken.generate();
    assert_eq!(
        proxy.get("/orders", &made_up).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        counter(&proxy.metrics().await, "tessera_proxy_token_forged_total"),
        0
    );
}

/// CRC-32 (IEEE), as the token format's public checksum (`shared/src/token.rs`): what anyone
/// can compute to make a string well formed.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// `real` with the last byte of its tag changed and its checksum made right again: well
/// formed, the random part of a live token, not vouched for.
fn retagged(real: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let prefix = TokenKind::AccessToken.prefix();
    let mut body = URL_SAFE_NO_PAD
        .decode(&real[prefix.len()..real.len() - 6])
        .unwrap();
    *body.last_mut().unwrap() ^= 1;
    let head = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(&body));
    let forged = format!(
        "{head}{}",
        URL_SAFE_NO_PAD.encode(crc32(head.as_bytes()).to_be_bytes())
    );
    assert!(TokenKind::AccessToken.is_well_formed(&forged));
    forged
}

/// Issue 11, P2: without the token cache, a token whose record was read before is not
/// tag-checked again (the proxy keeps what it built by the token's keyed MAC; an entry exists
/// only for a token vouched for and found active). A flood of made-up tokens still costs Redis
/// nothing after real tokens were seen — a live token's random part with another tag among
/// them — and the real token is still read and checked on every call: deleted, it is refused.
#[tokio::test]
async fn without_the_cache_tokens_read_before_skip_their_tag_check_and_forgeries_cost_nothing() {
    let redis = RedisServer::start();
    let broker = spawn_app_with(&redis.url(), |_| {}).await;
    let echo = spawn_echo();
    let client = broker.default_client().await;
    let token = broker.access_token(&client).await;
    let routes = json!([route("orders", "/orders", &echo, json!({}))]);
    let proxy = spawn_proxy_with(&broker, routes, |c| {
        c["cache"] = json!({ "enabled": false });
    })
    .await;
    for _ in 0..3 {
        echoed(proxy.get("/orders", &token).await).await;
    }
    settle().await;

    let mut tokens = made_up(FLOOD);
    tokens.extend((0..10).map(|_| retagged(&token)));
    let forged_before = counter(&proxy.metrics().await, "tessera_proxy_token_forged_total");
    let before = redis.commands().await;
    for chunk in tokens.chunks(50) {
        for res in join_all(chunk.iter().map(|t| proxy.get("/orders", t))).await {
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(json_of(res).await["error"], "invalid_token");
        }
    }
    settle().await;
    let (ran, _) = per_call(&before, &redis.commands().await);
    assert!(ran.is_empty(), "the flood reached Redis: {ran:?}");
    let forged = counter(&proxy.metrics().await, "tessera_proxy_token_forged_total");
    assert_eq!(forged - forged_before, tokens.len() as u64);

    // The real token: one GET a call, and refused once its record is gone.
    let before = redis.commands().await;
    echoed(proxy.get("/orders", &token).await).await;
    settle().await;
    let (ran, _) = per_call(&before, &redis.commands().await);
    assert_eq!(ran, vec!["get=1".to_string()]);
    let res = broker
        .post_form("/revoke", &client, &[("token", &token)])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = proxy.get("/orders", &token).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// Pinned (an attacker's review of the fourth session's speed work, issue 11): the broker's
/// introspection answers a kept token from memory before it checks the tag (42f7d86). A hit
/// vouches only for that very string — the cache is keyed by the keyed MAC of the whole
/// token — so a copy of a kept token with another tag is no hit, is inactive and costs no
/// lookup, and neither it nor another client's revocation ends the real token (RFC 7009 §2.1);
/// its own client's revocation does, at once.
#[tokio::test]
async fn an_introspection_cache_hit_vouches_only_for_the_very_token() {
    let redis = RedisServer::start();
    let broker = spawn_app_with(&redis.url(), |cfg| cfg["limits"]["lease_ms"] = json!(0)).await;
    let client = broker.default_client().await;
    let token = broker.access_token(&client).await;
    crate::introspection_cache::cached(&broker, &client, &token).await;

    broker_cost(&redis, &broker, &client, &["garbage"; 2]).await;
    let baseline = broker_cost(&redis, &broker, &client, &["garbage"; 10]).await;
    let copy = retagged(&token);
    let hits = crate::introspection_cache::hits(&broker).await;
    let cost = broker_cost(&redis, &broker, &client, &[copy.as_str(); 10]).await;
    assert_eq!(
        cost, baseline,
        "a retagged copy of a kept token was looked up"
    );
    assert_eq!(crate::introspection_cache::hits(&broker).await, hits);

    let other = broker.default_client().await;
    let res = broker
        .post_form("/revoke", &other, &[("token", &token)])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    crate::introspection_cache::cached(&broker, &client, &token).await;
    let res = broker
        .post_form("/revoke", &client, &[("token", &token)])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!broker.is_active(&client, &token).await);
    assert!(!broker.is_active(&other, &token).await);
}
