//! `/admin/developers/{dev}/apps/{app}/credentials` — several live credentials per app, so
//! secrets rotate without downtime: create (secret returned once), list (never the secret),
//! revoke (its tokens become inactive at once), delete.

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::error::AdminError;
use super::validate::invalid;
use super::views::CredentialView;
use super::{json_body, path_id, Admin};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCredential {
    /// Lifetime in seconds; absent means no expiry.
    expires_in: Option<u64>,
}

type AppPath = web::Path<(String, String)>;
type CredPath = web::Path<(String, String, String)>;

#[utoipa::path(post, path = "/admin/developers/{dev}/apps/{app}/credentials", tag = "credentials",
    params(("dev" = Uuid, Path, description = "The developer's id"), ("app" = Uuid, Path, description = "The app's id")), request_body(content = Option<CreateCredential>),
    responses((status = 201, description = "The credential, with its secret (shown once)", body = CredentialView)))]
pub async fn create(
    _: Admin,
    req: HttpRequest,
    path: AppPath,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let (dev, app) = (path_id(&path.0, "developer")?, path_id(&path.1, "app")?);
    // The body is optional: no content type and no body means defaults.
    let b: CreateCredential = if req.headers().contains_key("content-type") {
        json_body(&req, body, state.config.server.max_body_bytes).await?
    } else {
        CreateCredential::default()
    };
    if b.expires_in == Some(0) {
        return Err(invalid("expires_in", "must be at least 1 second"));
    }
    let issued = state.catalog.add_credential(dev, app, b.expires_in).await?;
    let secret = issued.secret.as_ref().map(|s| s.expose_secret());
    let view = CredentialView::new(&issued.credential, secret);
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(get, path = "/admin/developers/{dev}/apps/{app}/credentials", tag = "credentials",
    params(("dev" = Uuid, Path, description = "The developer's id"), ("app" = Uuid, Path, description = "The app's id")),
    responses((status = 200, description = "The app's credentials (never a secret)", body = Vec<CredentialView>)))]
pub async fn list(
    _: Admin,
    path: AppPath,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let (dev, app) = (path_id(&path.0, "developer")?, path_id(&path.1, "app")?);
    let app = state.catalog.app(dev, app).await?;
    let views: Vec<CredentialView> = app
        .credentials
        .iter()
        .map(|c| CredentialView::new(c, None))
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

#[utoipa::path(post, path = "/admin/developers/{dev}/apps/{app}/credentials/{client_id}/revoke",
    tag = "credentials", params(("dev" = Uuid, Path, description = "The developer's id"), ("app" = Uuid, Path, description = "The app's id"), ("client_id" = String, Path, description = "The credential's client_id")),
    responses((status = 200, description = "Revoked: its tokens are inactive", body = CredentialView)))]
pub async fn revoke(
    _: Admin,
    path: CredPath,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let (dev, app) = (path_id(&path.0, "developer")?, path_id(&path.1, "app")?);
    let cred = state.catalog.revoke_credential(dev, app, &path.2).await?;
    Ok(HttpResponse::Ok().json(CredentialView::new(&cred, None)))
}

#[utoipa::path(delete, path = "/admin/developers/{dev}/apps/{app}/credentials/{client_id}",
    tag = "credentials", params(("dev" = Uuid, Path, description = "The developer's id"), ("app" = Uuid, Path, description = "The app's id"), ("client_id" = String, Path, description = "The credential's client_id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    _: Admin,
    path: CredPath,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let (dev, app) = (path_id(&path.0, "developer")?, path_id(&path.1, "app")?);
    state.catalog.delete_credential(dev, app, &path.2).await?;
    Ok(HttpResponse::NoContent().finish())
}
