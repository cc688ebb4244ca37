//! Credential stuffing on the password grant (`[abuse] password_action`), end to end through
//! `/token` against the dev IdP and the real Redis: failures per address and distinct usernames
//! per address each block the address at their threshold and not before, failures per username
//! across addresses only flag the username (never a lock-out), with `429 slow_down` + `Retry-After` before the upstream is asked — even for the
//! right password — until the TTL ends; markers in Redis, the metric, the admin listing.

use std::time::Duration;

use redis::AsyncCommands;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::login_limits::password_from;
use crate::rate_limits::assert_slow_down;
use crate::world::*;

async fn world(abuse: serde_json::Value) -> (World, Client) {
    let w = spawn_world_with(move |cfg| {
        cfg["server"]["trusted_proxies"] = json!(["127.0.0.1/32"]);
        cfg["limits"] = json!({ "enabled": false });
        cfg["abuse"] = abuse;
        cfg["portal"] = json!({"operator_groups": ["tessera-operators"]});
    })
    .await;
    let c = code_client(&w, json!({"grant_types": ["password", "refresh_token"]})).await;
    (w, c)
}

#[tokio::test]
async fn failures_per_address_block_it_before_the_upstream_until_the_ttl() {
    let (w, c) = world(
        json!({ "password_action": "block", "max_failures_per_ip": 3,
                               "max_usernames_per_ip": 100, "max_failures_per_username": 100,
                               "ttl_secs": 2 }),
    )
    .await;
    let ip = "192.0.2.20";
    for _ in 0..3 {
        let res = password_from(&w, &c, ip, "alice", "wrong").await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    }
    // Three failures are not above 3: the right password still works.
    let res = password_from(&w, &c, ip, "alice", "alice").await;
    assert_eq!(res.status(), StatusCode::OK);
    // The fourth failure blocks the address.
    password_from(&w, &c, ip, "alice", "wrong").await;
    let before = w.idp.token_requests();
    let body = assert_slow_down(password_from(&w, &c, ip, "bob", "bob").await).await;
    assert!(!body["error_description"].as_str().unwrap().contains("bob"));
    assert_eq!(w.idp.token_requests(), before, "the upstream was asked");
    // Another address is unaffected.
    let res = password_from(&w, &c, "192.0.2.21", "bob", "bob").await;
    assert_eq!(res.status(), StatusCode::OK);

    // In Redis, with its TTL; in the metrics; in the admin listing.
    let mut r = w.app.redis().await;
    let key = format!("{}abuse:{{p:{ip}}}:mark", w.app.prefix);
    let rule: Option<String> = r.hget(&key, "rule").await.unwrap();
    assert_eq!(rule.as_deref(), Some("password_ip_failures"));
    let ttl: i64 = r.pttl(&key).await.unwrap();
    assert!((1..=2000).contains(&ttl), "{ttl}");
    let m = w.app.metrics().await;
    assert!(
        m.contains("tessera_abuse_trips_total{action=\"block\",rule=\"password_ip_failures\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("tessera_rate_limited_total{limiter=\"password_abuse\"} 1"),
        "{m}"
    );
    let listed = json_of(w.app.admin_get("/admin/abuse").await).await;
    assert_eq!(listed["markers"][0]["subject"], format!("p:{ip}"));
    assert_eq!(listed["markers"][0]["value"], 4.0);

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let res = password_from(&w, &c, ip, "bob", "bob").await;
    assert_eq!(res.status(), StatusCode::OK, "the block ended");
}

#[tokio::test]
async fn many_usernames_from_one_address_block_it_and_one_username_from_many_is_only_flagged() {
    let (w, c) = world(
        json!({ "password_action": "block", "max_failures_per_ip": 100,
                               "max_usernames_per_ip": 2, "max_failures_per_username": 2,
                               "ttl_secs": 30 }),
    )
    .await;
    // Distinct usernames from one address: two pass, the third blocks it.
    for user in ["u1", "u2"] {
        password_from(&w, &c, "198.51.100.1", user, "x").await;
    }
    let res = password_from(&w, &c, "198.51.100.1", "alice", "alice").await;
    assert_eq!(res.status(), StatusCode::OK, "2 usernames are not above 2");
    password_from(&w, &c, "198.51.100.1", "u3", "x").await;
    assert_slow_down(password_from(&w, &c, "198.51.100.1", "alice", "alice").await).await;

    // One username failing from many addresses trips the username rule, which only flags:
    // the right password, from another address, still signs in.
    for ip in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        password_from(&w, &c, ip, "bob", "wrong").await;
    }
    let res = password_from(&w, &c, "203.0.113.9", "bob", "bob").await;
    assert_eq!(res.status(), StatusCode::OK, "a username is never blocked");
    let m = w.app.metrics().await;
    for (rule, action) in [
        ("password_ip_usernames", "block"),
        ("password_username_failures", "flag"),
    ] {
        let line = format!("tessera_abuse_trips_total{{action=\"{action}\",rule=\"{rule}\"}} 1");
        assert!(m.contains(&line), "{line}\n{m}");
    }
    assert!(
        !m.contains("action=\"block\",rule=\"password_username_failures\""),
        "{m}"
    );
}

