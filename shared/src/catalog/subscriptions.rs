//! App subscriptions to API products: subscribe (approved at once for an `auto` product,
//! pending for a `manual` one), approve, revoke and remove. Each is a change to the app, so it is
//! announced on the revocation channel and the app's tokens follow at once (their scope is
//! intersected with the app's effective scopes at every lookup).
//!
//! Who asks matters ([`Audience`]): a developer (from the portal) sees and subscribes only to
//! products whose visibility is open to them — anything else is "not found", so private
//! products stay unknown — and cannot bring back a subscription an operator revoked; the
//! admin API and the operator console see every product.

use uuid::Uuid;

use super::{encode, Catalog, Outcome, Tx, RETRIES};
use crate::error::CatalogError;
use crate::model::App;
use crate::product::{Approval, Subscription, SubscriptionStatus};
use crate::store::Table;
use crate::time::now;

/// Who subscribes an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// A developer in the portal; `operator`: a member of the portal's operator groups.
    Developer { operator: bool },
    /// The admin API or the operator console.
    Admin,
}

impl Catalog {
    /// Subscribes the app to `product`. Returns the app as stored and the new subscription.
    pub async fn subscribe(
        &self,
        developer_id: Uuid,
        app_id: Uuid,
        product: &str,
        who: Audience,
    ) -> Result<(App, Subscription), CatalogError> {
        for _ in 0..RETRIES {
            let (product_raw, mut p) = self.product_raw(product).await?;
            if let Audience::Developer { operator } = who {
                if !p.visibility.open_to(operator) {
                    return Err(CatalogError::NotFound("product"));
                }
            }
            let (raw, mut app) = self.app_raw(developer_id, app_id).await?;
            match app.subscription(product).map(|s| s.status) {
                Some(SubscriptionStatus::Revoked) if who != Audience::Admin => {
                    return Err(CatalogError::Refused(
                        "an operator revoked this subscription; ask them to approve it again",
                    ))
                }
                Some(_) => return Err(CatalogError::Conflict { field: "product" }),
                None => {}
            }
            let at = now();
            let mut sub = Subscription {
                product: p.name.clone(),
                status: match p.approval {
                    Approval::Auto => SubscriptionStatus::Approved,
                    Approval::Manual => SubscriptionStatus::Pending,
                },
                scopes: Default::default(),
                rate_plan: Default::default(),
                created_at: at,
                updated_at: at,
            };
            sub.copy_grants(&p);
            app.subscriptions.push(sub.clone());
            app.updated_at = at;
            p.revision += 1;
            let mut tx = Tx::default();
            tx.unchanged(Table::Products, product, &product_raw);
            tx.unchanged(Table::Apps, &app_id.to_string(), &raw);
            tx.tx.set(Table::Products, product.to_string(), encode(&p)?);
            tx.tx.set(Table::Apps, app_id.to_string(), encode(&app)?);
            if let Outcome::Done = self.commit(tx).await? {
                return Ok((app, sub));
            }
        }
        Err(CatalogError::Contended)
    }

    /// Sets the status of the app's subscription to `product` (an operator's decision).
    pub async fn set_subscription(
        &self,
        developer_id: Uuid,
        app_id: Uuid,
        product: &str,
        status: SubscriptionStatus,
    ) -> Result<(App, Subscription), CatalogError> {
        self.modify_app(developer_id, app_id, |app, _| {
            let s = app
                .subscriptions
                .iter_mut()
                .find(|s| s.product == product)
                .ok_or(CatalogError::NotFound("subscription"))?;
            if s.status != status {
                s.status = status;
                s.updated_at = now();
            }
            Ok(s.clone())
        })
        .await
    }

    /// Removes the app's subscription to `product` altogether.
    pub async fn unsubscribe(
        &self,
        developer_id: Uuid,
        app_id: Uuid,
        product: &str,
    ) -> Result<App, CatalogError> {
        let (app, ()) = self
            .modify_app(developer_id, app_id, |app, _| {
                let before = app.subscriptions.len();
                app.subscriptions.retain(|s| s.product != product);
                if app.subscriptions.len() == before {
                    return Err(CatalogError::NotFound("subscription"));
                }
                Ok(())
            })
            .await?;
        Ok(app)
    }
}
