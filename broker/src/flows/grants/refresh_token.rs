//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection; the rules live in
//! [`crate::tokens`]. Scope may narrow, never widen.

use tessera_shared::model::GrantType;
use tessera_shared::oauth::Form;
use tessera_shared::oauth::{ErrorCode, OAuthError};
use tessera_shared::scope::ScopeSet;

use super::response::TokenResponse;
use crate::flows::client_auth::AuthenticatedClient;
use crate::state::AppState;
use crate::tokens::RefreshError;

pub async fn grant(
    form: &Form,
    client: &AuthenticatedClient,
    state: &AppState,
) -> Result<TokenResponse, OAuthError> {
    let token = form.required("refresh_token")?;
    let scope = form
        .get("scope")
        .map(ScopeSet::parse)
        .transpose()
        .map_err(|_| crate::flows::scope::malformed())?;
    match state
        .tokens
        .refresh(
            token,
            &client.client_id,
            &client.app,
            scope,
            client.dpop_jkt.as_deref(),
        )
        .await
    {
        Ok(issued) => {
            state.metrics.token_issued(GrantType::RefreshToken);
            // OIDC Core §12.2: a refreshed id_token carries no nonce.
            TokenResponse::for_user(state, issued, None)
        }
        Err(RefreshError::Binding) => Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            "the refresh token is bound to another DPoP key",
        )),
        Err(RefreshError::Scope) => Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "the requested scope exceeds the original grant",
        )),
        Err(RefreshError::Reused) => {
            tracing::warn!(client_id = %client.client_id, "refresh token reused; login revoked");
            Err(OAuthError::new(
                ErrorCode::InvalidGrant,
                "the refresh token was already used",
            ))
        }
        Err(RefreshError::Invalid) => Err(OAuthError::new(
            ErrorCode::InvalidGrant,
            "the refresh token is invalid, expired or revoked",
        )),
        Err(RefreshError::Store(e)) => Err(e.into()),
    }
}
