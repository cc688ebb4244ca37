//! The client credentials grant (RFC 6749 §4.4): the app acts on its own behalf, so the token has
//! no subject. Scope: what was asked for, which must be within the app's scopes (its API
//! products); nothing asked means all of them (§3.3 lets the server pick a default).

use tessera_shared::model::GrantType;
use tessera_shared::oauth::Form;
use tessera_shared::oauth::OAuthError;

use super::response::{token_type, TokenResponse};
use crate::flows::client_auth::AuthenticatedClient;
use crate::flows::scope::granted_scope;
use crate::state::AppState;
use crate::tokens::Grant;

pub async fn grant(
    form: &Form,
    client: &AuthenticatedClient,
    state: &AppState,
) -> Result<TokenResponse, OAuthError> {
    let app = &client.app;
    let scope = granted_scope(form.get("scope"), app.effective_scopes())?;
    let ttl = state.config.tokens.access_token_ttl_secs;
    let minted = state
        .tokens
        .mint(Grant {
            app,
            client_id: &client.client_id,
            grant: GrantType::ClientCredentials,
            scope,
            sub: None,
            ttl_secs: ttl,
            jkt: client.dpop_jkt.clone(),
        })
        .await?;
    state.metrics.token_issued(GrantType::ClientCredentials);
    Ok(TokenResponse {
        token_type: token_type(&minted.record),
        access_token: minted.token,
        expires_in: ttl,
        scope: minted.record.scope,
        refresh_token: None,
        id_token: None,
        issued_token_type: None,
    })
}
