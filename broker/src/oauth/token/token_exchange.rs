//! RFC 8693 token exchange: an upstream-issued token in (an Okta JWT access token or an
//! `id_token`, validated against the upstream JWKS, issuer and audience), a Tessera access token
//! out, mapped to the same identity — the seeds' "access token minted in Okta but recognized in
//! the gateway". Errors follow §2.2.2: an unsupported or invalid subject token is
//! `invalid_request`, scope beyond the subject token's or the app's is `invalid_scope`.

use tessera_shared::model::{GrantType, Identity, Sensitive};
use tessera_shared::oauth::{ErrorCode, OAuthError};
use tessera_shared::scope::ScopeSet;
use tessera_shared::time::now;
use tessera_shared::tokens::{Tokens, UserGrant};

use super::{upstream, TokenResponse};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::form::Form;
use crate::oauth::scope::granted_scope;
use crate::state::AppState;
use crate::upstream::claims;
use crate::upstream::jwt::UpstreamToken;
use crate::upstream::UpstreamError;

const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

/// The scopes an upstream access token carries: Okta's `scp` array, or an RFC 9068 `scope`.
fn subject_scopes(c: &serde_json::Map<String, serde_json::Value>) -> Option<ScopeSet> {
    if let Some(arr) = c.get("scp").and_then(|v| v.as_array()) {
        let v: Vec<String> = arr
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect();
        return ScopeSet::try_from(v).ok();
    }
    c.get("scope")
        .and_then(|v| v.as_str())
        .and_then(|s| ScopeSet::parse(s).ok())
}

pub async fn grant(
    form: &Form,
    client: &AuthenticatedClient,
    state: &AppState,
) -> Result<TokenResponse, OAuthError> {
    let subject = form.required("subject_token")?;
    let kind = match form.required("subject_token_type")? {
        ACCESS_TOKEN | JWT => UpstreamToken::AccessToken,
        ID_TOKEN => UpstreamToken::IdToken,
        _ => {
            return Err(OAuthError::invalid_request(
                "unsupported subject_token_type",
            ))
        }
    };
    if form
        .get("requested_token_type")
        .is_some_and(|t| t != ACCESS_TOKEN)
    {
        return Err(OAuthError::invalid_request(
            "only access tokens can be issued",
        ));
    }
    if form.get("actor_token").is_some() || form.get("actor_token_type").is_some() {
        return Err(OAuthError::invalid_request(
            "delegation (actor_token) is not supported",
        ));
    }
    let up = upstream(state)?;
    let claims_in = up.verify_jwt(subject, kind).await.map_err(|e| match e {
        UpstreamError::Unavailable(cause) => {
            tracing::warn!(%cause, "upstream unavailable for token exchange");
            OAuthError::unavailable()
        }
        UpstreamError::Rejected(cause) => {
            tracing::info!(%cause, "subject_token rejected");
            OAuthError::invalid_request("the subject_token is invalid")
        }
    })?;
    let mut scope = granted_scope(form.get("scope"), &client.app.scopes)?;
    if kind == UpstreamToken::AccessToken {
        let held = subject_scopes(&claims_in).unwrap_or_default();
        match form.get("scope") {
            Some(_) if !scope.is_subset(&held) => {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "the requested scope exceeds the subject token's",
                ))
            }
            Some(_) => {}
            // Nothing asked: what both the app and the subject token allow.
            None => {
                let both: Vec<String> = scope
                    .iter()
                    .filter(|s| held.contains(s))
                    .map(str::to_string)
                    .collect();
                scope = ScopeSet::try_from(both).unwrap_or_default();
            }
        }
    }
    let sub = claims_in
        .get("sub")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("the subject_token has no sub"))?
        .to_string();
    let identity = Identity {
        sub,
        claims: claims::map(up.config(), &claims_in),
        id_token: (kind == UpstreamToken::IdToken).then(|| Sensitive(subject.to_string())),
        auth_time: claims_in
            .get("auth_time")
            .and_then(|v| v.as_i64())
            .unwrap_or_else(now),
    };
    let issued = state
        .tokens
        .start_family(
            UserGrant {
                app: &client.app,
                client_id: &client.client_id,
                grant: GrantType::TokenExchange,
                scope,
                identity,
                refresh: false,
            },
            Tokens::new_family_id(),
        )
        .await?;
    state
        .metrics
        .token_issued(GrantType::TokenExchange.as_str());
    let mut resp = TokenResponse::for_user(issued);
    resp.id_token = None;
    resp.issued_token_type = Some(ACCESS_TOKEN);
    Ok(resp)
}
