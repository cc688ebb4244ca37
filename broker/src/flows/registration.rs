//! RFC 7591 dynamic client registration, guarded by an initial access token (§3, sent as an
//! RFC 6750 bearer token), and the RFC 7592 client configuration endpoint,
//! `{issuer}/register/{client_id}`, where a registered client reads, replaces and deletes its
//! registration with the registration access token it received. The metadata rules are
//! [`super::client_metadata`]'s.
//!
//! Registered apps belong to the configured registration developer. `client_name` is a label,
//! not a key: two clients may share one (the app's unique `name` is `dcr-<random>`). A
//! confidential client receives a `client_secret` (never stored, only its hash); a public one
//! (`none`) receives none. Every client receives a `registration_access_token` (stored only as
//! a keyed hash) and its `registration_client_uri`.
//!
//! RFC 7592: a wrong or missing registration token, an unknown client, a client registered
//! through the admin API (it has no registration token) or a deleted one: all the same 401
//! `invalid_token` with a Bearer challenge (§2.1, §2.3). `PUT` replaces the whole metadata
//! (omitted members take their defaults), must name the same `client_id`, may repeat the
//! current `client_secret` (any other is refused), and cannot turn a public client into a
//! confidential one or back. The client keeps its `client_id`, secret and registration token.

use std::net::IpAddr;

use secrecy::ExposeSecret;
use serde_json::Value;
use tessera_shared::catalog::{AppPatch, NewApp, NewDeveloper};
use tessera_shared::crypto::constant_time_eq;
use tessera_shared::error::CatalogError;
use tessera_shared::model::{App, Developer};
use tessera_shared::oauth::{Challenge, ErrorCode, OAuthError};
use tessera_shared::token::TokenKind;

use super::client_metadata::{self, check, metadata_error, Metadata};
use super::client_rules::{self, Client};
use crate::ratelimit::Limit;
use crate::state::AppState;

/// `invalid_token` with a Bearer challenge (RFC 6750 §3.1).
pub fn bearer_error(msg: &'static str) -> OAuthError {
    let mut e = OAuthError::new(ErrorCode::InvalidToken, msg);
    e.challenge = Challenge::Bearer;
    e
}

/// Whether dynamic registration is on (an initial access token is configured).
pub fn enabled(state: &AppState) -> bool {
    state.config.registration.initial_access_token.is_some()
}

/// The per-IP limit of `ip` (before anything else: initial access token guesses included), then
/// the initial access `token` it presented.
pub async fn admit(state: &AppState, ip: IpAddr, token: &str) -> Result<(), OAuthError> {
    let limited = state.limits.per_ip(Limit::RegisterIp, ip).await;
    limited.map_err(crate::ratelimit::Refusal::oauth)?;
    let expected = state.config.registration.initial_access_token.as_ref();
    let expected = expected.map_or(&[][..], |t| t.expose_secret().as_bytes());
    if expected.is_empty() || !constant_time_eq(token.as_bytes(), expected) {
        return Err(bearer_error("a valid initial access token is required"));
    }
    Ok(())
}

/// Registers a client with `meta` (RFC 7591 §3.1); the client information response (§3.2.1).
pub async fn register(state: &AppState, meta: &Metadata) -> Result<Value, OAuthError> {
    let c = check(meta, &state.config.registration.allowed_scopes)?;
    let developer = registration_developer(state).await?;
    let token = TokenKind::RegistrationToken.generate();
    let new = NewApp {
        name: format!("dcr-{}", uuid::Uuid::new_v4().simple()),
        redirect_uris: c.redirect_uris,
        post_logout_redirect_uris: c.post_logout_redirect_uris,
        grant_types: c.grant_types,
        scopes: c.scopes,
        public: c.public,
        auth_method: c.auth_method,
        client_name: c.client_name,
        application_type: c.application_type,
        dpop_required: c.dpop_required,
        registration_token_hash: Some(state.keys.token_hash(&token)),
        ..Default::default()
    };
    let created = state.catalog.create_app(developer.id, new).await;
    let (app, issued) = created.map_err(unavailable)?;
    let client_id = issued.credential.client_id.as_str();
    let mut body = describe(state, &app, client_id, &token);
    if let (Some(secret), Some(obj)) = (&issued.secret, body.as_object_mut()) {
        obj.insert("client_secret".into(), secret.expose_secret().into());
        // RFC 7591 §3.2.1: REQUIRED with a secret; 0 means it does not expire.
        obj.insert("client_secret_expires_at".into(), 0.into());
    }
    Ok(body)
}

