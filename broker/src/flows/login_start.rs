//! The upstream leg of a user login, shared by `/authorize` and the device flow's code entry
//! (RFC 8628 §3.3): the pending login stored under a fresh upstream `state`, within the pending
//! logins' budget of the client's address, and the upstream authorize URL the browser goes to
//! with the broker's own `state`, `nonce` and PKCE. `/callback` completes it.

use std::net::IpAddr;

use tessera_shared::model::PendingLogin;
use tessera_shared::oauth::{ErrorCode, OAuthError};

use crate::ratelimit::budget::Budget;
use crate::state::AppState;

/// Stores `pending` (from `ip`) and returns the upstream authorize URL; an OAuth error for the
/// caller to answer in its own shape (a redirect to the app, a device page).
pub async fn upstream_leg(
    state: &AppState,
    ip: IpAddr,
    pending: &PendingLogin,
) -> Result<String, OAuthError> {
    let down = || {
        let down = "the identity provider is unavailable";
        OAuthError::new(ErrorCode::TemporarilyUnavailable, down)
    };
    // The provider the login is bound to (its id in `pending`), and no other.
    let upstream = state.upstreams.as_ref();
    let Some(upstream) = upstream.and_then(|u| u.bound(pending.upstream.as_deref())) else {
        return Err(down());
    };
    let ttl = state.config.tokens.login_ttl_secs;
    if let Err(r) = state.limits.budget(Budget::PendingLogins, ip, ttl).await {
        tracing::info!(budget = r.limiter, "pending login refused: budget spent");
        let busy = "too many logins in progress, retry later";
        return Err(OAuthError::new(ErrorCode::TemporarilyUnavailable, busy));
    }
    let upstream_state = state.logins.start(pending).await.map_err(|e| {
        tracing::warn!(cause = %e, "cannot store the pending login");
        OAuthError::unavailable()
    })?;
    let (nonce, verifier) = (&pending.upstream_nonce.0, &pending.upstream_verifier.0);
    let url = upstream
        .authorize_url(&upstream_state, nonce, verifier)
        .await;
    url.map_err(|e| {
        tracing::warn!(cause = %e, "upstream unavailable at the start of a login");
        down()
    })
}
