//! Issue 11, P2: without its token cache the proxy reads a token's stored record on every
//! call and checks it, but parses a record text and builds what it stands for once per text
//! (`proxy/src/policy/auth/stored_callers.rs`; the checks of a text seen before read its kept
//! `Facts`, `shared/src/tokens/facts.rs`). The stored form did not change: a record as the
//! broker wrote it before (every field, escapes and all) is honoured, and a record whose text
//! changes under the same token is read again on the next call.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_shared::crypto::Keys;
use tessera_shared::token::TokenKind;

use super::*;
use crate::helpers::PEPPER;
use crate::world::{alice_tokens, code_client, spawn_world};

async fn uncached_proxy(s: &Setup) -> TestProxy {
    spawn_proxy_with(
        &s.broker,
        json!([route(
            "orders",
            "/orders",
            &s.echo,
            json!({ "forward": { "claims": { "X-Tier": "tier" } } })
        )]),
        |c| c["cache"] = json!({ "enabled": false }),
    )
    .await
}

fn keys() -> Keys {
    Keys::from_pepper(&PEPPER.to_string().into())
}

fn record_key(s: &Setup, token: &str) -> String {
    format!("{}at:{{{}}}", s.broker.prefix, keys().token_hash(token))
}

async fn get(s: &Setup, key: &str) -> Option<String> {
    let mut r = s.broker.redis().await;
    redis::cmd("GET")
        .arg(key)
        .query_async(&mut r)
        .await
        .unwrap()
}

async fn set(s: &Setup, key: &str, record: &str) {
    let mut r = s.broker.redis().await;
    let _: () = redis::cmd("SET")
        .arg(key)
        .arg(record)
        .arg("EX")
        .arg(600)
        .query_async(&mut r)
        .await
        .unwrap();
}

/// A record of the default client's app, written by hand in the stored form of the broker
/// before this change: every member in the broker's order, the client id's first character
/// escaped as `\uXXXX` (a JSON writer may escape any character), with `tier` and `scope`.
async fn handwritten(s: &Setup, tier: &str, scope: &[&str]) -> String {
    let real: Value =
        serde_json::from_str(&get(s, &record_key(s, &s.token)).await.unwrap()).unwrap();
    let id = &s.client.id;
    let first = id.chars().next().unwrap();
    let escaped = format!("\\u{:04x}{}", first as u32, &id[first.len_utf8()..]);
    format!(
        r#"{{"client_id":"{escaped}","app_id":"{}","developer_id":"{}","app_generation":{},"grant":"client_credentials","scope":{},"iat":{},"exp":{},"attributes":{{"tier":{}}}}}"#,
        s.client.app_id,
        s.client.developer_id,
        real["app_generation"],
        json!(scope),
        real["iat"],
        real["exp"],
        json!(tier),
    )
}

/// The caller's forwarded identity: client id, scope, tier.
async fn forwarded(proxy: &TestProxy, token: &str) -> (String, String, String) {
    let e = echoed(proxy.get("/orders", token).await).await;
    let h = |n: &str| header(&e, n).unwrap_or_default().to_string();
    (h("x-tessera-client-id"), h("x-tessera-scope"), h("x-tier"))
}

#[tokio::test]
async fn a_record_in_the_stored_form_of_before_is_honoured_without_the_cache() {
    let s = setup().await;
    let proxy = uncached_proxy(&s).await;
    let token = keys().mint(TokenKind::AccessToken);
    set(
        &s,
        &record_key(&s, &token),
        &handwritten(&s, "gold", &["read", "write"]).await,
    )
    .await;
    let want = (
        s.client.id.clone(),
        "read write".to_string(),
        "gold".to_string(),
    );
    // The first call reads the record in full, the next ones only check it.
    for _ in 0..3 {
        assert_eq!(forwarded(&proxy, &token).await, want);
    }
    // The broker's own records too, as it writes them now.
    assert_eq!(forwarded(&proxy, &s.token).await, want);
}

#[tokio::test]
async fn a_record_changed_under_the_same_token_is_read_again_and_a_gone_one_refused() {
    let s = setup().await;
    let proxy = uncached_proxy(&s).await;
    let token = keys().mint(TokenKind::AccessToken);
    let key = record_key(&s, &token);
    set(&s, &key, &handwritten(&s, "gold", &["read", "write"]).await).await;
    for _ in 0..2 {
        assert_eq!(forwarded(&proxy, &token).await.2, "gold");
    }
    set(&s, &key, &handwritten(&s, "silver", &["read"]).await).await;
    let (_, scope, tier) = forwarded(&proxy, &token).await;
    assert_eq!((scope.as_str(), tier.as_str()), ("read", "silver"));
    // A record that does not read is a store failure (fail closed), never a caller.
    set(&s, &key, "{\"client_id\":").await;
    let status = proxy.get("/orders", &token).await.status();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let mut r = s.broker.redis().await;
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut r)
        .await
        .unwrap();
    let status = proxy.get("/orders", &token).await.status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_user_token_keeps_its_login_and_dies_with_it_without_the_cache() {
    let w = spawn_world().await;
    let echo = spawn_echo();
    let c = code_client(&w, json!({"scopes": ["openid", "orders:read"]})).await;
    let tokens = alice_tokens(&w, &c, "openid orders:read").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let route = route(
        "orders",
        "/orders",
        &echo,
        json!({
            "forward": { "claims": { "X-User-Email": "email" }, "id_token_header": "X-Id-Token" }
        }),
    );
    let proxy = spawn_proxy_with(&w.app, json!([route]), |c| {
        c["cache"] = json!({ "enabled": false })
    })
    .await;
    // Built on the first call, reused on the next: the login's claims and id_token each time.
    let mut seen = None;
    for _ in 0..3 {
        let e = echoed(proxy.get("/orders", access).await).await;
        assert_eq!(header(&e, "x-user-email"), Some("alice@example.com"));
        let id_token = header(&e, "x-id-token")
            .expect("id_token forwarded")
            .to_string();
        assert_eq!(id_token.split('.').count(), 3);
        assert_eq!(*seen.get_or_insert(id_token.clone()), id_token);
    }
    let res = w.app.post_form("/revoke", &c, &[("token", refresh)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Every call reads the login's state: refused at once, no channel needed.
    assert_eq!(
        proxy.get("/orders", access).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// A caller kept for a record text is reused only while its app is the one it was built from:
/// a scope taken from the app, then the app revoked, reach a token whose record text never
/// changed within the announcement's delay (the app kept in process is evicted by it, and the
/// next lookup finds a new app), never honoured from the kept caller.
#[tokio::test]
async fn a_kept_caller_follows_its_apps_changes_without_the_cache() {
    let s = setup().await;
    let proxy = uncached_proxy(&s).await;
    for _ in 0..3 {
        assert_eq!(forwarded(&proxy, &s.token).await.1, "read write");
    }
    let app = format!(
        "/admin/developers/{}/apps/{}",
        s.client.developer_id, s.client.app_id
    );
    let res = s
        .broker
        .admin_patch(&app, json!({"scopes": ["read"]}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let start = std::time::Instant::now();
    while forwarded(&proxy, &s.token).await.1 != "read" {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "old scopes after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let res = s
        .broker
        .admin_patch(&app, json!({"status": "revoked"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    until_refused(&proxy, &s.token).await;
}
