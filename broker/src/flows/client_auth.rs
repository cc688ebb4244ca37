//! Client authentication at the token, introspection and revocation endpoints
//! (RFC 6749 §2.3.1): `client_secret_basic` or `client_secret_post`, never both at once; a public
//! app authenticates with `none`. At the token endpoint, an app with a registered
//! `token_endpoint_auth_method` (RFC 7591 §2; every dynamically registered one) must use exactly
//! that method. Introspection and revocation accept either secret method: RFC 7591 registers a
//! method for the token endpoint only, and standard clients (authlib) authenticate there with
//! their own default, `client_secret_basic`.
//!
//! Every failure — unknown client, wrong secret, revoked or expired credential, revoked app —
//! gives the same `invalid_client`, and an unknown client still costs one HMAC verification, so
//! neither the answer nor its timing tells which it was.
//!
//! Failures are counted per client IP and per client_id (`ratelimit::backoff`); while
//! a back-off is in force the answer is 429 `slow_down` whatever the secret. The back-off is
//! read alongside the client lookup (from the store only while the IP or client may be in one:
//! `ratelimit::suspects`), the secret is verified either way, and a refusal costs the same
//! store work whether the guess was right or wrong: a refused guess is not told from a wrong
//! one, by its answer or by its timing.

use std::net::IpAddr;
use std::sync::Arc;

use tessera_shared::model::App;
use tessera_shared::oauth::OAuthError;
use tessera_shared::time::now;

use crate::http::credentials::Presented;
use crate::state::AppState;

/// A client that proved who it is.
#[derive(Debug)]
pub struct AuthenticatedClient {
    pub client_id: String,
    /// Shared with the apps kept in process (not copied per request).
    pub app: Arc<App>,
    /// The address it called from (for per-IP limits).
    pub ip: IpAddr,
    /// The thumbprint of the DPoP key it proved in this token request (RFC 9449 §5): what the
    /// tokens it gets are bound to. Set by [`super::dpop`].
    pub dpop_jkt: Option<String>,
}

/// Stands in for a stored secret hash when the client is unknown, so the work done is the same.
const DUMMY_HASH: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// Authenticates the client that presented `p` from `ip` at the token endpoint (its
/// registered method only), or fails with `invalid_client` (401).
pub async fn authenticate_at_token(
    state: &AppState,
    p: Presented,
    ip: IpAddr,
) -> Result<AuthenticatedClient, OAuthError> {
    check(state, p, ip, true).await
}

/// Authenticates the client that presented `p` from `ip` (any secret method), or fails with
/// `invalid_client` (401).
pub async fn authenticate(
    state: &AppState,
    p: Presented,
    ip: IpAddr,
) -> Result<AuthenticatedClient, OAuthError> {
    check(state, p, ip, false).await
}

async fn check(
    state: &AppState,
    p: Presented,
    ip: IpAddr,
    registered_method_only: bool,
) -> Result<AuthenticatedClient, OAuthError> {
    let (wait, app) = tokio::join!(
        state.limits.auth_wait(ip, &p.client_id),
        state.catalog.app_for_client_shared(&p.client_id)
    );
    let app = app?;
    let verified = match app.as_ref().and_then(|a| a.credential(&p.client_id)) {
        Some(cred) if p.secret.expose().is_empty() => {
            app.as_ref().is_some_and(|a| a.public) && cred.is_live(now())
        }
        Some(cred) => {
            let secret_ok = state
                .keys
                .verify_secret(p.secret.expose(), &cred.secret_hash);
            secret_ok && cred.is_live(now())
        }
        None => {
            let _ = state.keys.verify_secret(p.secret.expose(), DUMMY_HASH);
            false
        }
    };
    let verified = match &app {
        // A public app authenticates without a secret, and a secret proves nothing for it.
        Some(a) if a.public => verified && p.secret.expose().is_empty(),
        // RFC 7591 §2: at the token endpoint, the registered method and no other.
        Some(a) => {
            let method_ok =
                !registered_method_only || a.auth_method.is_none_or(|m| p.method == Some(m));
            verified && !p.secret.expose().is_empty() && method_ok
        }
        None => false,
    };
    let ok = verified && app.as_ref().is_some_and(|a| a.is_active());
    if let Some(refusal) = wait {
        // Right or wrong, the same work: only a wrong guess is recorded.
        state.limits.auth_failed(ip, &p.client_id, !ok).await;
        return Err(refusal.oauth());
    }
    match app {
        Some(app) if ok => Ok(AuthenticatedClient {
            client_id: p.client_id,
            app,
            ip,
            dpop_jkt: None,
        }),
        _ => {
            state.limits.auth_failed(ip, &p.client_id, true).await;
            Err(OAuthError::invalid_client(p.challenge))
        }
    }
}
