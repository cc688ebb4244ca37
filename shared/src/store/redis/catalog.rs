//! The registry in Redis: one hash per table under the `{catalog}` hash tag, changed by
//! `catalog_commit.lua`.

use async_trait::async_trait;
use redis::AsyncCommands;

use super::call::Call;
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
        let mut call = Call::new(&self.catalog_commit);
        for t in Table::ALL {
            call = call.key(self.keys.table(t));
        }
        call = call
            .arg(serde_json::to_string(tx)?)
            .arg(self.keys.revocation_channel());
        for app in tx.touched_apps() {
            call = call.arg(Revocation::App(app.to_string()).encode());
        }
        // Durable: an app's revocation, a credential's secret (issuance).
        let failed: usize = self.run(call, true).await?;
        Ok(failed.checked_sub(1))
    }

    async fn app_for_client(&self, client_id: &str) -> Result<Option<String>, StoreError> {
        let call = Call::new(&self.app_for_client)
            .key(self.keys.table(Table::Clients))
            .key(self.keys.table(Table::Apps))
            .arg(client_id);
        self.run(call, false).await
    }
}
