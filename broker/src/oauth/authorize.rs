//! `GET /authorize` (RFC 6749 §4.1.1, RFC 9700 §2.1): checks the app's request, stores it, and
//! sends the browser to the upstream provider with the broker's own `state`, `nonce` and PKCE.
//!
//! Unknown client, a bad client, repeated parameters, or a redirect URI that is not byte-equal to
//! a registered one: an HTML error page (400), never a redirect. Every other error goes back to
//! the redirect URI with `error`, the exact `state` and `iss`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use tessera_shared::crypto::random_string;
use tessera_shared::model::{GrantType, PendingLogin, Sensitive, Status};
use tessera_shared::oauth::ErrorCode;
use tessera_shared::time::now;

use super::browser::{error_page, error_redirect};
use super::form::Form;
use super::pkce;
use super::scope::granted_scope;
use crate::ratelimit::budget::Budget;
use crate::ratelimit::{client_ip, Limit};
use crate::state::AppState;

pub async fn authorize(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(upstream) = &state.upstream else {
        return error_page(404, "Not available", "user login is not configured");
    };
    let ip = client_ip(&req, &state);
    if let Err(refusal) = state.limits.per_ip(Limit::AuthorizeIp, ip).await {
        return refusal.page();
    }
    let params = match Form::parse(req.query_string().as_bytes()) {
        Ok(p) => p,
        Err(e) => return error_page(400, "Invalid request", &e.description),
    };
    let Some(client_id) = params.get("client_id") else {
        return error_page(400, "Invalid request", "missing client_id");
    };
    let app = match state.catalog.app_for_client(client_id).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(cause = %e, "store unavailable at /authorize");
            return error_page(503, "Temporarily unavailable", "please retry shortly");
        }
    };
    let live = app.as_ref().is_some_and(|a| {
        a.status == Status::Approved && a.credential(client_id).is_some_and(|c| c.is_live(now()))
    });
    let Some(app) = app.filter(|_| live) else {
        return error_page(
            400,
            "Unknown client",
            "the client_id is not registered or not active",
        );
    };
    // RFC 6749 §3.1.2.3: exact match; omitted only when exactly one is registered.
    let (redirect_uri, explicit) = match params.get("redirect_uri") {
        Some(r) => match app.redirect_uris.iter().find(|u| u.as_str() == r) {
            Some(u) => (u.as_str().to_string(), true),
            None => {
                return error_page(
                    400,
                    "Invalid redirect_uri",
                    "the redirect_uri is not registered for this client",
                )
            }
        },
        None => match app.redirect_uris.as_slice() {
            [only] => (only.as_str().to_string(), false),
            _ => return error_page(400, "Invalid request", "missing redirect_uri"),
        },
    };
    let iss = state.urls.issuer.as_str();
    let app_state = params.get("state");
    let fail =
        |code: ErrorCode, desc: &str| error_redirect(&redirect_uri, code, desc, app_state, iss);

    match params.get("response_type") {
        Some("code") => {}
        None => return fail(ErrorCode::InvalidRequest, "missing response_type"),
        // RFC 9700 §2.1.2: the implicit grant (and anything else) is not offered.
        Some(_) => {
            return fail(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            )
        }
    }
    if !app.grant_types.contains(&GrantType::AuthorizationCode) {
        return fail(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code grant",
        );
    }
    let scope = match granted_scope(params.get("scope"), &app.scopes) {
        Ok(s) => s,
        Err(e) => return fail(e.code, &e.description),
    };
    let challenge = params.get("code_challenge");
    match (challenge, params.get("code_challenge_method")) {
        (None, None) if app.public => {
            return fail(
                ErrorCode::InvalidRequest,
                "PKCE (code_challenge with S256) is required",
            )
        }
        (None, None) => {}
        (None, Some(_)) => {
            return fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method without code_challenge",
            )
        }
        // RFC 7636 §4.3: a missing method means "plain", which is refused.
        (Some(_), None | Some("plain")) => {
            return fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method must be S256",
            )
        }
        (Some(c), Some("S256")) if pkce::is_valid_challenge(c) => {}
        (Some(_), Some("S256")) => {
            return fail(ErrorCode::InvalidRequest, "malformed code_challenge")
        }
        (Some(_), Some(_)) => {
            return fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method must be S256",
            )
        }
    }
    let pending = PendingLogin {
        client_id: client_id.to_string(),
        app_id: app.id,
        redirect_uri: redirect_uri.clone(),
        redirect_uri_explicit: explicit,
        scope,
        state: app_state.map(str::to_string),
        code_challenge: challenge.map(str::to_string),
        upstream_nonce: Sensitive(random_string::<32>()),
        upstream_verifier: Sensitive(random_string::<32>()),
    };
    let window = state.config.tokens.login_ttl_secs;
    if let Err(r) = state.limits.budget(Budget::PendingLogins, ip, window).await {
        tracing::info!(budget = r.limiter, "pending login refused: budget spent");
        return fail(
            ErrorCode::TemporarilyUnavailable,
            "too many logins in progress, retry later",
        );
    }
    let upstream_state = random_string::<32>();
    let stored = match serde_json::to_string(&pending) {
        Ok(json) => {
            state
                .catalog
                .store()
                .login_put(&upstream_state, &json, state.config.tokens.login_ttl_secs)
                .await
        }
        Err(e) => Err(e.into()),
    };
    if let Err(e) = stored {
        tracing::warn!(cause = %e, "cannot store the pending login");
        return fail(ErrorCode::TemporarilyUnavailable, "please retry shortly");
    }
    match upstream
        .authorize_url(
            &upstream_state,
            &pending.upstream_nonce.0,
            &pending.upstream_verifier.0,
        )
        .await
    {
        Ok(url) => HttpResponse::Found()
            .insert_header((header::LOCATION, url))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Err(e) => {
            tracing::warn!(cause = %e, "upstream unavailable at /authorize");
            fail(
                ErrorCode::TemporarilyUnavailable,
                "the identity provider is unavailable",
            )
        }
    }
}
