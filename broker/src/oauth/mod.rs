//! The OAuth endpoints, as HTTP: each handler reads its request (form, credentials, cookies),
//! calls one flow ([`crate::flows`]) and renders its answer; none holds a rule.
//!
//! # Layout
//! * [`authorize`], [`callback`] — the user's login, delegated upstream; [`browser`] — what the
//!   browser sees when a login step stops; [`login_cookie`] — the cookie that binds a login to
//!   its browser.
//! * [`token`] — `POST /token`; [`introspect`] (RFC 7662); [`revoke`] (RFC 7009).
//! * [`register`] (RFC 7591) and [`client_config`] (RFC 7592).
//! * [`backchannel_logout`] — the upstream's logout (OpenID Connect Back-Channel Logout 1.0).
//! * [`end_session`] — an app's logout (OpenID Connect RP-Initiated Logout 1.0).
//! * [`metadata`] — RFC 8414 and OpenID Connect Discovery documents, and the JWKS.

pub mod authorize;
pub mod backchannel_logout;
pub mod browser;
pub mod callback;
pub mod client_config;
pub mod end_session;
pub mod introspect;
pub mod login_cookie;
pub mod metadata;
pub mod register;
pub mod revoke;
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
        .service(
            web::resource("/end_session")
                .route(web::get().to(end_session::end_session))
                .route(web::post().to(end_session::end_session)),
        )
        .route(
            "/end_session/callback",
            web::get().to(end_session::callback),
        )
        .route(
            "/backchannel_logout",
            web::post().to(backchannel_logout::backchannel_logout),
        )
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
