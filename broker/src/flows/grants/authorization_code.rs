//! The authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.6).
//!
//! The code must be the client's own, for the same redirect URI, with the right PKCE verifier;
//! none of those failures consumes it or revokes anything (a wrong guess must not let an
//! attacker burn or poison a real code). Then the code is claimed atomically: exactly one
//! redemption wins, and any later one is `invalid_grant` **and** revokes everything the winner
//! was issued (§4.1.2, RFC 9700 §4.5).

use tessera_shared::model::GrantType;
use tessera_shared::oauth::pkce;
use tessera_shared::oauth::Form;
use tessera_shared::oauth::{ErrorCode, OAuthError};
use tessera_shared::store::CodeClaim;

use super::response::TokenResponse;
use super::start_login;
use crate::flows::client_auth::AuthenticatedClient;
use crate::state::AppState;
use crate::tokens::Tokens;

fn invalid_grant(msg: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, msg)
}

pub async fn grant(
    form: &Form,
    client: &AuthenticatedClient,
    state: &AppState,
) -> Result<TokenResponse, OAuthError> {
    let code = form.required("code")?;
    let rec = state
        .logins
        .peek_code(code)
        .await?
        .ok_or_else(|| invalid_grant("the code is invalid or expired"))?;
    if rec.client_id != client.client_id {
        return Err(invalid_grant("the code was issued to another client"));
    }
    match form.get("redirect_uri") {
        Some(r) if r != rec.redirect_uri => {
            return Err(invalid_grant("redirect_uri does not match"))
        }
        None if rec.redirect_uri_explicit => {
            return Err(OAuthError::invalid_request(
                "missing parameter 'redirect_uri'",
            ))
        }
        _ => {}
    }
    match (&rec.code_challenge, form.get("code_verifier")) {
        (Some(challenge), Some(v)) if pkce::verify(v, challenge) => {}
        (Some(_), _) => return Err(invalid_grant("PKCE verification failed")),
        (None, Some(_)) => return Err(invalid_grant("no PKCE challenge was sent for this code")),
        (None, None) => {}
    }
    let rec_nonce = rec.nonce.clone();
    let family = Tokens::new_family_id();
    match state.logins.claim_code(code, &family).await? {
        CodeClaim::Won => {}
        CodeClaim::Gone => return Err(invalid_grant("the code is invalid or expired")),
        CodeClaim::Replayed(first) => {
            tracing::warn!(client_id = %client.client_id, "authorization code replayed; revoking its tokens");
            state.tokens.revoke_family(&first).await?;
            return Err(invalid_grant("the code was already used"));
        }
    }
    let grant = GrantType::AuthorizationCode;
    let issued = start_login(state, client, grant, rec.scope, rec.identity, family).await?;
    TokenResponse::for_user(state, issued, rec_nonce.as_deref())
}
