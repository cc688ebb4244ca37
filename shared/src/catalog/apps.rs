//! Apps: create (with a first credential), read, update (name kept unique per developer),
//! delete (with their credentials' client ids).

use uuid::Uuid;

use super::{
    decode, encode, name_key, AppPatch, Catalog, IssuedCredential, NewApp, Outcome, Tx, RETRIES,
};
use crate::error::{CatalogError, StoreError};
use crate::model::{App, DeveloperStatus, Status};
use crate::store::{CatalogTx, Table};
use crate::time::now;

impl Catalog {
    pub(super) fn unlink_app(tx: &mut CatalogTx, app: &App) {
        tx.del(Table::Apps, app.id.to_string());
        tx.del(Table::AppNames, name_key(app.developer_id, &app.name));
        for c in &app.credentials {
            tx.del(Table::Clients, c.client_id.clone());
        }
    }

    /// A new credential; with a secret unless the app is `public` (RFC 7591 §3.2.1: a public
    /// client has no `client_secret`).
    /// Creates an app with its first credential.
    pub async fn create_app(
        &self,
        developer_id: Uuid,
        new: NewApp,
    ) -> Result<(App, IssuedCredential), CatalogError> {
        for _ in 0..RETRIES {
            let (dev_raw, dev) = self.developer_raw(developer_id).await?;
            let issued = self.new_credential(new.credential_ttl_secs, new.public);
            let at = now();
            let app = App {
                id: Uuid::new_v4(),
                developer_id,
                name: new.name.clone(),
                redirect_uris: new.redirect_uris.clone(),
                post_logout_redirect_uris: new.post_logout_redirect_uris.clone(),
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
                dpop_required: new.dpop_required,
                upstreams: new.upstreams.clone(),
                client_name: new.client_name.clone(),
                registration_token_hash: new.registration_token_hash.clone(),
                application_type: new.application_type,
                allowed_origins: new.allowed_origins.clone(),
                refresh_idle_secs: new.refresh_idle_secs,
                subscriptions: Vec::new(),
                developer_suspended: dev.status == DeveloperStatus::Suspended,
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

    pub(super) async fn apps_raw(
        &self,
        developer_id: Uuid,
    ) -> Result<Vec<(String, App)>, CatalogError> {
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

    /// Every app of every developer, oldest first (the operator console, the subscription
    /// queue).
    pub async fn all_apps(&self) -> Result<Vec<App>, CatalogError> {
        let mut all: Vec<App> = self
            .store
            .catalog_values(Table::Apps)
            .await?
            .iter()
            .map(|r| decode(r))
            .collect::<Result<_, _>>()?;
        all.sort_by_key(|a| (a.created_at, a.id));
        Ok(all)
    }

    /// The app with this id, whoever owns it.
    pub async fn app_by_id(&self, app_id: Uuid) -> Result<Option<App>, StoreError> {
        Ok(self
            .app_by_id_shared(app_id)
            .await?
            .map(std::sync::Arc::unwrap_or_clone))
    }

    /// [`Catalog::app_by_id`] without copying an app kept in process (the token lookup's
    /// per-call read).
    pub async fn app_by_id_shared(
        &self,
        app_id: Uuid,
    ) -> Result<Option<std::sync::Arc<App>>, StoreError> {
        if let Some(app) = self.apps.as_ref().and_then(|c| c.by_id_shared(app_id)) {
            return Ok(Some(app));
        }
        let epoch = self.apps.as_ref().map(|c| c.epoch());
        let app: Option<App> = match self
            .store
            .catalog_get(Table::Apps, &app_id.to_string())
            .await?
        {
            Some(raw) => Some(serde_json::from_str(&raw)?),
            None => None,
        };
        if let (Some(c), Some(e), Some(a)) = (&self.apps, epoch, &app) {
            c.insert(None, a, e);
        }
        Ok(app.map(std::sync::Arc::new))
    }

    pub(super) async fn app_raw(
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

    /// The app holding `client_id` (one store round trip: the client authentication path;
    /// none when the broker keeps apps in process and has this one).
    /// [`Catalog::app_for_client`], shared rather than copied: client authentication reads the
    /// app kept in process on every call, and an app is dozens of allocations to copy.
    pub async fn app_for_client_shared(
        &self,
        client_id: &str,
    ) -> Result<Option<std::sync::Arc<App>>, StoreError> {
        if let Some(app) = self
            .apps
            .as_ref()
            .and_then(|c| c.by_client_shared(client_id))
        {
            return Ok(Some(app));
        }
        Ok(self
            .app_for_client(client_id)
            .await?
            .map(std::sync::Arc::new))
    }

    pub async fn app_for_client(&self, client_id: &str) -> Result<Option<App>, StoreError> {
        if let Some(app) = self.apps.as_ref().and_then(|c| c.by_client(client_id)) {
            return Ok(Some(app));
        }
        let epoch = self.apps.as_ref().map(|c| c.epoch());
        let app: Option<App> = match self.store.app_for_client(client_id).await? {
            Some(raw) => Some(serde_json::from_str(&raw)?),
            None => None,
        };
        if let (Some(c), Some(e), Some(a)) = (&self.apps, epoch, &app) {
            c.insert(Some(client_id), a, e);
        }
        Ok(app)
    }

    /// Read-modify-write of one app, retried on concurrent change. `f` edits the app and may add
    /// index checks and writes to the transaction.
    pub(super) async fn modify_app<T>(
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

    /// Applies `patch` to the app, if the result still follows `rules` (checked on the app as
    /// it will be stored, inside the retried read-modify-write).
    pub async fn update_app(
        &self,
        developer_id: Uuid,
        app_id: Uuid,
        patch: AppPatch,
        rules: impl Fn(&App) -> Result<(), CatalogError>,
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
                if let Some(v) = &patch.post_logout_redirect_uris {
                    app.post_logout_redirect_uris = v.clone();
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
                    app.pkce_required = p;
                }
                if let Some(v) = &patch.token_exchange_clients {
                    app.token_exchange_clients = v.clone();
                }
                if let Some(d) = patch.dpop_required {
                    app.dpop_required = d;
                }
                if let Some(v) = &patch.upstreams {
                    app.upstreams = v.clone();
                }
                if let Some(v) = &patch.client_name {
                    app.client_name = v.clone();
                }
                patch.apply_client_kind(app);
                rules(app)
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
}
