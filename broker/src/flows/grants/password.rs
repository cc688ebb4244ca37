//! The resource owner password credentials grant (RFC 6749 §4.3), off unless enabled per app:
//! the broker passes the username and password to the upstream's token endpoint (as Okta
//! supports for its authorization servers), validates the returned `id_token`, and mints its own
//! tokens. The password is never stored or logged.

use crate::tokens::{Tokens, UserGrant};
use tessera_shared::model::GrantType;
use tessera_shared::oauth::{ErrorCode, OAuthError};

use super::response::TokenResponse;
use super::upstream;
use crate::flows::client_auth::AuthenticatedClient;
use crate::flows::scope::granted_scope;
use crate::state::AppState;
use crate::upstream::UpstreamError;
use tessera_shared::oauth::Form;

pub async fn grant(
    form: &Form,
    client: &AuthenticatedClient,
    state: &AppState,
) -> Result<TokenResponse, OAuthError> {
    let username = form.required("username")?;
    let password = form.required("password")?;
    let scope = granted_scope(form.get("scope"), &client.app.scopes)?;
    // Before the upstream is asked: credential stuffing stops here, not at Okta.
    state.limits.password(client.ip, username).await?;
    let up = upstream(state)?;
    let login = up.password(username, password).await;
    let identity = login.and_then(|l| up.identity(l)).map_err(|e| match e {
        UpstreamError::Unavailable(cause) => {
            tracing::warn!(%cause, "upstream unavailable for the password grant");
            OAuthError::unavailable()
        }
        UpstreamError::Rejected(cause) => {
            tracing::info!(%cause, "password grant rejected upstream");
            OAuthError::new(
                ErrorCode::InvalidGrant,
                "the resource owner credentials are invalid",
            )
        }
    })?;
    let issued = state
        .tokens
        .start_family(
            UserGrant {
                app: &client.app,
                client_id: &client.client_id,
                grant: GrantType::Password,
                scope,
                identity,
                refresh: client.app.grant_types.contains(&GrantType::RefreshToken),
            },
            Tokens::new_family_id(),
        )
        .await?;
    state.metrics.token_issued(GrantType::Password.as_str());
    TokenResponse::for_user(state, issued, None)
}
