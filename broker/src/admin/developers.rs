//! `/admin/developers` — create, list, read, update (PATCH: present fields change), delete
//! (which deletes the developer's apps, and so kills their tokens).

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use tessera_shared::catalog::{DeveloperPatch, NewDeveloper};
use utoipa::ToSchema;

use super::error::AdminError;
use super::validate::{attributes, email, person_name};
use super::{json_body, path_id, Admin};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDeveloper {
    email: String,
    first_name: String,
    last_name: String,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDeveloper {
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    attributes: Option<BTreeMap<String, String>>,
}

fn limit(state: &AppState) -> usize {
    state.config.server.max_body_bytes
}

#[utoipa::path(post, path = "/admin/developers", tag = "developers", request_body = CreateDeveloper,
    responses((status = 201, description = "The developer", body = Object),
              (status = 409, description = "The e-mail is taken")))]
pub async fn create(
    _: Admin,
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let b: CreateDeveloper = json_body(&req, body, limit(&state)).await?;
    attributes(&b.attributes)?;
    let new = NewDeveloper {
        email: email(&b.email)?,
        first_name: person_name("first_name", &b.first_name)?,
        last_name: person_name("last_name", &b.last_name)?,
        attributes: b.attributes,
    };
    let dev = state.catalog.create_developer(new).await?;
    Ok(HttpResponse::Created().json(dev))
}

#[utoipa::path(get, path = "/admin/developers", tag = "developers",
    responses((status = 200, description = "Every developer, oldest first", body = Vec<Object>)))]
pub async fn list(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, AdminError> {
    Ok(HttpResponse::Ok().json(state.catalog.developers().await?))
}

#[utoipa::path(get, path = "/admin/developers/{dev}", tag = "developers", params(("dev" = Uuid, Path, description = "The developer's id")),
    responses((status = 200, description = "The developer", body = Object)))]
pub async fn get(
    _: Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&path, "developer")?;
    Ok(HttpResponse::Ok().json(state.catalog.developer(id).await?))
}

#[utoipa::path(patch, path = "/admin/developers/{dev}", tag = "developers", params(("dev" = Uuid, Path, description = "The developer's id")),
    request_body = UpdateDeveloper,
    responses((status = 200, description = "The developer as changed", body = Object)))]
pub async fn update(
    _: Admin,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&path, "developer")?;
    let b: UpdateDeveloper = json_body(&req, body, limit(&state)).await?;
    if let Some(a) = &b.attributes {
        attributes(a)?;
    }
    let patch = DeveloperPatch {
        email: b.email.as_deref().map(email).transpose()?,
        first_name: b
            .first_name
            .as_deref()
            .map(|n| person_name("first_name", n))
            .transpose()?,
        last_name: b
            .last_name
            .as_deref()
            .map(|n| person_name("last_name", n))
            .transpose()?,
        attributes: b.attributes,
    };
    Ok(HttpResponse::Ok().json(state.catalog.update_developer(id, patch).await?))
}

#[utoipa::path(delete, path = "/admin/developers/{dev}", tag = "developers", params(("dev" = Uuid, Path, description = "The developer's id")),
    responses((status = 204, description = "Deleted, with every app (their tokens die)")))]
pub async fn delete(
    _: Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&path, "developer")?;
    state.catalog.delete_developer(id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /admin/developers/{dev}/suspend`: every app of the developer is refused at once (its
/// tokens die; they stay dead after a reinstatement).
#[utoipa::path(post, path = "/admin/developers/{dev}/suspend", tag = "developers", params(("dev" = Uuid, Path, description = "The developer's id")),
    responses((status = 200, description = "Suspended: every app refused, every token dead", body = Object)))]
pub async fn suspend(
    _: Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&path, "developer")?;
    Ok(HttpResponse::Ok().json(state.catalog.suspend_developer(id).await?))
}

/// `POST /admin/developers/{dev}/reinstate`: the developer's apps authenticate again.
#[utoipa::path(post, path = "/admin/developers/{dev}/reinstate", tag = "developers", params(("dev" = Uuid, Path, description = "The developer's id")),
    responses((status = 200, description = "Active again", body = Object)))]
pub async fn reinstate(
    _: Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&path, "developer")?;
    Ok(HttpResponse::Ok().json(state.catalog.reinstate_developer(id).await?))
}
