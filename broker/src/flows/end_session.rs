//! `/end_session`: an app logs its user out (OpenID Connect RP-Initiated Logout 1.0), and the
//! upstream session ends too.
//!
//! * §2: `id_token_hint` — an id_token this broker minted for the login, its signature checked
//!   even when it has expired, but minted at most `id_token.end_session_hint_max_age_secs` ago
//!   (an old id_token must not make a logout link) — names the login (its `sid`); `client_id`, when sent, must be
//!   the hint's audience; `post_logout_redirect_uri`, when sent, must be byte for byte one the
//!   app registered (§3.1: otherwise an error page, never a redirect to it); `state` goes back
//!   with it (§3).
//! * The login (its token family) is revoked at once — access tokens at the proxies included,
//!   through the revocation channel — before the browser goes anywhere.
//! * When the upstream publishes an `end_session_endpoint` and the login holds the upstream
//!   `id_token` (kept sealed), the browser goes there with that `id_token` as the hint and the
//!   broker's own `{issuer}/end_session/callback` as the post-logout redirect, under a fresh
//!   single-use `state` of the broker's; the callback ([`finish`]) then sends it to the app's
//!   `post_logout_redirect_uri` with the app's `state`. Otherwise it goes there directly.
//! * Without a `post_logout_redirect_uri`, the journey ends on a "signed out" page (§4).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use tessera_shared::oauth::caps::END_SESSION;
use tessera_shared::oauth::Form;

use super::LoginError;
use crate::idtoken::HintError;
use crate::ratelimit::Limit;
use crate::state::AppState;

/// Where the browser goes next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A redirect to this URL (the upstream's end-session endpoint, or the app's
    /// `post_logout_redirect_uri` with its `state`).
    Redirect(String),
    /// The "signed out" page: the app named no `post_logout_redirect_uri`.
    SignedOut,
}

/// The app's return, kept under the broker's `state` while the upstream logs out. Pending
/// logins share the namespace: `deny_unknown_fields` keeps a login's record (taken with an
/// `/authorize` state) from reading as a logout's return.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PendingLogout {
    redirect_uri: Option<String>,
    state: Option<String>,
}

/// Ends the login `params` names for the browser at `ip`; where the browser goes next.
pub async fn end(state: &AppState, params: &Form, ip: IpAddr) -> Result<Next, LoginError> {
    let limited = state.limits.per_ip(Limit::AuthorizeIp, ip).await;
    limited.map_err(LoginError::Limited)?;
    params
        .check(&END_SESSION)
        .map_err(|e| LoginError::page(400, "Invalid request", e.description))?;
    let (Some(ids), Some(_)) = (&state.id_tokens, &state.upstream) else {
        return Err(LoginError::not_configured());
    };
    let bad = |why: &'static str| LoginError::page(400, "Logout failed", why);
    let hint = params
        .get("id_token_hint")
        .ok_or_else(|| bad("the id_token_hint is required"))?;
    let claims = ids.verify_hint(hint).map_err(|e| match e {
        HintError::NotOurs => bad("the id_token_hint was not issued by this server"),
        HintError::TooOld => bad("the id_token_hint is too old; sign in again to sign out"),
    })?;
    if params.get("client_id").is_some_and(|c| c != claims.aud) {
        return Err(bad("client_id is not the id_token_hint's audience"));
    }
    let unavailable = |e: tessera_shared::error::StoreError| {
        tracing::warn!(cause = %e, "store unavailable at /end_session");
        LoginError::unavailable()
    };
    let app = state.catalog.app_for_client(&claims.aud).await;
    let app = app
        .map_err(unavailable)?
        .ok_or_else(|| bad("the id_token_hint's client is unknown"))?;
    let target = params.get("post_logout_redirect_uri");
    if target.is_some_and(|u| {
        !app.post_logout_redirect_uris
            .iter()
            .any(|r| r.as_str() == u)
    }) {
        return Err(bad(
            "the post_logout_redirect_uri is not registered for this client",
        ));
    }
    let upstream_id_token = state.tokens.end_login(&app, &claims.sid).await;
    let pending = PendingLogout {
        redirect_uri: target.map(str::to_string),
        state: params.get("state").map(str::to_string),
    };
    match upstream_id_token.map_err(unavailable)? {
        Some((id_token, idp)) => upstream_logout(state, &id_token, idp.as_deref(), pending).await,
        None => Ok(back_to_app(pending)),
    }
}

/// To the end-session endpoint of the provider `idp` that issued `id_token` (the login's own,
/// never another's), the app's return kept under a fresh `state`; straight back to the app
/// when that provider has no such endpoint or is no longer configured.
async fn upstream_logout(
    state: &AppState,
    id_token: &str,
    idp: Option<&str>,
    pending: PendingLogout,
) -> Result<Next, LoginError> {
    let Some(upstream) = state.upstreams.as_ref().and_then(|u| u.bound(idp)) else {
        return Ok(back_to_app(pending));
    };
    let ours = state.logins.start(&pending).await.map_err(|e| {
        tracing::warn!(cause = %e, "store unavailable at /end_session");
        LoginError::unavailable()
    })?;
    let callback = format!("{}/end_session/callback", state.urls.issuer);
    match upstream.end_session_url(id_token, &callback, &ours).await {
        Ok(Some(url)) => Ok(Next::Redirect(url)),
        Ok(None) => Ok(back_to_app(pending)),
        Err(e) => {
            // The login is revoked already; the upstream session may outlive it.
            tracing::warn!(cause = %e, "upstream logout skipped: upstream unavailable");
            Ok(back_to_app(pending))
        }
    }
}

/// `GET /end_session/callback`: the upstream is done; back to the app whose return the
/// broker's `state` holds (single use), or the "signed out" page.
pub async fn finish(state: &AppState, query: &str) -> Next {
    let Ok(params) = Form::parse(query.as_bytes(), &END_SESSION) else {
        return Next::SignedOut;
    };
    let Some(ours) = params
        .get("state")
        .filter(|_| params.fits(&END_SESSION, "state"))
    else {
        return Next::SignedOut;
    };
    match state.logins.take::<PendingLogout>(ours).await {
        Ok(Some(pending)) => back_to_app(pending),
        Ok(None) => Next::SignedOut,
        Err(e) => {
            tracing::warn!(cause = %e, "store unavailable at /end_session/callback");
            Next::SignedOut
        }
    }
}

/// The app's `post_logout_redirect_uri` with its `state` (§3), or the "signed out" page.
fn back_to_app(pending: PendingLogout) -> Next {
    let Some(uri) = pending.redirect_uri else {
        return Next::SignedOut;
    };
    let Ok(mut url) = url::Url::parse(&uri) else {
        return Next::SignedOut;
    };
    if let Some(s) = &pending.state {
        url.query_pairs_mut().append_pair("state", s);
    }
    Next::Redirect(url.to_string())
}