/// Finding F2: eleven failures on a username from one address block that address only; the
/// username is flagged (listed), and its owner signs in from another address.
#[tokio::test]
async fn failures_on_a_username_never_lock_its_owner_out() {
    let (w, c) = world(
        json!({ "password_action": "block", "max_failures_per_ip": 10,
                               "max_failures_per_username": 10, "ttl_secs": 60 }),
    )
    .await;
    let attacker = "192.0.2.66";
    for _ in 0..11 {
        let res = password_from(&w, &c, attacker, "alice", "wrong").await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    }
    let res = password_from(&w, &c, "192.0.2.67", "alice", "alice").await;
    assert_eq!(res.status(), StatusCode::OK, "alice is locked out");
    assert_slow_down(password_from(&w, &c, attacker, "alice", "alice").await).await;

    let listed = json_of(w.app.admin_get("/admin/abuse").await).await;
    let markers = listed["markers"].as_array().unwrap();
    let find = |prefix: &str| {
        markers
            .iter()
            .find(|m| m["subject"].as_str().unwrap().starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} marker in {listed}"))
    };
    let user = find("u:");
    assert_eq!(user["rule"], "password_username_failures");
    assert_eq!(user["action"], "flag");
    assert!(!user["subject"].as_str().unwrap().contains("alice"));
    let addr = find("p:");
    assert_eq!(addr["subject"], format!("p:{attacker}"));
    assert_eq!(addr["action"], "block");
    // In Redis too: the username's marker is a flag.
    let mut r = w.app.redis().await;
    let key = format!(
        "{}abuse:{{{}}}:mark",
        w.app.prefix,
        user["subject"].as_str().unwrap()
    );
    let action: Option<String> = r.hget(&key, "action").await.unwrap();
    assert_eq!(action.as_deref(), Some("flag"));
}

/// Off by default: failures are only ever `invalid_grant`, and nothing lands in Redis.
#[tokio::test]
async fn without_abuse_config_failures_never_block() {
    let (w, c) = world(json!({})).await;
    for _ in 0..25 {
        let res = password_from(&w, &c, "192.0.2.30", "alice", "wrong").await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    }
    let res = password_from(&w, &c, "192.0.2.30", "alice", "alice").await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut r = w.app.redis().await;
    let keys: Vec<String> = r.keys(format!("{}abuse:*", w.app.prefix)).await.unwrap();
    assert!(keys.is_empty(), "{keys:?}");
}

/// The operator console's security card lists the live flags and blocks: none, then the
/// address a stuffing run got blocked.
#[tokio::test]
async fn the_console_lists_live_blocks() {
    let (w, c) = world(
        json!({ "password_action": "block", "max_failures_per_ip": 1,
                               "ttl_secs": 60 }),
    )
    .await;
    let olivia = crate::portal::signed_in(&w, "olivia").await;
    let console = w.app.url("/portal/admin");
    let (status, page) = crate::portal::page(&olivia, &console).await;
    assert_eq!(status, StatusCode::OK);
    let card = page.split("id=\"abuse\"").nth(1).unwrap();
    assert!(card.contains("none"), "{card}");
    for _ in 0..2 {
        password_from(&w, &c, "192.0.2.99", "alice", "wrong").await;
    }
    let (_, page) = crate::portal::page(&olivia, &console).await;
    let card = page.split("id=\"abuse\"").nth(1).unwrap();
    let card = &card[..card.find("</table>").unwrap()];
    assert!(card.contains("<code>p:192.0.2.99</code>"), "{card}");
    assert!(
        card.contains("password_ip_failures") && card.contains("block"),
        "{card}"
    );
}
