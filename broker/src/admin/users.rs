//! `DELETE /admin/developers/{dev}/apps/{app}/users/{sub}/tokens` — revokes every login of one
//! user in one app: all their access and refresh tokens become inactive at once. `sub` is the
//! upstream subject, percent-encoded in the path.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::error::AdminError;
use super::{path_id, Admin};
use crate::state::AppState;

#[utoipa::path(delete, path = "/admin/developers/{dev}/apps/{app}/users/{sub}/tokens",
    tag = "apps", params(("dev" = Uuid, Path, description = "The developer's id"), ("app" = Uuid, Path, description = "The app's id"), ("sub" = String, Path, description = "The upstream subject, percent-encoded")),
    responses((status = 200, description = "`{\"revoked_logins\": n}`", body = Object)))]
pub async fn revoke_tokens(
    _: Admin,
    path: web::Path<(String, String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let (dev, app) = (path_id(&path.0, "developer")?, path_id(&path.1, "app")?);
    // The app must exist under this developer.
    state.catalog.app(dev, app).await?;
    let revoked = state.tokens.revoke_user(app, &path.2).await?;
    Ok(HttpResponse::Ok().json(json!({ "revoked_logins": revoked })))
}
