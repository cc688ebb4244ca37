//! What the browser sees when a login step stops ([`LoginError`]): an HTML error page, the 429
//! page of a rate limit, or the redirect back to the app with `error`, the app's `state` and
//! `iss` (RFC 6749 §4.1.2.1, RFC 9207 §2).

use actix_web::HttpResponse;

use crate::flows::LoginError;
use crate::http::page::{error_page, error_redirect, too_many_requests};

/// The answer to a login step that stopped; `iss` is the broker's issuer.
pub fn stopped(e: LoginError, iss: &str) -> HttpResponse {
    match e {
        LoginError::Page {
            status,
            title,
            detail,
        } => error_page(status, title, &detail),
        LoginError::Limited(refusal) => too_many_requests(&refusal),
        LoginError::Redirect {
            redirect_uri,
            error,
            state,
        } => error_redirect(
            &redirect_uri,
            error.code,
            &error.description,
            state.as_deref(),
            iss,
        ),
    }
}
