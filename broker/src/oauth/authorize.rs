//! `GET /authorize` (RFC 6749 §4.1.1, RFC 9700 §2.1): checks the app's request, stores it, and
//! sends the browser to the upstream provider with the broker's own `state`, `nonce` and PKCE.
//!
//! A query string over [`limits::MAX_QUERY_BYTES`] is a 414 page. Unknown client, a bad
//! client, repeated parameters, or a redirect URI that is not byte-equal to a registered one:
//! an HTML error page (400), never a redirect (§4.1.2.1). Every other error — a parameter over
//! its cap included — goes back to the redirect URI with `error`, the exact `state` (unless
//! `state` itself is over its cap) and `iss`. Nothing is stored unless the whole request is
//! accepted. S256 PKCE is required unless a confidential app has `pkce_required = false`
//! (OAuth 2.1, RFC 9700 §2.1.1). The login cookie ([`super::login_cookie`]) binds the login to
//! this browser.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use tessera_shared::crypto::random_string;
use tessera_shared::error::StoreError;
use tessera_shared::model::{App, GrantType, PendingLogin, Sensitive, Status};
use tessera_shared::oauth::{ErrorCode, OAuthError};
use tessera_shared::scope::ScopeSet;
use tessera_shared::time::now;

use super::login_cookie;
use super::scope::granted_scope;
use crate::http::client_ip;
use crate::http::page::{error_page, error_redirect};
use crate::ratelimit::budget::Budget;
use crate::ratelimit::Limit;
use crate::state::AppState;
use crate::upstream::Upstream;
use tessera_shared::oauth::caps::{self as limits, AUTHORIZE};
use tessera_shared::oauth::pkce;
use tessera_shared::oauth::Form;

/// The app and redirect URI an authorization request may be answered at.
struct Trusted {
    app: App,
    client_id: String,
    redirect_uri: String,
    explicit: bool,
}

pub async fn authorize(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(upstream) = &state.upstream else {
        return error_page(404, "Not available", "user login is not configured");
    };
    let ip = client_ip(&req, &state.config.server.trusted_proxies);
    if let Err(refusal) = state.limits.per_ip(Limit::AuthorizeIp, ip).await {
        return crate::http::page::too_many_requests(&refusal);
    }
    if req.query_string().len() > limits::MAX_QUERY_BYTES {
        return error_page(
            414,
            "Request too long",
            "the authorization request is too long",
        );
    }
    let params = match Form::parse(req.query_string().as_bytes(), &AUTHORIZE) {
        Ok(p) => p,
        Err(e) => return error_page(400, "Invalid request", &e.description),
    };
    let t = match trusted(&params, &state).await {
        Ok(t) => t,
        Err(page) => return page,
    };
    let iss = state.urls.issuer.as_str();
    // An over-long state is not echoed (it is refused just below).
    let app_state = params
        .get("state")
        .filter(|_| params.fits(&AUTHORIZE, "state"));
    let fail =
        |e: OAuthError| error_redirect(&t.redirect_uri, e.code, &e.description, app_state, iss);
    let (scope, challenge) = match check(&params, &t.app) {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    let secure = iss.starts_with("https://");
    let ttl = state.config.tokens.login_ttl_secs;
    let (browser, cookie) = login_cookie::issue(&req, secure, ttl);
    let pending = PendingLogin {
        client_id: t.client_id.clone(),
        app_id: t.app.id,
        redirect_uri: t.redirect_uri.clone(),
        redirect_uri_explicit: t.explicit,
        scope,
        state: app_state.map(str::to_string),
        code_challenge: challenge,
        nonce: params.get("nonce").map(str::to_string),
        upstream_nonce: Sensitive(random_string::<32>()),
        upstream_verifier: Sensitive(random_string::<32>()),
        browser_hash: state.keys.token_hash(&browser),
    };
    if let Err(r) = state.limits.budget(Budget::PendingLogins, ip, ttl).await {
        tracing::info!(budget = r.limiter, "pending login refused: budget spent");
        return fail(OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "too many logins in progress, retry later",
        ));
    }
    match start(&state, upstream, &pending).await {
        Ok(url) => HttpResponse::Found()
            .insert_header((header::LOCATION, url))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .cookie(cookie)
            .finish(),
        Err(e) => fail(e),
    }
}

