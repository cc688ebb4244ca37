//! The usage API end to end: events written through the proxy's real [`Emitter`] into the
//! broker's Redis, then read back over HTTP from `/admin/usage` and the per-app endpoint.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_proxy::analytics::{AnalyticsConfig, Emitter, EmitterMetrics, SHUTDOWN_TIMEOUT};
use tessera_shared::analytics::{AuthOutcome, CallEvent};
use tessera_shared::config::StoreConfig;
use tessera_shared::time::now_ms;

use crate::helpers::*;
use crate::redis_server::free_port;

fn call(ts_ms: i64, client: Option<&Client>, status: u16, latency_ms: u64) -> CallEvent {
    let id = |s: &str| uuid::Uuid::parse_str(s).unwrap();
    CallEvent {
        ts_ms,
        client_id: client.map(|c| c.id.clone()),
        app_id: client.map(|c| id(&c.app_id)),
        developer_id: client.map(|c| id(&c.developer_id)),
        route: "orders".into(),
        method: "GET".into(),
        status,
        latency_us: latency_ms * 1000,
        bytes_in: 10,
        bytes_out: 100,
        auth: if client.is_some() {
            AuthOutcome::Ok
        } else {
            AuthOutcome::Missing
        },
        throttled: false,
        refused_by: None,
        client_ip: None,
        flagged_by: None,
        count: 1,
        ips: vec![],
    }
}

/// Writes `events` through a real emitter into `app`'s Redis, and waits until they are stored.
async fn record(app: &TestApp, events: &[CallEvent]) {
    let metrics = EmitterMetrics::new().unwrap();
    let cfg = AnalyticsConfig {
        batch_size: 50,
        flush_interval_ms: 10,
        ..AnalyticsConfig::default()
    };
    let (emitter, writer) = Emitter::start(app.store(), cfg, metrics.clone());
    for e in events {
        emitter.emit(e.clone());
    }
    writer.shutdown().await;
    assert_eq!(metrics.written.get(), events.len() as u64);
}

async fn usage(app: &TestApp, path_and_query: &str) -> Value {
    let res = app.admin_get(path_and_query).await;
    assert_eq!(res.status(), StatusCode::OK, "{path_and_query}");
    json_of(res).await
}

/// `a`: 30 calls at 400 ms steps from `base`, latencies 1..=30 ms, every 10th a 500. `b`: 20 calls at 100 ms steps
/// from `base + 10 s`, the first 5 throttled (429). 3 unauthenticated calls (401).
fn traffic(base: i64, a: &Client, b: &Client) -> Vec<CallEvent> {
    let mut events = Vec::new();
    for i in 0..30 {
        let status = if i % 10 == 0 { 500 } else { 200 };
        events.push(call(base + i * 400, Some(a), status, i as u64 + 1));
    }
    for i in 0..20 {
        let mut e = call(base + 10_000 + i * 100, Some(b), 200, 5);
        if i < 5 {
            (e.status, e.throttled) = (429, true);
        }
        events.push(e);
    }
    for _ in 0..3 {
        events.push(call(base + 20_000, None, 401, 1));
    }
    events
}

