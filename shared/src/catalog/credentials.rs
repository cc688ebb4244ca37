//! Credentials: several per app, so secrets rotate without downtime; a new one gets a fresh
//! client_id and (for a confidential app) a secret shown once, stored only as its keyed hash.

use uuid::Uuid;

use super::{Catalog, IssuedCredential};
use crate::error::CatalogError;
use crate::model::{Credential, Status};
use crate::store::Table;
use crate::time::now;
use crate::token::TokenKind;

impl Catalog {
    pub(super) fn new_credential(&self, ttl_secs: Option<u64>, public: bool) -> IssuedCredential {
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
