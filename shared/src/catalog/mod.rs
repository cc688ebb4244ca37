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
//! * `products`, `subscriptions` — API products and apps' subscriptions to them
//!   ([`crate::product`]: what they grant).
//! * `standing` — suspending and reinstating a developer; a developer found or created by
//!   e-mail.
//! * [`cached`] — [`cached::AppCache`]: apps in process for the broker's hot paths, kept honest
//!   by the revocation channel.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::crypto::Keys;
use crate::error::{CatalogError, StoreError};
use crate::model::{ApplicationType, Credential, GrantType, RedirectUri, SecretMethod, Status};
use crate::product::{Approval, Product, Visibility};
use crate::rate::RatePlan;
use crate::scope::ScopeSet;
use crate::store::{CatalogTx, Store, Table};

mod apps;
pub mod cached;
mod credentials;
mod developers;
mod products;
mod standing;
mod subscriptions;

pub use subscriptions::Audience;

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
    /// See [`crate::model::App::dpop_required`].
    pub dpop_required: bool,
    /// See [`crate::model::App::upstreams`].
    pub upstreams: Vec<String>,
    /// See [`crate::model::App::client_name`].
    pub client_name: Option<String>,
    /// See [`crate::model::App::registration_token_hash`].
    pub registration_token_hash: Option<String>,
    /// See [`crate::model::App::application_type`].
    pub application_type: ApplicationType,
    /// See [`crate::model::App::allowed_origins`].
    pub allowed_origins: Vec<String>,
    /// See [`crate::model::App::refresh_idle_secs`].
    pub refresh_idle_secs: Option<u64>,
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
            dpop_required: false,
            upstreams: Vec::new(),
            client_name: None,
            registration_token_hash: None,
            application_type: ApplicationType::Web,
            allowed_origins: Vec::new(),
            refresh_idle_secs: None,
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
    pub dpop_required: Option<bool>,
    pub upstreams: Option<Vec<String>>,
    pub client_name: Option<Option<String>>,
    pub application_type: Option<ApplicationType>,
    pub allowed_origins: Option<Vec<String>>,
    pub refresh_idle_secs: Option<Option<u64>>,
}

impl AppPatch {
    /// Applies the members about the kind of client (application type, web origins, refresh
    /// idle lifetime) to `app`.
    pub(crate) fn apply_client_kind(&self, app: &mut crate::model::App) {
        if let Some(t) = self.application_type {
            app.application_type = t;
        }
        if let Some(v) = &self.allowed_origins {
            app.allowed_origins = v.clone();
        }
        if let Some(v) = self.refresh_idle_secs {
            app.refresh_idle_secs = v;
        }
    }
}

/// New API product, as checked at the edge.
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub scopes: ScopeSet,
    pub rate_plan: RatePlan,
    pub approval: Approval,
    pub visibility: Visibility,
}

/// Fields to change on a product; `None` leaves a field as it is (the name is its key).
#[derive(Debug, Clone, Default)]
pub struct ProductPatch {
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub scopes: Option<ScopeSet>,
    pub rate_plan: Option<RatePlan>,
    pub approval: Option<Approval>,
    pub visibility: Option<Visibility>,
}

impl ProductPatch {
    fn apply(&self, p: &mut Product) {
        if let Some(v) = &self.display_name {
            p.display_name = v.clone();
        }
        if let Some(v) = &self.description {
            p.description = v.clone();
        }
        if let Some(v) = &self.scopes {
            p.scopes = v.clone();
        }
        if let Some(v) = self.rate_plan {
            p.rate_plan = v;
        }
        if let Some(v) = self.approval {
            p.approval = v;
        }
        if let Some(v) = self.visibility {
            p.visibility = v;
        }
    }
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
    /// Apps in process (the broker), when [`Catalog::cache_apps`] turned it on.
    apps: Option<Arc<cached::AppCache>>,
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
        Catalog {
            store,
            keys,
            apps: None,
        }
    }

    /// Keeps apps in process from now on; the returned cache is used only once it follows the
    /// revocation channel ([`crate::store::follow::follow`]).
    pub fn cache_apps(&mut self) -> Arc<cached::AppCache> {
        self.apps.get_or_insert_with(Default::default).clone()
    }

    /// The in-process apps, if kept ([`Catalog::cache_apps`]).
    pub fn app_cache(&self) -> Option<&Arc<cached::AppCache>> {
        self.apps.as_ref()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    async fn commit(&self, tx: Tx) -> Result<Outcome, CatalogError> {
        let outcome = self.store.catalog_commit(&tx.tx).await;
        // This process's own change is evicted before the caller is answered (the
        // announcement would only come back a moment later), whatever the outcome.
        if let Some(cache) = &self.apps {
            for app in tx.tx.touched_apps() {
                match Uuid::parse_str(app) {
                    Ok(id) => cache.evict(id),
                    Err(_) => cache.forget_all(),
                }
            }
        }
        match outcome? {
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