#[tokio::test]
async fn usage_sums_up_calls_errors_latency_clients_and_series() {
    let app = spawn_app().await;
    let (a, b) = (app.default_client().await, app.default_client().await);
    let base = now_ms() - 50_000;
    let events = traffic(base, &a, &b);
    record(&app, &events).await;

    let r = usage(&app, &format!("/admin/usage?from={base}&interval=minute")).await;
    assert_eq!(r["truncated"], false);
    assert_eq!(r["interval"], "minute");
    let t = &r["total"];
    assert_eq!(t["calls"], 53);
    assert_eq!(
        (&t["errors"], &t["client_errors"], &t["server_errors"]),
        (&json!(11), &json!(8), &json!(3))
    );
    assert_eq!(
        (&t["throttled"], &t["auth_failures"]),
        (&json!(5), &json!(3))
    );
    assert_eq!(
        (&t["bytes_in"], &t["bytes_out"]),
        (&json!(530), &json!(5300))
    );
    assert_eq!(
        t["by_status"],
        json!({"200": 42, "401": 3, "429": 5, "500": 3})
    );
    assert_eq!(t["latency_ms"]["max"], 30.0);

    // Busiest client first; unauthenticated calls apart, under a null client_id.
    let clients: Vec<(Value, Value, Value)> = r["by_client"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["client_id"].clone(),
                c["app_id"].clone(),
                c["calls"].clone(),
            )
        })
        .collect();
    assert_eq!(
        clients,
        vec![
            (json!(a.id), json!(a.app_id), json!(30)),
            (json!(b.id), json!(b.app_id), json!(20)),
            (Value::Null, Value::Null, json!(3)),
        ]
    );
    // Nearest rank over 1..=30 ms: p50 = 15th, p95 = 29th (ceil 28.5), p99 = 30th.
    let la = &r["by_client"][0]["latency_ms"];
    assert_eq!(
        (&la["p50"], &la["p95"], &la["p99"], &la["max"]),
        (&json!(15.0), &json!(29.0), &json!(30.0), &json!(30.0))
    );
    assert_eq!(r["by_client"][1]["throttled"], 5);

    // One bucket per minute from `from` to `to`, empty ones included.
    let to = r["to_ms"].as_i64().unwrap();
    let mut expected: BTreeMap<i64, u64> = BTreeMap::new();
    let mut m = base / 60_000 * 60_000;
    while m <= to {
        expected.insert(m, 0);
        m += 60_000;
    }
    for e in &events {
        *expected.get_mut(&(e.ts_ms / 60_000 * 60_000)).unwrap() += 1;
    }
    let series: BTreeMap<i64, u64> = r["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["p99_ms"].is_null(), s["calls"] == 0, "{s}");
            assert!(s["start"].as_str().unwrap().ends_with(":00.000Z"), "{s}");
            (
                s["start_ms"].as_i64().unwrap(),
                s["calls"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(series, expected);
}

#[tokio::test]
async fn usage_filters_by_client_app_developer_and_time() {
    let app = spawn_app().await;
    let (a, b) = (app.default_client().await, app.default_client().await);
    let base = now_ms() - 50_000;
    record(&app, &traffic(base, &a, &b)).await;
    let calls = |q: String| {
        let app = &app;
        async move { usage(app, &format!("/admin/usage?{q}")).await["total"]["calls"].clone() }
    };
    assert_eq!(calls(format!("from={base}&client_id={}", b.id)).await, 20);
    assert_eq!(calls(format!("from={base}&app_id={}", a.app_id)).await, 30);
    assert_eq!(
        calls(format!("from={base}&developer_id={}", b.developer_id)).await,
        20
    );
    let wrong_pair = format!(
        "from={base}&developer_id={}&app_id={}",
        b.developer_id, a.app_id
    );
    assert_eq!(calls(wrong_pair).await, 0);

    // Both ends inclusive, on the calls' own arrival times (all were written later, together):
    // a at base + 10.0, 10.4, 10.8 s; b at base + 10.0, 10.1, ... 11.0 s.
    let (from, to) = (base + 10_000, base + 11_000);
    assert_eq!(calls(format!("from={from}&to={to}")).await, 14);
    assert_eq!(calls(format!("from={}&to={to}", from + 1)).await, 12);
    assert_eq!(calls(format!("from={from}&to={}", to - 1)).await, 13);
    // The same range written as RFC 3339, as the API echoes it.
    let r = usage(&app, &format!("/admin/usage?from={from}&to={to}")).await;
    let (f, t) = (r["from"].as_str().unwrap(), r["to"].as_str().unwrap());
    let q = format!("from={}&to={}", urlencode(f), urlencode(t));
    assert_eq!(calls(q).await, 14);

    // By default: the hour before now. A call that arrived two hours ago (written just now) is
    // outside it, whatever its write time.
    record(&app, &[call(now_ms() - 7_200_000, Some(&a), 200, 1)]).await;
    let r = usage(&app, "/admin/usage").await;
    assert_eq!(r["total"]["calls"], 53);
    assert_eq!(
        r["to_ms"].as_i64().unwrap() - r["from_ms"].as_i64().unwrap(),
        3_600_000
    );
    assert!((now_ms() - r["to_ms"].as_i64().unwrap()).abs() < 10_000);
    assert_eq!(r["interval"], "minute");
}

fn urlencode(s: &str) -> String {
    s.replace(':', "%3A").replace('+', "%2B")
}

#[tokio::test]
async fn app_usage_covers_one_app_of_its_developer() {
    let app = spawn_app().await;
    let (a, b) = (app.default_client().await, app.default_client().await);
    let base = now_ms() - 50_000;
    record(&app, &traffic(base, &a, &b)).await;
    let path = |dev: &str, id: &str| format!("/admin/developers/{dev}/apps/{id}/usage");

    let r = usage(
        &app,
        &format!("{}?from={base}", path(&a.developer_id, &a.app_id)),
    )
    .await;
    assert_eq!(r["total"]["calls"], 30);
    assert_eq!(r["total"]["server_errors"], 3);
    assert_eq!(r["by_client"].as_array().unwrap().len(), 1);
    assert_eq!(r["by_client"][0]["client_id"], json!(a.id));

    // Another developer's app, an unknown app, and a malformed id are all simply not found.
    let unknown = uuid::Uuid::new_v4().to_string();
    for p in [
        path(&b.developer_id, &a.app_id),
        path(&a.developer_id, &unknown),
        path(&a.developer_id, "not-a-uuid"),
    ] {
        let res = app.admin_get(&p).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{p}");
        assert_eq!(json_of(res).await["error"], "not_found");
    }
    // Filters that make no sense for one app are refused, not ignored.
    let res = app
        .admin_get(&format!(
            "{}?app_id={}",
            path(&a.developer_id, &a.app_id),
            b.app_id
        ))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(res).await["field"], "app_id");
}

#[tokio::test]
async fn bad_parameters_are_400_naming_the_parameter() {
    let app = spawn_app().await;
    let day = 86_400_000_i64;
    let now = now_ms();
    let cases = [
        (format!("from={}&to={}", now, now - 1), "from"),
        (format!("from={}&to={now}", now - 32 * day), "from"),
        (format!("from={}", now - 32 * day), "from"),
        (
            format!("from={}&interval=minute", now - 8 * day),
            "interval",
        ),
        ("interval=week".to_string(), "interval"),
        ("from=yesterday".to_string(), "from"),
        ("to=-1".to_string(), "to"),
        ("to=2024-13-01T00:00:00Z".to_string(), "to"),
        ("client_id=".to_string(), "client_id"),
        ("app_id=x".to_string(), "app_id"),
        ("developer_id=1".to_string(), "developer_id"),
        ("limit=10".to_string(), "limit"),
        ("from=1&from=2".to_string(), "from"),
    ];
    for (q, field) in cases {
        let res = app.admin_get(&format!("/admin/usage?{q}")).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{q}");
        let body = json_of(res).await;
        assert_eq!(body["error"], "invalid_request", "{q}");
        assert_eq!(body["field"], field, "{q}: {body}");
    }
    // 31 days exactly is fine, in days by default.
    let r = usage(
        &app,
        &format!("/admin/usage?from={}&to={now}", now - 31 * day),
    )
    .await;
    assert_eq!(r["interval"], "day");
}

#[tokio::test]
async fn usage_requires_the_admin_token() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    let app_path = format!(
        "/admin/developers/{}/apps/{}/usage",
        c.developer_id, c.app_id
    );
    for p in ["/admin/usage", app_path.as_str()] {
        let res = app.http.get(app.url(p)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{p}");
        let res = app
            .http
            .get(app.url(p))
            .bearer_auth("y".repeat(40))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{p}");
        assert_eq!(json_of(res).await["error"], "unauthorized");
    }
}

#[tokio::test]
async fn a_range_with_more_events_than_the_cap_is_truncated() {
    let app = spawn_app_with(&shared_redis_url(), |c| {
        c["admin"]["usage_max_events"] = json!(5)
    })
    .await;
    let now = now_ms();
    let events: Vec<CallEvent> = (0..8).map(|i| call(now - 8 + i, None, 200, 1)).collect();
    record(&app, &events).await;
    let r = usage(&app, "/admin/usage").await;
    assert_eq!(r["truncated"], true);
    assert_eq!(r["total"]["calls"], 5, "the oldest five");
}

#[tokio::test]
async fn usage_is_503_while_redis_is_down() {
    let dead = format!("redis://127.0.0.1:{}", free_port());
    let app = spawn_app_with(&dead, |_| {}).await;
    let unknown = uuid::Uuid::new_v4();
    for p in [
        "/admin/usage".to_string(),
        format!("/admin/developers/{unknown}/apps/{unknown}/usage"),
    ] {
        let res = app.admin_get(&p).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{p}");
        assert_eq!(json_of(res).await["error"], "temporarily_unavailable");
    }
}

#[tokio::test]
async fn a_full_channel_drops_and_counts_instead_of_blocking() {
    // The writer is stuck failing against a Redis that is not there.
    let store = tessera_shared::store::open(&StoreConfig {
        url: format!("redis://127.0.0.1:{}", free_port()),
        command_timeout_ms: 200,
        connect_timeout_ms: 200,
        ..StoreConfig::default()
    })
    .unwrap();
    let metrics = EmitterMetrics::new().unwrap();
    let cfg = AnalyticsConfig {
        channel_capacity: 16,
        batch_size: 4,
        ..AnalyticsConfig::default()
    };
    let (emitter, writer) = Emitter::start(store, cfg, metrics.clone());
    let started = Instant::now();
    for i in 0..10_000 {
        emitter.emit(call(i, None, 200, 1));
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(250),
        "10,000 emits took {took:?}"
    );
    let (emitted, dropped) = (metrics.emitted.get(), metrics.dropped.get());
    assert!(dropped > 0);
    assert_eq!(emitted + dropped, 10_000);
    let started = Instant::now();
    writer.shutdown().await;
    assert!(started.elapsed() <= SHUTDOWN_TIMEOUT + Duration::from_secs(1));
    assert_eq!(metrics.written.get(), 0);
    assert!(metrics.write_errors.get() >= 1);
}
