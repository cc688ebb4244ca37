//! The `jwt` policy against a real identity provider: the broker's development IdP on its own
//! port, serving discovery and JWKS over HTTP and minting Okta-shaped access tokens (with its
//! faults switched on where a test needs them). No mocks.

// Tests may panic on what they did not expect: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Map, Value};
use tessera_devidp::{DevIdp, DevIdpConfig, DevIdpServer};
use tessera_proxy::policy::jwt::{JwksRegistry, JwtConfig, JwtError, JwtValidator, ValidatedJwt};

/// Configuration: the TOML shape and the errors of `JwtValidator::compile` (no network).
#[path = "jwt/config.rs"]
mod config;

const CLIENT: &str = "0oa-dealer-portal";
const AUDIENCE: &str = "api://default";

struct Idp {
    idp: DevIdp,
    config_url: String,
}

async fn start_idp() -> Idp {
    let server = DevIdpServer::build("127.0.0.1:0".parse().unwrap(), |p| {
        DevIdpConfig::demo(&format!("http://127.0.0.1:{p}"), CLIENT, "secret", vec![])
    })
    .expect("dev idp starts");
    let idp = server.idp().clone();
    let config_url = format!("{}/.well-known/openid-configuration", idp.issuer());
    tokio::spawn(server.run_until_stopped());
    Idp { idp, config_url }
}

fn registry(refresh_secs: u64, min_refetch_secs: u64) -> Arc<JwksRegistry> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    JwksRegistry::new(http, refresh_secs, min_refetch_secs)
}

fn config(idp: &Idp, extra: Value) -> JwtConfig {
    let mut cfg = json!({"openid_config_urls": [idp.config_url], "audiences": [AUDIENCE]});
    cfg.as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap());
    serde_json::from_value(cfg).unwrap()
}

fn validator(idp: &Idp, extra: Value) -> JwtValidator {
    JwtValidator::compile(&config(idp, extra), registry(3600, 30)).unwrap()
}

fn token(idp: &Idp, sub: &str, extra: Value) -> String {
    let extra: Map<String, Value> = extra.as_object().cloned().unwrap();
    idp.idp
        .issue_access_token(CLIENT, sub, &["api:read", "openid"], extra)
        .unwrap()
}

fn now() -> i64 {
    tessera_shared::time::now()
}

/// `result` is `Invalid` with `fragment` in its text, and the text holds no part of `token`.
fn assert_invalid(result: Result<ValidatedJwt, JwtError>, token: &str, fragment: &str) {
    let err = result.expect_err("token must be refused");
    let text = err.to_string();
    assert!(matches!(err, JwtError::Invalid(_)), "{err:?}");
    assert!(text.contains(fragment), "{text:?} lacks {fragment:?}");
    for part in token.split('.').filter(|p| p.len() > 8) {
        assert!(!text.contains(part), "error text leaks the token: {text}");
    }
}

/// `token` with its header replaced by `header` (the signature no longer matches).
fn with_header(token: &str, header: Value) -> String {
    let rest = token.split_once('.').unwrap().1;
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
}

#[tokio::test]
async fn okta_shaped_access_token_is_accepted() {
    let idp = start_idp().await;
    let v = validator(&idp, json!({}));
    let t = token(&idp, "alice@example.com", json!({}));
    let ok = v.validate(&t).await.unwrap();
    assert_eq!(ok.client_id.as_deref(), Some(CLIENT));
    assert_eq!(ok.subject.as_deref(), Some("alice@example.com"));
    assert_eq!(ok.scopes, ["api:read", "openid"]);
    assert!(ok.expires_at > now());
    assert_eq!(ok.claims["DealershipLocation"], "Los Angeles");
    assert_eq!((v.failure_status(), v.failure_message()), (401, None));
    // Cached: a second token costs no fetch.
    v.validate(&token(&idp, "bob", json!({}))).await.unwrap();
    assert_eq!(idp.idp.jwks_fetches(), 1);
}

