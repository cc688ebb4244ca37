//! Redis memory under attack: pending logins and authorization codes have budgets (per IP and
//! in all), so a flood of anonymous `/authorize` requests cannot fill Redis; and when Redis is
//! full all the same (`OOM command not allowed`, with `noeviction`), the broker answers 503
//! `temporarily_unavailable` with `Retry-After` and recovers by itself once memory is freed.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::login_limits::authorize_from;
use crate::rate_limits::with_limits;
use crate::redis_server::connect;
use crate::world::*;

/// How many keys of `app` match `pattern` (after its prefix).
async fn count_keys(app: &TestApp, pattern: &str) -> usize {
    let mut r = app.redis().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}{pattern}", app.prefix))
        .query_async(&mut r)
        .await
        .unwrap();
    keys.len()
}

/// `/authorize` for `c` from `ip` with a long `state`; where it sends the browser.
async fn start_login(w: &World, c: &Client, ip: &str) -> (StatusCode, String) {
    let res = authorize_from(w, c, ip, &"s".repeat(1000)).await;
    let to = res
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (res.status(), to)
}

#[tokio::test]
async fn a_login_flood_is_held_to_its_budget() {
    let w = spawn_world_with(|cfg| {
        with_limits(
            cfg,
            json!({ "pending_logins_per_ip": 5, "pending_logins_total": 8 }),
        )
    })
    .await;
    let c = code_client(&w, json!({})).await;
    let mut upstream = 0;
    for _ in 0..12 {
        let (status, to) = start_login(&w, &c, "192.0.2.40").await;
        assert_eq!(status, StatusCode::FOUND);
        if to.starts_with(&w.idp_base) {
            upstream += 1;
        } else {
            // Back to the app, as RFC 6749 §4.1.2.1 has it for an overloaded server.
            assert!(to.starts_with(APP_REDIRECT), "{to}");
            assert!(to.contains("error=temporarily_unavailable"), "{to}");
        }
    }
    assert_eq!(upstream, 5, "the address's budget");
    assert_eq!(
        count_keys(&w.app, "login:*").await,
        5,
        "nothing more stored"
    );
    // Another address gets what is left of the total, and no more: the refused requests of the
    // first one did not count against it.
    let mut upstream = 0;
    for _ in 0..6 {
        if start_login(&w, &c, "192.0.2.41")
            .await
            .1
            .starts_with(&w.idp_base)
        {
            upstream += 1;
        }
    }
    assert_eq!(upstream, 3);
    assert_eq!(count_keys(&w.app, "login:*").await, 8);
    let metrics = w.app.metrics().await;
    // 7 + 1 refused per address (the second one's sixth), 2 for the total.
    assert!(metrics.contains("tessera_rate_limited_total{limiter=\"pending_logins_ip\"} 8"));
    assert!(metrics.contains("tessera_rate_limited_total{limiter=\"pending_logins_total\"} 2"));
}

#[tokio::test]
async fn authorization_codes_have_their_own_budget() {
    let w = spawn_world_with(|cfg| with_limits(cfg, json!({ "codes_per_ip": 1 }))).await;
    let c = code_client(&w, json!({})).await;
    let request = Authorize::code_flow(&c)
        .set("scope", "read")
        .set("state", "st");
    let query = request.query();
    let first = login(&w, &query, "alice", "alice").await;
    let (_, params) = location(&first);
    assert!(param(&params, "code").is_some());
    let second = login(&w, &query, "alice", "alice").await;
    let (to, params) = location(&second);
    assert_eq!(to, APP_REDIRECT);
    assert_eq!(param(&params, "error"), Some("temporarily_unavailable"));
    assert_eq!(param(&params, "state"), Some("st"));
    assert_eq!(count_keys(&w.app, "ac:*").await, 1);
}

/// What Redis holds against `maxmemory` (`INFO memory`): `used_memory` less
/// `mem_not_counted_for_evict` — the AOF buffer above all, which holds the writes Redis
/// postponed behind a slow background fsync (`appendfsync everysec`, up to 2 s): on a busy disk,
/// several of the junk writes, hundreds of kilobytes counted in `used_memory` only.
async fn counted_memory(c: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(c)
        .await
        .unwrap();
    let field = |name: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in INFO memory"))
    };
    field("used_memory") - field("mem_not_counted_for_evict")
}

