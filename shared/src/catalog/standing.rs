//! A developer's standing: suspension and reinstatement, and finding (or creating) the developer
//! of a verified e-mail address, as the portal's sign-in and dynamic registration do.
//!
//! Suspending a developer marks each of its apps ([`App::developer_suspended`]) and moves each
//! to a new generation, in one atomic update: the apps stop authenticating, every token they
//! hold is refused at the next lookup (the update announces every app on the revocation
//! channel, so the proxies' caches drop them at once), and those tokens stay dead after a
//! reinstatement, as after an app's revocation. An app created while its developer is
//! suspended is born suspended.

use uuid::Uuid;

use super::{encode, Catalog, NewDeveloper, Outcome, Tx, RETRIES};
use crate::error::CatalogError;
use crate::model::{App, Developer, DeveloperStatus};
use crate::store::Table;
use crate::time::now;

impl Catalog {
    /// Suspends the developer and every app of theirs.
    pub async fn suspend_developer(&self, id: Uuid) -> Result<Developer, CatalogError> {
        self.set_developer_status(id, DeveloperStatus::Suspended)
            .await
    }

    /// Lifts a suspension: the apps authenticate again (their old tokens stay dead).
    pub async fn reinstate_developer(&self, id: Uuid) -> Result<Developer, CatalogError> {
        self.set_developer_status(id, DeveloperStatus::Active).await
    }

    async fn set_developer_status(
        &self,
        id: Uuid,
        status: DeveloperStatus,
    ) -> Result<Developer, CatalogError> {
        let suspended = status == DeveloperStatus::Suspended;
        for _ in 0..RETRIES {
            let (raw, mut dev) = self.developer_raw(id).await?;
            if dev.status == status {
                return Ok(dev);
            }
            let mut tx = Tx::default();
            tx.unchanged(Table::Developers, &id.to_string(), &raw);
            dev.status = status;
            dev.updated_at = now();
            tx.tx.set(Table::Developers, id.to_string(), encode(&dev)?);
            for (app_raw, mut app) in self.apps_raw(id).await? {
                tx.unchanged(Table::Apps, &app.id.to_string(), &app_raw);
                mark(&mut app, suspended);
                tx.tx.set(Table::Apps, app.id.to_string(), encode(&app)?);
            }
            if let Outcome::Done = self.commit(tx).await? {
                return Ok(dev);
            }
        }
        Err(CatalogError::Contended)
    }

    /// The developer registered under `new.email`, created from `new` if there is none (a
    /// concurrent creation of the same developer is found, not refused).
    pub async fn developer_for_email(&self, new: NewDeveloper) -> Result<Developer, CatalogError> {
        if let Some(d) = self.developer_by_email(&new.email).await? {
            return Ok(d);
        }
        let email = new.email.clone();
        match self.create_developer(new).await {
            Err(CatalogError::Conflict { .. }) => self
                .developer_by_email(&email)
                .await?
                .ok_or(CatalogError::Contended),
            other => other,
        }
    }
}

/// Marks (or unmarks) an app of a suspended developer; marking retires its tokens.
fn mark(app: &mut App, suspended: bool) {
    if suspended && !app.developer_suspended {
        app.generation += 1;
    }
    app.developer_suspended = suspended;
    app.updated_at = now();
}
