//! `GET /callback`: where the upstream sends the browser back. The upstream `state` is single-use
//! and expires (the pending login is taken from the store); an upstream error (the user declined)
//! goes back to the app as `access_denied`. The upstream code is exchanged, the `id_token`
//! validated, its claims mapped, and the app receives a single-use broker code with its `state`
//! and `iss` (RFC 9207).
//!
//! The login completes only in the browser that started it: without the login cookie whose
//! hash the pending login holds ([`super::login_cookie`]), the answer is an error page and the
//! app gets no code (RFC 9700 §4.7, login CSRF). A request without any login cookie is refused
//! before the store is touched, so it cannot consume someone else's pending login.

use actix_web::{web, HttpRequest, HttpResponse};
use tessera_shared::model::{CodeRecord, Identity, PendingLogin, Sensitive};
use tessera_shared::oauth::ErrorCode;
use tessera_shared::time::now;

use super::login_cookie;
use crate::http::client_ip;
use crate::http::page::{error_page, error_redirect, redirect_to};
use crate::ratelimit::budget::Budget;
use crate::ratelimit::Limit;
use crate::state::AppState;
use crate::upstream::{claims, UpstreamError, VerifiedLogin};
use tessera_shared::oauth::caps::{self as limits, CALLBACK};
use tessera_shared::oauth::Form;

pub async fn callback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(upstream) = &state.upstream else {
        return error_page(404, "Not available", "user login is not configured");
    };
    let ip = client_ip(&req, &state.config.server.trusted_proxies);
    if let Err(refusal) = state.limits.per_ip(Limit::CallbackIp, ip).await {
        return crate::http::page::too_many_requests(&refusal);
    }
    let (params, pending) = match pending_login(&req, &state).await {
        Ok(v) => v,
        Err(page) => return page,
    };
    let iss = state.urls.issuer.as_str();
    let fail = |code: ErrorCode, desc: &str| {
        error_redirect(
            &pending.redirect_uri,
            code,
            desc,
            pending.state.as_deref(),
            iss,
        )
    };
    if let Some(err) = params.get("error") {
        tracing::info!(upstream_error = %err.escape_default(), "upstream login not completed");
        return match err {
            "temporarily_unavailable" | "server_error" => fail(
                ErrorCode::TemporarilyUnavailable,
                "the identity provider is unavailable",
            ),
            _ => fail(
                ErrorCode::AccessDenied,
                "the user did not authorize the request",
            ),
        };
    }
    let Some(code) = params.get("code") else {
        return fail(
            ErrorCode::AccessDenied,
            "the identity provider returned no code",
        );
    };
    let login = upstream
        .exchange_code(
            code,
            &pending.upstream_verifier.0,
            &pending.upstream_nonce.0,
        )
        .await;
    let identity = match login.and_then(|l| identity(&state, l)) {
        Ok(i) => i,
        Err(UpstreamError::Unavailable(cause)) => {
            tracing::warn!(%cause, "upstream unavailable at /callback");
            return fail(
                ErrorCode::TemporarilyUnavailable,
                "the identity provider is unavailable",
            );
        }
        Err(UpstreamError::Rejected(cause)) => {
            tracing::warn!(%cause, "upstream login rejected");
            return fail(
                ErrorCode::AccessDenied,
                "the user's identity could not be verified",
            );
        }
    };
    let window = state.config.tokens.authorization_code_ttl_secs;
    if let Err(r) = state.limits.budget(Budget::Codes, ip, window).await {
        tracing::info!(
            budget = r.limiter,
            "authorization code refused: budget spent"
        );
        return fail(
            ErrorCode::TemporarilyUnavailable,
            "too many logins in progress, retry later",
        );
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
    match state.tokens.issue_code(&record).await {
        Ok(code) => {
            let mut params = vec![("code", code.as_str())];
            if let Some(s) = pending.state.as_deref() {
                params.push(("state", s));
            }
            params.push(("iss", iss));
            redirect_to(&pending.redirect_uri, &params)
        }
        Err(e) => {
            tracing::warn!(cause = %e, "cannot store the authorization code");
            fail(ErrorCode::TemporarilyUnavailable, "please retry shortly")
        }
    }
}

/// The callback's parameters and the pending login they complete — taken from the store, so a
/// `state` works once — or the error page: bad or over-long parameters, no login cookie (the
/// store is not touched then), an unknown or expired login, or another browser's.
async fn pending_login(
    req: &HttpRequest,
    state: &AppState,
) -> Result<(Form, PendingLogin), HttpResponse> {
    if req.query_string().len() > limits::MAX_QUERY_BYTES {
        return Err(error_page(
            414,
            "Request too long",
            "the callback request is too long",
        ));
    }
    let params = Form::parse(req.query_string().as_bytes(), &CALLBACK)
        .and_then(|p| p.check(&CALLBACK).map(|()| p))
        .map_err(|e| error_page(400, "Invalid request", &e.description))?;
    let Some(up_state) = params.get("state") else {
        return Err(error_page(400, "Invalid request", "missing state"));
    };
    let wrong_browser = || {
        error_page(
            400,
            "Login not started in this browser",
            "this sign-in was started in another browser or its cookie is missing; \
             please start again from the app",
        )
    };
    let secure = state.urls.issuer.starts_with("https://");
    let browser = login_cookie::presented(req, secure).ok_or_else(wrong_browser)?;
    let expired = || error_page(400, "Login expired", "please start again from the app");
    let pending: PendingLogin = match state.catalog.store().login_take(up_state).await {
        Ok(Some(raw)) => serde_json::from_str(&raw).map_err(|_| expired())?,
        Ok(None) => return Err(expired()),
        Err(e) => {
            tracing::warn!(cause = %e, "store unavailable at /callback");
            return Err(error_page(
                503,
                "Temporarily unavailable",
                "please retry shortly",
            ));
        }
    };
    let browser_ok = tessera_shared::crypto::constant_time_eq(
        state.keys.token_hash(&browser).as_bytes(),
        pending.browser_hash.as_bytes(),
    );
    if !browser_ok {
        tracing::warn!("login completed in another browser than it was started in; refused");
        return Err(wrong_browser());
    }
    Ok((params, pending))
}

/// The identity a verified login stands for: `sub`, the mapped claims and the `id_token`.
pub fn identity(state: &AppState, login: VerifiedLogin) -> Result<Identity, UpstreamError> {
    let Some(upstream) = &state.upstream else {
        return Err(UpstreamError::Unavailable("no upstream".into()));
    };
    let sub = login
        .claims
        .get("sub")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| UpstreamError::Rejected("id_token without sub".into()))?
        .to_string();
    let auth_time = login
        .claims
        .get("auth_time")
        .and_then(|v| v.as_i64())
        .unwrap_or_else(now);
    Ok(Identity {
        sub,
        claims: claims::map(upstream.config(), &login.claims),
        id_token: Some(Sensitive(login.id_token)),
        id_token_sealed: None,
        auth_time,
    })
}
