//! The registry of developers, apps and credentials.
//!
//! Every mutation is one [`CatalogTx`]: it re-checks the record it read (optimistic concurrency)
//! and the uniqueness indexes it relies on (developer e-mail, app name per developer, client_id),
//! then writes, atomically. A lost race is retried a few times; a broken uniqueness rule is a
//! [`CatalogError::Conflict`] naming the field.
//!
//! # Layout
//! * this file — [`Catalog`], the input types, and the transaction helpers.
//! * `developers`, `apps`, `credentials` — the operations on each.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::crypto::Keys;
use crate::error::{CatalogError, StoreError};
use crate::model::{Credential, GrantType, RedirectUri, SecretMethod, Status};
use crate::rate::RatePlan;
use crate::scope::ScopeSet;
use crate::store::{CatalogTx, Store, Table};

mod apps;
mod credentials;
mod developers;

const RETRIES: usize = 8;

/// New developer, as checked at the edge.
#[derive(Debug, Clone)]
pub struct NewDeveloper {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub attributes: BTreeMap<String, String>,
}

/// Fields to change on a developer; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct DeveloperPatch {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub attributes: Option<BTreeMap<String, String>>,
}

/// New app, as checked at the edge. `Default` is an empty confidential app with PKCE required.
#[derive(Debug, Clone)]
pub struct NewApp {
    pub name: String,
    pub redirect_uris: Vec<RedirectUri>,
    /// See [`crate::model::App::post_logout_redirect_uris`].
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub grant_types: Vec<GrantType>,
    pub scopes: ScopeSet,
    pub attributes: BTreeMap<String, String>,
    /// Lifetime of the app's first credential, in seconds (`None`: no expiry).
    pub credential_ttl_secs: Option<u64>,
    /// A public client (no secret; PKCE required).
    pub public: bool,
    pub rate_plan: RatePlan,
    /// See [`crate::model::App::auth_method`].
    pub auth_method: Option<SecretMethod>,
    /// See [`crate::model::App::pkce_required`].
    pub pkce_required: bool,
    /// See [`crate::model::App::token_exchange_clients`].
    pub token_exchange_clients: Vec<String>,
    /// See [`crate::model::App::client_name`].
    pub client_name: Option<String>,
    /// See [`crate::model::App::registration_token_hash`].
    pub registration_token_hash: Option<String>,
}

impl Default for NewApp {
    fn default() -> Self {
        NewApp {
            name: String::new(),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            grant_types: Vec::new(),
            scopes: ScopeSet::default(),
            attributes: BTreeMap::new(),
            credential_ttl_secs: None,
            public: false,
            rate_plan: RatePlan::default(),
            auth_method: None,
            pkce_required: true,
            token_exchange_clients: Vec::new(),
            client_name: None,
            registration_token_hash: None,
        }
    }
}

/// Fields to change on an app; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AppPatch {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<RedirectUri>>,
    pub post_logout_redirect_uris: Option<Vec<RedirectUri>>,
    pub grant_types: Option<Vec<GrantType>>,
    pub scopes: Option<ScopeSet>,
    pub attributes: Option<BTreeMap<String, String>>,
    pub status: Option<Status>,
    pub rate_plan: Option<RatePlan>,
    pub auth_method: Option<Option<SecretMethod>>,
    pub pkce_required: Option<bool>,
    pub token_exchange_clients: Option<Vec<String>>,
    pub client_name: Option<Option<String>>,
}

/// A credential just created, with its secret: the only time the secret exists outside the
/// client. A public app's credential has no secret.
#[derive(Debug)]
pub struct IssuedCredential {
    pub credential: Credential,
    pub secret: Option<secrecy::SecretString>,
}

#[derive(Clone, Debug)]
pub struct Catalog {
    store: Arc<dyn Store>,
    keys: Keys,
}

/// A transaction plus, per check, the field to blame when it fails (`None`: a concurrent
/// change, to be retried).
#[derive(Default)]
struct Tx {
    tx: CatalogTx,
    blame: Vec<Option<&'static str>>,
}

impl Tx {
    fn unchanged(&mut self, table: Table, field: &str, raw: &str) {
        self.tx.check(table, field, Some(raw.to_string()));
        self.blame.push(None);
    }
    fn absent(&mut self, table: Table, field: &str, blame: &'static str) {
        self.tx.check(table, field, None);
        self.blame.push(Some(blame));
    }
}

enum Outcome {
    Done,
    Retry,
}

fn decode<T: DeserializeOwned>(raw: &str) -> Result<T, CatalogError> {
    serde_json::from_str(raw).map_err(|e| CatalogError::Store(StoreError::from(e)))
}

fn encode<T: serde::Serialize>(v: &T) -> Result<String, CatalogError> {
    serde_json::to_string(v).map_err(|e| CatalogError::Store(StoreError::from(e)))
}

fn name_key(developer_id: Uuid, name: &str) -> String {
    format!("{developer_id}/{name}")
}

impl Catalog {
    pub fn new(store: Arc<dyn Store>, keys: Keys) -> Self {
        Catalog { store, keys }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    async fn commit(&self, tx: Tx) -> Result<Outcome, CatalogError> {
        match self.store.catalog_commit(&tx.tx).await? {
            None => Ok(Outcome::Done),
            Some(i) => match tx.blame.get(i).copied().flatten() {
                Some(field) => Err(CatalogError::Conflict { field }),
                None => Ok(Outcome::Retry),
            },
        }
    }

    async fn raw(&self, table: Table, id: &str) -> Result<Option<String>, CatalogError> {
        Ok(self.store.catalog_get(table, id).await?)
    }
}