#[tokio::test]
async fn scope_string_and_client_id_fallbacks() {
    let idp = start_idp().await;
    let v = validator(&idp, json!({}));
    let t = token(
        &idp,
        "svc",
        json!({"scp": null, "scope": "orders:read  orders:write", "cid": null, "client_id": "x"}),
    );
    let ok = v.validate(&t).await.unwrap();
    assert_eq!(ok.scopes, ["orders:read", "orders:write"]);
    assert_eq!(ok.client_id.as_deref(), Some("x"));
    let v = validator(&idp, json!({"client_id_claims": ["azp"]}));
    assert_eq!(v.validate(&t).await.unwrap().client_id, None);
}

#[tokio::test]
async fn wrong_issuer_and_audience_are_refused() {
    let idp = start_idp().await;
    let v = validator(&idp, json!({}));
    idp.idp.behaviour().set_wrong_issuer(true);
    let t = token(&idp, "alice", json!({}));
    assert_invalid(v.validate(&t).await, &t, "issuer");
    idp.idp.behaviour().reset();

    idp.idp.behaviour().set_wrong_audience(true);
    let t = token(&idp, "alice", json!({}));
    assert_invalid(v.validate(&t).await, &t, "audience");
    // Without audiences configured, any audience passes (documented, and warned about).
    validator(&idp, json!({"audiences": []}))
        .validate(&t)
        .await
        .unwrap();
    idp.idp.behaviour().reset();

    let t = token(&idp, "alice", json!({"aud": null}));
    assert_invalid(v.validate(&t).await, &t, "aud");
    // Configured issuers narrow the discovery issuers; a mismatch is refused before any fetch.
    let fetches = idp.idp.jwks_fetches();
    let other = validator(
        &idp,
        json!({"issuers": ["https://elsewhere.example/oauth2/default"]}),
    );
    assert_invalid(other.validate(&t).await, &t, "issuer");
    assert_eq!(idp.idp.jwks_fetches(), fetches);
}

#[tokio::test]
async fn expiry_and_not_before_honour_the_leeway() {
    let idp = start_idp().await;
    let v = validator(&idp, json!({"leeway_secs": 30}));
    idp.idp.behaviour().set_expired(true);
    let t = token(&idp, "alice", json!({}));
    assert_invalid(v.validate(&t).await, &t, "expired");
    idp.idp.behaviour().reset();

    let t = token(&idp, "alice", json!({"exp": now() - 10}));
    v.validate(&t).await.expect("expired within the leeway");
    let t = token(&idp, "alice", json!({"exp": now() - 90}));
    assert_invalid(v.validate(&t).await, &t, "expired");
    let t = token(&idp, "alice", json!({"exp": null}));
    assert_invalid(v.validate(&t).await, &t, "exp");

    let t = token(&idp, "alice", json!({"nbf": now() + 10}));
    v.validate(&t).await.expect("not-before within the leeway");
    let t = token(&idp, "alice", json!({"nbf": now() + 600}));
    assert_invalid(v.validate(&t).await, &t, "nbf");
}

#[tokio::test]
async fn a_bad_signature_is_refused_without_a_refetch() {
    let idp = start_idp().await;
    let v = validator(&idp, json!({}));
    v.validate(&token(&idp, "alice", json!({}))).await.unwrap();
    idp.idp.behaviour().set_bad_signature(true);
    let t = token(&idp, "alice", json!({}));
    assert_invalid(v.validate(&t).await, &t, "signature");
    assert_eq!(idp.idp.jwks_fetches(), 1, "the kid is known: no refetch");
}

#[tokio::test]
async fn key_rotation_costs_exactly_one_refetch() {
    let idp = start_idp().await;
    let v = validator(&idp, json!({}));
    let before = token(&idp, "alice", json!({}));
    v.validate(&before).await.unwrap();
    assert_eq!(idp.idp.jwks_fetches(), 1);
    idp.idp.rotate_keys();
    let after = token(&idp, "alice", json!({}));
    v.validate(&after)
        .await
        .expect("new key found by one refetch");
    assert_eq!(idp.idp.jwks_fetches(), 2);
    v.validate(&after).await.unwrap();
    v.validate(&before)
        .await
        .expect("the previous key is still published");
    assert_eq!(idp.idp.jwks_fetches(), 2);

    // A kid that is never published: one refetch at most per window, then refusals.
    idp.idp.behaviour().set_unknown_kid(true);
    let t = token(&idp, "alice", json!({}));
    assert_invalid(v.validate(&t).await, &t, "unknown key");
    assert_invalid(v.validate(&t).await, &t, "unknown key");
    assert_eq!(
        idp.idp.jwks_fetches(),
        2,
        "rate-limited: refetched < 30 s ago"
    );
}

