//! A cached answer says exactly what the store's answer said (a review of the cache, issue
//! 11, P4): a user token's `sub`, `idp`, `ext` (its attributes, its app) and `scope`, to the
//! token's own client and to another resource server alike — the cache adds nothing, drops
//! nothing, and changes nothing about who may ask.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::world::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_answer_is_the_stores_answer_to_every_client_that_may_ask() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({})).await;
    let rs = w.app.default_client().await;
    let tokens = alice_tokens(&w, &c, "read").await;
    let access = tokens["access_token"].as_str().expect("access_token");
    // Nothing cached yet: the store's answers.
    let (own, other) = (
        w.app.introspect(&c, access).await,
        w.app.introspect(&rs, access).await,
    );
    assert_eq!(
        own, other,
        "the same answer to the owner and to another resource server"
    );
    assert!(own["sub"].is_string() && own["idp"].is_string(), "{own}");
    cached(&w.app, &c, access).await;
    for asker in [&c, &rs] {
        let before = hits(&w.app).await;
        let info = w.app.introspect(asker, access).await;
        assert!(hits(&w.app).await > before, "answered from the cache");
        assert_eq!(info, own, "a cached answer differs from the store's");
    }
    // Who may ask is checked before the cache is read: a wrong secret is still refused.
    let wrong = Client {
        secret: "not-the-secret".into(),
        ..rs.clone()
    };
    let res = w
        .app
        .post_form("/introspect", &wrong, &[("token", access)])
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
