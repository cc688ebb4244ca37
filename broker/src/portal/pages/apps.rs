//! "My apps" (`/portal/apps`): the developer's apps, and the form that creates one (name,
//! redirect URIs, products) — answered with the new app's page, its secret shown once.

use actix_web::{web, HttpResponse};
use askama::Template;

use super::app::{render, Shown};
use crate::portal::actions::create_app;
use crate::portal::cards::{AppRow, ProductCard};
use crate::portal::error::PortalError;
use crate::portal::session::{Posted, Signed};
use crate::portal::view::{ok, Nav};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "portal/apps.html")]
struct Apps {
    nav: Nav,
    apps: Vec<AppRow>,
    products: Vec<ProductCard>,
}

pub async fn list(signed: Signed, state: web::Data<AppState>) -> Result<HttpResponse, PortalError> {
    let apps = state.catalog.apps(signed.developer.id).await?;
    let operator = signed.session.operator;
    let products = state.catalog.products().await?;
    Ok(ok(&Apps {
        nav: signed.nav("apps"),
        apps: apps.iter().map(AppRow::of).collect(),
        products: products
            .iter()
            .filter(|p| p.visibility.open_to(operator))
            .map(ProductCard::of)
            .collect(),
    }))
}

pub async fn create(
    posted: Posted,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    let s = &posted.signed;
    let (app, secret) =
        create_app(&state, s.developer.id, s.session.operator, &posted.form).await?;
    let shown = Shown {
        secret: Some(secret),
        console: false,
        range: "1h",
    };
    render(&state, &s.nav("apps"), &app, &s.developer.email, shown).await
}
