//! RFC 7592 client configuration endpoint, `{issuer}/register/{client_id}`: a dynamically
//! registered client reads (`GET`, §2.1), replaces (`PUT`, §2.2) and deletes (`DELETE`, §2.3)
//! its registration with the registration access token it received at registration.
//!
//! The token is compared by its keyed hash (the only form stored). A wrong or missing token, an
//! unknown client, a client registered through the admin API (it has no registration token) or
//! a deleted one: all the same 401 `invalid_token` with a Bearer challenge (§2.1, §2.3). `PUT`
//! replaces the whole metadata (omitted members take their defaults), must name the same
//! `client_id`, may repeat the current `client_secret` (any other is refused), and cannot turn a
//! public client into a confidential one or back. The client keeps its `client_id`, secret and
//! registration token.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use tessera_shared::catalog::AppPatch;
use tessera_shared::crypto::constant_time_eq;
use tessera_shared::error::CatalogError;
use tessera_shared::model::App;
use tessera_shared::oauth::OAuthError;
use tessera_shared::token::TokenKind;

use super::client_metadata::{self, check, metadata_error};
use super::register::{bearer_error, json_body};
use crate::http::bearer_token;
use crate::state::AppState;
use tessera_shared::oauth::OAuthResponse;

/// The app whose registration token the request carries, and that token.
async fn authorized(
    req: &HttpRequest,
    client_id: &str,
    state: &AppState,
) -> Result<(App, String), OAuthError> {
    let denied = || bearer_error("a valid registration access token is required");
    let token = bearer_token(req);
    if state.config.registration.initial_access_token.is_none()
        || !TokenKind::RegistrationToken.is_well_formed(token)
    {
        return Err(denied());
    }
    let presented = state.keys.token_hash(token);
    let app = state.catalog.app_for_client(client_id).await?;
    match app {
        Some(app)
            if app
                .registration_token_hash
                .as_deref()
                .is_some_and(|h| constant_time_eq(h.as_bytes(), presented.as_bytes())) =>
        {
            Ok((app, token.to_string()))
        }
        _ => Err(denied()),
    }
}

fn answer(app: &App, client_id: &str, token: &str, state: &AppState) -> HttpResponse {
    let uri = format!("{}/{client_id}", state.urls.registration);
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(client_metadata::response(app, client_id, &uri, token))
}

fn catalog_error(e: CatalogError) -> OAuthError {
    match e {
        CatalogError::Store(e) => e.into(),
        // Deleted meanwhile: as for an unknown client.
        CatalogError::NotFound(_) => bearer_error("a valid registration access token is required"),
        _ => OAuthError::unavailable(),
    }
}

/// `GET /register/{client_id}` (§2.1).
pub async fn read(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthResponse> {
    let (app, token) = authorized(&req, &path, &state).await?;
    Ok(answer(&app, &path, &token, &state))
}

/// `PUT /register/{client_id}` (§2.2): full replacement of the metadata.
pub async fn update(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthResponse> {
    let (app, token) = authorized(&req, &path, &state).await?;
    let meta = json_body(&req, payload, &state).await?;
    if meta.client_id.as_deref() != Some(path.as_str()) {
        return Err(OAuthError::invalid_request("client_id must name this client").into());
    }
    if let Some(secret) = &meta.client_secret {
        let current = app.credential(&path).map(|c| c.secret_hash.as_str());
        if !current.is_some_and(|h| !h.is_empty() && state.keys.verify_secret(secret, h)) {
            return Err(metadata_error("client_secret is not this client's secret").into());
        }
    }
    let c = check(&meta, &state.config.registration.allowed_scopes)?;
    if c.public != app.public {
        return Err(metadata_error(
            "token_endpoint_auth_method: a client cannot change between public (none) and \
             confidential",
        )
        .into());
    }
    let patch = AppPatch {
        redirect_uris: Some(c.redirect_uris),
        grant_types: Some(c.grant_types),
        scopes: Some(c.scopes),
        auth_method: Some(c.auth_method),
        client_name: Some(c.client_name),
        ..Default::default()
    };
    let app = state
        .catalog
        .update_app(app.developer_id, app.id, patch)
        .await
        .map_err(catalog_error)?;
    Ok(answer(&app, &path, &token, &state))
}

/// `DELETE /register/{client_id}` (§2.3): the app and every token it holds are gone.
pub async fn delete(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthResponse> {
    let (app, _) = authorized(&req, &path, &state).await?;
    state
        .catalog
        .delete_app(app.developer_id, app.id)
        .await
        .map_err(catalog_error)?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
