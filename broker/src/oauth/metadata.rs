//! `GET /.well-known/oauth-authorization-server` — RFC 8414 metadata, listing only what this
//! broker really supports.

use actix_web::{web, HttpResponse};
use serde_json::json;
use tessera_shared::model::GrantType;

use crate::state::AppState;

pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    let u = &state.urls;
    let auth_methods = ["client_secret_basic", "client_secret_post"];
    let users = state.upstream.is_some();
    let grants: Vec<&str> = GrantType::ALL
        .iter()
        .filter(|g| users || !g.needs_upstream())
        .map(|g| g.as_str())
        .collect();
    let token_auth: &[&str] = if users {
        &["client_secret_basic", "client_secret_post", "none"]
    } else {
        &auth_methods
    };
    let mut body = json!({
        "issuer": u.issuer,
        "token_endpoint": u.token,
        "token_endpoint_auth_methods_supported": token_auth,
        "grant_types_supported": grants,
        // RFC 8414 §2 makes this member REQUIRED; without user login there is no
        // authorization endpoint, and so no response type.
        "response_types_supported": if users { vec!["code"] } else { vec![] },
        "introspection_endpoint": u.introspection,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint": u.revocation,
        "revocation_endpoint_auth_methods_supported": auth_methods,
    });
    if let (true, Some(obj)) = (users, body.as_object_mut()) {
        obj.insert("authorization_endpoint".into(), json!(u.authorization));
        obj.insert("code_challenge_methods_supported".into(), json!(["S256"]));
        // RFC 9207 §3: `iss` is sent in every authorization response.
        obj.insert(
            "authorization_response_iss_parameter_supported".into(),
            json!(true),
        );
    }
    if state.config.registration.initial_access_token.is_some() {
        if let Some(obj) = body.as_object_mut() {
            obj.insert("registration_endpoint".into(), json!(u.registration));
        }
    }
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(body)
}
