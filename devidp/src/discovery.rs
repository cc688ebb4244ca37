//! `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3, with the RFC 8414
//! additions Okta publishes) and `GET /v1/keys`, the JWKS (RFC 7517 §5).

use std::sync::atomic::Ordering;

use actix_web::http::{header, Method};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::DevIdp;

pub(super) async fn configuration(idp: web::Data<DevIdp>) -> HttpResponse {
    let inner = &idp.inner;
    if let Some(res) = inner.gate(true).await {
        return res;
    }
    let issuer = &inner.cfg.issuer;
    // The user's claims, so that a relying party knows what it may map.
    let mut claims: Vec<String> = [
        "iss",
        "sub",
        "aud",
        "iat",
        "exp",
        "auth_time",
        "nonce",
        "sid",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for user in &inner.cfg.users {
        for k in user.claims.keys() {
            if !claims.contains(k) {
                claims.push(k.clone());
            }
        }
    }
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "max-age=60"))
        .json(json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/v1/authorize"),
            "token_endpoint": format!("{issuer}/v1/token"),
            "userinfo_endpoint": format!("{issuer}/v1/userinfo"),
            "jwks_uri": format!("{issuer}/v1/keys"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "groups", "offline_access"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "grant_types_supported": ["authorization_code", "password", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": claims,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            // RP-Initiated Logout 1.0 §2.1; Back-Channel Logout 1.0 §2.1.
            "end_session_endpoint": format!("{issuer}/v1/logout"),
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
            "authorization_response_iss_parameter_supported": inner.behaviour.send_iss(),
        }))
}

pub(super) async fn keys(idp: web::Data<DevIdp>, req: HttpRequest) -> HttpResponse {
    let inner = &idp.inner;
    if let Some(res) = inner.gate(true).await {
        return res;
    }
    // A HEAD reads no keys: only GETs are fetches.
    if req.method() == Method::GET {
        inner.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    }
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "max-age=60"))
        .json(inner.keys.jwks())
}
