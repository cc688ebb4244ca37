//! The OAuth endpoints, as HTTP: each handler reads its request (form, credentials, cookies),
//! calls one flow ([`crate::flows`]) and renders its answer; none holds a rule.
//!
//! # Layout
//! * [`authorize`], [`callback`] — the user's login, delegated upstream; [`browser`] — what the
//!   browser sees when a login step stops; [`login_cookie`] — the cookie that binds a login to
//!   its browser.
//! * [`token`] — `POST /token`; [`introspect`] (RFC 7662); [`revoke`] (RFC 7009).
//! * [`device`] — the device authorization grant (RFC 8628): `/device_authorization` and the
//!   pages where users connect devices.
//! * [`register`] (RFC 7591) and [`client_config`] (RFC 7592).
//! * [`backchannel_logout`] — the upstream's logout (OpenID Connect Back-Channel Logout 1.0).
//! * [`end_session`] — an app's logout (OpenID Connect RP-Initiated Logout 1.0).
//! * [`metadata`] — RFC 8414 and OpenID Connect Discovery documents, and the JWKS.
//! * [`cors`] — CORS for browser apps on the client endpoints and the public documents.

pub mod authorize;
pub mod backchannel_logout;
pub mod browser;
pub mod callback;
pub mod client_config;
pub mod cors;
pub mod device;
pub mod end_session;
pub mod introspect;
pub mod login_cookie;
pub mod metadata;
pub mod register;
pub mod revoke;
pub mod token;

use std::net::IpAddr;

use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpRequest};
use tessera_shared::method::get_or_head;
use tessera_shared::oauth::{Form, OAuthResponse};

use crate::http::client_ip;
use crate::http::credentials::{presented, Presented};
use crate::http::methods::{self, post};
use crate::http::stack::RoutePattern;
use crate::state::AppState;

/// What a client endpoint callable from a browser (`/revoke`, `/device_authorization`) reads
/// first: the form, the credentials it presented (remembered for the CORS answer, [`cors`])
/// and the caller's address.
async fn client_form(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<(Form, Presented, IpAddr), OAuthResponse> {
    let form = Form::read(req, payload, state.config.server.max_body_bytes).await?;
    let credentials = presented(req, &form)?;
    cors::remember(req, &credentials.client_id);
    let ip = client_ip(req, &state.config.server.trusted_proxies);
    Ok((form, credentials, ip))
}

/// The client endpoints' methods, in their routes' order (their `405`'s `Allow`).
const CLIENT_METHODS: &[Method] = &[Method::POST, Method::OPTIONS];

/// Registers every OAuth route: the client endpoints and the public documents with their
/// CORS ([`cors`]).
pub fn configure(cfg: &mut web::ServiceConfig) {
    // The busiest endpoints are routed by method without actix's per-request record of the
    // methods tried, and answer the `405` it would (`http::methods`); they carry their route
    // pattern for the request stack's metrics (`http::stack`).
    let client = |path: &'static str, handler| {
        web::resource(path)
            .app_data(RoutePattern(path))
            .wrap(cors::ForClients)
            .route(handler)
            .route(methods::route(Method::OPTIONS).to(cors::preflight_post))
            .default_service(methods::not_allowed(CLIENT_METHODS))
    };
    let public = |path: &str, handler| {
        web::resource(path)
            .wrap(from_fn(cors::public))
            .route(handler)
            .route(web::method(Method::OPTIONS).to(cors::preflight_get))
    };
    cfg.service(client("/token", post().to(token::token)))
        .service(client("/revoke", post().to(revoke::revoke)))
        .service(client(
            "/device_authorization",
            post().to(device::authorization),
        ))
        // As `.route("/introspect", post()…)`: the method is the resource's guard (another
        // method gets the application's 404).
        .service(
            web::resource("/introspect")
                .guard(methods::only(Method::POST))
                .app_data(RoutePattern("/introspect"))
                .route(web::route().to(introspect::introspect)),
        )
        .route("/register", web::post().to(register::register))
        .route(
            "/register/{client_id}",
            get_or_head().to(client_config::read),
        )
        .route(
            "/register/{client_id}",
            web::put().to(client_config::update),
        )
        .route(
            "/register/{client_id}",
            web::delete().to(client_config::delete),
        )
        // GET only, not HEAD (RFC 9110 §9.1 asks HEAD where GET only reads): `/authorize` stores
        // a pending login and `/callback` spends one (its upstream code, state and nonce), so a
        // link checker's HEAD must not reach them; HEAD gets the application's 404.
        .route("/authorize", web::get().to(authorize::authorize))
        .route("/callback", web::get().to(callback::callback))
        // The device pages' GETs only read (the code entry form; the consent page for a code
        // already signed in, its form token derived, not stored): HEAD too.
        .route("/device", get_or_head().to(device::page))
        .route("/device", web::post().to(device::enter))
        .route("/device/confirm", get_or_head().to(device::review))
        .route("/device/confirm", web::post().to(device::decide))
        // Logout (GET or POST, OpenID Connect RP-Initiated Logout §2) and its return from the
        // upstream end a login: GET only, not HEAD.
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
        .service(public(
            "/.well-known/oauth-authorization-server",
            get_or_head().to(metadata::metadata),
        ))
        .service(public(
            "/.well-known/openid-configuration",
            get_or_head().to(metadata::openid_configuration),
        ))
        .service(public("/jwks", get_or_head().to(metadata::jwks)));
}
