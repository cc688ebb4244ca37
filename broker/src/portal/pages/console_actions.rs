//! The operator console's actions, each a form posted with the session's CSRF token, each
//! through the catalog as the admin API's: suspend or reinstate a developer or an app,
//! approve or revoke a subscription, attach a product to an app. Each answers with a redirect
//! back to the page it came from (303, so a reload does not repeat it).

use actix_web::{web, HttpResponse};
use tessera_shared::catalog::Audience;
use tessera_shared::model::App;
use tessera_shared::product::SubscriptionStatus;
use uuid::Uuid;

use crate::portal::actions::{back, set_app_standing};
use crate::portal::error::PortalError;
use crate::portal::session::{Operators, Posted};
use crate::portal::view::see_other;
use crate::state::AppState;

type OperatorPost = Posted<Operators>;

fn id(s: &str, what: &'static str) -> Result<Uuid, PortalError> {
    Uuid::parse_str(s).map_err(|_| PortalError::NotFound(what))
}

async fn app(state: &AppState, s: &str) -> Result<App, PortalError> {
    state
        .catalog
        .app_by_id(id(s, "app")?)
        .await?
        .ok_or(PortalError::NotFound("app"))
}

async fn developer_standing(
    p: OperatorPost,
    path: web::Path<String>,
    state: web::Data<AppState>,
    suspend: bool,
) -> Result<HttpResponse, PortalError> {
    let dev = id(&path, "developer")?;
    if suspend {
        state.catalog.suspend_developer(dev).await?;
    } else {
        state.catalog.reinstate_developer(dev).await?;
    }
    Ok(see_other(&back(
        &p.form,
        format!("/portal/admin/developers/{dev}"),
    )))
}

pub async fn suspend_developer(
    p: OperatorPost,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    developer_standing(p, path, state, true).await
}

pub async fn reinstate_developer(
    p: OperatorPost,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    developer_standing(p, path, state, false).await
}

async fn app_standing(
    p: OperatorPost,
    path: web::Path<String>,
    state: web::Data<AppState>,
    approved: bool,
) -> Result<HttpResponse, PortalError> {
    let app = app(&state, &path).await?;
    set_app_standing(&state, &app, approved).await?;
    Ok(see_other(&back(
        &p.form,
        format!("/portal/admin/apps/{}", app.id),
    )))
}

pub async fn suspend_app(
    p: OperatorPost,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    app_standing(p, path, state, false).await
}

pub async fn reinstate_app(
    p: OperatorPost,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    app_standing(p, path, state, true).await
}

async fn decide(
    p: OperatorPost,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
    status: SubscriptionStatus,
) -> Result<HttpResponse, PortalError> {
    let app = app(&state, &path.0).await?;
    state
        .catalog
        .set_subscription(app.developer_id, app.id, &path.1, status)
        .await?;
    Ok(see_other(&back(
        &p.form,
        format!("/portal/admin/apps/{}", app.id),
    )))
}

pub async fn approve(
    p: OperatorPost,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    decide(p, path, state, SubscriptionStatus::Approved).await
}

pub async fn revoke(
    p: OperatorPost,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    decide(p, path, state, SubscriptionStatus::Revoked).await
}

/// Attaches any product (private ones too) to an app.
pub async fn subscribe(
    p: OperatorPost,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    let app = app(&state, &path).await?;
    let product = p.form.text("product");
    state
        .catalog
        .subscribe(app.developer_id, app.id, &product, Audience::Admin)
        .await?;
    Ok(see_other(&format!("/portal/admin/apps/{}", app.id)))
}
