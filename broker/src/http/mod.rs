//! The broker's wire helpers: what its handlers (OAuth endpoints, admin API) read from a request
//! and how they answer in HTML. The OAuth wire format proper — strict forms, Basic credentials,
//! PKCE and the RFC 6749 §5.2 error response — is shared with the development identity provider
//! ([`tessera_shared::oauth`]).
//!
//! # Layout
//! * this file — [`bearer_token`] (RFC 6750 §2.1) and [`client_ip`].
//! * [`answer`] — the token and introspection endpoints' JSON answers (`no-store`).
//! * [`credentials`] — the client credentials a request presents (Basic or form).
//! * [`json`] — JSON request bodies (admin API, RFC 7591/7592 registration).
//! * [`methods`] — method routing of the client endpoints without actix's per-request record.
//! * [`page`] — the browser's answers: error pages and redirects back to the app, and the 429
//!   page; [`device_page`] — the device flow's pages (code entry, confirmation).
//! * [`same_origin`] — whether a form submission came from the broker's own pages (CSRF).
//! * [`stack`] — the public listener's middleware: span, HTTP metrics and security headers in
//!   one layer, and the route pattern the busy resources carry for it.

pub mod answer;
pub mod credentials;
pub mod device_page;
pub mod json;
pub mod methods;
pub mod page;
pub mod same_origin;
pub mod stack;

use std::net::IpAddr;

use actix_web::http::header::{self, HeaderName};
use actix_web::HttpRequest;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The RFC 6750 §2.1 bearer token of the `Authorization` header, or "" when there is none.
pub fn bearer_token(req: &HttpRequest) -> &str {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
}

/// The client's address: the peer, or `X-Forwarded-For` from one of the `trusted` hops
/// (`server.trusted_proxies`).
pub fn client_ip(req: &HttpRequest, trusted: &[ipnet::IpNet]) -> IpAddr {
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    // A static name: a `&str` would be parsed into an allocated `HeaderName` on every request.
    let forwarded = req
        .headers()
        .get_all(X_FORWARDED_FOR)
        .filter_map(|v| v.to_str().ok());
    tessera_shared::client_ip::client_ip(peer, forwarded, trusted)
}
