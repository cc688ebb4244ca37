//! Issue 11, P5: refusals of unknown callers are aggregated, counted not sampled. A flood of N
//! refused calls (made-up, malformed and missing tokens, from many addresses behind a trusted
//! hop) through the real proxy is summed by the usage API and the operator console to exactly N,
//! with the loudest address first at its exact count, while the analytics streams hold a few
//! records per batch instead of one per call (entries and bytes asserted). A record of the old
//! form (one call, no `count`) written beside them is still counted.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_shared::token::TokenKind;

use crate::gateway::{route, spawn_echo, spawn_proxy_with, TestProxy};
use crate::helpers::TestApp;
use crate::portal::{between, page, portal_world, signed_in};

const FLOOD: usize = 3_000;
const LOUD: &str = "203.0.113.66";

/// The `i`-th refused call: its token (none, malformed, made up) and its address (every
/// third from [`LOUD`], the others spread over 40 addresses).
async fn refused(proxy: &TestProxy, i: usize) -> StatusCode {
    let ip = match i % 3 {
        0 => LOUD.to_string(),
        _ => format!("198.51.100.{}", i % 40),
    };
    let mut req = proxy
        .http
        .get(proxy.url("/orders"))
        .header("x-forwarded-for", ip);
    req = match i % 3 {
        0 => req.bearer_auth(TokenKind::AccessToken.generate()),
        1 => req.bearer_auth("tsr_at_not-a-token"),
        _ => req,
    };
    req.send().await.unwrap().status()
}

/// The usage API's totals once they reach `calls` calls (the writer flushes in the background).
async fn totals(app: &TestApp, from: i64, calls: u64) -> Value {
    let start = Instant::now();
    loop {
        let res = app.admin_get(&format!("/admin/usage?from={from}")).await;
        assert_eq!(res.status(), StatusCode::OK);
        let total = res.json::<Value>().await.unwrap()["total"].clone();
        if total["calls"].as_u64() >= Some(calls) || start.elapsed() > Duration::from_secs(10) {
            return total;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// (entries, bytes) of the analytics streams under the app's prefix.
async fn streams(app: &TestApp) -> (u64, u64) {
    let mut r = app.redis().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}analytics*", app.prefix))
        .query_async(&mut r)
        .await
        .unwrap();
    let (mut entries, mut bytes) = (0, 0);
    for k in keys {
        let n: u64 = redis::cmd("XLEN")
            .arg(&k)
            .query_async(&mut r)
            .await
            .unwrap();
        let b: u64 = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(&k)
            .arg("SAMPLES")
            .arg(0)
            .query_async(&mut r)
            .await
            .unwrap();
        entries += n;
        bytes += b;
    }
    (entries, bytes)
}

#[tokio::test]
async fn a_flood_of_refusals_is_counted_exactly_in_bounded_records() {
    let w = portal_world().await;
    let echo = spawn_echo();
    let client = w.app.default_client().await;
    let token = w.app.access_token(&client).await;
    let proxy = spawn_proxy_with(
        &w.app,
        json!([route("orders", "/orders", &echo, json!({}))]),
        |cfg| cfg["server"]["trusted_proxies"] = json!(["127.0.0.1/32"]),
    )
    .await;
    let from = tessera_shared::time::now_ms();
    for _ in 0..5 {
        assert_eq!(proxy.get("/orders", &token).await.status(), StatusCode::OK);
    }
    for chunk in (0..FLOOD).collect::<Vec<_>>().chunks(100) {
        let answers = join_all(chunk.iter().map(|&i| refused(&proxy, i))).await;
        assert!(answers.iter().all(|s| *s == StatusCode::UNAUTHORIZED));
    }
    // One refusal of the old form: a record per call, no `count`.
    let old = json!({ "ts_ms": tessera_shared::time::now_ms(), "client_id": null,
        "app_id": null, "developer_id": null, "route": "orders", "method": "GET",
        "status": 401, "latency_us": 10, "bytes_in": 0, "bytes_out": 0, "auth": "invalid",
        "throttled": false, "refused_by": "auth", "client_ip": LOUD });
    let store = w.app.store();
    store
        .analytics_append(0, &[old.to_string()], 1_000)
        .await
        .unwrap();
    let refusals = FLOOD as u64 + 1;

    // The usage API: every call, exactly.
    let total = totals(&w.app, from, refusals + 5).await;
    assert_eq!(total["calls"], refusals + 5, "{total}");
    assert_eq!(total["auth_failures"], refusals, "{total}");
    assert_eq!(total["by_status"]["401"], refusals, "{total}");

    // Bounded records: a few per batch, not one per call.
    let (entries, bytes) = streams(&w.app).await;
    let records = store.analytics_range(0, i64::MAX, 100_000).await.unwrap();
    assert!(
        records.len() * 10 <= FLOOD,
        "{} records for {FLOOD} refusals",
        records.len()
    );
    assert!(entries as usize <= records.len());
    // Measured: 3,001 refusals in 48 records (20 entries), 80 KB of streams; recorded one a
    // call, as before aggregation, they took about 250 bytes each.
    assert!(
        bytes < FLOOD as u64 * 50,
        "{bytes} bytes for {FLOOD} refusals"
    );

    // The operator console: refused credentials and the loudest address, exactly.
    let olivia = signed_in(&w, "olivia").await;
    let (status, console) = page(&olivia, &w.app.url("/portal/admin")).await;
    assert_eq!(status, StatusCode::OK);
    let tile = between(&console, "id=\"tile-refused\">", "<");
    assert_eq!(tile, refusals.to_string());
    let table = between(&console, "Most refused addresses", "</table>");
    let first = between(table, "<tbody>\n<tr><td><code>", "</td></tr>");
    let loud = (FLOOD as u64).div_ceil(3) + 1;
    assert_eq!(first, format!("{LOUD}</code></td><td>{loud}"), "{table}");
    assert!(table.contains("id=\"unnamed-ips\""), "{table}");
}
