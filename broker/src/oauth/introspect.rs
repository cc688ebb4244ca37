//! `POST /introspect` — RFC 7662 token introspection, for authenticated clients.
//!
//! An active token answers with the standard members plus `ext`, Tessera's extension member
//! (RFC 7662 §2.2 allows extensions): `app_id`, `developer_id` and the token's `attributes`
//! (the app's custom attributes and, for user tokens, the mapped identity claims). Anything
//! malformed, unknown, expired or revoked is just `{"active": false}` (§2.2). A store outage is
//! 503, never `active: false` for a token that may be valid.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use tessera_shared::oauth::{Challenge, OAuthError};

use super::client_auth::authenticate;
use crate::state::AppState;
use tessera_shared::oauth::Form;
use tessera_shared::oauth::OAuthResponse;

pub async fn introspect(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthResponse> {
    let form = Form::read(&req, payload, state.config.server.max_body_bytes).await?;
    let caller = authenticate(&req, &form, &state).await?;
    state
        .limits
        .per_app(crate::ratelimit::Limit::Introspect, &caller.app)
        .await?;
    // Introspection is for resource servers and confidential clients, never public ones.
    if caller.app.public {
        return Err(OAuthError::invalid_client(Challenge::None).into());
    }
    let token = form.required("token")?;
    let body = match state.tokens.lookup().active(token).await? {
        None => json!({ "active": false }),
        Some(tessera_shared::tokens::Active {
            record: rec, app, ..
        }) => {
            let mut body = json!({
                "active": true,
                "scope": rec.scope.to_string(),
                "client_id": rec.client_id,
                "token_type": "Bearer",
                "exp": rec.exp,
                "iat": rec.iat,
                "iss": state.urls.issuer,
                "ext": {
                    "app_id": app.id,
                    "app_name": app.name,
                    "developer_id": rec.developer_id,
                    "grant_type": rec.grant.as_str(),
                    "attributes": rec.attributes,
                    "rate_plan": app.rate_plan,
                },
            });
            if let (Some(sub), Some(obj)) = (&rec.sub, body.as_object_mut()) {
                obj.insert("sub".into(), json!(sub));
            }
            body
        }
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}
