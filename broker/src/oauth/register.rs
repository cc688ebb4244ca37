//! `POST /register` — RFC 7591 dynamic client registration ([`registration`]): 404 while it is
//! off, otherwise the client metadata read from a JSON body and the client information response
//! (201, `Cache-Control: no-store`).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use tessera_shared::oauth::{OAuthError, OAuthResponse};

use crate::flows::client_metadata::{metadata_error, Metadata};
use crate::flows::registration;
use crate::http::json::{self, BodyError};
use crate::http::{bearer_token, client_ip};
use crate::state::AppState;

/// Reads the client metadata of a JSON body (`application/json` only, at most
/// `server.max_body_bytes`); a malformed one names the member at fault (from our own schema).
pub async fn metadata_body(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<Metadata, OAuthError> {
    let limit = state.config.server.max_body_bytes;
    json::read(req, payload, limit).await.map_err(|e| match e {
        BodyError::NotJson => OAuthError::invalid_request("content type must be application/json"),
        BodyError::TooLarge => {
            OAuthError::invalid_request("request body too large").with_status(413)
        }
        BodyError::Unreadable(m) => OAuthError::invalid_request(m),
        BodyError::Shape { path, .. } if path == "." => {
            metadata_error("the client metadata is not a JSON object of the expected shape")
        }
        BodyError::Shape { path, .. } => metadata_error(format!("{path}: wrong type")),
    })
}

pub async fn register(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthResponse> {
    if !registration::enabled(&state) {
        return Ok(HttpResponse::NotFound().finish());
    }
    let ip = client_ip(&req, &state.config.server.trusted_proxies);
    registration::admit(&state, ip, bearer_token(&req)).await?;
    let meta = metadata_body(&req, payload, &state).await?;
    let body = registration::register(&state, &meta).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}
