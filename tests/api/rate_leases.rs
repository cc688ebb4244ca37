//! Leases of the per-app limits (`broker/src/ratelimit/lease.rs`): brokers sharing one app's
//! limit together admit no more than it allows, a slice is spent without asking the store and
//! lost when its hold ends (and `tessera_lease_cells_total` counts the cells asked, granted and
//! spent), a low rate asks the store for every request as before, and refusals carry the same
//! `Retry-After` and RateLimit fields.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::rate_limits::{assert_slow_down, with_limits};

/// A broker on `redis` (key prefix `prefix`, or its own) with `limits`.
async fn broker(redis: &RedisServer, prefix: Option<&str>, limits: Value) -> TestApp {
    spawn_app_with(&redis.url(), |cfg| {
        with_limits(cfg, limits);
        if let Some(p) = prefix {
            cfg["store"]["prefix"] = json!(p);
        }
    })
    .await
}

/// Sends `/token` requests as `c` to `app` from `tasks` tasks until `until`; the 200s and 429s.
async fn hammer(app: &TestApp, c: &Client, tasks: usize, until: Instant) -> (u64, u64, Vec<Value>) {
    let ok = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (app, c, ok, refused) = (app.clone(), c.clone(), ok.clone(), refused.clone());
        handles.push(tokio::spawn(async move {
            let mut refusal = None;
            while Instant::now() < until {
                let res = app.token(&c, &[("grant_type", "client_credentials")]).await;
                match res.status() {
                    StatusCode::OK => ok.fetch_add(1, Ordering::Relaxed),
                    StatusCode::TOO_MANY_REQUESTS => {
                        let h = res.headers();
                        if refusal.is_none() {
                            refusal = Some(json!({
                                "limit": h["ratelimit-limit"].to_str().unwrap(),
                                "policy": h["ratelimit-policy"].to_str().unwrap(),
                            }));
                            assert_slow_down(res).await;
                        }
                        refused.fetch_add(1, Ordering::Relaxed)
                    }
                    s => panic!("unexpected {s}"),
                };
            }
            refusal
        }));
    }
    let mut refusals = Vec::new();
    for h in handles {
        refusals.extend(h.await.unwrap());
    }
    (
        ok.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
        refusals,
    )
}

#[tokio::test]
async fn two_leasing_brokers_admit_no_more_than_the_app_limit_together() {
    let redis = RedisServer::start();
    // 100 per second, burst 40: slices of up to 10 cells held up to 100 ms.
    let limits = json!({ "token": { "rate": "100ps", "burst": 40 }, "lease_ms": 200 });
    let a = broker(&redis, None, limits.clone()).await;
    let b = broker(&redis, Some(&a.prefix), limits).await;
    let c = a.default_client().await;
    let grants = redis.command_calls("set").await;
    let start = Instant::now();
    let until = start + Duration::from_secs(2);
    let ((ok_a, no_a, ref_a), (ok_b, no_b, ref_b)) =
        tokio::join!(hammer(&a, &c, 4, until), hammer(&b, &c, 4, until));
    let secs = start.elapsed().as_secs_f64();
    let ok = ok_a + ok_b;
    // GCRA's bound on the Redis clock, within the test's own (longer) span: burst + t × rate.
    let most = 40.0 + 100.0 * secs;
    println!(
        "admitted {ok_a} + {ok_b}, refused {no_a} + {no_b} in {secs:.2} s (at most {most:.0})"
    );
    assert!(ok as f64 <= most + 1.0, "{ok} admitted, at most {most:.0}");
    assert!(
        no_a + no_b > 0,
        "the limit was never reached: the test says nothing"
    );
    assert!(ok >= 100, "{ok} admitted: leases lost too much");
    // Each grant is one SET of the limit's state: fewer grants than admissions means slices
    // were spent in process.
    let grants = redis.command_calls("set").await - grants;
    assert!(
        grants < ok,
        "{grants} grants for {ok} admissions: no slice spent"
    );
    // Refusals carry the limit and policy as without leases (burst 40; refilled in 0.4 s).
    for r in ref_a.iter().chain(&ref_b) {
        assert_eq!(r, &json!({ "limit": "40", "policy": "40;w=1" }));
    }
}