/// Stores the pending login under a fresh upstream `state`; the upstream authorize URL.
async fn start(
    state: &AppState,
    upstream: &Upstream,
    pending: &PendingLogin,
) -> Result<String, OAuthError> {
    let upstream_state = random_string::<32>();
    let json = serde_json::to_string(pending).map_err(StoreError::from)?;
    let ttl = state.config.tokens.login_ttl_secs;
    let stored = state
        .catalog
        .store()
        .login_put(&upstream_state, &json, ttl)
        .await;
    if let Err(e) = stored {
        tracing::warn!(cause = %e, "cannot store the pending login");
        return Err(OAuthError::unavailable());
    }
    upstream
        .authorize_url(
            &upstream_state,
            &pending.upstream_nonce.0,
            &pending.upstream_verifier.0,
        )
        .await
        .map_err(|e| {
            tracing::warn!(cause = %e, "upstream unavailable at /authorize");
            OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "the identity provider is unavailable",
            )
        })
}

/// The client and redirect URI, or the error page: nothing is redirected to before both are
/// known good (RFC 6749 §4.1.2.1).
async fn trusted(params: &Form, state: &AppState) -> Result<Trusted, HttpResponse> {
    let unknown = || {
        error_page(
            400,
            "Unknown client",
            "the client_id is not registered or not active",
        )
    };
    let Some(client_id) = params.get("client_id") else {
        return Err(error_page(400, "Invalid request", "missing client_id"));
    };
    if !params.fits(&AUTHORIZE, "client_id") {
        return Err(unknown());
    }
    let app = state.catalog.app_for_client(client_id).await.map_err(|e| {
        tracing::warn!(cause = %e, "store unavailable at /authorize");
        error_page(503, "Temporarily unavailable", "please retry shortly")
    })?;
    let live = app.as_ref().is_some_and(|a| {
        a.status == Status::Approved && a.credential(client_id).is_some_and(|c| c.is_live(now()))
    });
    let Some(app) = app.filter(|_| live) else {
        return Err(unknown());
    };
    // RFC 6749 §3.1.2.3: exact match; omitted only when exactly one is registered.
    let (redirect_uri, explicit) = match params.get("redirect_uri") {
        Some(r) => match app.redirect_uris.iter().find(|u| u.as_str() == r) {
            Some(u) => (u.as_str().to_string(), true),
            None => {
                return Err(error_page(
                    400,
                    "Invalid redirect_uri",
                    "the redirect_uri is not registered for this client",
                ))
            }
        },
        None => match app.redirect_uris.as_slice() {
            [only] => (only.as_str().to_string(), false),
            _ => return Err(error_page(400, "Invalid request", "missing redirect_uri")),
        },
    };
    Ok(Trusted {
        app,
        client_id: client_id.to_string(),
        redirect_uri,
        explicit,
    })
}

/// The request's own rules: caps, response type, grant, scope and PKCE. Returns the granted
/// scope and the S256 challenge.
fn check(params: &Form, app: &App) -> Result<(ScopeSet, Option<String>), OAuthError> {
    params.check(&AUTHORIZE)?;
    match params.get("response_type") {
        Some("code") => {}
        None => return Err(OAuthError::invalid_request("missing response_type")),
        // RFC 9700 §2.1.2: the implicit grant (and anything else) is not offered.
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ))
        }
    }
    if !app.grant_types.contains(&GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code grant",
        ));
    }
    let scope = granted_scope(params.get("scope"), &app.scopes)?;
    let challenge = params.get("code_challenge");
    let bad = OAuthError::invalid_request;
    match (challenge, params.get("code_challenge_method")) {
        // Required unless a confidential app turned it off (public apps always have it on).
        (None, None) if app.pkce_required || app.public => {
            return Err(bad("PKCE (code_challenge with S256) is required"))
        }
        (None, None) => {}
        (None, Some(_)) => return Err(bad("code_challenge_method without code_challenge")),
        (Some(c), Some("S256")) if pkce::is_valid_challenge(c) => {}
        (Some(_), Some("S256")) => return Err(bad("malformed code_challenge")),
        // RFC 7636 §4.3: a missing method means "plain", which is refused.
        (Some(_), _) => return Err(bad("code_challenge_method must be S256")),
    }
    Ok((scope, challenge.map(str::to_string)))
}
