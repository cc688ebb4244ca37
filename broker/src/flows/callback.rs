//! `GET /callback`: where the upstream sends the browser back. The upstream `state` is single-use
//! and expires (the pending login is taken from the store); an upstream error (the user declined)
//! goes back to the app as `access_denied`. The upstream code is exchanged, the `id_token`
//! validated, its claims mapped, and the app receives a single-use broker code with its `state`
//! and `iss` (RFC 9207) — or, for a device login (RFC 8628), the device authorization is bound
//! to the user and the browser goes on to the confirmation page ([`device::confirm`]).
//!
//! The login completes only in the browser that started it: without the login cookie whose
//! hash the pending login holds, the answer is an error page and the app gets no code
//! (RFC 9700 §4.7, login CSRF). A request without any login cookie is refused before the store
//! is touched, so it cannot consume someone else's pending login.
//!
//! With several upstream providers, the login completes only at the provider it was started
//! with (RFC 9700 §4.4, mix-up): the code is exchanged there and the `id_token` validated
//! against that provider's issuer and keys, and an `iss` in the response (RFC 9207 §2.4) that
//! names another provider is refused before any code is sent anywhere — as is a response
//! without `iss` from a provider whose discovery says it sends one (RFC 9207 §2.4, §3).

use std::net::IpAddr;

use tessera_shared::crypto::constant_time_eq;
use tessera_shared::model::{CodeRecord, Identity, PendingLogin, Sensitive};
use tessera_shared::oauth::caps::{CALLBACK, MAX_QUERY_BYTES};
use tessera_shared::oauth::{ErrorCode, Form, OAuthError};

use super::{device, LoginError};
use crate::ratelimit::budget::Budget;
use crate::ratelimit::Limit;
use crate::state::AppState;
use crate::upstream::UpstreamError;

/// A completed login.
#[derive(Debug)]
pub enum Completed {
    /// Back to the app: the code (never printed), with the app's `state`.
    App {
        redirect_uri: String,
        code: Sensitive,
        state: Option<String>,
    },
    /// A device login (RFC 8628): on to the confirmation page of this user code (as shown).
    Device { user_code: String },
}

/// Completes the login the callback of `ip` with the raw `query` answers; `browser` is the
/// login cookie the browser presented, if any.
pub async fn complete(
    state: &AppState,
    ip: IpAddr,
    query: &str,
    browser: Option<&str>,
) -> Result<Completed, LoginError> {
    if state.upstreams.is_none() {
        return Err(LoginError::not_configured());
    }
    let limited = state.limits.per_ip(Limit::CallbackIp, ip).await;
    limited.map_err(LoginError::Limited)?;
    let (params, pending) = pending_login(state, query, browser).await?;
    let fail = |error: OAuthError| LoginError::Redirect {
        redirect_uri: pending.redirect_uri.clone(),
        error,
        state: pending.state.clone(),
    };
    let identity = upstream_identity(state, &params, &pending)
        .await
        .map_err(fail)?;
    if let Some(code) = &pending.device {
        let (code, browser) = (code.expose(), &pending.browser_hash);
        let user_code = device::confirm::logged_in(state, code, identity, browser).await?;
        return Ok(Completed::Device { user_code });
    }
    let window = state.config.tokens.authorization_code_ttl_secs;
    if let Err(r) = state.limits.budget(Budget::Codes, ip, window).await {
        tracing::info!(
            budget = r.limiter,
            "authorization code refused: budget spent"
        );
        let busy = "too many logins in progress, retry later";
        return Err(fail(OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            busy,
        )));
    }
    let record = CodeRecord {
        client_id: pending.client_id.clone(),
        app_id: pending.app_id,
        redirect_uri: pending.redirect_uri.clone(),
        redirect_uri_explicit: pending.redirect_uri_explicit,
        scope: pending.scope.clone(),
        code_challenge: pending.code_challenge.clone(),
        nonce: pending.nonce.clone(),
        identity,
    };
    match state.logins.issue_code(&record).await {
        Ok(code) => Ok(Completed::App {
            redirect_uri: pending.redirect_uri,
            code: Sensitive(code),
            state: pending.state,
        }),
        Err(e) => {
            tracing::warn!(cause = %e, "cannot store the authorization code");
            let retry = "please retry shortly";
            Err(fail(OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                retry,
            )))
        }
    }
}

