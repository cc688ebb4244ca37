//! The registry in Redis: one hash per table under the `{catalog}` hash tag, changed by
//! `catalog_commit.lua`.

use async_trait::async_trait;
use redis::AsyncCommands;

use super::RedisStore;
use crate::error::StoreError;
use crate::store::{CatalogStore, CatalogTx, Revocation, Table};

#[async_trait]
impl CatalogStore for RedisStore {
    async fn catalog_get(&self, table: Table, field: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn.clone();
        Ok(c.hget(self.keys.table(table), field).await?)
    }

    async fn catalog_values(&self, table: Table) -> Result<Vec<String>, StoreError> {
        let mut c = self.conn.clone();
        Ok(c.hvals(self.keys.table(table)).await?)
    }

    async fn catalog_commit(&self, tx: &CatalogTx) -> Result<Option<usize>, StoreError> {
        let mut c = self.conn.clone();
        let mut inv = self.catalog_commit.prepare_invoke();
        for t in Table::ALL {
            inv.key(self.keys.table(t));
        }
        inv.arg(serde_json::to_string(tx)?);
        inv.arg(self.keys.revocation_channel());
        for app in tx.touched_apps() {
            inv.arg(Revocation::App(app.to_string()).encode());
        }
        let failed: usize = inv.invoke_async(&mut c).await?;
        Ok(failed.checked_sub(1))
    }

    async fn app_for_client(&self, client_id: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn.clone();
        Ok(self
            .app_for_client
            .key(self.keys.table(Table::Clients))
            .key(self.keys.table(Table::Apps))
            .arg(client_id)
            .invoke_async(&mut c)
            .await?)
    }
}
