//! The client rules per end user (finding F3): a user's calls count against that user of the
//! client, so one user of a multi-user app flooding it with errors is blocked alone — the
//! app's other users go on — under a store subject that names the client and a hash of the
//! user (never the `sub`); a client-credentials caller (no user) still counts, and is blocked,
//! as the whole client. End to end: password-grant tokens from the dev IdP, a proxy on the
//! real Redis, a backend that fails on `/fail`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use reqwest::StatusCode;
use serde_json::json;

use super::abuse_rules::{failing_backend, rules_on, settle, until_refused};
use super::{route, spawn_proxy_with, TestProxy};
use crate::helpers::json_of;
use crate::login_limits::password_from;
use crate::world::{code_client, spawn_world_with};

/// Calls `/orders` with `token` until it is refused; that status.
async fn refused(p: &TestProxy, token: &str) -> StatusCode {
    until_refused(|| p.http.get(p.url("/orders")).bearer_auth(token))
        .await
        .status()
}

#[tokio::test]
async fn one_users_errors_block_that_user_not_the_app_and_a_client_caller_stays_client_wide() {
    let w = spawn_world_with(|cfg| cfg["limits"] = json!({ "enabled": false })).await;
    let c = code_client(
        &w,
        json!({"grant_types": ["password", "client_credentials"]}),
    )
    .await;
    let user_token = |user: &'static str| {
        let (w, c) = (&w, &c);
        async move {
            let res = password_from(w, c, "192.0.2.1", user, user).await;
            assert_eq!(res.status(), StatusCode::OK);
            json_of(res).await["access_token"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let (alice, bob) = (user_token("alice").await, user_token("bob").await);
    let service = w.app.access_token(&c).await;
    let backend = failing_backend().await;
    let routes = json!([route("orders", "/orders", &backend, json!({}))]);
    let rules = json!({ "client_errors": { "action": "block", "min_calls": 10,
                                           "max_ratio": 0.5, "ttl_secs": 30 } });
    let p = spawn_proxy_with(&w.app, routes, rules_on(rules)).await;

    // Alice alone fails eleven calls in a row: she is blocked...
    for _ in 0..11 {
        p.get("/orders/fail", &alice).await;
    }
    assert_eq!(refused(&p, &alice).await, StatusCode::TOO_MANY_REQUESTS);
    // ...and only she: Bob, of the same app, and the app's client-credentials caller pass.
    settle().await;
    for token in [&bob, &service] {
        for _ in 0..3 {
            assert_eq!(p.get("/orders", token).await.status(), StatusCode::OK);
        }
    }
    // In Redis: a marker on the client's user subject (the client, then a hash of the user),
    // none on the client.
    let listed = json_of(w.app.admin_get("/admin/abuse").await).await;
    let all = listed["markers"].as_array().unwrap();
    assert_eq!(all.len(), 1, "{listed}");
    let subject = all[0]["subject"].as_str().unwrap();
    let prefix = format!("c:{}~", c.id);
    assert!(
        subject.starts_with(&prefix) && subject.len() == prefix.len() + 32,
        "{subject}"
    );
    assert_eq!(all[0]["rule"], "client_errors");
    let client = format!("c:{}", c.id);
    let on = |subject: String| {
        let app = &w.app;
        async move {
            let mut r = app.redis().await;
            let key = format!("{}abuse:{{{subject}}}:mark", app.prefix);
            let m: HashMap<String, String> = r.hgetall(&key).await.unwrap();
            m
        }
    };
    assert!(on(client.clone()).await.is_empty());

    // A client-credentials caller has no user: its errors block the client as a whole.
    for _ in 0..11 {
        p.get("/orders/fail", &service).await;
    }
    assert_eq!(refused(&p, &service).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(on(client).await["rule"], "client_errors");
    // Bob, a user of the app, is counted apart and still passes.
    assert_eq!(p.get("/orders", &bob).await.status(), StatusCode::OK);

    // The operator lifts Alice's block by its listed subject: she passes again.
    let res = w
        .app
        .admin_delete(&format!("/admin/abuse?subject={subject}"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let start = Instant::now();
    // Measured at the sending of each call still refused, not at its answer.
    let mut sent = Duration::ZERO;
    while p.get("/orders", &alice).await.status() != StatusCode::OK {
        assert!(sent < Duration::from_secs(3), "still refused");
        tokio::time::sleep(Duration::from_millis(20)).await;
        sent = start.elapsed();
    }
}
