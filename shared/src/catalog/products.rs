//! API products: create, read, list, update — the copies its subscribers hold are rewritten in
//! the same atomic update, so every subscribed app (and each of its live tokens, announced on
//! the revocation channel) follows at once — and delete, refused while an app holds a pending
//! or approved subscription (revoked ones go with the product). Both check the product's
//! [`Product::revision`], which a new subscription bumps, so neither misses a subscriber that
//! arrives meanwhile.

use super::{decode, encode, Catalog, NewProduct, Outcome, ProductPatch, Tx, RETRIES};
use crate::error::CatalogError;
use crate::model::App;
use crate::product::{Product, SubscriptionStatus};
use crate::store::Table;
use crate::time::now;

impl Catalog {
    pub async fn create_product(&self, new: NewProduct) -> Result<Product, CatalogError> {
        let at = now();
        let product = Product {
            name: new.name,
            display_name: new.display_name,
            description: new.description,
            scopes: new.scopes,
            rate_plan: new.rate_plan,
            approval: new.approval,
            visibility: new.visibility,
            revision: 0,
            created_at: at,
            updated_at: at,
        };
        let mut tx = Tx::default();
        tx.absent(Table::Products, &product.name, "name");
        tx.tx
            .set(Table::Products, product.name.clone(), encode(&product)?);
        self.commit(tx).await?;
        Ok(product)
    }

    pub(super) async fn product_raw(&self, name: &str) -> Result<(String, Product), CatalogError> {
        let raw = self
            .raw(Table::Products, name)
            .await?
            .ok_or(CatalogError::NotFound("product"))?;
        let product = decode(&raw)?;
        Ok((raw, product))
    }

    pub async fn product(&self, name: &str) -> Result<Product, CatalogError> {
        Ok(self.product_raw(name).await?.1)
    }

    /// Every product, by name.
    pub async fn products(&self) -> Result<Vec<Product>, CatalogError> {
        let mut all: Vec<Product> = self
            .store
            .catalog_values(Table::Products)
            .await?
            .iter()
            .map(|r| decode(r))
            .collect::<Result<_, _>>()?;
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    /// Every app with a subscription (of any status) to `product`, as stored.
    async fn subscribers_raw(&self, product: &str) -> Result<Vec<(String, App)>, CatalogError> {
        let mut out = Vec::new();
        for raw in self.store.catalog_values(Table::Apps).await? {
            let app: App = decode(&raw)?;
            if app.subscription(product).is_some() {
                out.push((raw, app));
            }
        }
        Ok(out)
    }

    /// Applies `patch`; the subscribers' copies of the product's scopes and rate plan change
    /// with it, atomically.
    pub async fn update_product(
        &self,
        name: &str,
        patch: ProductPatch,
    ) -> Result<Product, CatalogError> {
        for _ in 0..RETRIES {
            let (raw, mut product) = self.product_raw(name).await?;
            let mut tx = Tx::default();
            tx.unchanged(Table::Products, name, &raw);
            patch.apply(&mut product);
            product.revision += 1;
            product.updated_at = now();
            tx.tx
                .set(Table::Products, name.to_string(), encode(&product)?);
            for (app_raw, mut app) in self.subscribers_raw(name).await? {
                tx.unchanged(Table::Apps, &app.id.to_string(), &app_raw);
                for s in app.subscriptions.iter_mut().filter(|s| s.product == name) {
                    s.copy_grants(&product);
                }
                tx.tx.set(Table::Apps, app.id.to_string(), encode(&app)?);
            }
            if let Outcome::Done = self.commit(tx).await? {
                return Ok(product);
            }
        }
        Err(CatalogError::Contended)
    }

    /// Deletes a product no app holds a pending or approved subscription to.
    pub async fn delete_product(&self, name: &str) -> Result<(), CatalogError> {
        for _ in 0..RETRIES {
            let (raw, _) = self.product_raw(name).await?;
            let mut tx = Tx::default();
            tx.unchanged(Table::Products, name, &raw);
            tx.tx.del(Table::Products, name.to_string());
            for (app_raw, mut app) in self.subscribers_raw(name).await? {
                let live = app
                    .subscription(name)
                    .is_some_and(|s| s.status != SubscriptionStatus::Revoked);
                if live {
                    return Err(CatalogError::InUse("product"));
                }
                tx.unchanged(Table::Apps, &app.id.to_string(), &app_raw);
                app.subscriptions.retain(|s| s.product != name);
                tx.tx.set(Table::Apps, app.id.to_string(), encode(&app)?);
            }
            if let Outcome::Done = self.commit(tx).await? {
                return Ok(());
            }
        }
        Err(CatalogError::Contended)
    }
}