#[tokio::test]
async fn a_spray_of_random_kids_is_one_refetch_per_window() {
    let idp = start_idp().await;
    let v = JwtValidator::compile(&config(&idp, json!({})), registry(3600, 2)).unwrap();
    let genuine = token(&idp, "alice", json!({}));
    // A cold cache and 20 concurrent requests: one fetch.
    let cold = futures_util::future::join_all((0..20).map(|_| v.validate(&genuine))).await;
    assert!(cold.iter().all(Result::is_ok));
    assert_eq!(idp.idp.jwks_fetches(), 1);
    let forged = |i: usize| {
        let kid = format!("forged-{i}-{}", uuid::Uuid::new_v4());
        with_header(&genuine, json!({"alg": "RS256", "typ": "JWT", "kid": kid}))
    };
    for round in 1..=2 {
        let tokens: Vec<String> = (0..50).map(forged).collect();
        let results = futures_util::future::join_all(tokens.iter().map(|t| v.validate(t))).await;
        for (r, t) in results.into_iter().zip(&tokens) {
            assert_invalid(r, t, "unknown key");
        }
        // And one after the other, within the same window.
        for t in (50..60).map(forged) {
            assert_invalid(v.validate(&t).await, &t, "unknown key");
        }
        assert_eq!(idp.idp.jwks_fetches(), 1 + round, "round {round}");
        v.validate(&genuine)
            .await
            .expect("the genuine key still works");
        tokio::time::sleep(Duration::from_millis(2100)).await;
    }
}

#[tokio::test]
async fn hs256_and_none_are_refused() {
    let idp = start_idp().await;
    let v = validator(&idp, json!({"algorithms": ["RS256", "ES256"]}));
    idp.idp.behaviour().set_hs256(true);
    let t = token(&idp, "alice", json!({}));
    assert_invalid(v.validate(&t).await, &t, "algorithm");
    idp.idp.behaviour().reset();

    let genuine = token(&idp, "alice", json!({}));
    v.validate(&genuine).await.unwrap();
    for alg in ["none", "None", "NONE"] {
        let unsigned = with_header(&genuine, json!({"alg": alg, "typ": "JWT"}));
        let unsigned = format!("{}.", unsigned.rsplit_once('.').unwrap().0);
        assert_invalid(v.validate(&unsigned).await, &unsigned, "header");
    }
    // RS256 header on an ES256-only validator: refused before any key is looked at.
    let es_only = validator(&idp, json!({"algorithms": ["ES256"]}));
    assert_invalid(es_only.validate(&genuine).await, &genuine, "algorithm");
    // A token header that names its own key URL is ignored: nothing is fetched from it.
    let jku = with_header(
        &genuine,
        json!({"alg": "RS256", "kid": "x", "jku": "http://127.0.0.1:9/keys", "x5u": "http://127.0.0.1:9/c"}),
    );
    assert_invalid(v.validate(&jku).await, &jku, "unknown key");
}

#[tokio::test]
async fn malformed_tokens_are_refused_before_any_fetch() {
    let idp = start_idp().await;
    let v = validator(&idp, json!({}));
    let genuine = token(&idp, "alice", json!({}));
    let huge = format!("{genuine}{}", "A".repeat(17 * 1024));
    assert_invalid(v.validate(&huge).await, &huge, "16 KiB");
    let jwe = format!("{genuine}.a.b");
    assert_invalid(v.validate(&jwe).await, &jwe, "three segments");
    for junk in ["", "..", "a.b.c", "not a token", "\u{0}.\u{ff}.x"] {
        assert_invalid(v.validate(junk).await, junk, "");
    }
    let crit = with_header(
        &genuine,
        json!({"alg": "RS256", "kid": "k", "crit": ["exp"]}),
    );
    assert_invalid(v.validate(&crit).await, &crit, "critical");
    let no_kid = with_header(&genuine, json!({"alg": "RS256"}));
    assert_invalid(v.validate(&no_kid).await, &no_kid, "kid");
    assert_eq!(idp.idp.jwks_fetches(), 0);
}

