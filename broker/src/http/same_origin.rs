//! Whether a browser's form submission came from the broker's own pages: the defence of the
//! state-changing forms that have no token of their own against cross-site request forgery
//! (RFC 9700 §4.4.1.8 asks for CSRF protection on the authorization server's own forms).
//!
//! Browsers say where a request comes from: Fetch Metadata's `Sec-Fetch-Site` (W3C Fetch
//! Metadata Request Headers §2.1) and `Origin` (RFC 6454 §7; sent with every cross-origin
//! request and every `POST` form submission). A request is refused when `Sec-Fetch-Site` is
//! present and neither `same-origin` nor `none` (the user's own navigation) — `same-site` too,
//! as a sibling host may be anyone's — or when `Origin` is present and is not the origin of
//! `server.issuer` (`null` included). A client that sends neither (curl, a script) is no
//! browser a cross-site page can drive, and is let through.

use actix_web::http::header::{HeaderName, ORIGIN};
use actix_web::HttpRequest;

const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// Whether `req` may come from another site than `issuer`'s pages (see the module doc).
pub fn cross_site(req: &HttpRequest, issuer: &str) -> bool {
    let headers = req.headers();
    let site = headers.get(SEC_FETCH_SITE).map(|v| v.as_bytes());
    if site.is_some_and(|s| s != b"same-origin" && s != b"none") {
        return true;
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return false;
    };
    let ours = url::Url::parse(issuer).map(|u| u.origin());
    match ours {
        Ok(o) if o.is_tuple() => origin.as_bytes() != o.ascii_serialization().as_bytes(),
        _ => true,
    }
}
