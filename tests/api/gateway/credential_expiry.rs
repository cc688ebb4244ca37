//! A token dies with the credential it was issued to (`App::honours`: the broker's introspection
//! says inactive once the credential has expired, `credentials.rs`). The proxy's token cache
//! keeps a caller until the token's own expiry or `cache.max_ttl_secs`; nothing is announced when
//! a credential expires, so the entry itself must end with the credential — it did not, and the
//! proxy let the token through for up to `cache.max_ttl_secs` (300 s) after the broker had
//! stopped honouring it. Likewise the introspection answer's `exp` (the proxy's introspection
//! mode, and any resource server, keeps an answer until then): it said the token's own expiry.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use super::*;

#[tokio::test]
async fn a_cached_token_is_refused_once_its_credential_has_expired() {
    refused_once_its_credential_has_expired(true).await;
}

/// Without the token cache, the caller kept for the token's record text (`stored_callers.rs`)
/// is reused only after the record's checks pass on each call, the credential's among them.
#[tokio::test]
async fn a_kept_caller_is_refused_once_its_credential_has_expired_without_the_cache() {
    refused_once_its_credential_has_expired(false).await;
}

async fn refused_once_its_credential_has_expired(cache: bool) {
    let s = setup().await;
    let path = format!(
        "/admin/developers/{}/apps/{}/credentials",
        s.client.developer_id, s.client.app_id
    );
    let res = s.broker.admin_post(&path, json!({"expires_in": 2})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body = json_of(res).await;
    let expires_at = body["expires_at"].as_i64().expect("an expiry");
    let short = Client {
        id: body["client_id"].as_str().unwrap().into(),
        secret: body["client_secret"].as_str().unwrap().into(),
        ..s.client.clone()
    };
    let token = s.broker.access_token(&short).await;
    // RFC 7662 §2.2: `exp` says when the token expires, and it expires with its credential (a
    // resource server keeping the answer until `exp` must not keep it longer).
    let info = s.broker.introspect(&s.client, &token).await;
    assert_eq!(info["exp"].as_i64(), Some(expires_at));
    let routes = json!([route("orders", "/orders", &s.echo, json!({}))]);
    let proxy = spawn_proxy_with(&s.broker, routes, |c| {
        c["cache"] = json!({ "enabled": cache });
    })
    .await;
    echoed(proxy.get("/orders", &token).await).await;
    echoed(proxy.get("/orders", &token).await).await;
    let hits = format!("tessera_proxy_token_cache_hits_total {}", u8::from(cache));
    assert!(
        proxy.metrics().await.contains(&hits),
        "the second call is answered from the cache (when on)"
    );
    // Past the credential's expiry (whole seconds), with a margin.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let wait = (expires_at * 1000 + 300 - now).max(0) as u64;
    tokio::time::sleep(Duration::from_millis(wait)).await;
    assert!(!s.broker.is_active(&s.client, &token).await);
    assert_eq!(
        proxy.get("/orders", &token).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
