//! Developers: create, read, update (e-mail kept unique through its index), delete (with
//! their apps).

use uuid::Uuid;

use super::{decode, encode, Catalog, DeveloperPatch, NewDeveloper, Outcome, Tx, RETRIES};
use crate::error::{CatalogError, StoreError};
use crate::model::Developer;
use crate::store::Table;
use crate::time::now;

impl Catalog {
    pub async fn create_developer(&self, new: NewDeveloper) -> Result<Developer, CatalogError> {
        let at = now();
        let dev = Developer {
            id: Uuid::new_v4(),
            email: new.email.to_ascii_lowercase(),
            first_name: new.first_name,
            last_name: new.last_name,
            attributes: new.attributes,
            status: Default::default(),
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

    pub(super) async fn developer_raw(
        &self,
        id: Uuid,
    ) -> Result<(String, Developer), CatalogError> {
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
}
