//! The admin API: developers, their apps and the apps' credentials, as JSON, behind the admin
//! bearer token (compared in constant time).
//!
//! # Layout
//! * [`developers`], [`apps`], [`credentials`] — one file per resource.
//! * [`usage`] — call analytics recorded by the proxy, summed up per range, client and app.
//! * [`error`] — [`error::AdminError`], the API's error answers.
//! * [`views`] — the JSON shapes returned (never a secret hash; a secret only once, at creation).
//! * [`validate`] — field rules shared by the admin API and dynamic registration.

pub mod apps;
pub mod credentials;
pub mod developers;
pub mod error;
pub mod usage;
pub mod users;
pub mod validate;
pub mod views;

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use error::AdminError;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use tessera_shared::crypto::constant_time_eq;
use validate::invalid;

use crate::http::bearer_token;
use crate::http::json::{self, BodyError};
use crate::state::AppState;

/// Proof that the request carried the admin token. Taking it as an argument guards a handler.
#[derive(Debug)]
pub struct Admin;

impl FromRequest for Admin {
    type Error = AdminError;
    type Future = Ready<Result<Admin, AdminError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            return ready(Err(AdminError::Internal));
        };
        let presented = bearer_token(req);
        let expected = state.config.admin.token.expose_secret().as_bytes();
        ready(if constant_time_eq(presented.as_bytes(), expected) {
            Ok(Admin)
        } else {
            Err(AdminError::Unauthorized)
        })
    }
}

/// Reads a JSON body into `T`; a parse error names the offending field path.
pub async fn json_body<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<T, AdminError> {
    json::read(req, payload, limit).await.map_err(|e| match e {
        BodyError::NotJson => invalid("content-type", "must be application/json"),
        BodyError::TooLarge => AdminError::PayloadTooLarge,
        BodyError::Unreadable(message) => invalid("body", message),
        BodyError::Shape { path, message } if path == "." => invalid("body", message),
        BodyError::Shape { path, message } => invalid(path, message),
    })
}

/// Registers every admin route under `/admin`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .route("/developers", web::post().to(developers::create))
            .route("/developers", web::get().to(developers::list))
            .route("/developers/{dev}", web::get().to(developers::get))
            .route("/developers/{dev}", web::patch().to(developers::update))
            .route("/developers/{dev}", web::delete().to(developers::delete))
            .route("/developers/{dev}/apps", web::post().to(apps::create))
            .route("/developers/{dev}/apps", web::get().to(apps::list))
            .route("/developers/{dev}/apps/{app}", web::get().to(apps::get))
            .route(
                "/developers/{dev}/apps/{app}",
                web::patch().to(apps::update),
            )
            .route(
                "/developers/{dev}/apps/{app}",
                web::delete().to(apps::delete),
            )
            .route(
                "/developers/{dev}/apps/{app}/credentials",
                web::post().to(credentials::create),
            )
            .route(
                "/developers/{dev}/apps/{app}/credentials",
                web::get().to(credentials::list),
            )
            .route(
                "/developers/{dev}/apps/{app}/credentials/{client_id}/revoke",
                web::post().to(credentials::revoke),
            )
            .route(
                "/developers/{dev}/apps/{app}/credentials/{client_id}",
                web::delete().to(credentials::delete),
            )
            .route(
                "/developers/{dev}/apps/{app}/users/{sub}/tokens",
                web::delete().to(users::revoke_tokens),
            )
            .route("/usage", web::get().to(usage::all))
            .route(
                "/developers/{dev}/apps/{app}/usage",
                web::get().to(usage::for_app),
            ),
    );
}

/// Parses a path segment that must be a UUID; anything else is simply not found.
pub fn path_id(s: &str, what: &'static str) -> Result<uuid::Uuid, AdminError> {
    uuid::Uuid::parse_str(s).map_err(|_| AdminError::NotFound(what))
}
