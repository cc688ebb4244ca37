//! `POST /revoke` — RFC 7009 token revocation ([`revocation`]): 200 with nothing in the body,
//! whatever the token was (§2.2).

use actix_web::{web, HttpRequest, HttpResponse};
use tessera_shared::oauth::{Form, OAuthResponse};

use crate::flows::revocation;
use crate::http::client_ip;
use crate::http::credentials::presented;
use crate::state::AppState;

pub async fn revoke(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthResponse> {
    let form = Form::read(&req, payload, state.config.server.max_body_bytes).await?;
    let credentials = presented(&req, &form)?;
    super::cors::remember(&req, &credentials.client_id);
    let ip = client_ip(&req, &state.config.server.trusted_proxies);
    revocation::revoke(&state, &form, credentials, ip).await?;
    Ok(HttpResponse::Ok().finish())
}
