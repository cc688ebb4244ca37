//! `POST /introspect` — RFC 7662 token introspection ([`introspection`]), answered with
//! `Cache-Control: no-store`.

use actix_web::{web, HttpRequest, HttpResponse};
use tessera_shared::oauth::{Form, OAuthResponse};

use crate::flows::introspection;
use crate::http::answer;
use crate::http::client_ip;
use crate::http::credentials::presented;
use crate::state::AppState;

pub async fn introspect(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthResponse> {
    let form = Form::read(&req, payload, state.config.server.max_body_bytes).await?;
    let credentials = presented(&req, &form)?;
    let ip = client_ip(&req, &state.config.server.trusted_proxies);
    let body = introspection::introspect(&state, &form, credentials, ip).await?;
    Ok(answer::no_store(&body, false))
}
