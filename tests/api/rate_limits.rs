//! Rate limits at the broker: per app on `/token`, `/introspect`, `/revoke` (shared by every
//! broker instance through Redis, raised by an app's rate plan), per IP on `/register`, the
//! failed-authentication back-off per IP and per client, and the 429 answers.

use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

/// The test configuration with `limits` merged in, and 127.0.0.1 as a trusted proxy (so that
/// tests can speak for other addresses with `X-Forwarded-For`).
pub fn with_limits(cfg: &mut Value, limits: Value) {
    cfg["server"]["trusted_proxies"] = json!(["127.0.0.1/32"]);
    cfg["limits"] = limits;
}

/// Asserts a 429 in the OAuth shape with `Retry-After` and the RateLimit fields; the body.
pub async fn assert_slow_down(res: Response) -> Value {
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let h = res.headers().clone();
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1, "Retry-After {retry}");
    assert_eq!(h["ratelimit-remaining"], "0");
    assert!(h.contains_key("ratelimit-reset"));
    assert_eq!(h["cache-control"], "no-store");
    let body = json_of(res).await;
    assert_eq!(body["error"], "slow_down", "{body}");
    body
}

fn rate(rate: &str, burst: u32) -> Value {
    json!({ "rate": rate, "burst": burst })
}

#[tokio::test]
async fn the_token_endpoint_is_limited_per_app_across_broker_instances() {
    let a = spawn_app_with(&shared_redis_url(), |cfg| {
        with_limits(cfg, json!({ "token": rate("1pm", 3) }))
    })
    .await;
    // A second broker on the same Redis and prefix: the same limit, not a second one.
    let prefix = a.prefix.clone();
    let b = spawn_app_with(&shared_redis_url(), |cfg| {
        with_limits(cfg, json!({ "token": rate("1pm", 3) }));
        cfg["store"]["prefix"] = json!(prefix);
    })
    .await;
    let c = a.default_client().await;
    a.access_token(&c).await;
    b.access_token(&c).await;
    a.access_token(&c).await;
    for app in [&a, &b] {
        let res = app.token(&c, &[("grant_type", "client_credentials")]).await;
        assert_eq!(res.headers()["ratelimit-limit"], "3");
        assert_eq!(res.headers()["ratelimit-policy"], "3;w=180");
        let body = assert_slow_down(res).await;
        assert!(body["error_description"].is_string());
    }
    // Another app has its own allowance.
    let other = a.default_client().await;
    a.access_token(&other).await;
    // Refusals are counted by limiter on the status listener.
    let metrics = a.metrics().await;
    assert!(
        metrics.contains("tessera_rate_limited_total{limiter=\"token\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tessera_token_requests_total{grant=\"unknown\",outcome=\"slow_down\"} 1")
    );
}

