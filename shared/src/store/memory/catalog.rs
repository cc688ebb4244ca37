//! The in-memory registry tables and their transactions (all checks, then every write, under one
//! lock, as `catalog_commit.lua` does in Redis).

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::store::{CatalogStore, CatalogTx, Revocation, Table};

#[async_trait]
impl CatalogStore for MemoryStore {
    async fn catalog_get(&self, table: Table, field: &str) -> Result<Option<String>, StoreError> {
        let g = self.lock()?;
        Ok(g.tables.get(&table).and_then(|t| t.get(field)).cloned())
    }

    async fn catalog_values(&self, table: Table) -> Result<Vec<String>, StoreError> {
        let g = self.lock()?;
        Ok(g.tables
            .get(&table)
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn catalog_commit(&self, tx: &CatalogTx) -> Result<Option<usize>, StoreError> {
        let mut g = self.lock()?;
        for (i, c) in tx.checks.iter().enumerate() {
            let cur = g.tables.get(&c.table).and_then(|t| t.get(&c.field));
            if cur != c.value.as_ref() {
                return Ok(Some(i));
            }
        }
        for d in &tx.dels {
            if let Some(t) = g.tables.get_mut(&d.table) {
                t.remove(&d.field);
            }
        }
        for s in &tx.sets {
            if let Some(v) = &s.value {
                g.tables
                    .entry(s.table)
                    .or_default()
                    .insert(s.field.clone(), v.clone());
            }
        }
        drop(g);
        for app in tx.touched_apps() {
            self.announce(Revocation::App(app.to_string()));
        }
        Ok(None)
    }

    async fn app_for_client(&self, client_id: &str) -> Result<Option<String>, StoreError> {
        let g = self.lock()?;
        let app_id = g.tables.get(&Table::Clients).and_then(|t| t.get(client_id));
        Ok(app_id.and_then(|id| g.tables.get(&Table::Apps).and_then(|t| t.get(id)).cloned()))
    }
}
