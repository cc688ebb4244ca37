//! The OAuth endpoints and what they share.
//!
//! # Layout
//! * [`form`] — strict `application/x-www-form-urlencoded` request reading.
//! * [`client_auth`] — RFC 6749 §2.3.1 client authentication.
//! * [`authorize`], [`callback`] — the user's login, delegated upstream; [`browser`] — the
//!   error page and redirects they answer with; [`pkce`] — RFC 7636 S256.
//! * [`token`] — `POST /token`, one file per grant; [`scope`] — scope rules.
//! * [`introspect`] (RFC 7662), [`revoke`] (RFC 7009), [`register`] (RFC 7591),
//!   [`metadata`] (RFC 8414).

pub mod authorize;
pub mod browser;
pub mod callback;
pub mod client_auth;
pub mod form;
pub mod introspect;
pub mod metadata;
pub mod pkce;
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
        .route("/authorize", web::get().to(authorize::authorize))
        .route("/callback", web::get().to(callback::callback))
        .route(
            "/.well-known/oauth-authorization-server",
            web::get().to(metadata::metadata),
        );
}
