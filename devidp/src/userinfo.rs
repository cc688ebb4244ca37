//! `GET`/`POST /v1/userinfo` (OpenID Connect Core §5.3): the user's claims, for an access token
//! this provider issued to a user with the `openid` scope, presented as a Bearer token
//! (RFC 6750 §2.1). Failures follow RFC 6750 §3.1, in the `WWW-Authenticate` header and as JSON.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use jsonwebtoken::{decode, decode_header, Algorithm, Validation};
use serde_json::{json, Map, Value};

use crate::{DevIdp, Inner};

pub(super) async fn userinfo(idp: web::Data<DevIdp>, req: HttpRequest) -> HttpResponse {
    let inner = &idp.inner;
    if let Some(res) = inner.gate(true).await {
        return res;
    }
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    let Some(token) = token else {
        // §3.1: no authentication information at all gets a bare challenge.
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish();
    };
    let Some(claims) = verify(inner, token) else {
        return bearer_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is invalid or expired",
        );
    };
    let has_openid = claims
        .get("scp")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|v| v == "openid"));
    if !has_openid {
        return bearer_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the access token lacks the openid scope",
        );
    }
    let user = claims
        .get("uid")
        .and_then(Value::as_str)
        .and_then(|uid| inner.cfg.users.iter().find(|u| u.sub() == uid));
    let Some(user) = user else {
        return bearer_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is not about a user",
        );
    };
    let mut body = user.claims.clone();
    body.insert("sub".into(), json!(user.sub()));
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// Signature with a published key, `iss`, `aud` and `exp`.
fn verify(inner: &Inner, token: &str) -> Option<Map<String, Value>> {
    let header = decode_header(token).ok()?;
    if header.alg != Algorithm::RS256 {
        return None;
    }
    let key = inner.keys.published(header.kid.as_deref()?)?;
    let mut v = Validation::new(Algorithm::RS256);
    v.set_issuer(&[inner.cfg.issuer.as_str()]);
    v.set_audience(&[inner.cfg.audience.as_str()]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    decode::<Map<String, Value>>(token, &key.decoding, &v)
        .ok()
        .map(|d| d.claims)
}

fn bearer_error(status: StatusCode, code: &str, description: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((
            header::WWW_AUTHENTICATE,
            format!("Bearer error=\"{code}\", error_description=\"{description}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "error": code, "error_description": description }))
}
