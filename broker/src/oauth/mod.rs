//! The OAuth endpoints and what they share.
//!
//! # Layout
//! * [`form`] — strict `application/x-www-form-urlencoded` request reading; [`limits`] — the
//!   caps on every parameter.
//! * [`client_auth`] — RFC 6749 §2.3.1 client authentication.
//! * [`authorize`], [`callback`] — the user's login, delegated upstream; [`browser`] — the
//!   error page and redirects they answer with; [`login_cookie`] — the cookie that binds a
//!   login to its browser; [`pkce`] — RFC 7636 S256.
//! * [`token`] — `POST /token`, one file per grant; [`scope`] — scope rules.
//! * [`introspect`] (RFC 7662), [`revoke`] (RFC 7009), [`register`] (RFC 7591) with
//!   [`client_metadata`] and the RFC 7592 [`client_config`] endpoint, [`metadata`] (RFC 8414,
//!   OpenID Connect Discovery, and the JWKS).

pub mod authorize;
pub mod callback;
pub mod client_auth;
pub mod client_config;
pub mod client_metadata;
pub mod introspect;
pub mod login_cookie;
pub mod metadata;
pub mod register;
pub mod revoke;
pub mod scope;
pub mod token;

use actix_web::web;

/// Registers every OAuth route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/token", web::post().to(token::token))
        .route("/introspect", web::post().to(introspect::introspect))
        .route("/revoke", web::post().to(revoke::revoke))
        .route("/register", web::post().to(register::register))
        .route("/register/{client_id}", web::get().to(client_config::read))
        .route(
            "/register/{client_id}",
            web::put().to(client_config::update),
        )
        .route(
            "/register/{client_id}",
            web::delete().to(client_config::delete),
        )
        .route("/authorize", web::get().to(authorize::authorize))
        .route("/callback", web::get().to(callback::callback))
        .route(
            "/.well-known/oauth-authorization-server",
            web::get().to(metadata::metadata),
        )
        .route(
            "/.well-known/openid-configuration",
            web::get().to(metadata::openid_configuration),
        )
        .route("/jwks", web::get().to(metadata::jwks));
}
