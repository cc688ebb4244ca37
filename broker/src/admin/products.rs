//! `/admin/products` — API products (Apigee's model: scopes, a rate plan, an approval mode and
//! a visibility; [`tessera_shared::product`]): create, list, read, update (PATCH; the change
//! reaches every subscribed app and its live tokens at once), delete (409 while an app holds a
//! pending or approved subscription). The operator console builds the same bodies from its
//! forms ([`CreateProduct::into_new`], [`UpdateProduct::into_patch`]).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use tessera_shared::catalog::{NewProduct, ProductPatch};
use tessera_shared::product::{product_name, Approval, Product, Visibility};
use tessera_shared::rate::RatePlan;
use utoipa::ToSchema;

use super::error::AdminError;
use super::validate::{invalid, scopes};
use super::{json_body, Admin};
use crate::state::AppState;

/// Longest product description, in bytes.
pub const MAX_DESCRIPTION: usize = 2_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProduct {
    /// The key: 1-64 of `a-z`, `0-9`, `-`, `_`, `.`.
    pub name: String,
    /// Shown in the portal (default: the name).
    pub display_name: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub rate_plan: RatePlan,
    /// `auto` (default) or `manual`.
    #[schema(value_type = Option<String>)]
    pub approval: Option<Approval>,
    /// `public` (default), `internal` or `private`.
    #[schema(value_type = Option<String>)]
    pub visibility: Option<Visibility>,
}

impl CreateProduct {
    pub fn into_new(self) -> Result<NewProduct, AdminError> {
        let name = product_name(&self.name).map_err(|m| invalid("name", m))?;
        Ok(NewProduct {
            display_name: display_name(self.display_name.as_deref().unwrap_or(&name))?,
            description: description(&self.description)?,
            scopes: scopes(self.scopes)?,
            rate_plan: self.rate_plan,
            approval: self.approval.unwrap_or(Approval::Auto),
            visibility: self.visibility.unwrap_or(Visibility::Public),
            name,
        })
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProduct {
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub scopes: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pub rate_plan: Option<RatePlan>,
    #[schema(value_type = Option<String>)]
    pub approval: Option<Approval>,
    #[schema(value_type = Option<String>)]
    pub visibility: Option<Visibility>,
}

impl UpdateProduct {
    pub fn into_patch(self) -> Result<ProductPatch, AdminError> {
        Ok(ProductPatch {
            display_name: self.display_name.as_deref().map(display_name).transpose()?,
            description: self.description.as_deref().map(description).transpose()?,
            scopes: self.scopes.map(scopes).transpose()?,
            rate_plan: self.rate_plan,
            approval: self.approval,
            visibility: self.visibility,
        })
    }
}

/// 1-100 printable characters.
fn display_name(s: &str) -> Result<String, AdminError> {
    let s = s.trim();
    if s.is_empty() || s.len() > 100 || s.chars().any(char::is_control) {
        return Err(invalid(
            "display_name",
            "must be 1-100 printable characters",
        ));
    }
    Ok(s.to_string())
}

/// At most [`MAX_DESCRIPTION`] bytes; line breaks allowed, other control characters not.
fn description(s: &str) -> Result<String, AdminError> {
    let bad = s.chars().any(|c| c.is_control() && c != '\n' && c != '\r');
    if s.len() > MAX_DESCRIPTION || bad {
        return Err(invalid(
            "description",
            format!("at most {MAX_DESCRIPTION} bytes of printable text"),
        ));
    }
    Ok(s.trim().to_string())
}

/// The product named by the path; anything that is not a product name is simply not found.
pub fn path_name(s: &str) -> Result<&str, AdminError> {
    product_name(s)
        .map(|_| s)
        .map_err(|_| AdminError::NotFound("product"))
}

#[utoipa::path(post, path = "/admin/products", tag = "products", request_body = CreateProduct,
    responses((status = 201, description = "The product", body = Object),
              (status = 409, description = "The name is taken")))]
pub async fn create(
    _: Admin,
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let b: CreateProduct = json_body(&req, body, state.config.server.max_body_bytes).await?;
    let product = state.catalog.create_product(b.into_new()?).await?;
    Ok(HttpResponse::Created().json(product))
}

#[utoipa::path(get, path = "/admin/products", tag = "products",
    responses((status = 200, description = "Every product, by name", body = Vec<Object>)))]
pub async fn list(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, AdminError> {
    let all: Vec<Product> = state.catalog.products().await?;
    Ok(HttpResponse::Ok().json(all))
}

#[utoipa::path(get, path = "/admin/products/{product}", tag = "products",
    params(("product" = String, Path, description = "The product's name")),
    responses((status = 200, description = "The product", body = Object),
              (status = 404, description = "No such product")))]
pub async fn get(
    _: Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let name = path_name(&path)?;
    Ok(HttpResponse::Ok().json(state.catalog.product(name).await?))
}

#[utoipa::path(patch, path = "/admin/products/{product}", tag = "products",
    params(("product" = String, Path, description = "The product's name")),
    request_body = UpdateProduct,
    responses((status = 200, description = "The product as changed", body = Object)))]
pub async fn update(
    _: Admin,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let name = path_name(&path)?;
    let b: UpdateProduct = json_body(&req, body, state.config.server.max_body_bytes).await?;
    let product = state.catalog.update_product(name, b.into_patch()?).await?;
    Ok(HttpResponse::Ok().json(product))
}

#[utoipa::path(delete, path = "/admin/products/{product}", tag = "products",
    params(("product" = String, Path, description = "The product's name")),
    responses((status = 204, description = "Deleted"),
              (status = 409, description = "Apps hold live subscriptions to it")))]
pub async fn delete(
    _: Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let name = path_name(&path)?;
    state.catalog.delete_product(name).await?;
    Ok(HttpResponse::NoContent().finish())
}
