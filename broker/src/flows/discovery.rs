//! The discovery document, listing only what this broker really supports: RFC 8414
//! authorization server metadata, which is also the OpenID Connect Discovery 1.0 §3 document
//! (it holds every member Discovery requires for the code flow).
//!
//! `scopes_supported` lists the scopes a dynamically registered client may register
//! (`registration.allowed_scopes`) and, with user login, `openid`: RFC 8414 §2 lets a server
//! leave out scopes it supports, and apps created through the admin API have their own.

use serde_json::{json, Value};
use tessera_shared::model::GrantType;

use crate::state::AppState;

/// The document for this broker's configuration.
pub fn document(state: &AppState) -> Value {
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
    let mut scopes: Vec<&str> = Vec::new();
    if users {
        scopes.push("openid");
    }
    for s in &state.config.registration.allowed_scopes {
        if !scopes.contains(&s.as_str()) {
            scopes.push(s);
        }
    }
    let mut body = json!({
        "issuer": u.issuer,
        "token_endpoint": u.token,
        "token_endpoint_auth_methods_supported": token_auth,
        "grant_types_supported": grants,
        // RFC 8414 §2 makes this member REQUIRED; without user login there is no
        // authorization endpoint, and so no response type.
        "response_types_supported": if users { vec!["code"] } else { vec![] },
        "scopes_supported": scopes,
        "introspection_endpoint": u.introspection,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint": u.revocation,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        // RFC 9449 §5.1.
        "dpop_signing_alg_values_supported": tessera_shared::oauth::dpop::ALGS,
    });
    let Some(obj) = body.as_object_mut() else {
        return body;
    };
    if users {
        obj.insert("authorization_endpoint".into(), json!(u.authorization));
        // RFC 8628 §4.
        obj.insert(
            "device_authorization_endpoint".into(),
            json!(u.device_authorization),
        );
        obj.insert("code_challenge_methods_supported".into(), json!(["S256"]));
        // RFC 9207 §3: `iss` is sent in every authorization response.
        obj.insert(
            "authorization_response_iss_parameter_supported".into(),
            json!(true),
        );
        // OpenID Connect RP-Initiated Logout 1.0 §2.1.
        obj.insert(
            "end_session_endpoint".into(),
            json!(format!("{}/end_session", u.issuer)),
        );
    }
    if let Some(keys) = &state.id_tokens {
        obj.insert("jwks_uri".into(), json!(u.jwks));
        obj.insert(
            "id_token_signing_alg_values_supported".into(),
            json!(keys.algorithms()),
        );
        obj.insert("subject_types_supported".into(), json!(["public"]));
    }
    if state.config.registration.initial_access_token.is_some() {
        obj.insert("registration_endpoint".into(), json!(u.registration));
    }
    body
}
