//! Issue 11, "sampling is not counting": refusals of unknown callers are counted in process,
//! before the analytics queue, so a flood far larger than `analytics.channel_capacity` loses
//! none of them. 5,000 refused calls over many connections, one in four from a heavy hitter and
//! the others each from an address of its own (more than the proxy's per-aggregate address
//! table holds), through a proxy whose queue holds 16 events: the usage API and the operator
//! console count every call, nothing is dropped, and the heavy hitter is named first.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_shared::token::TokenKind;

use crate::gateway::{metric_until, route, spawn_echo, spawn_proxy_with, TestProxy};
use crate::portal::{between, page, portal_world, signed_in};

const FLOOD: u64 = 5_000;
const LOUD: &str = "203.0.113.7";

/// The `i`-th refused call: a made-up or malformed token, or none; every fourth from [`LOUD`].
async fn refused(proxy: &TestProxy, i: u64) -> StatusCode {
    let ip = match i % 4 {
        0 => LOUD.to_string(),
        _ => format!("198.51.{}.{}", i / 256, i % 256),
    };
    let req = proxy
        .http
        .get(proxy.url("/orders"))
        .header("x-forwarded-for", ip);
    let req = match i % 3 {
        0 => req.bearer_auth(TokenKind::AccessToken.generate()),
        1 => req.bearer_auth("tsr_at_not-a-token"),
        _ => req,
    };
    req.send().await.unwrap().status()
}

#[tokio::test]
async fn a_flood_of_refusals_beyond_the_queue_is_counted_to_the_last_call() {
    let w = portal_world().await;
    let echo = spawn_echo();
    let proxy = spawn_proxy_with(
        &w.app,
        json!([route("orders", "/orders", &echo, json!({}))]),
        |cfg| {
            cfg["server"]["trusted_proxies"] = json!(["127.0.0.1/32"]);
            cfg["analytics"] = json!({ "channel_capacity": 16, "flush_interval_ms": 200 });
        },
    )
    .await;
    let from = tessera_shared::time::now_ms();
    let ids: Vec<u64> = (0..FLOOD).collect();
    for chunk in ids.chunks(250) {
        let answers = join_all(chunk.iter().map(|&i| refused(&proxy, i))).await;
        assert!(answers.iter().all(|s| *s == StatusCode::UNAUTHORIZED));
    }

    // Every refusal was counted in process, none queued, none dropped.
    metric_until(&proxy, "analytics_refusals_folded_total", |n| n == FLOOD).await;
    metric_until(&proxy, "analytics_written_total", |n| n == FLOOD).await;
    metric_until(&proxy, "analytics_dropped_total", |n| n == 0).await;
    metric_until(&proxy, "analytics_emitted_total", |n| n == 0).await;

    // The usage API: every call, exactly.
    let res = w.app.admin_get(&format!("/admin/usage?from={from}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let total = res.json::<Value>().await.unwrap()["total"].clone();
    assert_eq!(total["calls"], FLOOD, "{total}");
    assert_eq!(total["auth_failures"], FLOOD, "{total}");
    assert_eq!(total["by_status"]["401"], FLOOD, "{total}");

    // The operator console: every refusal, and the heavy hitter first, never over-counted.
    let olivia = signed_in(&w, "olivia").await;
    let (status, console) = page(&olivia, &w.app.url("/portal/admin")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        between(&console, "id=\"tile-refused\">", "<"),
        FLOOD.to_string()
    );
    let table = between(&console, "Most refused addresses", "</table>");
    let first = between(table, "<tbody>\n<tr><td><code>", "</td></tr>");
    let (ip, calls) = first.split_once("</code></td><td>").unwrap();
    let calls: u64 = calls.parse().unwrap();
    let sent = FLOOD / 4;
    assert_eq!(ip, LOUD, "{table}");
    // Named from when it took a slot in each aggregate: at most what it sent, nearly all.
    assert!(calls <= sent && calls * 10 >= sent * 9, "{calls} of {sent}");
    assert!(table.contains("id=\"unnamed-ips\""), "{table}");
}
