//! The store conformance suite: the same cases against the in-memory store and real Redis, so
//! that `tessera dev` behaves as production does.

use std::sync::Arc;
use std::time::Duration;

use tessera_shared::config::StoreConfig;
use tessera_shared::store::{self, CatalogTx, CodeClaim, Rotation, Store, Table};
use tessera_shared::token::TokenKind;

use crate::helpers::shared_redis_url;

fn redis_store() -> Arc<dyn Store> {
    store::open(&StoreConfig {
        url: shared_redis_url(),
        prefix: format!("conf:{}:", uuid::Uuid::new_v4().simple()),
        ..StoreConfig::default()
    })
    .unwrap()
}

fn memory_store() -> Arc<dyn Store> {
    store::open(&StoreConfig {
        url: "memory".into(),
        ..StoreConfig::default()
    })
    .unwrap()
}

async fn conditional_commits(s: Arc<dyn Store>) {
    s.ping().await.unwrap();
    let mut tx = CatalogTx::default();
    tx.check(Table::DeveloperEmails, "a@x.io", None);
    tx.set(Table::DeveloperEmails, "a@x.io", "1".into());
    tx.set(Table::Developers, "1", "{\"v\":1}".into());
    assert_eq!(s.catalog_commit(&tx).await.unwrap(), None);
    // The same transaction again fails its first check and writes nothing.
    let mut again = tx.clone();
    again.sets.push(tessera_shared::store::Cell {
        table: Table::Developers,
        field: "2".into(),
        value: Some("x".into()),
    });
    assert_eq!(s.catalog_commit(&again).await.unwrap(), Some(0));
    assert_eq!(s.catalog_get(Table::Developers, "2").await.unwrap(), None);

    // Optimistic check on the exact stored value; the second failing check is reported as 1.
    let mut upd = CatalogTx::default();
    upd.check(Table::Developers, "1", Some("{\"v\":1}".into()));
    upd.check(Table::DeveloperEmails, "a@x.io", None);
    upd.set(Table::Developers, "1", "{\"v\":2}".into());
    assert_eq!(s.catalog_commit(&upd).await.unwrap(), Some(1));
    upd.checks.pop();
    upd.del(Table::DeveloperEmails, "a@x.io");
    assert_eq!(s.catalog_commit(&upd).await.unwrap(), None);
    assert_eq!(
        s.catalog_commit(&upd).await.unwrap(),
        Some(0),
        "stale value"
    );
    assert_eq!(
        s.catalog_get(Table::Developers, "1")
            .await
            .unwrap()
            .as_deref(),
        Some("{\"v\":2}")
    );
    assert_eq!(
        s.catalog_get(Table::DeveloperEmails, "a@x.io")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.catalog_values(Table::Developers).await.unwrap(),
        vec!["{\"v\":2}"]
    );
    assert!(s.catalog_values(Table::Apps).await.unwrap().is_empty());
}

async fn client_lookup(s: Arc<dyn Store>) {
    let mut tx = CatalogTx::default();
    tx.set(Table::Apps, "app-1", "{\"app\":1}".into());
    tx.set(Table::Clients, "cid", "app-1".into());
    tx.set(Table::Clients, "dangling", "app-gone".into());
    assert_eq!(s.catalog_commit(&tx).await.unwrap(), None);
    assert_eq!(
        s.app_for_client("cid").await.unwrap().as_deref(),
        Some("{\"app\":1}")
    );
    assert_eq!(s.app_for_client("nobody").await.unwrap(), None);
    assert_eq!(s.app_for_client("dangling").await.unwrap(), None);
}