#[tokio::test]
async fn introspection_and_revocation_limits_follow_the_app_rate_plan() {
    let app = spawn_app_with(&shared_redis_url(), |cfg| {
        with_limits(
            cfg,
            json!({ "introspect": rate("1pm", 2), "revoke": rate("1pm", 1) }),
        )
    })
    .await;
    let c = app.default_client().await;
    let token = app.access_token(&c).await;
    for _ in 0..2 {
        assert!(app.is_active(&c, &token).await);
    }
    let res = app.post_form("/introspect", &c, &[("token", &token)]).await;
    assert_slow_down(res).await;
    let res = app.post_form("/revoke", &c, &[("token", "x")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.post_form("/revoke", &c, &[("token", &token)]).await;
    assert_slow_down(res).await;
    // The refused revocation did nothing: the token is still active (for another caller).
    let rs = app.default_client().await;
    assert!(app.is_active(&rs, &token).await);

    // A resource server whose rate plan allows more introspection.
    let rs = app
        .create_client(json!({
            "scopes": ["read"],
            "rate_plan": { "oauth": { "introspect": "100ps" } },
        }))
        .await;
    for _ in 0..20 {
        assert!(app.is_active(&rs, &token).await);
    }
    let shown = json_of(
        app.admin_get(&format!(
            "/admin/developers/{}/apps/{}",
            rs.developer_id, rs.app_id
        ))
        .await,
    )
    .await;
    assert_eq!(shown["rate_plan"]["oauth"]["introspect"], "100ps");
}

/// A request for `/token` as `c` with `secret`, from `ip` (through the trusted proxy).
pub async fn token_from(app: &TestApp, ip: &str, id: &str, secret: &str) -> Response {
    app.http
        .post(app.url("/token"))
        .basic_auth(id, Some(secret))
        .header("x-forwarded-for", ip)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn failed_client_authentication_backs_off_per_client() {
    let app = spawn_app_with(&shared_redis_url(), |cfg| {
        with_limits(
            cfg,
            json!({
                "auth_failures_per_client": { "free_failures": 3, "base_delay_ms": 1500,
                                               "max_delay_secs": 60, "forget_after_secs": 60 },
            }),
        )
    })
    .await;
    let c = app.default_client().await;
    // Four wrong guesses from four addresses: the fourth starts the back-off.
    for i in 1..=4 {
        let res = token_from(&app, &format!("198.51.100.{i}"), &c.id, "wrong").await;
        assert_oauth_error(res, 401, "invalid_client").await;
    }
    // Now even the right secret is refused, and from anywhere: a right guess is not revealed.
    let right = token_from(&app, "203.0.113.7", &c.id, &c.secret).await;
    let right_body = assert_slow_down(right).await;
    let wrong = token_from(&app, "203.0.113.8", &c.id, "wrong-again").await;
    let wrong_body = assert_slow_down(wrong).await;
    assert_eq!(
        right_body["error_description"]
            .as_str()
            .map(|d| d.contains("retry after")),
        wrong_body["error_description"]
            .as_str()
            .map(|d| d.contains("retry after")),
    );
    // Other clients are not affected.
    let other = app.default_client().await;
    app.access_token(&other).await;
    // The back-off ends by itself.
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let res = token_from(&app, "203.0.113.7", &c.id, &c.secret).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn failed_client_authentication_backs_off_per_ip() {
    let app = spawn_app_with(&shared_redis_url(), |cfg| {
        with_limits(
            cfg,
            json!({
                "auth_failures_per_ip": { "free_failures": 5, "base_delay_ms": 60000,
                                           "max_delay_secs": 60, "forget_after_secs": 60 },
            }),
        )
    })
    .await;
    let c = app.default_client().await;
    // Spraying made-up client ids from one address.
    for i in 0..6 {
        let res = token_from(&app, "192.0.2.66", &format!("made-up-{i}"), "guess").await;
        assert_oauth_error(res, 401, "invalid_client").await;
    }
    // That address is now refused for every client, a real one included...
    let res = token_from(&app, "192.0.2.66", &c.id, &c.secret).await;
    let retry = retry_after(&res);
    assert!((50..=60).contains(&retry), "{retry}");
    assert_slow_down(res).await;
    // ...while other addresses go on.
    let res = token_from(&app, "192.0.2.67", &c.id, &c.secret).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Nothing of the made-up ids is readable in Redis: only keyed hashes.
    let mut r = app.redis().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}bo:*", app.prefix))
        .query_async(&mut r)
        .await
        .unwrap();
    assert!(keys.iter().any(|k| k.contains("192.0.2.66")), "{keys:?}");
    assert!(!keys.iter().any(|k| k.contains("made-up")), "{keys:?}");
}

/// During a back-off, a right and a wrong secret cost the same store work (and get the same
/// answer), so not even the timing tells them apart.
#[tokio::test]
async fn a_refused_right_guess_costs_what_a_refused_wrong_one_does() {
    let redis = RedisServer::start();
    let app = spawn_app_with(&redis.url(), |cfg| {
        with_limits(
            cfg,
            json!({
                "auth_failures_per_client": { "free_failures": 1, "base_delay_ms": 60000,
                                               "max_delay_secs": 60, "forget_after_secs": 60 },
            }),
        )
    })
    .await;
    let c = app.default_client().await;
    for _ in 0..2 {
        let res = token_from(&app, "198.51.100.1", &c.id, "wrong").await;
        assert_oauth_error(res, 401, "invalid_client").await;
    }
    let mut costs = Vec::new();
    for secret in [c.secret.as_str(), "wrong", c.secret.as_str(), "wrong"] {
        let before = redis.command_calls("evalsha").await;
        let res = token_from(&app, "198.51.100.1", &c.id, secret).await;
        assert_slow_down(res).await;
        costs.push(redis.command_calls("evalsha").await - before);
    }
    assert!(costs.iter().all(|n| *n == costs[0]), "{costs:?}");
    // Outside a back-off, the store is asked only while a subject may be in one:
    // backoff_notices.rs.
}

#[tokio::test]
async fn registration_is_limited_per_ip_before_the_token_is_checked() {
    let app = spawn_app_with(&shared_redis_url(), |cfg| {
        cfg["registration"] = json!({"initial_access_token": IAT, "allowed_scopes": ["read"]});
        with_limits(cfg, json!({ "register_per_ip": rate("1pm", 2) }));
    })
    .await;
    let register = |ip: &'static str, token: &'static str| {
        app.http
            .post(app.url("/register"))
            .bearer_auth(token)
            .header("x-forwarded-for", ip)
            .json(&json!({"grant_types": ["client_credentials"]}))
            .send()
    };
    assert_eq!(register("192.0.2.1", IAT).await.unwrap().status(), 201);
    assert_eq!(register("192.0.2.1", "guess").await.unwrap().status(), 401);
    assert_slow_down(register("192.0.2.1", IAT).await.unwrap()).await;
    assert_eq!(register("192.0.2.2", IAT).await.unwrap().status(), 201);
}

#[tokio::test]
async fn forwarded_for_counts_only_from_trusted_proxies() {
    let app = spawn_app_with(&shared_redis_url(), |cfg| {
        cfg["registration"] = json!({"initial_access_token": IAT});
        cfg["limits"] = json!({ "register_per_ip": rate("1pm", 1) });
    })
    .await;
    // No trusted proxy: every request is 127.0.0.1's, whatever the header says.
    for (i, expected) in [(1, 201), (2, 429), (3, 429)] {
        let res = app
            .http
            .post(app.url("/register"))
            .bearer_auth(IAT)
            .header("x-forwarded-for", format!("192.0.2.{i}"))
            .json(&json!({"grant_types": ["client_credentials"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), expected, "request {i}");
    }
}

#[tokio::test]
async fn limits_hold_on_the_memory_store_too() {
    let app = spawn_app_with("memory", |cfg| {
        with_limits(
            cfg,
            json!({
                "token": rate("1pm", 2),
                "auth_failures_per_client": { "free_failures": 1, "base_delay_ms": 60000,
                                               "max_delay_secs": 60, "forget_after_secs": 60 },
            }),
        )
    })
    .await;
    let c = app.default_client().await;
    app.access_token(&c).await;
    app.access_token(&c).await;
    assert_slow_down(app.token(&c, &[("grant_type", "client_credentials")]).await).await;
    let d = app.default_client().await;
    for _ in 0..2 {
        let res = token_from(&app, "198.51.100.1", &d.id, "wrong").await;
        assert_oauth_error(res, 401, "invalid_client").await;
    }
    assert_slow_down(token_from(&app, "198.51.100.2", &d.id, &d.secret).await).await;
}

/// The shared limit counts in whole µs (`gcra.lua`): an emission interval that is not a whole
/// number of them (1/600000 s ≈ 1.67 µs) must be charged rounded up. Rounded down (1 µs), the
/// limit would admit 1000000 per second to an app allowed 600000 — far past `burst + t × rate`.
/// Seen where the limit lives: the app's TAT in Redis, seeded ahead of now so that the request
/// moves it by exactly one interval.
#[tokio::test]
async fn an_interval_in_fractions_of_a_microsecond_is_charged_rounded_up() {
    let app = spawn_app_with(&shared_redis_url(), |cfg| {
        let limits = json!({ "token": rate("600000ps", 1_000_000), "lease_ms": 0 });
        with_limits(cfg, limits)
    })
    .await;
    let c = app.default_client().await;
    let mut r = app.redis().await;
    let key = format!("{}rl:{{token:{}}}", app.prefix, c.app_id);
    let (secs, us): (u64, u64) = redis::cmd("TIME").query_async(&mut r).await.unwrap();
    // 200 ms ahead of the Redis clock: well within the burst (1 s), beyond the request's time.
    let seeded = secs * 1_000_000 + us + 200_000;
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(seeded)
        .arg("PX")
        .arg(60_000)
        .query_async(&mut r)
        .await
        .unwrap();
    let res = app.token(&c, &[("grant_type", "client_credentials")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let tat: u64 = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut r)
        .await
        .unwrap();
    let charged = tat - seeded;
    assert!(
        charged * 600_000 >= 1_000_000,
        "one request charged {charged} µs: the limit admits more than 600000 per second"
    );
    assert_eq!(
        charged, 2,
        "charged {charged} µs, not 1/600000 s rounded up"
    );
}
