//! The sizing model's figures (docs/scaling.md, "Sizing"): what one operation costs Redis — a
//! token issued, an introspection, a proxied call without the token cache, a login, a refresh,
//! a token issued under a rate that leaves room for leases —
//! counted on a Redis of the test's own through `MONITOR`, which shows every command a client
//! sends and every command a script runs (marked `lua`). Heartbeat PINGs and the analytics
//! writer's `INFO memory` (once a second) are left out: they come with time, not calls; the
//! analytics writer's `XADD`s are counted apart: one per batch of events, not per call. The
//! counts are held to the documented numbers so that the page stays true.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::json;

use crate::gateway::{proxy_config, route, spawn_echo, start_proxy};
use crate::helpers::{spawn_app_with, Client, RedisServer};
use crate::world::{alice_tokens, code_client, spawn_world_with, World};

/// Commands seen by `MONITOR`: sent by clients (round trips' worth of work, a script call
/// counting once), and run inside scripts.
#[derive(Default)]
pub struct Seen {
    pub sent: AtomicU64,
    in_scripts: AtomicU64,
    /// The analytics writer's appends: one per batch (packed events), apart from the above.
    xadds: AtomicU64,
}

impl Seen {
    /// Watches the Redis at `url` until the test ends.
    pub async fn watch(url: &str) -> Arc<Self> {
        let client = redis::Client::open(url).unwrap();
        let monitor = client.get_async_monitor().await.unwrap();
        let seen = Arc::new(Self::default());
        let counts = seen.clone();
        tokio::spawn(async move {
            let mut lines = monitor.into_on_message::<String>();
            while let Some(line) = lines.next().await {
                // `<time> [<db> <client address>|lua] "<COMMAND>" …`
                let Some((origin, command)) = line.split_once("] \"") else {
                    continue;
                };
                // Time-driven, not per operation: heartbeats, and the analytics writer's
                // `INFO memory` (at most once a second).
                let command = command.to_ascii_uppercase();
                if command.starts_with("PING\"") || command.starts_with("INFO\"") {
                    continue;
                }
                let counter = match origin.ends_with(" lua") {
                    true => &counts.in_scripts,
                    false if command.starts_with("XADD\"") => &counts.xadds,
                    false => &counts.sent,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        seen
    }

    /// (sent, run inside scripts) once they stop moving (the proxy's analytics writer flushes
    /// in the background, every 50 ms; a busy machine may delay it, and MONITOR lags).
    async fn settled(&self) -> (u64, u64) {
        let read = || {
            (
                self.sent.load(Ordering::Relaxed),
                self.in_scripts.load(Ordering::Relaxed),
            )
        };
        let mut last = read();
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            let now = read();
            if now == last {
                return now;
            }
            last = now;
        }
        panic!("Redis never went quiet: a background task keeps sending commands");
    }
}

/// What `n` runs of `op` cost, per run: (commands sent, commands run in all).
macro_rules! per_op {
    ($seen:expr, $n:expr, $op:expr) => {{
        let (sent, inner) = $seen.settled().await;
        for _ in 0..$n {
            $op;
        }
        let (sent2, inner2) = $seen.settled().await;
        let per = |a: u64, b: u64| (b - a) as f64 / $n as f64;
        (per(sent, sent2), per(sent + inner, sent2 + inner2))
    }};
}

#[tokio::test]
async fn redis_commands_per_operation_are_the_documented_ones() {
    let redis = RedisServer::start_with(&["--appendonly", "no"]);
    let url = redis.url();
    // Per request, without leases: the default introspection rate (200 per second) leaves
    // room for slices of 2 when introspections come within 10 ms, which a test cannot time.
    let w = spawn_world_with(|cfg| {
        cfg["store"]["url"] = json!(url);
        cfg["limits"]["lease_ms"] = json!(0);
    })
    .await;
    let seen = Seen::watch(&url).await;
    let client = code_client(
        &w,
        json!({"grant_types": ["authorization_code", "refresh_token", "client_credentials"]}),
    )
    .await;
    let echo = spawn_echo();
    let mut cfg = proxy_config(
        &w.app,
        json!([route("orders", "/orders", &echo, json!({}))]),
    );
    cfg["cache"] = json!({ "enabled": false });
    let proxy = start_proxy(cfg).await;
    let token = w.app.access_token(&client).await;
    // Warm: every script loaded (a first use costs a SCRIPT LOAD), the proxy's first lookups done.
    assert_eq!(proxy.get("/orders", &token).await.status(), StatusCode::OK);
    // ... and the broker's first introspection (its first read of the token's app).
    assert!(w.app.is_active(&client, &token).await);
    let mut refresh_token = refresh_token_of(&alice_tokens(&w, &client, "openid read").await);
    refresh_token = refresh(&w, &client, &refresh_token).await;
    // A busy machine can add commands that come with time, not with the operation (a broker
    // whose revocation subscription was slow to answer re-asks about back-offs once per
    // subject): each figure is the least of up to three measurements, so only what every
    // measurement pays counts. A real change moves all three.
    let mut least: Option<[(f64, f64); 5]> = None;
    for _ in 0..3 {
        let issue = per_op!(seen, 10, w.app.access_token(&client).await);
        let introspect = per_op!(seen, 10, assert!(w.app.is_active(&client, &token).await));
        // The analytics writer adds one XADD per batch (every 50 ms here), counted apart.
        let xadds = seen.xadds.load(Ordering::Relaxed);
        let proxied = per_op!(seen, 10, {
            assert_eq!(proxy.get("/orders", &token).await.status(), StatusCode::OK);
        });
        // The batch of these calls is written at the writer's next flush: waited for (a loaded
        // machine may hold it back past the calls), outside the measured operations.
        let waited = std::time::Instant::now();
        while seen.xadds.load(Ordering::Relaxed) == xadds {
            assert!(waited.elapsed() < Duration::from_secs(10), "no XADD");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let xadds = seen.xadds.load(Ordering::Relaxed) - xadds;
        assert!((1..=5).contains(&xadds), "{xadds} XADDs for 10 calls");
        let login = per_op!(seen, 3, {
            refresh_token = refresh_token_of(&alice_tokens(&w, &client, "openid read").await);
        });
        let refresh = per_op!(seen, 3, {
            refresh_token = refresh(&w, &client, &refresh_token).await;
        });
        let got = [issue, introspect, proxied, login, refresh];
        println!("(commands sent, run) per token issued, introspection, proxied call, login, refresh: {got:?}");
        let now = match least {
            None => got,
            Some(l) => std::array::from_fn(|k| (l[k].0.min(got[k].0), l[k].1.min(got[k].1))),
        };
        least = Some(now);
        if now == DOCUMENTED {
            break;
        }
    }
    // docs/scaling.md, "Sizing": keep both in step.
    assert_eq!(
        least,
        Some(DOCUMENTED),
        "update docs/scaling.md and DOCUMENTED together"
    );
    leased_issuance_costs_what_is_documented(&url, &seen).await;
}

/// A broker whose token rate leaves room for leases (100,000 per second: slices of 64 held 1 s):
/// 127 issuances grow its slices 1, 2, 4 … 64; from then on every 64th asks ahead for the next
/// 64, so each round of 64 (back to back, well within the hold) holds exactly one lease.
async fn leased_issuance_costs_what_is_documented(url: &str, seen: &Seen) {
    let leased = spawn_app_with(url, |cfg| {
        cfg["limits"] = json!({
            "token": { "rate": "100000ps", "burst": 1_000_000 },
            "lease_ms": 1000,
        });
    })
    .await;
    let client = leased.default_client().await;
    for _ in 0..127 {
        leased.access_token(&client).await;
    }
    let mut least = (f64::MAX, f64::MAX);
    for _ in 0..3 {
        let got = per_op!(seen, 64, leased.access_token(&client).await);
        println!("(commands sent, run) per token issued in leases: {got:?}");
        least = (least.0.min(got.0), least.1.min(got.1));
        if least == DOCUMENTED_LEASED {
            break;
        }
    }
    assert_eq!(
        least, DOCUMENTED_LEASED,
        "update docs/scaling.md and DOCUMENTED_LEASED together"
    );
}

fn refresh_token_of(tokens: &serde_json::Value) -> String {
    tokens["refresh_token"].as_str().unwrap().to_string()
}

/// Redeems `refresh_token`; its successor.
async fn refresh(w: &World, client: &Client, refresh_token: &str) -> String {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    let res = w.app.token(client, &form).await;
    assert_eq!(res.status(), StatusCode::OK);
    refresh_token_of(&crate::helpers::json_of(res).await)
}

/// (Commands sent, commands run — those inside scripts included) per token issued
/// (client_credentials), introspection, proxied call (cache off; its analytics event travels in
/// a batch, one XADD per batch, counted apart), login (authorize, upstream round trip,
/// callback, code redemption), refresh.
const DOCUMENTED: [(f64, f64); 5] = [
    (2.0, 5.0),
    (1.0, 4.0),
    (1.0, 1.0),
    (28.0, 55.0),
    (6.0, 11.0),
];

/// The same for a token issued to an app whose rate leaves room for leases of 64: its `SETEX`,
/// and one `gcra.lua` (`TIME`, `GET`, `SET` inside) per 64 tokens.
const DOCUMENTED_LEASED: (f64, f64) = (65.0 / 64.0, 68.0 / 64.0);
