//! The admin API: developers, their apps and the apps' credentials, as JSON, behind the admin
//! bearer token (compared in constant time).
//!
//! # Layout
//! * [`developers`] (with suspension), [`apps`], [`credentials`], [`products`] (API products),
//!   [`subscriptions`] (apps' subscriptions to them), [`users`] — one file per resource; the
//!   route table below lists every route once.
//! * [`openapi`] — the OpenAPI 3.1 document of all of it, generated from the handlers.
//! * [`usage`] — call analytics recorded by the proxy, summed up per range, client and app.
//! * [`abuse`] — abuse detection's live flags and blocks, listed and lifted.
//! * [`error`] — [`error::AdminError`], the API's error answers.
//! * [`views`] — the JSON shapes returned (never a secret hash; a secret only once, at creation).
//! * [`validate`] — field rules shared by the admin API and dynamic registration.

pub mod abuse;
pub mod apps;
pub mod credentials;
pub mod developers;
pub mod error;
pub mod openapi;
pub mod products;
pub mod subscriptions;
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

/// The admin API's route table, the one list of its routes: [`configure`] registers them and
/// [`ROUTES`] names them, so the OpenAPI document's test ([`openapi`]) checks the very routes
/// the application serves.
macro_rules! routes {
    ($($method:ident $path:literal => $handler:path;)*) => {
        /// Registers every admin route under `/admin`.
        pub fn configure(cfg: &mut web::ServiceConfig) {
            cfg.service(web::scope("/admin")$(.route($path, verbs::$method().to($handler)))*);
        }

        /// Every admin route: its method and its path under `/admin`.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];
    };
}

routes! {
    get "/openapi.json" => openapi::document;
    post "/developers" => developers::create;
    get "/developers" => developers::list;
    get "/developers/{dev}" => developers::get;
    patch "/developers/{dev}" => developers::update;
    delete "/developers/{dev}" => developers::delete;
    post "/developers/{dev}/suspend" => developers::suspend;
    post "/developers/{dev}/reinstate" => developers::reinstate;
    post "/developers/{dev}/apps" => apps::create;
    get "/developers/{dev}/apps" => apps::list;
    get "/developers/{dev}/apps/{app}" => apps::get;
    patch "/developers/{dev}/apps/{app}" => apps::update;
    delete "/developers/{dev}/apps/{app}" => apps::delete;
    post "/developers/{dev}/apps/{app}/credentials" => credentials::create;
    get "/developers/{dev}/apps/{app}/credentials" => credentials::list;
    post "/developers/{dev}/apps/{app}/credentials/{client_id}/revoke" => credentials::revoke;
    delete "/developers/{dev}/apps/{app}/credentials/{client_id}" => credentials::delete;
    get "/developers/{dev}/apps/{app}/subscriptions" => subscriptions::list;
    post "/developers/{dev}/apps/{app}/subscriptions" => subscriptions::create;
    post "/developers/{dev}/apps/{app}/subscriptions/{product}/approve" => subscriptions::approve;
    post "/developers/{dev}/apps/{app}/subscriptions/{product}/revoke" => subscriptions::revoke;
    delete "/developers/{dev}/apps/{app}/subscriptions/{product}" => subscriptions::delete;
    delete "/developers/{dev}/apps/{app}/users/{sub}/tokens" => users::revoke_tokens;
    get "/developers/{dev}/apps/{app}/usage" => usage::for_app;
    get "/usage" => usage::all;
    get "/abuse" => abuse::list;
    delete "/abuse" => abuse::lift;
    get "/subscriptions" => subscriptions::all;
    post "/products" => products::create;
    get "/products" => products::list;
    get "/products/{product}" => products::get;
    patch "/products/{product}" => products::update;
    delete "/products/{product}" => products::delete;
}

/// The routes of the table's methods. Every admin `GET` only reads, so it answers `HEAD` too
/// (RFC 9110 §9.1): the same status and headers, no body.
mod verbs {
    pub use actix_web::web::{delete, patch, post};
    pub use tessera_shared::method::get_or_head as get;
}

/// Parses a path segment that must be a UUID; anything else is simply not found.
pub fn path_id(s: &str, what: &'static str) -> Result<uuid::Uuid, AdminError> {
    uuid::Uuid::parse_str(s).map_err(|_| AdminError::NotFound(what))
}
