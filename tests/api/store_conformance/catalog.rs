//! The catalog: conditional commits and client lookups.

use std::sync::Arc;

use tessera_shared::store::{CatalogTx, Store, Table};

use super::{cluster_store, memory_store, redis_store};

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

conformance!(conditional_commits, client_lookup);