#[tokio::test]
async fn a_slice_is_spent_in_process_and_lost_when_its_hold_ends() {
    let redis = RedisServer::start();
    // 1000 per second, burst 4000: slices of up to 64 cells held 1 s.
    let limits = json!({ "token": { "rate": "1000ps", "burst": 4000 }, "lease_ms": 1000 });
    let app = broker(&redis, None, limits).await;
    let c = app.default_client().await;
    // Grants of the limit (each one `SET` of its state in gcra.lua; a first request also asks
    // about back-offs once, with other scripts, so script calls are not counted).
    let mut grants = Vec::new();
    for _ in 0..10 {
        let before = redis.command_calls("set").await;
        app.access_token(&c).await;
        grants.push(redis.command_calls("set").await - before);
    }
    // One request, then a lease of 2 (its first cell for the request that asked); its last cell
    // admits a request that asks ahead for 4, and the request that leaves a quarter of those
    // asks for 8.
    assert_eq!(grants, [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]);
    // What operators see: leases of 2, 4 and 8 cells, all granted, and 9 requests admitted
    // by their cells (all but the first, which asked the store for itself alone).
    assert_eq!(lease_cells(&app).await, [14, 14, 9]);
    // 5 cells of the lease of 8 are left; once its hold ends they are lost: the next request
    // asks the store again (for a lease of what was spent since the last one, 4).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = redis.command_calls("set").await;
    app.access_token(&c).await;
    assert_eq!(redis.command_calls("set").await - before, 1);
    assert_eq!(lease_cells(&app).await, [18, 18, 10]);
}

/// `tessera_lease_cells_total` of the `token` limit on `app`'s `/metrics`: cells asked for,
/// granted, spent.
async fn lease_cells(app: &TestApp) -> [u64; 3] {
    let text = app.metrics().await;
    ["asked", "granted", "spent"].map(|kind| {
        let series = format!("tessera_lease_cells_total{{kind=\"{kind}\",limiter=\"token\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&series))
            .map_or(0, |n| n.parse().unwrap())
    })
}

#[tokio::test]
async fn a_low_rate_app_asks_the_store_for_every_request_and_is_refused_as_before() {
    let redis = RedisServer::start();
    // 1 per minute: no slice of 2 fits in any hold.
    let limits = json!({ "token": { "rate": "1pm", "burst": 3 }, "lease_ms": 1000 });
    let a = broker(&redis, None, limits.clone()).await;
    let b = broker(&redis, Some(&a.prefix), limits).await;
    let c = a.default_client().await;
    // Each admission is a grant of its own (one `SET` of the limit's state in gcra.lua).
    let before = redis.command_calls("set").await;
    a.access_token(&c).await;
    b.access_token(&c).await;
    a.access_token(&c).await;
    assert_eq!(redis.command_calls("set").await - before, 3);
    for app in [&a, &b] {
        let res = app.token(&c, &[("grant_type", "client_credentials")]).await;
        assert_eq!(res.headers()["ratelimit-limit"], "3");
        assert_eq!(res.headers()["ratelimit-policy"], "3;w=180");
        let retry = retry_after(&res);
        assert!((55..=60).contains(&retry), "{retry}");
        assert_slow_down(res).await;
    }
}

#[tokio::test]
async fn a_revoked_app_is_refused_at_once_though_its_slice_still_holds_cells() {
    let redis = RedisServer::start();
    // Slices of up to 64 cells held 1 s: after the warm-up below, the broker holds cells.
    let limits = json!({ "token": { "rate": "1000ps", "burst": 4000 }, "lease_ms": 1000 });
    let app = broker(&redis, None, limits).await;
    let c = app.default_client().await;
    for _ in 0..6 {
        app.access_token(&c).await;
    }
    // One more is admitted from the slice without a grant: cells are live.
    let before = redis.command_calls("set").await;
    app.access_token(&c).await;
    assert_eq!(
        redis.command_calls("set").await - before,
        0,
        "no live slice"
    );
    app.revoke_app(&c).await;
    // Client authentication comes before the slice: a held cell admits nobody it refuses.
    let res = app.token(&c, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(res, 401, "invalid_client").await;
}
