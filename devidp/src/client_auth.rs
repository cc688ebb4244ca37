//! Client authentication at the token endpoint (RFC 6749 §2.3.1): `client_secret_basic` or
//! `client_secret_post`, never both. Every failure is the same `invalid_client` (§5.2), and
//! secrets are compared in constant time, an unknown client included.

use actix_web::http::header;
use actix_web::HttpRequest;
use tessera_shared::crypto::constant_time_eq;
use tessera_shared::oauth::basic::parse_basic;
use tessera_shared::oauth::Form;
use tessera_shared::oauth::{Challenge, OAuthError};

use crate::{DevClient, DevIdpConfig};

/// The client that proved who it is, or the error to answer.
pub(super) fn authenticate<'a>(
    req: &HttpRequest,
    form: &Form,
    cfg: &'a DevIdpConfig,
) -> Result<&'a DevClient, OAuthError> {
    let (id, secret, challenge) = presented(req, form)?;
    let client = cfg.client(&id);
    let expected = client.map_or("", |c| c.client_secret.as_str());
    let secret_ok = constant_time_eq(expected.as_bytes(), secret.as_bytes());
    match client {
        Some(c) if secret_ok && !secret.is_empty() => Ok(c),
        _ => Err(OAuthError::invalid_client(challenge)),
    }
}

/// `(client_id, client_secret, challenge to answer a failure with)`.
fn presented(req: &HttpRequest, form: &Form) -> Result<(String, String, Challenge), OAuthError> {
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return match (body_id, body_secret) {
            (Some(id), Some(secret)) => Ok((id.to_string(), secret.to_string(), Challenge::None)),
            _ => Err(OAuthError::invalid_client(Challenge::Basic)),
        };
    };
    let value = value
        .to_str()
        .map_err(|_| OAuthError::invalid_client(Challenge::Basic))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(Challenge::Basic));
    }
    let (id, secret) =
        parse_basic(rest.trim()).ok_or(OAuthError::invalid_client(Challenge::Basic))?;
    if body_secret.is_some() {
        return Err(OAuthError::invalid_request(
            "use one client authentication method, not both",
        ));
    }
    if body_id.is_some_and(|b| b != id) {
        return Err(OAuthError::invalid_request(
            "client_id in the body does not match the Authorization header",
        ));
    }
    Ok((id, secret, Challenge::Basic))
}
