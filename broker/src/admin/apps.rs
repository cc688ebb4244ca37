//! `/admin/developers/{dev}/apps` — create (with a first credential, its secret shown once),
//! list, read, update (PATCH; `"status": "revoked"` revokes every token of the app at once),
//! delete.

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tessera_shared::catalog::{AppPatch, NewApp};
use tessera_shared::model::{GrantType, Status};
use tessera_shared::rate::RatePlan;

use super::error::AdminError;
use super::validate::{
    app_name, attributes, auth_method, exchange_clients, grant_types, invalid, redirect_uris,
    scopes,
};
use super::views::AppView;
use super::{json_body, path_id, Admin};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApp {
    name: String,
    #[serde(default)]
    redirect_uris: Vec<String>,
    grant_types: Option<Vec<String>>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    /// Lifetime of the first credential, in seconds.
    credential_expires_in: Option<u64>,
    /// A public client: authenticates with its client_id alone and must use PKCE.
    #[serde(default)]
    public: bool,
    /// Spike arrest and quota for the app's calls through the proxy.
    #[serde(default)]
    rate_plan: RatePlan,
    /// `client_secret_basic` or `client_secret_post` (absent: either).
    token_endpoint_auth_method: Option<String>,
    /// S256 PKCE at `/authorize` (default true; only a confidential app may turn it off).
    pkce_required: Option<bool>,
    /// Upstream client ids whose access tokens the app may exchange (RFC 8693).
    #[serde(default)]
    token_exchange_clients: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateApp {
    name: Option<String>,
    redirect_uris: Option<Vec<String>>,
    grant_types: Option<Vec<String>>,
    scopes: Option<Vec<String>>,
    attributes: Option<BTreeMap<String, String>>,
    status: Option<Status>,
    rate_plan: Option<RatePlan>,
    /// `client_secret_basic`, `client_secret_post`, or `null` (either).
    #[serde(default, deserialize_with = "super::validate::present")]
    token_endpoint_auth_method: Option<Option<String>>,
    pkce_required: Option<bool>,
    token_exchange_clients: Option<Vec<String>>,
}

pub async fn create(
    _: Admin,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let dev = path_id(&path, "developer")?;
    let b: CreateApp = json_body(&req, body, state.config.server.max_body_bytes).await?;
    attributes(&b.attributes)?;
    if b.credential_expires_in == Some(0) {
        return Err(invalid(
            "credential_expires_in",
            "must be at least 1 second",
        ));
    }
    if b.public && b.pkce_required == Some(false) {
        return Err(invalid("pkce_required", "a public client always uses PKCE"));
    }
    let new = NewApp {
        name: app_name(&b.name).map_err(|m| invalid("name", m))?,
        redirect_uris: redirect_uris(b.redirect_uris)?,
        grant_types: match b.grant_types {
            Some(g) => grant_types(g)?,
            None => vec![GrantType::ClientCredentials],
        },
        scopes: scopes(b.scopes)?,
        attributes: b.attributes,
        credential_ttl_secs: b.credential_expires_in,
        public: b.public,
        rate_plan: b.rate_plan,
        auth_method: auth_method(b.token_endpoint_auth_method.as_deref(), b.public)?,
        pkce_required: b.pkce_required.unwrap_or(true),
        token_exchange_clients: exchange_clients(b.token_exchange_clients)?,
        ..Default::default()
    };
    let (app, issued) = state.catalog.create_app(dev, new).await?;
    let secret = issued
        .secret
        .as_ref()
        .map(|s| (issued.credential.client_id.as_str(), s.expose_secret()));
    Ok(HttpResponse::Created().json(AppView::new(&app, secret)))
}

pub async fn list(
    _: Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let dev = path_id(&path, "developer")?;
    let apps = state.catalog.apps(dev).await?;
    let views: Vec<AppView> = apps.iter().map(|a| AppView::new(a, None)).collect();
    Ok(HttpResponse::Ok().json(views))
}

fn ids(path: &(String, String)) -> Result<(uuid::Uuid, uuid::Uuid), AdminError> {
    Ok((path_id(&path.0, "developer")?, path_id(&path.1, "app")?))
}

pub async fn get(
    _: Admin,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let (dev, app) = ids(&path)?;
    let app = state.catalog.app(dev, app).await?;
    Ok(HttpResponse::Ok().json(AppView::new(&app, None)))
}

pub async fn update(
    _: Admin,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let (dev, app_id) = ids(&path)?;
    let b: UpdateApp = json_body(&req, body, state.config.server.max_body_bytes).await?;
    if let Some(a) = &b.attributes {
        attributes(a)?;
    }
    let public = state.catalog.app(dev, app_id).await?.public;
    if public && b.pkce_required == Some(false) {
        return Err(invalid("pkce_required", "a public client always uses PKCE"));
    }
    let patch = AppPatch {
        name: b
            .name
            .as_deref()
            .map(|n| app_name(n).map_err(|m| invalid("name", m)))
            .transpose()?,
        redirect_uris: b.redirect_uris.map(redirect_uris).transpose()?,
        grant_types: b.grant_types.map(grant_types).transpose()?,
        scopes: b.scopes.map(scopes).transpose()?,
        attributes: b.attributes,
        status: b.status,
        rate_plan: b.rate_plan,
        auth_method: b
            .token_endpoint_auth_method
            .map(|m| auth_method(m.as_deref(), public))
            .transpose()?,
        pkce_required: b.pkce_required,
        token_exchange_clients: b.token_exchange_clients.map(exchange_clients).transpose()?,
        client_name: None,
    };
    let app = state.catalog.update_app(dev, app_id, patch).await?;
    Ok(HttpResponse::Ok().json(AppView::new(&app, None)))
}

pub async fn delete(
    _: Admin,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let (dev, app) = ids(&path)?;
    state.catalog.delete_app(dev, app).await?;
    Ok(HttpResponse::NoContent().finish())
}
