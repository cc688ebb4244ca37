//! `GET /.well-known/oauth-authorization-server` — RFC 8414 metadata, listing only what this
//! broker really supports.

use actix_web::{web, HttpResponse};
use serde_json::json;
use tessera_shared::model::GrantType;

use crate::state::AppState;

pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    let u = &state.urls;
    let auth_methods = ["client_secret_basic", "client_secret_post"];
    let grants: Vec<&str> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
    let mut body = json!({
        "issuer": u.issuer,
        "token_endpoint": u.token,
        "token_endpoint_auth_methods_supported": auth_methods,
        "grant_types_supported": grants,
        // RFC 8414 §2 makes this member REQUIRED; there is no authorization endpoint yet, so no
        // response type is supported.
        "response_types_supported": [],
        "introspection_endpoint": u.introspection,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint": u.revocation,
        "revocation_endpoint_auth_methods_supported": auth_methods,
    });
    if state.config.registration.initial_access_token.is_some() {
        if let Some(obj) = body.as_object_mut() {
            obj.insert("registration_endpoint".into(), json!(u.registration));
        }
    }
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(body)
}
