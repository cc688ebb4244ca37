//! The console's products and rate plans (`/portal/admin/products`): every product with its
//! edit form, and the form that creates one — the admin API's product bodies and rules
//! ([`crate::admin::products`]), built from the forms.

use actix_web::{web, HttpResponse};
use askama::Template;

use crate::admin::products::path_name;
use crate::portal::actions::{new_product, product_fields};
use crate::portal::cards::ProductForm;
use crate::portal::error::PortalError;
use crate::portal::session::{Operators, Posted, Signed};
use crate::portal::view::{ok, see_other, Nav};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "portal/products.html")]
struct Products {
    nav: Nav,
    products: Vec<ProductForm>,
    blank: ProductForm,
}

pub async fn page(
    op: Signed<Operators>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    let apps = state.catalog.all_apps().await?;
    let products = state.catalog.products().await?;
    let forms = products
        .iter()
        .map(|p| {
            let subscribers = apps
                .iter()
                .filter(|a| a.subscription(&p.name).is_some())
                .count();
            ProductForm::of(p, subscribers)
        })
        .collect();
    Ok(ok(&Products {
        nav: op.nav("products"),
        products: forms,
        blank: ProductForm::blank(),
    }))
}

pub async fn create(
    p: Posted<Operators>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    let new = new_product(&p.form)?.into_new()?;
    let product = state.catalog.create_product(new).await?;
    Ok(see_other(&format!(
        "/portal/admin/products#product-{}",
        product.name
    )))
}

pub async fn update(
    p: Posted<Operators>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    let name = path_name(&path)?;
    let patch = product_fields(&p.form)?.into_patch()?;
    state.catalog.update_product(name, patch).await?;
    Ok(see_other(&format!("/portal/admin/products#product-{name}")))
}