/// The client information response (RFC 7591 §3.2.1, RFC 7592 §3) for `client_id` of `app`.
pub fn describe(state: &AppState, app: &App, client_id: &str, token: &str) -> Value {
    let uri = format!("{}/{client_id}", state.urls.registration);
    client_metadata::response(app, client_id, &uri, token)
}

/// RFC 7592 §2: the app of `client_id` whose registration access token is `token`.
pub async fn authorized(state: &AppState, client_id: &str, token: &str) -> Result<App, OAuthError> {
    let denied = || bearer_error("a valid registration access token is required");
    if !enabled(state) || !TokenKind::RegistrationToken.is_well_formed(token) {
        return Err(denied());
    }
    let presented = state.keys.token_hash(token);
    let app = state.catalog.app_for_client(client_id).await?;
    let holds = |a: &App| {
        let hash = a.registration_token_hash.as_deref();
        hash.is_some_and(|h| constant_time_eq(h.as_bytes(), presented.as_bytes()))
    };
    app.filter(holds).ok_or_else(denied)
}

/// RFC 7592 §2.2: replaces the metadata of `app`'s `client_id` with `meta`.
pub async fn update(
    state: &AppState,
    app: &App,
    client_id: &str,
    meta: &Metadata,
) -> Result<App, OAuthError> {
    if meta.client_id.as_deref() != Some(client_id) {
        return Err(OAuthError::invalid_request(
            "client_id must name this client",
        ));
    }
    if let Some(secret) = &meta.client_secret {
        let current = app.credential(client_id).map(|c| c.secret_hash.as_str());
        let matches = |h: &str| !h.is_empty() && state.keys.verify_secret(secret.expose(), h);
        if !current.is_some_and(matches) {
            return Err(metadata_error("client_secret is not this client's secret"));
        }
    }
    let c = check(meta, &state.config.registration.allowed_scopes)?;
    if c.public != app.public {
        return Err(metadata_error(
            "token_endpoint_auth_method: a client cannot change between public (none) and \
             confidential",
        ));
    }
    let patch = AppPatch {
        redirect_uris: Some(c.redirect_uris),
        post_logout_redirect_uris: Some(c.post_logout_redirect_uris),
        grant_types: Some(c.grant_types),
        scopes: Some(c.scopes),
        auth_method: Some(c.auth_method),
        client_name: Some(c.client_name),
        application_type: Some(c.application_type),
        dpop_required: Some(c.dpop_required),
        ..Default::default()
    };
    let rules = |a: &App| client_rules::check(&Client::of(a)).map_err(Into::into);
    let updated = state
        .catalog
        .update_app(app.developer_id, app.id, patch, rules);
    updated.await.map_err(catalog_error)
}

/// RFC 7592 §2.3: the app and every token it holds are gone.
pub async fn delete(state: &AppState, app: &App) -> Result<(), OAuthError> {
    let deleted = state.catalog.delete_app(app.developer_id, app.id).await;
    deleted.map_err(catalog_error)
}

fn unavailable(e: CatalogError) -> OAuthError {
    match e {
        CatalogError::Store(e) => OAuthError::from(e),
        _ => OAuthError::unavailable(),
    }
}

fn catalog_error(e: CatalogError) -> OAuthError {
    match e {
        // Deleted meanwhile: as for an unknown client.
        CatalogError::NotFound(_) => bearer_error("a valid registration access token is required"),
        CatalogError::Invalid { field, message } => metadata_error(format!("{field}: {message}")),
        e => unavailable(e),
    }
}

/// The configured owner of dynamically registered apps, created on first use.
async fn registration_developer(state: &AppState) -> Result<Developer, OAuthError> {
    let owner = NewDeveloper {
        email: state.config.registration.developer_email.clone(),
        first_name: "Dynamic".into(),
        last_name: "Registration".into(),
        attributes: Default::default(),
    };
    state
        .catalog
        .developer_for_email(owner)
        .await
        .map_err(unavailable)
}