/// Fills `redis` with junk until it refuses a write for memory (`OOM command not allowed`), then
/// pins `maxmemory` half a megabyte under what Redis counts against it ([`counted_memory`]), so
/// that the small frees Redis makes by itself (a trimmed request buffer, an expired key) leave
/// it full — again until a small write is refused, should memory have dropped meanwhile; the
/// junk keys.
async fn fill(redis: &RedisServer) -> Vec<String> {
    let mut c = connect(&redis.url()).await.unwrap();
    let mut keys = Vec::new();
    let junk = "x".repeat(64 * 1024);
    loop {
        let key = format!("junk:{}", keys.len());
        let r: redis::RedisResult<()> = redis::cmd("SET")
            .arg(&key)
            .arg(&junk)
            .query_async(&mut c)
            .await;
        match r {
            Ok(()) => keys.push(key),
            Err(e) => {
                assert_eq!(e.code(), Some("OOM"), "{e}");
                break;
            }
        }
        assert!(keys.len() < 10_000, "Redis never filled up");
    }
    for attempt in 0.. {
        let counted = counted_memory(&mut c).await;
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("maxmemory")
            .arg(counted - 512 * 1024)
            .query_async(&mut c)
            .await
            .unwrap();
        let key = format!("junk:small:{attempt}");
        let small: redis::RedisResult<()> = redis::cmd("SET")
            .arg(&key)
            .arg("x")
            .query_async(&mut c)
            .await;
        match small {
            Err(e) => {
                assert_eq!(e.code(), Some("OOM"), "{e}");
                break;
            }
            Ok(()) => keys.push(key),
        }
        assert!(
            attempt < 10,
            "Redis keeps freeing memory: {counted} B counted"
        );
    }
    keys
}

/// `store.command_timeout_ms` of the full-Redis test.
const COMMAND_TIMEOUT_MS: u64 = 20_000;

#[tokio::test]
async fn a_full_redis_is_503_and_the_broker_recovers_when_memory_frees() {
    let redis = RedisServer::start_with(&["--maxmemory", "4mb"]);
    let url = redis.url();
    // A long command timeout: a refusal that waited for one could not pass for quick below.
    let w = spawn_world_with(move |cfg| {
        cfg["store"]["url"] = json!(url);
        cfg["store"]["command_timeout_ms"] = json!(COMMAND_TIMEOUT_MS);
    })
    .await;
    let c = code_client(
        &w,
        json!({"grant_types": ["authorization_code", "refresh_token", "client_credentials"]}),
    )
    .await;
    let token = w.app.access_token(&c).await;
    let junk = fill(&redis).await;
    assert!(!junk.is_empty());

    // Writes fail: 503 temporarily_unavailable with Retry-After, quickly: at Redis's OOM
    // answer, not after a timeout (bounded well under the command timeout, not by wall-clock
    // speed, which a loaded machine does not have).
    let started = Instant::now();
    let res = w
        .app
        .token(&c, &[("grant_type", "client_credentials")])
        .await;
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.text().await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert_eq!(headers["retry-after"], "1");
    assert!(body.contains("temporarily_unavailable"), "{body}");
    assert!(
        started.elapsed() < Duration::from_millis(COMMAND_TIMEOUT_MS / 2),
        "took {:?}",
        started.elapsed()
    );
    let res = w
        .app
        .admin_post(
            "/admin/developers",
            json!({"email": "full@example.com", "first_name": "F", "last_name": "L"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    // A login cannot start: the app hears temporarily_unavailable, nothing is stored.
    let (status, to) = start_login(&w, &c, "127.0.0.1").await;
    assert_eq!(status, StatusCode::FOUND);
    assert!(to.contains("error=temporarily_unavailable"), "{to}");
    assert_eq!(count_keys(&w.app, "login:*").await, 0);
    // Reads still answer: a live token is still active (never `active: false` by accident).
    assert!(w.app.is_active(&c, &token).await);

    // Memory is freed (the junk goes): the broker serves again without a restart.
    let mut r = w.app.redis().await;
    for chunk in junk.chunks(500) {
        let _: () = redis::cmd("DEL")
            .arg(chunk)
            .query_async(&mut r)
            .await
            .unwrap();
    }
    w.app.access_token(&c).await;
    let (_, to) = start_login(&w, &c, "127.0.0.1").await;
    assert!(to.starts_with(&w.idp_base), "{to}");
}
