//! The grants of `POST /token`, one file each, behind the token endpoint's dispatch: each
//! takes the checked form and the authenticated client and returns the token response.
//!
//! * [`client_credentials`] (RFC 6749 §4.4), [`authorization_code`] (§4.1.3, RFC 7636 §4.6),
//!   [`refresh_token`] (§6), [`password`] (§4.3), [`token_exchange`] (RFC 8693) with
//!   [`subject`], the subject tokens it accepts; [`device_code`] (RFC 8628 §3.4).
//! * [`response`] — [`response::TokenResponse`], the §5.1 answer; `response_json` — its JSON,
//!   written by hand.
//! * [`stuffing`] — credential stuffing on the password grant (`[abuse]`): flags and blocks.

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod password;
pub mod refresh_token;
pub mod response;
mod response_json;
pub mod stuffing;
pub mod subject;
pub mod token_exchange;

use std::sync::Arc;

use tessera_shared::model::{App, GrantType, Identity};
use tessera_shared::oauth::{ErrorCode, OAuthError};
use tessera_shared::scope::ScopeSet;

use super::client_auth::AuthenticatedClient;
use crate::state::AppState;
use crate::tokens::{Issued, UserGrant};
use crate::upstream::Upstream;

/// `unsupported_grant_type` when user login is not configured.
pub fn user_login(state: &AppState) -> Result<(), OAuthError> {
    match state.upstreams {
        Some(_) => Ok(()),
        None => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "user grants are not configured on this server",
        )),
    }
}

/// The upstream provider of `app`'s user grants (its own default,
/// [`crate::flows::upstream_choice::app_default`]); [`user_login`]'s error without one.
pub fn upstream(state: &AppState, app: &App) -> Result<Arc<Upstream>, OAuthError> {
    user_login(state)?;
    let upstreams = state.upstreams.as_ref();
    upstreams
        .and_then(|u| crate::flows::upstream_choice::app_default(u, app))
        .ok_or_else(|| {
            OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "none of this client's identity providers is configured",
            )
        })
}

/// The provider an upstream JWT `raw` presented by `app` is verified against: the one its
/// `iss` names when the app may use it ([`crate::flows::upstream_choice::by_token`]), else the
/// app's default ([`upstream`]).
pub fn upstream_of_token(
    state: &AppState,
    app: &App,
    raw: &str,
) -> Result<Arc<Upstream>, OAuthError> {
    let named = state.upstreams.as_ref();
    match named.and_then(|u| crate::flows::upstream_choice::by_token(u, app, raw)) {
        Some(up) => Ok(up),
        None => upstream(state, app),
    }
}

/// Starts the login `family` of `identity` for `client` through `grant`, with a refresh token
/// when the app may refresh; its first tokens, counted as issued.
pub async fn start_login(
    state: &AppState,
    client: &AuthenticatedClient,
    grant: GrantType,
    scope: ScopeSet,
    identity: Identity,
    family: String,
) -> Result<Issued, OAuthError> {
    let user = UserGrant {
        app: &client.app,
        client_id: &client.client_id,
        grant,
        scope,
        identity,
        refresh: client.app.grant_types.contains(&GrantType::RefreshToken),
        jkt: client.dpop_jkt.clone(),
    };
    let issued = state.tokens.start_family(user, family).await?;
    state.metrics.token_issued(grant);
    Ok(issued)
}
