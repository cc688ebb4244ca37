//! The resource owner password credentials grant (RFC 6749 §4.3), off unless enabled per app:
//! the broker passes the username and password to the upstream's token endpoint (as Okta
//! supports for its authorization servers), validates the returned `id_token`, and mints its own
//! tokens. The password is never stored or logged.

use tessera_shared::model::GrantType;
use tessera_shared::oauth::Form;
use tessera_shared::oauth::{ErrorCode, OAuthError};

use super::response::TokenResponse;
use super::start_login;
use super::upstream;
use crate::flows::client_auth::AuthenticatedClient;
use crate::flows::scope::granted_scope;
use crate::state::AppState;
use crate::tokens::Tokens;
use crate::upstream::UpstreamError;

pub async fn grant(
    form: &Form,
    client: &AuthenticatedClient,
    state: &AppState,
) -> Result<TokenResponse, OAuthError> {
    let username = form.required("username")?;
    let password = form.required("password")?;
    let scope = granted_scope(form.get("scope"), client.app.effective_scopes())?;
    // Before the upstream is asked: credential stuffing stops here, not at Okta.
    state.limits.password(client.ip, username).await?;
    state.stuffing.check(client.ip, username).await?;
    let up = upstream(state, &client.app)?;
    let login = up.password(username, password).await;
    if matches!(login, Err(UpstreamError::Rejected(_))) {
        state.stuffing.failed(client.ip, username).await;
    }
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
    let family = Tokens::new_family_id();
    let issued = start_login(state, client, GrantType::Password, scope, identity, family).await?;
    TokenResponse::for_user(state, issued, None)
}