/// The callback's parameters and the pending login they complete — taken from the store, so a
/// `state` works once — or the error page: bad or over-long parameters, no login cookie (the
/// store is not touched then), an unknown or expired login, or another browser's.
async fn pending_login(
    state: &AppState,
    query: &str,
    browser: Option<&str>,
) -> Result<(Form, PendingLogin), LoginError> {
    if query.len() > MAX_QUERY_BYTES {
        let why = "the callback request is too long";
        return Err(LoginError::page(414, "Request too long", why));
    }
    let params = Form::parse(query.as_bytes(), &CALLBACK)
        .and_then(|p| p.check(&CALLBACK).map(|()| p))
        .map_err(|e| LoginError::page(400, "Invalid request", e.description))?;
    let Some(up_state) = params.get("state") else {
        return Err(LoginError::page(400, "Invalid request", "missing state"));
    };
    let wrong_browser = || {
        LoginError::page(
            400,
            "Login not started in this browser",
            "this sign-in was started in another browser or its cookie is missing; \
             please start again from the app",
        )
    };
    let browser = browser.ok_or_else(wrong_browser)?;
    let expired = || LoginError::page(400, "Login expired", "please start again from the app");
    let pending = match state.logins.take::<PendingLogin>(up_state).await {
        Ok(Some(p)) => p,
        Ok(None) => return Err(expired()),
        Err(e) => {
            tracing::warn!(cause = %e, "store unavailable at /callback");
            return Err(LoginError::unavailable());
        }
    };
    let presented = state.keys.token_hash(browser);
    if !constant_time_eq(presented.as_bytes(), pending.browser_hash.as_bytes()) {
        tracing::warn!("login completed in another browser than it was started in; refused");
        return Err(wrong_browser());
    }
    Ok((params, pending))
}

/// The upstream's answer: its error, or its code exchanged for a verified identity.
async fn upstream_identity(
    state: &AppState,
    params: &Form,
    pending: &PendingLogin,
) -> Result<Identity, OAuthError> {
    let unavailable = || {
        let down = "the identity provider is unavailable";
        OAuthError::new(ErrorCode::TemporarilyUnavailable, down)
    };
    let denied = |why: &'static str| OAuthError::new(ErrorCode::AccessDenied, why);
    // RFC 9700 §4.4 (mix-up): the provider is the one the login was started with, never one
    // the browser names; RFC 9207 §2.4: an `iss` in the response must be that provider's.
    let upstreams = state.upstreams.as_ref();
    let Some(upstream) = upstreams.and_then(|u| u.bound(pending.upstream.as_deref())) else {
        tracing::warn!("a login's upstream provider is no longer configured");
        return Err(unavailable());
    };
    let from_elsewhere = "the response did not come from the identity provider asked";
    let ours = upstream.config().issuer.trim_end_matches('/');
    match params.get("iss") {
        Some(iss) if iss.trim_end_matches('/') != ours => {
            tracing::warn!("callback iss is not the login's upstream issuer (mix-up); refused");
            return Err(denied(from_elsewhere));
        }
        Some(_) => {}
        // §2.4: a provider that advertises `iss` in its responses must send it.
        None if upstream.sends_iss().await => {
            tracing::warn!("callback without the iss its upstream advertises; refused");
            return Err(denied(from_elsewhere));
        }
        None => {}
    }
    if let Some(err) = params.get("error") {
        tracing::info!(upstream_error = %err.escape_default(), "upstream login not completed");
        return Err(match err {
            "temporarily_unavailable" | "server_error" => unavailable(),
            _ => denied("the user did not authorize the request"),
        });
    }
    let Some(code) = params.get("code") else {
        return Err(denied("the identity provider returned no code"));
    };
    let (verifier, nonce) = (&pending.upstream_verifier.0, &pending.upstream_nonce.0);
    let login = upstream.exchange_code(code, verifier, nonce).await;
    match login.and_then(|l| upstream.identity(l)) {
        Ok(identity) => Ok(identity),
        Err(UpstreamError::Unavailable(cause)) => {
            tracing::warn!(%cause, "upstream unavailable at /callback");
            Err(unavailable())
        }
        Err(UpstreamError::Rejected(cause)) => {
            tracing::warn!(%cause, "upstream login rejected");
            Err(denied("the user's identity could not be verified"))
        }
    }
}
