//! `POST /register` — RFC 7591 dynamic client registration, guarded by an initial access token
//! (§3, sent as an RFC 6750 bearer token). Registered apps belong to the configured registration
//! developer. Only metadata the broker supports is accepted; unknown members are ignored (§2).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;
use tessera_shared::catalog::{NewApp, NewDeveloper};
use tessera_shared::crypto::constant_time_eq;
use tessera_shared::error::CatalogError;
use tessera_shared::model::{Developer, GrantType, RedirectUri};
use tessera_shared::oauth::{Challenge, ErrorCode, OAuthError};
use tessera_shared::scope::ScopeSet;

use super::form::{bearer_token, read_body};
use crate::error::OAuthResponse;
use crate::state::AppState;

/// The client metadata Tessera understands (RFC 7591 §2).
#[derive(Debug, Deserialize)]
struct Metadata {
    #[serde(default)]
    redirect_uris: Vec<String>,
    client_name: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    scope: Option<String>,
    token_endpoint_auth_method: Option<String>,
}

fn metadata_error(msg: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, msg.into())
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
    let ip = crate::ratelimit::client_ip(&req, &state);
    state
        .limits
        .per_ip(crate::ratelimit::Limit::RegisterIp, ip)
        .await
        .map_err(crate::ratelimit::Refusal::oauth)?;
    let presented = bearer_token(&req);
    if !constant_time_eq(presented.as_bytes(), expected.expose_secret().as_bytes()) {
        let mut e = OAuthError::new(
            ErrorCode::InvalidToken,
            "a valid initial access token is required",
        );
        e.challenge = Challenge::Bearer;
        return Err(e.into());
    }
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ctype.starts_with("application/json") {
        return Err(OAuthError::invalid_request("content type must be application/json").into());
    }
    let body = read_body(payload, state.config.server.max_body_bytes).await?;
    let meta: Metadata = serde_json::from_slice(&body)
        .map_err(|e| metadata_error(format!("malformed client metadata: {e}")))?;
    let new = check(meta, &state)?;
    let developer = registration_developer(&state).await?;
    let (app, issued) = state
        .catalog
        .create_app(developer.id, new)
        .await
        .map_err(|e| match e {
            CatalogError::Conflict { .. } => metadata_error("client_name is already registered"),
            CatalogError::Store(e) => e.into(),
            _ => OAuthError::unavailable(),
        })?;
    let grants: Vec<&str> = app.grant_types.iter().map(|g| g.as_str()).collect();
    let uris: Vec<&str> = app.redirect_uris.iter().map(RedirectUri::as_str).collect();
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "client_id": issued.credential.client_id,
            "client_secret": issued.secret.expose_secret(),
            "client_id_issued_at": issued.credential.created_at,
            "client_secret_expires_at": 0,
            "client_name": app.name,
            "redirect_uris": uris,
            "grant_types": grants,
            "token_endpoint_auth_method": if app.public { "none" } else { "client_secret_basic" },
            "scope": app.scopes.to_string(),
        })))
}

fn check(meta: Metadata, state: &AppState) -> Result<NewApp, OAuthError> {
    let redirect_uris = meta
        .redirect_uris
        .into_iter()
        .map(|u| {
            RedirectUri::try_from(u).map_err(|e| {
                OAuthError::new(ErrorCode::InvalidRedirectUri, format!("redirect_uris: {e}"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // §2: an omitted grant_types means ["authorization_code"].
    let asked = meta
        .grant_types
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    let mut grant_types = Vec::new();
    for g in &asked {
        let g = GrantType::parse(g).ok_or_else(|| {
            metadata_error(format!(
                "grant type '{}' is not supported",
                g.escape_default()
            ))
        })?;
        grant_types.push(g);
    }
    let wants_code = grant_types.contains(&GrantType::AuthorizationCode);
    // §2: response_types defaults to ["code"]; "code" goes with authorization_code only.
    match meta.response_types.as_deref() {
        None => {}
        Some([]) if !wants_code => {}
        Some([one]) if one == "code" && wants_code => {}
        Some(_) => {
            return Err(metadata_error(
                "response_types: only \"code\", together with the authorization_code grant",
            ))
        }
    }
    if wants_code && redirect_uris.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidRedirectUri,
            "redirect_uris: at least one is required for authorization_code",
        ));
    }
    let public = match meta.token_endpoint_auth_method.as_deref() {
        None | Some("client_secret_basic") | Some("client_secret_post") => false,
        // RFC 7591 §2: "none" is a public client; it may only use grants that need no secret.
        Some("none") => true,
        Some(other) => {
            return Err(metadata_error(format!(
                "token_endpoint_auth_method '{}' is not supported",
                other.escape_default()
            )))
        }
    };
    if public
        && grant_types
            .iter()
            .any(|g| !matches!(g, GrantType::AuthorizationCode | GrantType::RefreshToken))
    {
        return Err(metadata_error(
            "a public client may only use authorization_code and refresh_token",
        ));
    }
    let scopes = ScopeSet::parse(meta.scope.as_deref().unwrap_or(""))
        .map_err(|e| metadata_error(format!("scope: {e}")))?;
    let allowed = ScopeSet::try_from(state.config.registration.allowed_scopes.clone())
        .map_err(metadata_error)?;
    if !scopes.is_subset(&allowed) {
        return Err(metadata_error(
            "scope: not every requested scope may be registered",
        ));
    }
    let name = match meta.client_name {
        Some(n) => crate::admin::validate::app_name(&n).map_err(metadata_error)?,
        None => format!("dcr-{}", uuid::Uuid::new_v4().simple()),
    };
    Ok(NewApp {
        name,
        redirect_uris,
        grant_types,
        scopes,
        attributes: Default::default(),
        credential_ttl_secs: None,
        public,
        rate_plan: Default::default(),
    })
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
