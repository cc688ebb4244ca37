//! `POST /revoke` — RFC 7009 token revocation ([`revocation`]): 200 with nothing in the body,
//! whatever the token was (§2.2).

use actix_web::{web, HttpRequest, HttpResponse};
use tessera_shared::oauth::OAuthResponse;

use crate::flows::revocation;
use crate::state::AppState;

pub async fn revoke(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthResponse> {
    let (form, credentials, ip) = super::client_form(&req, payload, &state).await?;
    revocation::revoke(&state, &form, credentials, ip).await?;
    Ok(HttpResponse::Ok().finish())
}
