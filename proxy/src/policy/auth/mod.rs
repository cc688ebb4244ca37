//! Authentication, the third policy: who is calling. One of `tessera` (opaque tokens),
//! `jwt` (validate-jwt), `api_key` (VerifyAPIKey) or `none`, per route.
//!
//! Credentials come from `Authorization: Bearer` only (RFC 6750 §2.1); tokens in the query
//! string are not accepted (RFC 9700 §2.5 / RFC 6750 §5.3: they leak into logs and referrers).

pub mod api_key;
pub mod introspection;
pub mod tessera;

use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use serde::Deserialize;

use crate::policy::jwt::JwtConfig;
use api_key::ApiKeyConfig;

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuthConfig {
    /// Tessera opaque access tokens.
    Tessera,
    /// Upstream JWT access tokens (Okta), Azure API Management's validate-jwt.
    Jwt(JwtConfig),
    /// An app key in a header or query parameter.
    ApiKey(ApiKeyConfig),
    /// Anyone (spike arrest then counts per IP).
    None,
}

/// What `Authorization` held.
#[derive(Debug, PartialEq, Eq)]
pub enum Bearer<'a> {
    Missing,
    /// Present but not a single `Bearer` credential (another scheme, empty, repeated).
    Malformed,
    Token(&'a str),
}

/// The bearer token of the request (RFC 6750 §2.1: scheme case-insensitive, one header).
pub fn bearer(headers: &HeaderMap) -> Bearer<'_> {
    let mut values = headers.get_all(AUTHORIZATION);
    let Some(v) = values.next() else {
        return Bearer::Missing;
    };
    if values.next().is_some() {
        return Bearer::Malformed;
    }
    let Ok(v) = v.to_str() else {
        return Bearer::Malformed;
    };
    match v.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer")
                && !token.is_empty()
                && !token.contains(' ') =>
        {
            Bearer::Token(token)
        }
        _ => Bearer::Malformed,
    }
}
