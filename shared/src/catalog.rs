//! The registry of developers, apps and credentials.
//!
//! Every mutation is one [`CatalogTx`]: it re-checks the record it read (optimistic concurrency)
//! and the uniqueness indexes it relies on (developer e-mail, app name per developer, client_id),
//! then writes, atomically. A lost race is retried a few times; a broken uniqueness rule is a
//! [`CatalogError::Conflict`] naming the field.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::crypto::Keys;
use crate::error::{CatalogError, StoreError};
use crate::model::{App, Credential, Developer, GrantType, RedirectUri, SecretMethod, Status};
use crate::rate::RatePlan;
use crate::scope::ScopeSet;
use crate::store::{CatalogTx, Store, Table};
use crate::time::now;
use crate::token::TokenKind;

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
    pub grant_types: Vec<GrantType>,
    pub scopes: ScopeSet,
    pub attributes: BTreeMap<String, String>,
    /// Lifetime of the app's first credential, in seconds (`None`: no expiry).
    pub credential_ttl_secs: Option<u64>,
    /// A public client (no secret; PKCE required).
    pub public: bool,
    pub rate_plan: RatePlan,
    /// See [`App::auth_method`].
    pub auth_method: Option<SecretMethod>,
    /// See [`App::pkce_required`].
    pub pkce_required: bool,
    /// See [`App::token_exchange_clients`].
    pub token_exchange_clients: Vec<String>,
    /// See [`App::client_name`].
    pub client_name: Option<String>,
    /// See [`App::registration_token_hash`].
    pub registration_token_hash: Option<String>,
}

