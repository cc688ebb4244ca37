//! RFC 7592 client configuration endpoint, `{issuer}/register/{client_id}`: a dynamically
//! registered client reads (`GET`, §2.1), replaces (`PUT`, §2.2) and deletes (`DELETE`, §2.3)
//! its registration with its registration access token ([`registration`] holds the rules).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;
use tessera_shared::oauth::OAuthResponse;

use super::register::metadata_body;
use crate::flows::registration;
use crate::http::bearer_token;
use crate::state::AppState;

fn answer(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// `GET /register/{client_id}` (§2.1).
pub async fn read(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthResponse> {
    let token = bearer_token(&req);
    let app = registration::authorized(&state, &path, token).await?;
    Ok(answer(registration::describe(&state, &app, &path, token)))
}

/// `PUT /register/{client_id}` (§2.2): full replacement of the metadata.
pub async fn update(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthResponse> {
    let token = bearer_token(&req);
    let app = registration::authorized(&state, &path, token).await?;
    let meta = metadata_body(&req, payload, &state).await?;
    let app = registration::update(&state, &app, &path, &meta).await?;
    Ok(answer(registration::describe(&state, &app, &path, token)))
}

/// `DELETE /register/{client_id}` (§2.3): the app and every token it holds are gone.
pub async fn delete(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthResponse> {
    let app = registration::authorized(&state, &path, bearer_token(&req)).await?;
    registration::delete(&state, &app).await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
