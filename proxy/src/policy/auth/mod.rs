//! Authentication, the third policy: who is calling. One of `tessera` (opaque tokens),
//! `jwt` (validate-jwt), `api_key` (VerifyAPIKey) or `none`, per route, each kind in its own
//! file: [`tessera`] (with [`introspection`], [`stored_callers`] for lookups the token cache
//! does not answer, and [`dpop`] for DPoP-bound tokens), [`jwt`],
//! [`api_key`], [`none`] (no step). Each step ends in `settle`: the caller for the later steps,
//! or the refusal, with the outcome recorded for the call's analytics event.
//!
//! Credentials come from `Authorization: Bearer` only (RFC 6750 §2.1) — or `Authorization:
//! DPoP` for DPoP-bound Tessera tokens ([`dpop`], RFC 9449 §7.1); tokens in the query string
//! are not accepted (RFC 9700 §2.5 / RFC 6750 §5.3: they leak into logs and referrers).

pub mod api_key;
pub mod dpop;
pub mod introspection;
pub mod jwt;
pub mod none;
pub mod stored_callers;
pub mod tessera;

use std::sync::Arc;

use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use serde::Deserialize;
use tessera_shared::analytics::AuthOutcome;

use super::exchange::{Blocked, Exchange, Policy};
use crate::caller::Caller;
use crate::denial::Denial;
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
    /// Present but not a single credential of the expected scheme (another scheme, empty,
    /// repeated).
    Malformed,
    Token(&'a str),
}

/// The bearer token of the request (RFC 6750 §2.1: scheme case-insensitive, one header).
pub fn bearer(headers: &HeaderMap) -> Bearer<'_> {
    match credential(headers, &["bearer"]) {
        Ok(None) => Bearer::Missing,
        Ok(Some((_, token))) => Bearer::Token(token),
        Err(()) => Bearer::Malformed,
    }
}

/// The token of the one `Authorization` header, with the index of its scheme among `schemes`
/// (compared case-insensitively, RFC 9110 §11.1).
/// `Ok(None)`: no header; `Err(())`: malformed (repeated, not text, another scheme, empty).
#[allow(clippy::result_unit_err)]
pub fn credential<'h>(
    headers: &'h HeaderMap,
    schemes: &[&str],
) -> Result<Option<(usize, &'h str)>, ()> {
    let mut values = headers.get_all(AUTHORIZATION);
    let Some(v) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(());
    }
    let (scheme, token) = v.to_str().map_err(|_| ())?.split_once(' ').ok_or(())?;
    match schemes.iter().position(|s| scheme.eq_ignore_ascii_case(s)) {
        Some(i) if !token.is_empty() && !token.contains(' ') => Ok(Some((i, token))),
        _ => Err(()),
    }
}

/// How an authentication step ended: the caller, or the outcome for the analytics event and
/// the refusal.
pub(crate) type Verdict = Result<Arc<Caller>, (AuthOutcome, Blocked)>;

/// Records `verdict` on the call: the caller the later steps read, or why there is none.
pub(crate) fn settle(x: &mut Exchange<'_>, verdict: Verdict) -> Result<(), Blocked> {
    match verdict {
        Ok(caller) => {
            x.out.auth = AuthOutcome::Ok;
            x.out.caller = Some(caller);
            Ok(())
        }
        Err((outcome, blocked)) => {
            x.out.auth = outcome;
            Err(blocked)
        }
    }
}

/// No credentials at all: `401` with a bare challenge (RFC 6750 §3.1).
pub(crate) fn missing(realm: &str) -> (AuthOutcome, Blocked) {
    let denial = Denial::MissingCredentials {
        realm: realm.to_string(),
    };
    (AuthOutcome::Missing, Blocked::by(Policy::Auth, denial))
}

/// Credentials that are malformed, unknown, expired or revoked: `401 invalid_token`.
pub(crate) fn invalid(realm: &str, description: &str) -> (AuthOutcome, Blocked) {
    let denial = Denial::InvalidToken {
        realm: realm.to_string(),
        description: description.to_string(),
    };
    (AuthOutcome::Invalid, Blocked::by(Policy::Auth, denial))
}

/// The credentials could not be checked: `503`, never a "no" (fail closed).
pub(crate) fn unavailable(what: &str) -> (AuthOutcome, Blocked) {
    (AuthOutcome::Unavailable, Blocked::unavailable(what))
}
