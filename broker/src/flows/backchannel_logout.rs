//! `POST /backchannel_logout`: the upstream ends a session (OpenID Connect Back-Channel Logout
//! 1.0), and every login of that session — or of that user, when the logout token names only
//! the user — ends at once.
//!
//! Here the broker is the relying party: the operator registers `{issuer}/backchannel_logout`
//! as the broker client's `backchannel_logout_uri` at the upstream (§2.2). The logout token is
//! validated as §2.6 says ([`crate::upstream::logout_token`]); a `jti` seen before within the
//! token's acceptance window is a replay and refused (§2.6 step 8, a `SET NX` mark in the
//! store). Then the logins are revoked through the ordinary family revocation, so the proxies
//! drop their cached tokens on the revocation channel (§2.7).
//!
//! With several upstream providers, the token is validated against the provider its `iss`
//! names (its keys, its client id as `aud`), and only that provider's logins end: logins are
//! indexed under the issuer of the provider that authenticated them. Every refusal is 400
//! `invalid_request` (§2.8) with a description that never repeats the token; a store or
//! upstream outage is 503, which an upstream may retry.

use std::net::IpAddr;

use tessera_shared::oauth::{ErrorCode, Form, OAuthError};

use crate::ratelimit::Limit;
use crate::state::AppState;
use crate::upstream::UpstreamError;

/// Most bytes of a back-channel logout request body (a logout token is well under 8 KiB).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Validates the `logout_token` of `form`, sent from `ip`, and revokes the logins it names;
/// returns how many there were.
pub async fn logout(state: &AppState, form: &Form, ip: IpAddr) -> Result<usize, OAuthError> {
    // The upstream calls from its own addresses: the per-IP limit of the upstream's other
    // callback bounds what anyone else can make the broker verify.
    let limited = state.limits.per_ip(Limit::CallbackIp, ip).await;
    limited.map_err(|r| r.oauth())?;
    let Some(upstreams) = &state.upstreams else {
        return Err(OAuthError::invalid_request(
            "back-channel logout needs an upstream identity provider",
        ));
    };
    let raw = form.required("logout_token")?;
    // The provider the token's `iss` names; its keys and rules alone decide (§2.6 step 3).
    let Some(upstream) = upstreams.for_jwt(raw) else {
        tracing::warn!("back-channel logout token of no configured issuer; refused");
        return Err(OAuthError::invalid_request("the logout token is not valid"));
    };
    let token = match upstream.verify_logout_token(raw).await {
        Ok(t) => t,
        Err(UpstreamError::Rejected(cause)) => {
            tracing::warn!(%cause, "back-channel logout token refused");
            return Err(OAuthError::invalid_request("the logout token is not valid"));
        }
        Err(UpstreamError::Unavailable(cause)) => {
            tracing::warn!(%cause, "upstream unavailable at /backchannel_logout");
            let down = "the identity provider is unavailable";
            return Err(OAuthError::new(ErrorCode::TemporarilyUnavailable, down));
        }
    };
    let cfg = upstream.config();
    let window = cfg.logout_token_max_age_secs + 2 * cfg.leeway_secs;
    let mark = format!("logout_jti\u{0}{}\u{0}{}", cfg.issuer, token.jti);
    if !state.logins.first_use(&mark, window).await? {
        tracing::warn!("back-channel logout token replayed; refused");
        return Err(OAuthError::invalid_request(
            "the logout token was already used",
        ));
    }
    let (sid, sub) = (token.sid.as_deref(), token.sub.as_deref());
    let revoked = state.tokens.revoke_upstream(&cfg.issuer, sid, sub).await?;
    tracing::info!(
        revoked,
        upstream = upstream.id(),
        by_session = token.sid.is_some(),
        "upstream logout: logins revoked"
    );
    Ok(revoked)
}