impl Default for NewApp {
    fn default() -> Self {
        NewApp {
            name: String::new(),
            redirect_uris: Vec::new(),
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

    // ---- developers ------------------------------------------------------------------------

    pub async fn create_developer(&self, new: NewDeveloper) -> Result<Developer, CatalogError> {
        let at = now();
        let dev = Developer {
            id: Uuid::new_v4(),
            email: new.email.to_ascii_lowercase(),
            first_name: new.first_name,
            last_name: new.last_name,
            attributes: new.attributes,
            created_at: at,
            updated_at: at,
        };
        let mut tx = Tx::default();
        tx.absent(Table::DeveloperEmails, &dev.email, "email");
        tx.tx
            .set(Table::Developers, dev.id.to_string(), encode(&dev)?);
        tx.tx.set(
            Table::DeveloperEmails,
            dev.email.clone(),
            dev.id.to_string(),
        );
        self.commit(tx).await?;
        Ok(dev)
    }

    pub async fn developer(&self, id: Uuid) -> Result<Developer, CatalogError> {
        Ok(self.developer_raw(id).await?.1)
    }

    async fn developer_raw(&self, id: Uuid) -> Result<(String, Developer), CatalogError> {
        let raw = self
            .raw(Table::Developers, &id.to_string())
            .await?
            .ok_or(CatalogError::NotFound("developer"))?;
        let dev = decode(&raw)?;
        Ok((raw, dev))
    }

    /// The developer registered under `email`, if any.
    pub async fn developer_by_email(&self, email: &str) -> Result<Option<Developer>, CatalogError> {
        let email = email.to_ascii_lowercase();
        match self.raw(Table::DeveloperEmails, &email).await? {
            Some(id) => match Uuid::parse_str(&id) {
                Ok(id) => match self.developer(id).await {
                    Ok(d) => Ok(Some(d)),
                    Err(CatalogError::NotFound(_)) => Ok(None),
                    Err(e) => Err(e),
                },
                Err(e) => Err(CatalogError::Store(StoreError::Corrupt(e.to_string()))),
            },
            None => Ok(None),
        }
    }

    pub async fn developers(&self) -> Result<Vec<Developer>, CatalogError> {
        let mut all: Vec<Developer> = self
            .store
            .catalog_values(Table::Developers)
            .await?
            .iter()
            .map(|r| decode(r))
            .collect::<Result<_, _>>()?;
        all.sort_by_key(|d| (d.created_at, d.id));
        Ok(all)
    }

    pub async fn update_developer(
        &self,
        id: Uuid,
        patch: DeveloperPatch,
    ) -> Result<Developer, CatalogError> {
        for _ in 0..RETRIES {
            let (raw, mut dev) = self.developer_raw(id).await?;
            let mut tx = Tx::default();
            tx.unchanged(Table::Developers, &id.to_string(), &raw);
            if let Some(email) = &patch.email {
                let email = email.to_ascii_lowercase();
                if email != dev.email {
                    tx.absent(Table::DeveloperEmails, &email, "email");
                    tx.tx.del(Table::DeveloperEmails, dev.email.clone());
                    tx.tx
                        .set(Table::DeveloperEmails, email.clone(), id.to_string());
                    dev.email = email;
                }
            }
            if let Some(v) = &patch.first_name {
                dev.first_name = v.clone();
            }
            if let Some(v) = &patch.last_name {
                dev.last_name = v.clone();
            }
            if let Some(v) = &patch.attributes {
                dev.attributes = v.clone();
            }
            dev.updated_at = now();
            tx.tx.set(Table::Developers, id.to_string(), encode(&dev)?);
            if let Outcome::Done = self.commit(tx).await? {
                return Ok(dev);
            }
        }
        Err(CatalogError::Contended)
    }

    /// Deletes a developer and all its apps; their tokens die with them.
    pub async fn delete_developer(&self, id: Uuid) -> Result<(), CatalogError> {
        for _ in 0..RETRIES {
            let (raw, dev) = self.developer_raw(id).await?;
            let mut tx = Tx::default();
            tx.unchanged(Table::Developers, &id.to_string(), &raw);
            tx.tx.del(Table::Developers, id.to_string());
            tx.tx.del(Table::DeveloperEmails, dev.email.clone());
            for (app_raw, app) in self.apps_raw(id).await? {
                tx.unchanged(Table::Apps, &app.id.to_string(), &app_raw);
                Self::unlink_app(&mut tx.tx, &app);
            }
            if let Outcome::Done = self.commit(tx).await? {
                return Ok(());
            }
        }
        Err(CatalogError::Contended)
    }

    // ---- apps ------------------------------------------------------------------------------

    fn unlink_app(tx: &mut CatalogTx, app: &App) {
        tx.del(Table::Apps, app.id.to_string());
        tx.del(Table::AppNames, name_key(app.developer_id, &app.name));
        for c in &app.credentials {
            tx.del(Table::Clients, c.client_id.clone());
        }
    }

    /// A new credential; with a secret unless the app is `public` (RFC 7591 §3.2.1: a public
    /// client has no `client_secret`).
    fn new_credential(&self, ttl_secs: Option<u64>, public: bool) -> IssuedCredential {
        let secret = (!public).then(|| TokenKind::ClientSecret.generate());
        let at = now();
        IssuedCredential {
            credential: Credential {
                client_id: Uuid::new_v4().simple().to_string(),
                secret_hash: secret
                    .as_deref()
                    .map(|s| self.keys.secret_hash(s))
                    .unwrap_or_default(),
                status: Status::Approved,
                created_at: at,
                expires_at: ttl_secs.map(|t| at.saturating_add(t as i64)),
            },
            secret: secret.map(Into::into),
        }
    }

    /// Creates an app with its first credential.
    pub async fn create_app(
        &self,
        developer_id: Uuid,
        new: NewApp,
    ) -> Result<(App, IssuedCredential), CatalogError> {
        for _ in 0..RETRIES {
            let (dev_raw, _) = self.developer_raw(developer_id).await?;
            let issued = self.new_credential(new.credential_ttl_secs, new.public);
            let at = now();
            let app = App {
                id: Uuid::new_v4(),
                developer_id,
                name: new.name.clone(),
                redirect_uris: new.redirect_uris.clone(),
                grant_types: new.grant_types.clone(),
                scopes: new.scopes.clone(),
                attributes: new.attributes.clone(),
                status: Status::Approved,
                public: new.public,
                generation: 0,
                credentials: vec![issued.credential.clone()],
                rate_plan: new.rate_plan,
                auth_method: new.auth_method,
                // Only a confidential app may go without PKCE.
                pkce_required: new.pkce_required || new.public,
                token_exchange_clients: new.token_exchange_clients.clone(),
                client_name: new.client_name.clone(),
                registration_token_hash: new.registration_token_hash.clone(),
                created_at: at,
                updated_at: at,
            };
            let mut tx = Tx::default();
            tx.unchanged(Table::Developers, &developer_id.to_string(), &dev_raw);
            let name = name_key(developer_id, &app.name);
            tx.absent(Table::AppNames, &name, "name");
            tx.absent(Table::Clients, &issued.credential.client_id, "client_id");
            tx.tx.set(Table::Apps, app.id.to_string(), encode(&app)?);
            tx.tx.set(Table::AppNames, name, app.id.to_string());
            tx.tx.set(
                Table::Clients,
                issued.credential.client_id.clone(),
                app.id.to_string(),
            );
            if let Outcome::Done = self.commit(tx).await? {
                return Ok((app, issued));
            }
        }
        Err(CatalogError::Contended)
    }

    async fn apps_raw(&self, developer_id: Uuid) -> Result<Vec<(String, App)>, CatalogError> {
        let mut out = Vec::new();
        for raw in self.store.catalog_values(Table::Apps).await? {
            let app: App = decode(&raw)?;
            if app.developer_id == developer_id {
                out.push((raw, app));
            }
        }
        out.sort_by_key(|a| (a.1.created_at, a.1.id));
        Ok(out)
    }

    pub async fn apps(&self, developer_id: Uuid) -> Result<Vec<App>, CatalogError> {
        self.developer_raw(developer_id).await?;
        Ok(self
            .apps_raw(developer_id)
            .await?
            .into_iter()
            .map(|(_, a)| a)
            .collect())
    }

    /// The app with this id, whoever owns it.
    pub async fn app_by_id(&self, app_id: Uuid) -> Result<Option<App>, StoreError> {
        match self
            .store
            .catalog_get(Table::Apps, &app_id.to_string())
            .await?
        {
            Some(raw) => Ok(Some(serde_json::from_str(&raw)?)),
            None => Ok(None),
        }
    }

    async fn app_raw(
        &self,
        developer_id: Uuid,
        app_id: Uuid,
    ) -> Result<(String, App), CatalogError> {
        let raw = self
            .raw(Table::Apps, &app_id.to_string())
            .await?
            .ok_or(CatalogError::NotFound("app"))?;
        let app: App = decode(&raw)?;
        if app.developer_id != developer_id {
            return Err(CatalogError::NotFound("app"));
        }
        Ok((raw, app))
    }

    pub async fn app(&self, developer_id: Uuid, app_id: Uuid) -> Result<App, CatalogError> {
        Ok(self.app_raw(developer_id, app_id).await?.1)
    }

    /// The app holding `client_id` (one store round trip: the client authentication path).
    pub async fn app_for_client(&self, client_id: &str) -> Result<Option<App>, StoreError> {
        match self.store.app_for_client(client_id).await? {
            Some(raw) => Ok(Some(serde_json::from_str(&raw)?)),
            None => Ok(None),
        }
    }

    /// Read-modify-write of one app, retried on concurrent change. `f` edits the app and may add
    /// index checks and writes to the transaction.
    async fn modify_app<T>(
        &self,
        developer_id: Uuid,
        app_id: Uuid,
        mut f: impl FnMut(&mut App, &mut Tx) -> Result<T, CatalogError>,
    ) -> Result<(App, T), CatalogError> {
        for _ in 0..RETRIES {
            let (raw, mut app) = self.app_raw(developer_id, app_id).await?;
            let mut tx = Tx::default();
            tx.unchanged(Table::Apps, &app_id.to_string(), &raw);
            let extra = f(&mut app, &mut tx)?;
            app.updated_at = now();
            tx.tx.set(Table::Apps, app_id.to_string(), encode(&app)?);
            if let Outcome::Done = self.commit(tx).await? {
                return Ok((app, extra));
            }
        }
        Err(CatalogError::Contended)
    }

    pub async fn update_app(
        &self,
        developer_id: Uuid,
        app_id: Uuid,
        patch: AppPatch,
    ) -> Result<App, CatalogError> {
        let (app, ()) = self
            .modify_app(developer_id, app_id, |app, tx| {
                if let Some(name) = &patch.name {
                    if *name != app.name {
                        let new_key = name_key(developer_id, name);
                        tx.absent(Table::AppNames, &new_key, "name");
                        tx.tx
                            .del(Table::AppNames, name_key(developer_id, &app.name));
                        tx.tx.set(Table::AppNames, new_key, app_id.to_string());
                        app.name = name.clone();
                    }
                }
                if let Some(v) = &patch.redirect_uris {
                    app.redirect_uris = v.clone();
                }
                if let Some(v) = &patch.grant_types {
                    app.grant_types = v.clone();
                }
                if let Some(v) = &patch.scopes {
                    app.scopes = v.clone();
                }
                if let Some(v) = &patch.attributes {
                    app.attributes = v.clone();
                }
                if let Some(status) = patch.status {
                    if status == Status::Revoked && app.status != Status::Revoked {
                        // Every token minted so far is now dead, even if the app is approved
                        // again later (O(1) revocation of all the app's tokens).
                        app.generation += 1;
                    }
                    app.status = status;
                }
                if let Some(plan) = patch.rate_plan {
                    app.rate_plan = plan;
                }
                if let Some(m) = patch.auth_method {
                    app.auth_method = m;
                }
                if let Some(p) = patch.pkce_required {
                    app.pkce_required = p || app.public;
                }
                if let Some(v) = &patch.token_exchange_clients {
                    app.token_exchange_clients = v.clone();
                }
                if let Some(v) = &patch.client_name {
                    app.client_name = v.clone();
                }
                Ok(())
            })
            .await?;
        Ok(app)
    }

    pub async fn delete_app(&self, developer_id: Uuid, app_id: Uuid) -> Result<(), CatalogError> {
        for _ in 0..RETRIES {
            let (raw, app) = self.app_raw(developer_id, app_id).await?;
            let mut tx = Tx::default();
            tx.unchanged(Table::Apps, &app_id.to_string(), &raw);
            Self::unlink_app(&mut tx.tx, &app);
            if let Outcome::Done = self.commit(tx).await? {
                return Ok(());
            }
        }
        Err(CatalogError::Contended)
    }

    // ---- credentials -----------------------------------------------------------------------

    pub async fn add_credential(
        &self,
        developer_id: Uuid,
        app_id: Uuid,
        ttl_secs: Option<u64>,
    ) -> Result<IssuedCredential, CatalogError> {
        let (_, issued) = self
            .modify_app(developer_id, app_id, |app, tx| {
                let issued = self.new_credential(ttl_secs, app.public);
                tx.absent(Table::Clients, &issued.credential.client_id, "client_id");
                tx.tx.set(
                    Table::Clients,
                    issued.credential.client_id.clone(),
                    app_id.to_string(),
                );
                app.credentials.push(issued.credential.clone());
                Ok(issued)
            })
            .await?;
        Ok(issued)
    }

    /// Revokes one credential: it can no longer authenticate, and its tokens are inactive.
    pub async fn revoke_credential(
        &self,
        developer_id: Uuid,
        app_id: Uuid,
        client_id: &str,
    ) -> Result<Credential, CatalogError> {
        let (_, cred) = self
            .modify_app(developer_id, app_id, |app, _| {
                let c = app
                    .credentials
                    .iter_mut()
                    .find(|c| c.client_id == client_id)
                    .ok_or(CatalogError::NotFound("credential"))?;
                c.status = Status::Revoked;
                Ok(c.clone())
            })
            .await?;
        Ok(cred)
    }

    pub async fn delete_credential(
        &self,
        developer_id: Uuid,
        app_id: Uuid,
        client_id: &str,
    ) -> Result<(), CatalogError> {
        self.modify_app(developer_id, app_id, |app, tx| {
            let before = app.credentials.len();
            app.credentials.retain(|c| c.client_id != client_id);
            if app.credentials.len() == before {
                return Err(CatalogError::NotFound("credential"));
            }
            tx.tx.del(Table::Clients, client_id.to_string());
            Ok(())
        })
        .await?;
        Ok(())
    }
}
