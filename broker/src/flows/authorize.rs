//! `GET /authorize` (RFC 6749 §4.1.1, RFC 9700 §2.1): the app's request, checked
//! ([`AuthorizeRequest::parse`]), then stored as a pending login while the browser goes to the
//! upstream provider with the broker's own `state`, `nonce` and PKCE
//! ([`AuthorizeRequest::start`]).
//!
//! A query string over [`MAX_QUERY_BYTES`] is a 414 page. Unknown client, a bad client,
//! repeated parameters, or a redirect URI that is not byte-equal to a registered one (a
//! loopback IP one may differ in its port, RFC 8252 §7.3): an HTML error page (400), never a
//! redirect (§4.1.2.1). Every other error — a parameter over its cap
//! included — goes back to the redirect URI with `error`, the exact `state` (unless `state`
//! itself is over its cap) and `iss`. Nothing is stored unless the whole request is accepted.
//! S256 PKCE is required unless a confidential app has `pkce_required = false` (OAuth 2.1,
//! RFC 9700 §2.1.1). The browser's login cookie (hashed into the pending login) binds the login
//! to the browser that started it. When several upstream providers are configured, the one the
//! login goes to is chosen here ([`super::upstream_choice`]: `idp_hint`, `login_hint`'s
//! domain, the app's list) and bound to the pending login.

use std::net::IpAddr;

use tessera_shared::crypto::random_string;
use tessera_shared::model::{App, GrantType, PendingLogin, Sensitive};
use tessera_shared::oauth::caps::{AUTHORIZE, MAX_QUERY_BYTES};
use tessera_shared::oauth::{pkce, ErrorCode, Form, OAuthError};
use tessera_shared::scope::ScopeSet;
use tessera_shared::time::now;

use super::login_start::upstream_leg;
use super::scope::granted_scope;
use super::upstream_choice::choose;
use super::LoginError;
use crate::ratelimit::Limit;
use crate::state::AppState;

/// An authorization request that passed every check.
#[derive(Debug)]
pub struct AuthorizeRequest {
    app: App,
    client_id: String,
    redirect_uri: String,
    explicit: bool,
    /// The app's `state`, echoed back.
    state: Option<String>,
    scope: ScopeSet,
    challenge: Option<String>,
    nonce: Option<String>,
    /// The id of the upstream provider the login goes to ([`super::upstream_choice`]).
    upstream: String,
}

/// The app and redirect URI an authorization request may be answered at.
struct Trusted {
    app: App,
    client_id: String,
    redirect_uri: String,
    explicit: bool,
}

impl AuthorizeRequest {
    /// Checks the request of `ip` with the raw `query`, in order: user login configured, the
    /// per-IP limit, the query's size and syntax, the client and redirect URI (until both are
    /// known good every refusal is a page), then the request's own rules (refused by redirect).
    pub async fn parse(state: &AppState, ip: IpAddr, query: &str) -> Result<Self, LoginError> {
        let Some(upstreams) = &state.upstreams else {
            return Err(LoginError::not_configured());
        };
        let limited = state.limits.per_ip(Limit::AuthorizeIp, ip).await;
        limited.map_err(LoginError::Limited)?;
        if query.len() > MAX_QUERY_BYTES {
            let why = "the authorization request is too long";
            return Err(LoginError::page(414, "Request too long", why));
        }
        let params = Form::parse(query.as_bytes(), &AUTHORIZE)
            .map_err(|e| LoginError::page(400, "Invalid request", e.description))?;
        let t = trusted(&params, state).await?;
        // An over-long state is not echoed (it is refused just below).
        let app_state = params
            .get("state")
            .filter(|_| params.fits(&AUTHORIZE, "state"))
            .map(str::to_string);
        let checked = check(&params, &t.app).and_then(|(scope, challenge)| {
            choose(upstreams, &t.app, &params).map(|up| (scope, challenge, up))
        });
        match checked {
            Ok((scope, challenge, upstream)) => Ok(AuthorizeRequest {
                app: t.app,
                client_id: t.client_id,
                redirect_uri: t.redirect_uri,
                explicit: t.explicit,
                state: app_state,
                scope,
                challenge,
                nonce: params.get("nonce").map(str::to_string),
                upstream: upstream.id().to_string(),
            }),
            Err(error) => Err(LoginError::Redirect {
                redirect_uri: t.redirect_uri,
                error,
                state: app_state,
            }),
        }
    }

    /// Stores the pending login, bound to the login cookie value `browser`, within the pending
    /// logins' budget of `ip`; returns the upstream authorize URL to send the browser to.
    pub async fn start(
        self,
        state: &AppState,
        ip: IpAddr,
        browser: &str,
    ) -> Result<String, LoginError> {
        let pending = self.pending(state, browser);
        upstream_leg(state, ip, &pending)
            .await
            .map_err(|error| LoginError::Redirect {
                redirect_uri: self.redirect_uri,
                error,
                state: self.state,
            })
    }

    fn pending(&self, state: &AppState, browser: &str) -> PendingLogin {
        PendingLogin {
            client_id: self.client_id.clone(),
            app_id: self.app.id,
            redirect_uri: self.redirect_uri.clone(),
            redirect_uri_explicit: self.explicit,
            scope: self.scope.clone(),
            state: self.state.clone(),
            code_challenge: self.challenge.clone(),
            nonce: self.nonce.clone(),
            upstream_nonce: Sensitive(random_string::<32>()),
            upstream_verifier: Sensitive(random_string::<32>()),
            browser_hash: state.keys.token_hash(browser),
            device: None,
            upstream: Some(self.upstream.clone()),
        }
    }
}

/// The client and redirect URI, or the error page: nothing is redirected to before both are
/// known good (RFC 6749 §4.1.2.1).
async fn trusted(params: &Form, state: &AppState) -> Result<Trusted, LoginError> {
    let unknown = || {
        let why = "the client_id is not registered or not active";
        LoginError::page(400, "Unknown client", why)
    };
    let Some(client_id) = params.get("client_id") else {
        return Err(LoginError::page(
            400,
            "Invalid request",
            "missing client_id",
        ));
    };
    if !params.fits(&AUTHORIZE, "client_id") {
        return Err(unknown());
    }
    let app = state.catalog.app_for_client(client_id).await.map_err(|e| {
        tracing::warn!(cause = %e, "store unavailable at /authorize");
        LoginError::unavailable()
    })?;
    let live = app.as_ref().is_some_and(|a| {
        a.is_active() && a.credential(client_id).is_some_and(|c| c.is_live(now()))
    });
    let Some(app) = app.filter(|_| live) else {
        return Err(unknown());
    };
    // RFC 6749 §3.1.2.3: exact match — but for the port of a loopback IP redirect URI,
    // which the app picks at run time (RFC 8252 §7.3); the code then goes to the URI as
    // requested, port included. Omitted only when exactly one is registered.
    let (redirect_uri, explicit) = match params.get("redirect_uri") {
        Some(r) => match app.redirect_uris.iter().find(|u| u.matches(r)) {
            Some(_) => (r.to_string(), true),
            None => {
                let why = "the redirect_uri is not registered for this client";
                return Err(LoginError::page(400, "Invalid redirect_uri", why));
            }
        },
        None => match app.redirect_uris.as_slice() {
            [only] => (only.as_str().to_string(), false),
            _ => {
                return Err(LoginError::page(
                    400,
                    "Invalid request",
                    "missing redirect_uri",
                ))
            }
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
    let scope = granted_scope(params.get("scope"), app.effective_scopes())?;
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