async fn tokens_expire_and_delete(s: Arc<dyn Store>) {
    let k = TokenKind::AccessToken;
    s.token_put(k, "h1", "rec1", 1).await.unwrap();
    s.token_put(k, "h2", "rec2", 60).await.unwrap();
    assert_eq!(s.token_get(k, "h1").await.unwrap().as_deref(), Some("rec1"));
    assert_eq!(
        s.token_get(TokenKind::RefreshToken, "h1").await.unwrap(),
        None,
        "kinds are separate"
    );
    s.token_delete(k, "h2").await.unwrap();
    assert_eq!(s.token_get(k, "h2").await.unwrap(), None);
    s.token_delete(k, "never-there").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(s.token_get(k, "h1").await.unwrap(), None, "expired");
}

async fn logins_are_taken_once(s: Arc<dyn Store>) {
    s.login_put("st", "pending", 60).await.unwrap();
    assert_eq!(
        s.login_take("st").await.unwrap().as_deref(),
        Some("pending")
    );
    assert_eq!(s.login_take("st").await.unwrap(), None);
    s.login_put("short", "x", 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(s.login_take("short").await.unwrap(), None);
}

async fn codes_are_claimed_once(s: Arc<dyn Store>) {
    s.code_put("c1", "rec", 60).await.unwrap();
    assert_eq!(s.code_get("c1").await.unwrap().as_deref(), Some("rec"));
    assert_eq!(s.code_claim("c1", "famA").await.unwrap(), CodeClaim::Won);
    assert_eq!(
        s.code_claim("c1", "famB").await.unwrap(),
        CodeClaim::Replayed("famA".into())
    );
    assert_eq!(
        s.code_get("c1").await.unwrap().as_deref(),
        Some("rec"),
        "kept for replay detection"
    );
    assert_eq!(s.code_claim("nope", "famC").await.unwrap(), CodeClaim::Gone);
}

async fn families_rotate_and_detect_reuse(s: Arc<dyn Store>) {
    s.family_put("f1", "rec", Some("rt1"), 60).await.unwrap();
    let f = s.family_get("f1").await.unwrap().unwrap();
    assert_eq!(
        (f.record.as_str(), f.live_refresh.as_deref(), f.revoked),
        ("rec", Some("rt1"), false)
    );
    assert_eq!(
        s.family_rotate("f1", "rt1", "rt2").await.unwrap(),
        Rotation::Rotated("rec".into())
    );
    // The consumed token again: reuse, and the family is revoked.
    assert_eq!(
        s.family_rotate("f1", "rt1", "rt3").await.unwrap(),
        Rotation::Reused
    );
    assert!(s.family_get("f1").await.unwrap().unwrap().revoked);
    assert_eq!(
        s.family_rotate("f1", "rt2", "rt4").await.unwrap(),
        Rotation::Revoked
    );
    assert_eq!(
        s.family_rotate("none", "a", "b").await.unwrap(),
        Rotation::Gone
    );

    // Revoking a family before it exists (a code replay racing the winner) still holds.
    s.family_revoke("f2").await.unwrap();
    assert_eq!(s.family_get("f2").await.unwrap(), None);
    s.family_put("f2", "rec2", None, 60).await.unwrap();
    assert!(s.family_get("f2").await.unwrap().unwrap().revoked);

    s.user_family_add("app", "user{1}", "f1", 60).await.unwrap();
    s.user_family_add("app", "user{1}", "f2", 60).await.unwrap();
    s.user_family_add("app", "other", "f3", 60).await.unwrap();
    let mut fams = s.user_families("app", "user{1}").await.unwrap();
    fams.sort();
    assert_eq!(fams, vec!["f1", "f2"]);
    assert!(s.user_families("app2", "user{1}").await.unwrap().is_empty());
}

macro_rules! conformance {
    ($($name:ident),*) => {
        mod memory {
            $(#[tokio::test] async fn $name() { super::$name(super::memory_store()).await })*
        }
        mod redis {
            $(#[tokio::test] async fn $name() { super::$name(super::redis_store()).await })*
        }
    };
}

conformance!(
    conditional_commits,
    client_lookup,
    tokens_expire_and_delete,
    logins_are_taken_once,
    codes_are_claimed_once,
    families_rotate_and_detect_reuse
);
