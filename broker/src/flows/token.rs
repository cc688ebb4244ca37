//! `POST /token` (RFC 6749 §3.2): authenticates the client, applies its limit and the client
//! rules, and dispatches on `grant_type` to one file per grant ([`super::grants`]).

use std::cell::Cell;
use std::net::IpAddr;

use tessera_shared::model::GrantType;
use tessera_shared::oauth::dpop::ProofError;
use tessera_shared::oauth::{ErrorCode, Form, OAuthError};

use super::client_auth::authenticate_at_token;
use super::client_rules;
use super::dpop;
use super::grants::response::TokenResponse;
use super::grants::{
    self, authorization_code, client_credentials, device_code, password, refresh_token,
    token_exchange,
};
use crate::http::credentials::Presented;
use crate::ratelimit::Limit;
use crate::state::AppState;

/// Answers the token request `form` of the client that presented `credentials` and the DPoP
/// `proof` (RFC 9449) from `ip`, in order: client authentication, the per-app limit, the grant
/// type (named in `grant` for the metrics), user login configured, the grant allowed for the
/// client, the proof, then the grant itself.
pub async fn exchange(
    state: &AppState,
    form: &Form,
    credentials: Presented,
    proof: Result<Option<&str>, ProofError>,
    ip: IpAddr,
    grant: &Cell<&'static str>,
) -> Result<TokenResponse, OAuthError> {
    let grant_type = form.required("grant_type")?;
    let mut client = authenticate_at_token(state, credentials, ip).await?;
    state.limits.per_app(Limit::Token, &client.app).await?;
    let Some(g) = GrantType::parse(grant_type) else {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "this grant type is not supported",
        ));
    };
    grant.set(g.as_str());
    if g.needs_upstream() {
        grants::user_login(state)?;
    }
    if !client_rules::may_use(&client.app, g) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("this client may not use the {} grant", g.as_str()),
        ));
    }
    client.dpop_jkt = dpop::binding(state, &client.app, proof).await?;
    // The grants that call the upstream provider or verify JWTs have large futures; boxed, they
    // no longer size this one, which actix moves into a box on every request (issue 11:
    // about 8 KiB copied per client_credentials call before).
    match g {
        GrantType::ClientCredentials => client_credentials::grant(form, &client, state).await,
        GrantType::AuthorizationCode => {
            Box::pin(authorization_code::grant(form, &client, state)).await
        }
        GrantType::RefreshToken => Box::pin(refresh_token::grant(form, &client, state)).await,
        GrantType::Password => Box::pin(password::grant(form, &client, state)).await,
        GrantType::TokenExchange => Box::pin(token_exchange::grant(form, &client, state)).await,
        GrantType::DeviceCode => Box::pin(device_code::grant(form, &client, state)).await,
    }
}
