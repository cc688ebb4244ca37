//! `POST /register` — RFC 7591 dynamic client registration, guarded by an initial access token
//! (§3, sent as an RFC 6750 bearer token). Registered apps belong to the configured registration
//! developer; the metadata rules are in [`super::client_metadata`].
//!
//! `client_name` is a label, not a key: two clients may share one (the app's unique `name` is
//! `dcr-<random>`). A confidential client receives a `client_secret` (never stored, only its
//! hash); a public one (`none`) receives none. Every client receives an RFC 7592
//! `registration_access_token` (stored only as a keyed hash) and its `registration_client_uri`,
//! to read, update and delete its registration ([`super::client_config`]).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use tessera_shared::catalog::{NewApp, NewDeveloper};
use tessera_shared::crypto::constant_time_eq;
use tessera_shared::error::CatalogError;
use tessera_shared::model::Developer;
use tessera_shared::oauth::{Challenge, ErrorCode, OAuthError};
use tessera_shared::token::TokenKind;

use super::client_metadata::{self, check, metadata_error};
use crate::http::bearer_token;
use crate::http::json::{self, BodyError};
use crate::state::AppState;
use tessera_shared::oauth::OAuthResponse;

/// `invalid_token` with a Bearer challenge (RFC 6750 §3.1).
pub fn bearer_error(msg: &'static str) -> OAuthError {
    let mut e = OAuthError::new(ErrorCode::InvalidToken, msg);
    e.challenge = Challenge::Bearer;
    e
}

/// Reads the client metadata of a JSON body (`application/json` only, at most
/// `server.max_body_bytes`); a malformed one names the member at fault (from our own schema).
pub async fn json_body(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<client_metadata::Metadata, OAuthError> {
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
    let Some(expected) = &state.config.registration.initial_access_token else {
        return Ok(HttpResponse::NotFound().finish());
    };
    // Per IP, before anything else (initial access token guesses included).
    let ip = crate::http::client_ip(&req, &state.config.server.trusted_proxies);
    state
        .limits
        .per_ip(crate::ratelimit::Limit::RegisterIp, ip)
        .await
        .map_err(crate::ratelimit::Refusal::oauth)?;
    let presented = bearer_token(&req);
    if !constant_time_eq(presented.as_bytes(), expected.expose_secret().as_bytes()) {
        return Err(bearer_error("a valid initial access token is required").into());
    }
    let meta = json_body(&req, payload, &state).await?;
    let c = check(&meta, &state.config.registration.allowed_scopes)?;
    let developer = registration_developer(&state).await?;
    let token = TokenKind::RegistrationToken.generate();
    let new = NewApp {
        name: format!("dcr-{}", uuid::Uuid::new_v4().simple()),
        redirect_uris: c.redirect_uris,
        grant_types: c.grant_types,
        scopes: c.scopes,
        public: c.public,
        auth_method: c.auth_method,
        client_name: c.client_name,
        registration_token_hash: Some(state.keys.token_hash(&token)),
        ..Default::default()
    };
    let (app, issued) = state
        .catalog
        .create_app(developer.id, new)
        .await
        .map_err(|e| match e {
            CatalogError::Store(e) => OAuthError::from(e),
            _ => OAuthError::unavailable(),
        })?;
    let client_id = issued.credential.client_id.as_str();
    let uri = format!("{}/{client_id}", state.urls.registration);
    let mut body = client_metadata::response(&app, client_id, &uri, &token);
    if let (Some(secret), Some(obj)) = (&issued.secret, body.as_object_mut()) {
        obj.insert("client_secret".into(), secret.expose_secret().into());
        // RFC 7591 §3.2.1: REQUIRED with a secret; 0 means it does not expire.
        obj.insert("client_secret_expires_at".into(), 0.into());
    }
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}

/// The configured owner of dynamically registered apps, created on first use.
async fn registration_developer(state: &AppState) -> Result<Developer, OAuthError> {
    let email = &state.config.registration.developer_email;
    let unavailable = |e: CatalogError| match e {
        CatalogError::Store(e) => OAuthError::from(e),
        _ => OAuthError::unavailable(),
    };
    if let Some(d) = state
        .catalog
        .developer_by_email(email)
        .await
        .map_err(unavailable)?
    {
        return Ok(d);
    }
    let created = state
        .catalog
        .create_developer(NewDeveloper {
            email: email.clone(),
            first_name: "Dynamic".into(),
            last_name: "Registration".into(),
            attributes: Default::default(),
        })
        .await;
    match created {
        Ok(d) => Ok(d),
        // Another request created it first.
        Err(CatalogError::Conflict { .. }) => state
            .catalog
            .developer_by_email(email)
            .await
            .map_err(unavailable)?
            .ok_or_else(OAuthError::unavailable),
        Err(e) => Err(unavailable(e)),
    }
}
