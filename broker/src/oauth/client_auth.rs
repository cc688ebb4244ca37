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
//! Failures are counted per client IP and per client_id ([`crate::ratelimit::backoff`]); while
//! a back-off is in force the answer is 429 `slow_down` whatever the secret. The back-off is
//! read alongside the client lookup, the secret is verified either way, and a refusal costs
//! the same store work whether the guess was right or wrong: a refused guess is not told from
//! a wrong one, by its answer or by its timing.

use actix_web::http::header;
use actix_web::HttpRequest;
use tessera_shared::model::{App, SecretMethod, Status};
use tessera_shared::oauth::basic::parse_basic;
use tessera_shared::oauth::{Challenge, OAuthError};
use tessera_shared::time::now;

use crate::state::AppState;
use tessera_shared::oauth::Form;

/// A client that proved who it is.
#[derive(Debug)]
pub struct AuthenticatedClient {
    pub client_id: String,
    pub app: App,
    /// The address it called from (for per-IP limits).
    pub ip: std::net::IpAddr,
}

/// Stands in for a stored secret hash when the client is unknown, so the work done is the same.
const DUMMY_HASH: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

struct Presented {
    client_id: String,
    secret: String,
    challenge: Challenge,
    /// How the secret came (`None`: no secret, a public client).
    method: Option<SecretMethod>,
}

fn presented(req: &HttpRequest, form: &Form) -> Result<Presented, OAuthError> {
    let basic = match req.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(v) => {
            let v = v
                .to_str()
                .map_err(|_| OAuthError::invalid_client(Challenge::Basic))?;
            let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
            if !scheme.eq_ignore_ascii_case("basic") {
                return Err(OAuthError::invalid_request(
                    "only HTTP Basic client authentication is supported in the Authorization header",
                ));
            }
            Some(parse_basic(rest.trim()).ok_or(OAuthError::invalid_client(Challenge::Basic))?)
        }
    };
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    match (basic, body_secret) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "use one client authentication method, not both Basic and client_secret",
        )),
        (Some((id, secret)), None) => {
            // RFC 6749 §2.3.1 allows client_id in the body too, but it must name the same client.
            if body_id.is_some_and(|b| b != id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body does not match the Authorization header",
                ));
            }
            Ok(Presented {
                client_id: id,
                secret,
                challenge: Challenge::Basic,
                method: Some(SecretMethod::ClientSecretBasic),
            })
        }
        (None, Some(secret)) => match body_id {
            Some(id) => Ok(Presented {
                client_id: id.to_string(),
                secret: secret.to_string(),
                challenge: Challenge::None,
                method: Some(SecretMethod::ClientSecretPost),
            }),
            None => Err(OAuthError::invalid_request("missing parameter 'client_id'")),
        },
        // A public client names itself in the body and proves nothing (RFC 6749 §2.1); only
        // apps registered as public may do that.
        (None, None) => match body_id {
            Some(id) => Ok(Presented {
                client_id: id.to_string(),
                secret: String::new(),
                challenge: Challenge::None,
                method: None,
            }),
            None => Err(OAuthError::invalid_client(Challenge::Basic)),
        },
    }
}

/// Authenticates the calling client at the token endpoint (its registered method only), or
/// fails with `invalid_client` (401).
pub async fn authenticate_at_token(
    req: &HttpRequest,
    form: &Form,
    state: &AppState,
) -> Result<AuthenticatedClient, OAuthError> {
    check(req, form, state, true).await
}

/// Authenticates the calling client (any secret method) or fails with `invalid_client` (401).
pub async fn authenticate(
    req: &HttpRequest,
    form: &Form,
    state: &AppState,
) -> Result<AuthenticatedClient, OAuthError> {
    check(req, form, state, false).await
}

async fn check(
    req: &HttpRequest,
    form: &Form,
    state: &AppState,
    registered_method_only: bool,
) -> Result<AuthenticatedClient, OAuthError> {
    let p = presented(req, form)?;
    let ip = crate::http::client_ip(req, &state.config.server.trusted_proxies);
    let (wait, app) = tokio::join!(
        state.limits.auth_wait(ip, &p.client_id),
        state.catalog.app_for_client(&p.client_id)
    );
    let app = app?;
    let verified = match app.as_ref().and_then(|a| a.credential(&p.client_id)) {
        Some(cred) if p.secret.is_empty() => {
            app.as_ref().is_some_and(|a| a.public) && cred.is_live(now())
        }
        Some(cred) => {
            let secret_ok = state.keys.verify_secret(&p.secret, &cred.secret_hash);
            secret_ok && cred.is_live(now())
        }
        None => {
            let _ = state.keys.verify_secret(&p.secret, DUMMY_HASH);
            false
        }
    };
    let verified = match &app {
        // A public app authenticates without a secret, and a secret proves nothing for it.
        Some(a) if a.public => verified && p.secret.is_empty(),
        // RFC 7591 §2: at the token endpoint, the registered method and no other.
        Some(a) => {
            let method_ok =
                !registered_method_only || a.auth_method.is_none_or(|m| p.method == Some(m));
            verified && !p.secret.is_empty() && method_ok
        }
        None => false,
    };
    let ok = verified && app.as_ref().is_some_and(|a| a.status == Status::Approved);
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
        }),
        _ => {
            state.limits.auth_failed(ip, &p.client_id, true).await;
            Err(OAuthError::invalid_client(p.challenge))
        }
    }
}
