//! `GET /admin/openapi.json` — the admin API described as an OpenAPI 3.1 document, generated
//! from the handlers' own annotations (utoipa), behind the admin token like every admin route
//! (the API's shape is no secret — `docs/admin-api.md` is public — but an operator who keeps
//! the admin listener private keeps this with it).
//!
//! Every route of the route table ([`super::ROUTES`]) must be in the document and every path of
//! the document in the table: [`missing`] is the test's check, so a new route without its
//! annotation fails the build's tests rather than drifting.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::error::AdminError;
use super::{abuse, apps, credentials, developers, products, subscriptions, usage, users, Admin};

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Tessera admin API",
        description = "Developers, apps, credentials, API products and subscriptions, and \
                       call analytics. Every route takes the admin token as a bearer token.",
        license(name = "Apache-2.0")
    ),
    paths(
        document,
        developers::create, developers::list, developers::get, developers::update,
        developers::delete, developers::suspend, developers::reinstate,
        apps::create, apps::list, apps::get, apps::update, apps::delete,
        credentials::create, credentials::list, credentials::revoke, credentials::delete,
        subscriptions::list, subscriptions::create, subscriptions::approve,
        subscriptions::revoke, subscriptions::delete, subscriptions::all,
        users::revoke_tokens, usage::for_app, usage::all, abuse::list, abuse::lift,
        products::create, products::list, products::get, products::update, products::delete,
    ),
    modifiers(&AdminToken),
    security(("admin_token" = []))
)]
pub struct AdminApi;

/// The admin token as the document's one security scheme (HTTP bearer).
struct AdminToken;

impl Modify for AdminToken {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("The admin token (`admin.token`)"))
            .build();
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("admin_token", SecurityScheme::Http(scheme));
    }
}

/// The document, as JSON.
pub fn json() -> Result<String, serde_json::Error> {
    AdminApi::openapi().to_json()
}

/// The routes of `routes` (method, path under `/admin`) that the document does not describe,
/// and the document's operations that are not routes, as `METHOD /admin/path`.
pub fn missing(routes: &[(&str, &str)]) -> (Vec<String>, Vec<String>) {
    let doc = AdminApi::openapi();
    let mut documented = Vec::new();
    for (path, item) in &doc.paths.paths {
        let ops = [
            ("get", item.get.is_some()),
            ("post", item.post.is_some()),
            ("put", item.put.is_some()),
            ("patch", item.patch.is_some()),
            ("delete", item.delete.is_some()),
        ];
        for (method, present) in ops {
            if present {
                documented.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let served: Vec<String> = routes
        .iter()
        .map(|(m, p)| format!("{} /admin{p}", m.to_uppercase()))
        .collect();
    let undocumented = served
        .iter()
        .filter(|r| !documented.contains(r))
        .cloned()
        .collect();
    let unserved = documented
        .into_iter()
        .filter(|d| !served.contains(d))
        .collect();
    (undocumented, unserved)
}

#[utoipa::path(get, path = "/admin/openapi.json", tag = "meta",
    responses((status = 200, description = "This document", content_type = "application/json")))]
pub async fn document(_: Admin) -> Result<HttpResponse, AdminError> {
    let body = json().map_err(|e| {
        tracing::error!(cause = %e, "the OpenAPI document does not serialise");
        AdminError::Internal
    })?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn every_route_is_documented_and_every_operation_served() {
        let (undocumented, unserved) = missing(super::super::ROUTES);
        assert!(
            undocumented.is_empty(),
            "routes missing from the document: {undocumented:?}"
        );
        assert!(
            unserved.is_empty(),
            "documented but not served: {unserved:?}"
        );
        assert!(super::super::ROUTES.len() >= 30);
    }

    #[test]
    fn the_document_is_openapi_3_1() {
        let v: serde_json::Value = serde_json::from_str(&json().unwrap()).unwrap();
        assert!(v["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(v["components"]["securitySchemes"]["admin_token"].is_object());
        assert!(v["components"]["schemas"]["CreateProduct"].is_object());
    }
}
