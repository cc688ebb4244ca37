//! RFC 7662 token introspection, for authenticated confidential clients.
//!
//! An active token answers with the standard members plus `ext`, Tessera's extension member
//! (RFC 7662 §2.2 allows extensions): `app_id`, `developer_id` and the token's `attributes`
//! (the app's custom attributes and, for user tokens, the mapped identity claims). Anything
//! malformed, unknown, expired or revoked is just `{"active": false}` (§2.2). A store outage is
//! 503, never `active: false` for a token that may be valid.
//!
//! A user token also answers `idp`, the id of the upstream provider that authenticated its user
//! (the name Okta and Azure AD give that claim).
//!
//! A DPoP-bound token (RFC 9449 §6.2) answers `token_type` `DPoP` and `cnf.jkt`, the thumbprint
//! of its key, so that a resource server can check the proof that comes with it (§7.1).

use std::net::IpAddr;

use serde_json::{json, Value};
use tessera_shared::oauth::{Challenge, Form, OAuthError};
use tessera_shared::tokens::Active;

use super::client_auth::authenticate;
use crate::http::credentials::Presented;
use crate::ratelimit::Limit;
use crate::state::AppState;
use crate::tokens::upstream_logins::IDP_ATTRIBUTE;

/// The introspection response for the `token` of `form`, asked by the client that presented
/// `credentials` from `ip`.
pub async fn introspect(
    state: &AppState,
    form: &Form,
    credentials: Presented,
    ip: IpAddr,
) -> Result<Value, OAuthError> {
    let caller = authenticate(state, credentials, ip).await?;
    state.limits.per_app(Limit::Introspect, &caller.app).await?;
    // Introspection is for resource servers and confidential clients, never public ones.
    if caller.app.public {
        return Err(OAuthError::invalid_client(Challenge::None));
    }
    let token = form.required("token")?;
    Ok(match state.tokens.lookup().active(token).await? {
        None => json!({ "active": false }),
        Some(active) => describe(active, &state.urls.issuer),
    })
}

/// §2.2: an active token's members, and `ext`.
fn describe(active: Active, issuer: &str) -> Value {
    let Active {
        record: rec, app, ..
    } = active;
    let token_type = crate::flows::grants::response::token_type(&rec);
    let mut body = json!({
        "active": true,
        "scope": rec.scope.to_string(),
        "client_id": rec.client_id,
        "token_type": token_type,
        "exp": rec.exp,
        "iat": rec.iat,
        "iss": issuer,
        "ext": {
            "app_id": app.id,
            "app_name": app.name,
            "developer_id": rec.developer_id,
            "grant_type": rec.grant.as_str(),
            "attributes": rec.attributes,
            "rate_plan": app.effective_rate_plan(),
        },
    });
    let Some(obj) = body.as_object_mut() else {
        return body;
    };
    if let Some(sub) = &rec.sub {
        obj.insert("sub".into(), json!(sub));
    }
    // A user token names the upstream provider that authenticated its user (the attribute
    // only the broker sets on user tokens).
    if rec.family.is_some() {
        if let Some(idp) = rec.attributes.get(IDP_ATTRIBUTE) {
            obj.insert("idp".into(), idp.clone());
        }
    }
    if let Some(jkt) = &rec.jkt {
        obj.insert("cnf".into(), json!({ "jkt": jkt }));
    }
    body
}
