//! RFC 8693 token exchange, opt-in per app (the token exchange grant in its `grant_types`; never
//! through dynamic registration). A subject token in — an id_token the broker minted for this
//! app, or an upstream access token from an allowed client ([`super::subject`]: single use,
//! fresh) — a Tessera access token out:
//! * for a broker id_token, an access token of the same login (revoking the login revokes it),
//!   within the login's scope;
//! * for an upstream access token, a new login mapped to its subject and claims, within the
//!   app's scopes and the token's own `scp`/`scope` — the seeds' "access token minted in Okta
//!   but recognized in the gateway".
//!
//! Errors follow §2.2.2: an unsupported or refused subject token is `invalid_request`, scope
//! beyond what is allowed is `invalid_scope`. No refresh token and no id_token are issued.

use tessera_shared::model::{GrantType, Identity};
use tessera_shared::oauth::Form;
use tessera_shared::oauth::{ErrorCode, OAuthError};
use tessera_shared::scope::ScopeSet;
use tessera_shared::time::now;

use super::response::TokenResponse;
use super::subject::{check, Subject};
use super::upstream;
use crate::flows::client_auth::AuthenticatedClient;
use crate::flows::scope::granted_scope;
use crate::state::AppState;
use crate::tokens::{Issued, Tokens, UserGrant};
use crate::upstream::claims;
use crate::upstream::jwt::UpstreamToken;
use crate::upstream::Upstream;

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
    upstream(state, &client.app)?;
    let scope = granted_scope(form.get("scope"), client.app.effective_scopes())?;
    let checked = check(subject, kind, client, state).await?;
    // Every scope rule is checked before the subject token is marked used.
    let scope = match &checked.subject {
        Subject::UpstreamAccess(c, _) => upstream_scope(form, scope, c)?,
        Subject::Login(_) => scope,
    };
    let asked = form.get("scope").is_some();
    let issued = match checked.consume(state).await? {
        Subject::Login(family) => state
            .tokens
            .mint_in_family(
                &client.app,
                &family,
                asked.then_some(scope),
                client.dpop_jkt.clone(),
            )
            .await?
            .ok_or_else(|| {
                OAuthError::invalid_request(
                    "the login behind the subject_token is not active, or the scope exceeds it",
                )
            })?,
        Subject::UpstreamAccess(c, up) => exchange_upstream(client, state, scope, c, &up).await?,
    };
    state.metrics.token_issued(GrantType::TokenExchange);
    let mut resp = TokenResponse::for_user(state, issued, None)?;
    resp.id_token = None;
    resp.issued_token_type = Some(ACCESS_TOKEN);
    Ok(resp)
}

/// The scope for an upstream access token: what was asked (within the app's and the token's
/// own), or what both allow.
fn upstream_scope(
    form: &Form,
    mut scope: ScopeSet,
    claims_in: &serde_json::Map<String, serde_json::Value>,
) -> Result<ScopeSet, OAuthError> {
    let held = subject_scopes(claims_in).unwrap_or_default();
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
    Ok(scope)
}

/// A new login for the subject of an upstream access token issued by `upstream` (its claims
/// mapped by that provider's claim map).
async fn exchange_upstream(
    client: &AuthenticatedClient,
    state: &AppState,
    scope: ScopeSet,
    claims_in: serde_json::Map<String, serde_json::Value>,
    upstream: &Upstream,
) -> Result<Issued, OAuthError> {
    let sub = claims_in
        .get("sub")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("the subject_token has no sub"))?
        .to_string();
    // The broker's subject is namespaced by provider (security review F1).
    let broker_sub = upstream.subject(&sub).map_err(|e| {
        tracing::info!(cause = %e, "subject_token refused");
        OAuthError::invalid_request("the subject_token's sub is not accepted from this provider")
    })?;
    let identity = Identity {
        upstream_sub: (broker_sub != sub).then_some(sub),
        sub: broker_sub,
        claims: claims::map(upstream.config(), &claims_in),
        id_token: None,
        id_token_sealed: None,
        auth_time: claims_in
            .get("auth_time")
            .and_then(|v| v.as_i64())
            .unwrap_or_else(now),
        sid: None,
        idp: Some(upstream.id().to_string()),
    };
    Ok(state
        .tokens
        .start_family(
            UserGrant {
                app: &client.app,
                client_id: &client.client_id,
                grant: GrantType::TokenExchange,
                scope,
                identity,
                refresh: false,
                jkt: client.dpop_jkt.clone(),
            },
            Tokens::new_family_id(),
        )
        .await?)
}
