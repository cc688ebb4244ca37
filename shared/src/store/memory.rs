//! The embedded in-memory store: one process, no persistence. It is what `tessera dev` runs on,
//! and the conformance suite holds it to the same behaviour as Redis.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{CatalogTx, Store, Table};
use crate::error::StoreError;
use crate::token::TokenKind;

/// How many token writes between sweeps of expired entries.
const SWEEP_EVERY: u64 = 4096;

#[derive(Debug, Default)]
pub struct MemoryStore {
    // A std (not tokio) mutex: it is never held across an `.await`, and every critical section
    // is a few map operations, so blocking briefly is cheaper than an async lock.
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    tables: HashMap<Table, HashMap<String, String>>,
    tokens: HashMap<(u8, String), (String, Instant)>,
    writes: u64,
}

fn class(kind: TokenKind) -> u8 {
    kind as u8
}

impl MemoryStore {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, StoreError> {
        // A poisoned lock means a thread panicked mid-update; the maps are plain data and every
        // update below is applied only after all its checks, so the data is still consistent.
        Ok(self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

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
        Ok(None)
    }

    async fn app_for_client(&self, client_id: &str) -> Result<Option<String>, StoreError> {
        let g = self.lock()?;
        let app_id = g.tables.get(&Table::Clients).and_then(|t| t.get(client_id));
        Ok(app_id.and_then(|id| g.tables.get(&Table::Apps).and_then(|t| t.get(id)).cloned()))
    }

    async fn token_put(
        &self,
        kind: TokenKind,
        hash: &str,
        record: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        let now = Instant::now();
        g.writes += 1;
        if g.writes % SWEEP_EVERY == 0 {
            g.tokens.retain(|_, (_, exp)| *exp > now);
        }
        let exp = now + Duration::from_secs(ttl_secs.max(1));
        g.tokens
            .insert((class(kind), hash.to_string()), (record.to_string(), exp));
        Ok(())
    }

    async fn token_get(&self, kind: TokenKind, hash: &str) -> Result<Option<String>, StoreError> {
        let mut g = self.lock()?;
        let key = (class(kind), hash.to_string());
        match g.tokens.get(&key) {
            Some((v, exp)) if *exp > Instant::now() => Ok(Some(v.clone())),
            Some(_) => {
                g.tokens.remove(&key);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn token_delete(&self, kind: TokenKind, hash: &str) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        g.tokens.remove(&(class(kind), hash.to_string()));
        Ok(())
    }
}
