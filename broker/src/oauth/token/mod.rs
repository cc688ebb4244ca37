//! `POST /token` (RFC 6749 §3.2): reads the form, authenticates the client, dispatches on
//! `grant_type` to one file per grant, and answers with `Cache-Control: no-store` (§5.1).

mod client_credentials;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use tessera_shared::oauth::{ErrorCode, OAuthError};

use super::client_auth::authenticate;
use super::form::Form;
use crate::error::OAuthResponse;
use crate::state::AppState;

/// RFC 6749 §5.1 successful response.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

pub async fn token(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthResponse> {
    let grant = std::cell::Cell::new("unknown");
    let result = handle(&req, payload, &state, &grant).await;
    let outcome = match &result {
        Ok(_) => "success",
        Err(e) => e.code.as_str(),
    };
    state.metrics.token_request(grant.get(), outcome);
    let body = result?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body))
}

async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    grant: &std::cell::Cell<&'static str>,
) -> Result<TokenResponse, OAuthError> {
    let form = Form::read(req, payload, state.config.server.max_body_bytes).await?;
    let grant_type = form.required("grant_type")?;
    let client = authenticate(req, &form, state).await?;
    match grant_type {
        "client_credentials" => {
            grant.set("client_credentials");
            client_credentials::grant(&form, &client, state).await
        }
        _ => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "this grant type is not supported",
        )),
    }
}