#[tokio::test]
async fn required_claims_all_and_any() {
    let idp = start_idp().await;
    let cities = |m: &str| {
        json!({"required_claims": [
            {"name": "DealershipLocation", "match": m, "values": ["Los Angeles", "San Francisco"]},
            {"name": "groups", "values": ["Everyone"]},
        ]})
    };
    let any = validator(&idp, cities("any"));
    let all = validator(&idp, cities("all"));
    let alice = token(&idp, "alice", json!({}));
    let bob = token(&idp, "bob", json!({}));
    any.validate(&alice)
        .await
        .expect("Los Angeles is one of them");
    let err = any.validate(&bob).await.unwrap_err();
    assert!(
        matches!(&err, JwtError::Claims(m) if m.contains("DealershipLocation")),
        "{err:?}"
    );
    assert!(!err.to_string().contains("Seattle"));
    assert!(matches!(
        all.validate(&alice).await,
        Err(JwtError::Claims(_))
    ));
    let both = token(
        &idp,
        "alice",
        json!({"DealershipLocation": ["San Francisco", "Los Angeles"]}),
    );
    all.validate(&both).await.expect("both cities");
    let absent = validator(
        &idp,
        json!({"required_claims": [{"name": "department", "match": "any"}]}),
    );
    assert!(
        matches!(absent.validate(&alice).await, Err(JwtError::Claims(m)) if m.contains("missing"))
    );
}

#[tokio::test]
async fn a_warm_cache_outlives_the_provider() {
    let idp = start_idp().await;
    let v = JwtValidator::compile(&config(&idp, json!({})), registry(1, 1)).unwrap();
    v.validate(&token(&idp, "alice", json!({}))).await.unwrap();
    idp.idp.behaviour().set_down(true);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Stale and the refresh fails: the cached keys keep serving.
    v.validate(&token(&idp, "alice", json!({}))).await.unwrap();
    v.validate(&token(&idp, "bob", json!({}))).await.unwrap();
}

#[tokio::test]
async fn a_cold_cache_without_a_provider_is_unavailable() {
    let idp = start_idp().await;
    idp.idp.behaviour().set_down(true);
    let v = validator(&idp, json!({}));
    let t = token(&idp, "alice", json!({}));
    for _ in 0..2 {
        let err = v.validate(&t).await.unwrap_err();
        assert!(matches!(err, JwtError::Unavailable(_)), "{err:?}");
        assert!(!err.to_string().contains(&t));
    }
}

#[tokio::test]
async fn each_issuer_is_verified_with_its_own_keys() {
    let (a, b) = (start_idp().await, start_idp().await);
    let cfg: JwtConfig = serde_json::from_value(json!({
        "openid_config_urls": [a.config_url, b.config_url], "audiences": [AUDIENCE]}))
    .unwrap();
    let reg = registry(3600, 30);
    let v = JwtValidator::compile(&cfg, reg.clone()).unwrap();
    v.validate(&token(&a, "alice", json!({}))).await.unwrap();
    v.validate(&token(&b, "alice", json!({}))).await.unwrap();
    // B's token claiming to come from A: A's keys do not know B's kid.
    let t = token(&b, "alice", json!({"iss": a.idp.issuer()}));
    assert_invalid(v.validate(&t).await, &t, "unknown key");
    // A second route on the same registry shares the cache: no new fetch.
    let again = JwtValidator::compile(&config(&a, json!({})), reg).unwrap();
    again.validate(&token(&a, "bob", json!({}))).await.unwrap();
    assert_eq!(
        a.idp.jwks_fetches(),
        2,
        "initial fetch + one refetch for B's kid"
    );
}
