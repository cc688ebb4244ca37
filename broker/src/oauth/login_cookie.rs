//! The login cookie: binds a pending login to the browser that started it (RFC 9700 §4.7 and
//! §2.1: login CSRF). `/authorize` sets it — a random 256-bit value, `HttpOnly`,
//! `SameSite=Lax` (so it comes back on the upstream's top-level redirect to `/callback`),
//! `Path=/`, for the login's lifetime — and stores a keyed hash of the value with the pending
//! login; `/callback` completes a login only when the browser presents the same value.
//!
//! With an `https` issuer the cookie is `__Host-tessera-login` and `Secure` (the `__Host-`
//! prefix requires `Secure`, `Path=/` and no `Domain`, so no sibling domain can plant it). An
//! `http` issuer is only allowed on loopback (`tessera dev`, tests): browsers and HTTP clients
//! do not return `Secure` cookies over plain http, so there it is `tessera-login`, without
//! `Secure`. A browser keeps one value and reuses it for every login it starts, so logins in
//! several tabs do not disturb each other.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;
use tessera_shared::crypto::random_string;

const SECURE_NAME: &str = "__Host-tessera-login";
const PLAIN_NAME: &str = "tessera-login";

fn name(secure: bool) -> &'static str {
    if secure {
        SECURE_NAME
    } else {
        PLAIN_NAME
    }
}

/// A value this module could have made: 43 characters of base64url.
fn well_formed(v: &str) -> bool {
    v.len() == 43
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The browser's login cookie value, if it sent a well-formed one.
pub fn presented(req: &HttpRequest, secure: bool) -> Option<String> {
    req.cookie(name(secure))
        .map(|c| c.value().to_string())
        .filter(|v| well_formed(v))
}

/// The value to bind a new login to (the browser's own, or a fresh one), and the cookie that
/// (re)sets it for `ttl_secs`.
pub fn issue(req: &HttpRequest, secure: bool, ttl_secs: u64) -> (String, Cookie<'static>) {
    let value = presented(req, secure).unwrap_or_else(random_string::<32>);
    let cookie = Cookie::build(name(secure), value.clone())
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(actix_web::cookie::time::Duration::seconds(ttl_secs as i64))
        .finish();
    (value, cookie)
}
