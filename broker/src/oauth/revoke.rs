//! `POST /revoke` — RFC 7009 token revocation.
//!
//! The client authenticates and may revoke only tokens issued to its own app (§2.1). Unknown,
//! malformed, already revoked and other clients' tokens all answer 200 with nothing done (§2.2),
//! so the endpoint cannot be used to probe tokens. `token_type_hint` is optional and, as §2.1
//! allows, only a hint: the token's own prefix says what it is.

use actix_web::{web, HttpRequest, HttpResponse};

use super::client_auth::authenticate;
use crate::state::AppState;
use tessera_shared::oauth::Form;
use tessera_shared::oauth::OAuthResponse;

pub async fn revoke(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthResponse> {
    let form = Form::read(&req, payload, state.config.server.max_body_bytes).await?;
    let client = authenticate(&req, &form, &state).await?;
    state
        .limits
        .per_app(crate::ratelimit::Limit::Revoke, &client.app)
        .await?;
    let token = form.required("token")?;
    state.tokens.revoke(token, &client.app).await?;
    Ok(HttpResponse::Ok().finish())
}
