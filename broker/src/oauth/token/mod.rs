//! `POST /token` (RFC 6749 §3.2): reads the form, authenticates the client, dispatches on
//! `grant_type` to one file per grant, and answers with `Cache-Control: no-store` (§5.1).

mod authorization_code;
mod client_credentials;
mod password;
mod refresh_token;
mod subject;
mod token_exchange;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use tessera_shared::model::GrantType;
use tessera_shared::oauth::{ErrorCode, OAuthError};

use super::client_auth::authenticate_at_token;
use crate::ratelimit::Limit;
use crate::state::AppState;
use tessera_shared::oauth::Form;
use tessera_shared::oauth::OAuthResponse;

/// RFC 6749 §5.1 successful response.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// An id_token the broker minted for this app, when `openid` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// RFC 8693 §2.2.1, for token exchange.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
}

impl TokenResponse {
    /// The answer for a user grant: access token, refresh token if any, and — when `openid` was
    /// granted (OpenID Connect Core §3.1.3.3) — an id_token the broker mints for this app, with
    /// the app's `nonce` from its authorization request if there was one ([`crate::idtoken`]).
    /// The upstream's own id_token is never handed to apps.
    pub fn for_user(
        state: &AppState,
        issued: crate::tokens::Issued,
        nonce: Option<&str>,
    ) -> Result<Self, OAuthError> {
        let rec = &issued.access.record;
        let id_token = match (&state.id_tokens, rec.scope.contains("openid")) {
            (Some(keys), true) => Some(
                keys.mint(&crate::idtoken::Subject {
                    client_id: &rec.client_id,
                    sub: &issued.identity.sub,
                    auth_time: issued.identity.auth_time,
                    nonce,
                    access_token: &issued.access.token,
                    family: &issued.family,
                })
                .map_err(|e| {
                    tracing::error!(cause = %e, "cannot sign an id_token");
                    OAuthError::new(ErrorCode::ServerError, "internal error")
                })?,
            ),
            _ => None,
        };
        let expires_in = (rec.exp - rec.iat).max(0) as u64;
        Ok(TokenResponse {
            scope: rec.scope.to_string(),
            access_token: issued.access.token,
            token_type: "Bearer",
            expires_in,
            refresh_token: issued.refresh_token,
            id_token,
            issued_token_type: None,
        })
    }
}

/// `unauthorized_client` unless the app may use `grant` (a public client: only the code and
/// refresh grants).
pub fn require_grant(
    client: &crate::oauth::client_auth::AuthenticatedClient,
    grant: GrantType,
) -> Result<(), OAuthError> {
    let public_ok = matches!(
        grant,
        GrantType::AuthorizationCode | GrantType::RefreshToken
    );
    if client.app.grant_types.contains(&grant) && (public_ok || !client.app.public) {
        Ok(())
    } else {
        Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("this client may not use the {} grant", grant.as_str()),
        ))
    }
}

/// The upstream provider, or `unsupported_grant_type` when user login is not configured.
pub fn upstream(state: &AppState) -> Result<&crate::upstream::Upstream, OAuthError> {
    state.upstream.as_deref().ok_or_else(|| {
        OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "user grants are not configured on this server",
        )
    })
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
    let client = authenticate_at_token(req, &form, state).await?;
    state.limits.per_app(Limit::Token, &client.app).await?;
    let Some(g) = GrantType::parse(grant_type) else {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "this grant type is not supported",
        ));
    };
    grant.set(g.as_str());
    if g.needs_upstream() {
        upstream(state)?;
    }
    require_grant(&client, g)?;
    match g {
        GrantType::ClientCredentials => client_credentials::grant(&form, &client, state).await,
        GrantType::AuthorizationCode => authorization_code::grant(&form, &client, state).await,
        GrantType::RefreshToken => refresh_token::grant(&form, &client, state).await,
        GrantType::Password => password::grant(&form, &client, state).await,
        GrantType::TokenExchange => token_exchange::grant(&form, &client, state).await,
    }
}
