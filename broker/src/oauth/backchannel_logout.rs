//! `POST /backchannel_logout` — OpenID Connect Back-Channel Logout 1.0 ([`backchannel_logout`]):
//! 200 with `Cache-Control: no-store` once the logins are revoked (§2.8), else 400 with an
//! RFC 6749 §5.2 JSON error (503 while the store or upstream cannot answer).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use tessera_shared::oauth::{Form, OAuthResponse};

use crate::flows::backchannel_logout::{self, MAX_BODY_BYTES};
use crate::http::client_ip;
use crate::state::AppState;

pub async fn backchannel_logout(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthResponse> {
    let limit = MAX_BODY_BYTES.min(state.config.server.max_body_bytes);
    // §2.8: a request that fails is a 400, an oversized one included.
    let form = Form::read(&req, payload, limit)
        .await
        .map_err(|e| e.with_status(400))?;
    let ip = client_ip(&req, &state.config.server.trusted_proxies);
    backchannel_logout::logout(&state, &form, ip).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
