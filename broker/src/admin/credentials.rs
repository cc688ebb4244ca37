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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCredential {
    /// Lifetime in seconds; absent means no expiry.
    expires_in: Option<u64>,
}

type AppPath = web::Path<(String, String)>;
type CredPath = web::Path<(String, String, String)>;

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

pub async fn revoke(
    _: Admin,
    path: CredPath,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let (dev, app) = (path_id(&path.0, "developer")?, path_id(&path.1, "app")?);
    let cred = state.catalog.revoke_credential(dev, app, &path.2).await?;
    Ok(HttpResponse::Ok().json(CredentialView::new(&cred, None)))
}

pub async fn delete(
    _: Admin,
    path: CredPath,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let (dev, app) = (path_id(&path.0, "developer")?, path_id(&path.1, "app")?);
    state.catalog.delete_credential(dev, app, &path.2).await?;
    Ok(HttpResponse::NoContent().finish())
}
