//! Each HTTP worker sends its commands on a Redis connection of its own
//! (`shared/src/store/redis/per_thread.rs`), which it alone drives. The promise of
//! docs/operations.md ("when Redis is back the broker recovers by itself") must hold for every
//! worker, including those that met the outage and gave up reconnecting before Redis came back:
//! once the broker is subscribed again, no request, on any worker, meets a dead connection.
//! (`failure.rs` runs one worker; this runs four and reaches each through fresh connections.)

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;

const WORKERS: usize = 4;

/// Clients subscribed to `app`'s revocation channel, asked of Redis directly (a request to the
/// broker would heal the worker that answers it).
async fn subscribers(redis: &RedisServer, app: &TestApp) -> Option<i64> {
    let mut c = crate::redis_server::connect(&redis.url()).await.ok()?;
    let (_, n): (String, i64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(format!("{}revocations", app.prefix))
        .query_async(&mut c)
        .await
        .ok()?;
    Some(n)
}

#[tokio::test]
async fn once_redis_is_back_after_a_restart_no_worker_answers_503() {
    let mut redis = RedisServer::start();
    let app = spawn_app_with(&redis.url(), |cfg| {
        cfg["server"]["workers"] = json!(WORKERS);
    })
    .await;
    let c = app.default_client().await;
    let token = app.access_token(&c).await;
    // A new TCP connection per request: the broker hands accepted connections to its workers
    // in turn, so every worker answers some.
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let statuses = || async {
        let mut out = Vec::new();
        for _ in 0..4 * WORKERS {
            let res = fresh
                .post(app.url("/introspect"))
                .basic_auth(&c.id, Some(&c.secret))
                .form(&[("token", token.as_str())])
                .send()
                .await
                .unwrap();
            out.push(res.status().as_u16());
        }
        out
    };
    // Every worker has made its connection.
    assert!(statuses().await.iter().all(|&s| s == 200));
    // The app and token reach the append-only file before the crash (not merely "within the
    // second": a write answered behind a running fsync is postponed, up to 2 s).
    redis.wait_aof_written().await;
    redis.stop();
    // Every worker meets the outage (503 meanwhile), and gives up reconnecting before Redis is
    // back (two retries, at most 500 ms apart).
    let down = statuses().await;
    assert!(down.iter().all(|&s| s == 503), "{down:?}");
    tokio::time::sleep(Duration::from_millis(2000)).await;
    redis.restart();
    // Back: the broker has subscribed again.
    let start = Instant::now();
    while subscribers(&redis, &app).await.unwrap_or(0) < 1 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "never resubscribed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = statuses().await;
    assert!(after.iter().all(|&s| s == 200), "{after:?}");
}
