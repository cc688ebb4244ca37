//! `/admin/developers/{dev}/apps/{app}/subscriptions` — an app's API product subscriptions:
//! list, subscribe (approved at once for an `auto` product, `pending` for a `manual` one),
//! approve, revoke (the product's scopes leave the app's live tokens at once), remove; and
//! `GET /admin/subscriptions`, every app's subscriptions (optionally of one status), for an
//! operator's queue of pending requests.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use tessera_shared::catalog::Audience;
use tessera_shared::product::{Subscription, SubscriptionStatus};
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::AdminError;
use super::products::path_name;
use super::validate::invalid;
use super::{json_body, path_id, Admin};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscribe {
    /// The product's name.
    product: String,
}

/// One subscription, with the app it belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView<'a> {
    pub developer_id: Uuid,
    pub app_id: Uuid,
    pub app_name: &'a str,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub subscription: &'a Subscription,
}

type AppPath = web::Path<(String, String)>;
type SubPath = web::Path<(String, String, String)>;

fn ids(dev: &str, app: &str) -> Result<(Uuid, Uuid), AdminError> {
    Ok((path_id(dev, "developer")?, path_id(app, "app")?))
}

#[utoipa::path(get, path = "/admin/developers/{dev}/apps/{app}/subscriptions",
    tag = "subscriptions", params(("dev" = Uuid, Path), ("app" = Uuid, Path)),
    responses((status = 200, description = "The app's subscriptions", body = Vec<SubscriptionView>)))]
pub async fn list(
    _: Admin,
    path: AppPath,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let (dev, app) = ids(&path.0, &path.1)?;
    let app = state.catalog.app(dev, app).await?;
    let views: Vec<SubscriptionView> = app
        .subscriptions
        .iter()
        .map(|s| view(app.developer_id, app.id, &app.name, s))
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

fn view<'a>(dev: Uuid, app: Uuid, name: &'a str, s: &'a Subscription) -> SubscriptionView<'a> {
    SubscriptionView {
        developer_id: dev,
        app_id: app,
        app_name: name,
        subscription: s,
    }
}

#[utoipa::path(post, path = "/admin/developers/{dev}/apps/{app}/subscriptions",
    tag = "subscriptions", params(("dev" = Uuid, Path), ("app" = Uuid, Path)),
    request_body = Subscribe,
    responses((status = 201, description = "The new subscription", body = SubscriptionView),
              (status = 409, description = "Already subscribed")))]
pub async fn create(
    _: Admin,
    req: HttpRequest,
    path: AppPath,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let (dev, app) = ids(&path.0, &path.1)?;
    let b: Subscribe = json_body(&req, body, state.config.server.max_body_bytes).await?;
    let product = path_name(&b.product).map_err(|_| invalid("product", "no such product"))?;
    let (app, sub) = state
        .catalog
        .subscribe(dev, app, product, Audience::Admin)
        .await?;
    Ok(HttpResponse::Created().json(view(dev, app.id, &app.name, &sub)))
}

async fn set(
    path: SubPath,
    state: &AppState,
    status: SubscriptionStatus,
) -> Result<HttpResponse, AdminError> {
    let (dev, app) = ids(&path.0, &path.1)?;
    let product = path_name(&path.2).map_err(|_| AdminError::NotFound("subscription"))?;
    let (app, sub) = state
        .catalog
        .set_subscription(dev, app, product, status)
        .await?;
    Ok(HttpResponse::Ok().json(view(dev, app.id, &app.name, &sub)))
}

#[utoipa::path(post, path = "/admin/developers/{dev}/apps/{app}/subscriptions/{product}/approve",
    tag = "subscriptions",
    params(("dev" = Uuid, Path), ("app" = Uuid, Path), ("product" = String, Path)),
    responses((status = 200, description = "Approved", body = SubscriptionView)))]
pub async fn approve(
    _: Admin,
    path: SubPath,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    set(path, &state, SubscriptionStatus::Approved).await
}

#[utoipa::path(post, path = "/admin/developers/{dev}/apps/{app}/subscriptions/{product}/revoke",
    tag = "subscriptions",
    params(("dev" = Uuid, Path), ("app" = Uuid, Path), ("product" = String, Path)),
    responses((status = 200, description = "Revoked: the product's scopes leave the app's tokens",
               body = SubscriptionView)))]
pub async fn revoke(
    _: Admin,
    path: SubPath,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    set(path, &state, SubscriptionStatus::Revoked).await
}

#[utoipa::path(delete, path = "/admin/developers/{dev}/apps/{app}/subscriptions/{product}",
    tag = "subscriptions",
    params(("dev" = Uuid, Path), ("app" = Uuid, Path), ("product" = String, Path)),
    responses((status = 204, description = "Removed")))]
pub async fn delete(
    _: Admin,
    path: SubPath,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let (dev, app) = ids(&path.0, &path.1)?;
    let product = path_name(&path.2).map_err(|_| AdminError::NotFound("subscription"))?;
    state.catalog.unsubscribe(dev, app, product).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// `pending`, `approved` or `revoked` (absent: all).
    #[param(value_type = Option<String>)]
    status: Option<SubscriptionStatus>,
}

#[utoipa::path(get, path = "/admin/subscriptions", tag = "subscriptions", params(Filter),
    responses((status = 200, description = "Every app's subscriptions, oldest first",
               body = Vec<SubscriptionView>)))]
pub async fn all(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let f: Filter = serde_urlencoded_query(req.query_string())?;
    let apps = state.catalog.all_apps().await?;
    let mut views: Vec<SubscriptionView> = apps
        .iter()
        .flat_map(|a| a.subscriptions.iter().map(move |s| (a, s)))
        .filter(|(_, s)| f.status.is_none_or(|st| s.status == st))
        .map(|(a, s)| view(a.developer_id, a.id, &a.name, s))
        .collect();
    views.sort_by_key(|v| (v.subscription.created_at, v.app_id));
    Ok(HttpResponse::Ok().json(views))
}

/// The query string as `T`; an unknown or malformed parameter is a 400 naming it.
fn serde_urlencoded_query<T: serde::de::DeserializeOwned>(q: &str) -> Result<T, AdminError> {
    web::Query::<T>::from_query(q)
        .map(web::Query::into_inner)
        .map_err(|_| invalid("query", "unknown parameter or value; see the API reference"))
}
