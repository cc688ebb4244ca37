//! The developer portal (`/portal`) and the operator console (`/portal/admin`): server-rendered
//! pages on the same catalog code as the admin API.
//!
//! Developers sign in through the upstream OpenID Connect provider ([`signin`]), browse the
//! API products open to them, create apps (name, redirect URIs, products), get and rotate their
//! secrets (shown once), see their subscriptions' approval, and watch each app's traffic.
//! Operators — members of `portal.operator_groups` — also get the console: every developer and
//! app, approving and revoking subscriptions, suspending developers and apps, products and
//! their rate plans, and the traffic of everything with the security figures.
//!
//! Sessions live in the store behind an `HttpOnly`, `SameSite=Lax` cookie (`__Host-` on
//! https); every form carries the session's CSRF token; every page is sent with a strict
//! Content-Security-Policy (no inline script or style: [`assets`] serves the one stylesheet and
//! the one script). Everything works with JavaScript off except the charts' pointer readout and
//! the copy buttons.
//!
//! # Layout
//! * [`session`] — sessions, their cookie, the signed-in extractors ([`session::Signed`],
//!   [`session::Posted`] with the CSRF check), the per-IP limit.
//! * [`signin`] — the upstream sign-in and the developer it finds or creates.
//! * [`actions`] — what the forms do, through the admin API's request types and the catalog.
//! * [`traffic`], [`chart`] — the analytics shown, and the SVG charts drawing it.
//! * [`pages`] — the handlers, one file per page; [`cards`], [`view`] — what the templates
//!   (`broker/templates/portal/`) show, and rendering; [`form`], [`error`], [`assets`].

pub mod actions;
pub mod assets;
pub mod cards;
pub mod chart;
pub mod error;
pub mod form;
pub mod pages;
pub mod session;
pub mod signin;
pub mod traffic;
pub mod view;

use actix_web::web;
use pages::{app, apps, auth, console, console_actions as act, products};
use tessera_shared::method::get_or_head;

/// Registers the portal's routes under `/portal`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/portal")
            .route("", get_or_head().to(auth::home))
            .route("/", get_or_head().to(auth::home))
            .route("/static/{name}", get_or_head().to(assets::serve))
            .route("/signin", web::get().to(auth::start))
            .route("/callback", web::get().to(auth::callback))
            .route("/signout", web::post().to(auth::signout))
            .route("/apps", get_or_head().to(apps::list))
            .route("/apps", web::post().to(apps::create))
            .route("/apps/{app}", get_or_head().to(app::page))
            .route(
                "/apps/{app}/credentials",
                web::post().to(app::create_secret),
            )
            .route(
                "/apps/{app}/credentials/{client_id}/revoke",
                web::post().to(app::revoke_secret),
            )
            .route("/apps/{app}/subscriptions", web::post().to(app::subscribe))
            .route("/admin", get_or_head().to(console::overview))
            .route("/admin/developers", get_or_head().to(console::developers))
            .route(
                "/admin/developers/{dev}",
                get_or_head().to(console::developer),
            )
            .route(
                "/admin/developers/{dev}/suspend",
                web::post().to(act::suspend_developer),
            )
            .route(
                "/admin/developers/{dev}/reinstate",
                web::post().to(act::reinstate_developer),
            )
            .route("/admin/apps/{app}", get_or_head().to(console::app))
            .route(
                "/admin/apps/{app}/suspend",
                web::post().to(act::suspend_app),
            )
            .route(
                "/admin/apps/{app}/reinstate",
                web::post().to(act::reinstate_app),
            )
            .route(
                "/admin/apps/{app}/subscriptions",
                web::post().to(act::subscribe),
            )
            .route(
                "/admin/apps/{app}/subscriptions/{product}/approve",
                web::post().to(act::approve),
            )
            .route(
                "/admin/apps/{app}/subscriptions/{product}/revoke",
                web::post().to(act::revoke),
            )
            .route("/admin/products", get_or_head().to(products::page))
            .route("/admin/products", web::post().to(products::create))
            .route(
                "/admin/products/{product}",
                web::post().to(products::update),
            ),
    );
}
