//! The registry's storage: tables of JSON records under one hash tag, changed only by atomic,
//! conditional transactions ([`CatalogTx`]: `redis/scripts/catalog_commit.lua`).

use async_trait::async_trait;
use serde::Serialize;

use crate::error::StoreError;

/// The registry's tables. In Redis each is a hash under the `{catalog}` hash tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Developers,
    DeveloperEmails,
    Apps,
    AppNames,
    Clients,
    /// API products by name ([`crate::product::Product`]).
    Products,
}

impl Table {
    pub const ALL: [Table; 6] = [
        Table::Developers,
        Table::DeveloperEmails,
        Table::Apps,
        Table::AppNames,
        Table::Clients,
        Table::Products,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Developers => "developers",
            Table::DeveloperEmails => "developer_emails",
            Table::Apps => "apps",
            Table::AppNames => "app_names",
            Table::Clients => "clients",
            Table::Products => "products",
        }
    }

    /// 1-based position in [`Table::ALL`], as the Lua script indexes `KEYS`.
    fn lua_index(self) -> usize {
        Table::ALL.iter().position(|t| *t == self).unwrap_or(0) + 1
    }
}

/// One field of a table, with the value it should hold (or `None`: absent).
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    #[serde(rename = "t", serialize_with = "ser_table")]
    pub table: Table,
    #[serde(rename = "f")]
    pub field: String,
    #[serde(rename = "v")]
    pub value: Option<String>,
}

fn ser_table<S: serde::Serializer>(t: &Table, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(t.lua_index() as u64)
}

/// An atomic, conditional registry update: every check must hold, then dels and sets apply.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CatalogTx {
    pub checks: Vec<Cell>,
    pub sets: Vec<Cell>,
    pub dels: Vec<Cell>,
}

impl CatalogTx {
    /// The apps this update writes or deletes: the stores announce each as revoked, so that
    /// proxies look them up again.
    pub fn touched_apps(&self) -> impl Iterator<Item = &str> {
        self.sets
            .iter()
            .chain(&self.dels)
            .filter(|c| c.table == Table::Apps)
            .map(|c| c.field.as_str())
    }

    /// Require `field` to hold `value` (`None`: to be absent).
    pub fn check(&mut self, table: Table, field: impl Into<String>, value: Option<String>) {
        self.checks.push(Cell {
            table,
            field: field.into(),
            value,
        });
    }
    pub fn set(&mut self, table: Table, field: impl Into<String>, value: String) {
        self.sets.push(Cell {
            table,
            field: field.into(),
            value: Some(value),
        });
    }
    pub fn del(&mut self, table: Table, field: impl Into<String>) {
        self.dels.push(Cell {
            table,
            field: field.into(),
            value: None,
        });
    }
}

/// The registry's tables ([`crate::catalog`] builds on them).
#[async_trait]
pub trait CatalogStore: Send + Sync {
    async fn catalog_get(&self, table: Table, field: &str) -> Result<Option<String>, StoreError>;
    async fn catalog_values(&self, table: Table) -> Result<Vec<String>, StoreError>;
    /// Applies `tx` atomically. `Ok(Some(i))`: check `i` (0-based) failed and nothing changed.
    async fn catalog_commit(&self, tx: &CatalogTx) -> Result<Option<usize>, StoreError>;
    /// The app record (JSON) that holds `client_id`, in one round trip.
    async fn app_for_client(&self, client_id: &str) -> Result<Option<String>, StoreError>;
}
