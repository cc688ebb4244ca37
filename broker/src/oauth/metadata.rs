//! Discovery documents, listing only what this broker really supports:
//! `GET /.well-known/oauth-authorization-server` (RFC 8414), and — with user login —
//! `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3) and
//! `GET /jwks` (the broker's id_token keys, RFC 7517).
//!
//! The document itself is [`document`]'s.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use crate::flows::discovery::document;
use crate::state::AppState;

fn cached(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(body)
}

fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({
        "error": "not_found", "message": "user login (and so OpenID Connect) is not configured"}))
}

pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    cached(document(&state))
}

/// OpenID Connect Discovery: the same document (it holds every member Discovery §3 requires
/// for the code flow), only with user login.
pub async fn openid_configuration(state: web::Data<AppState>) -> HttpResponse {
    if state.upstream.is_none() || state.id_tokens.is_none() {
        return not_found();
    }
    cached(document(&state))
}

/// The current and previous id_token keys.
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    match &state.id_tokens {
        Some(k) => cached(k.jwks()),
        None => not_found(),
    }
}
