//! The development identity provider: a small but real OpenID Connect provider that stands in
//! for Okta, for `tessera dev` (no Okta account needed) and as a real HTTP upstream in tests.
//!
//! It speaks Okta's dialect on Okta's paths (`/v1/authorize`, `/v1/token`, `/v1/keys`,
//! `/v1/userinfo`, `/.well-known/openid-configuration`): a plain HTML login form; the
//! authorization code (PKCE S256), password and client credentials grants; RS256 `id_token`s and
//! Okta-shaped JWT access tokens; key rotation with the previous keys still published. Tests can
//! make it misbehave through [`Behaviour`] to prove that the broker rejects each fault.
//!
//! It is not a production identity provider: users, passwords and clients come from
//! [`DevIdpConfig`], codes and keys live in memory, and the login form has no CSRF protection or
//! rate limiting. Whoever mounts it is responsible for never doing so silently in production.
//!
//! # Layout
//! * [`config`] — [`DevIdpConfig`], its clients and users, and the demo data.
//! * [`behaviour`] — [`Behaviour`], the misbehaviour switches.
//! * `keys` — RSA signing keys, rotation and the JWKS; `mint` — the tokens; `codes` — the
//!   outstanding authorization codes.
//! * `sessions` — sign-in sessions and their `sid`; `logout` — back-channel logout tokens
//!   sent to clients when a session ends, and the end-session endpoint `/v1/logout`.
//! * `discovery` — the discovery document and the JWKS endpoint; `authorize` (with `page`, its
//!   HTML) — the login; `token` (with `client_auth`) — the token endpoint; `userinfo`.
//! * [`server`] — [`DevIdpServer`], the provider alone on its own port (the tests' upstream).
//! * [`mount`] — [`Mounted`], the provider on the broker's own listener under `/dev-idp`, with the
//!   `/dev/callback` landing page, as `tessera dev` runs it.
//!
//! Requests are read with the shared OAuth wire format ([`tessera_shared::oauth`]: the strict
//! form reader, PKCE, Basic credentials and the RFC 6749 §5.2 error response), as the broker
//! reads them. The broker itself knows nothing of this crate: whoever mounts the provider points
//! the broker's `[upstream]` at it.

pub mod behaviour;
pub mod config;
pub mod mount;
pub mod server;

mod authorize;
mod client_auth;
mod codes;
mod discovery;
mod keys;
mod landing;
mod logout;
mod mint;
mod page;
mod sessions;
mod token;
mod userinfo;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde_json::{Map, Value};
use tessera_shared::method::get_or_head;

pub use behaviour::Behaviour;
pub use config::{DevClient, DevIdpConfig, DevUser, OPERATOR_GROUP};
pub use mount::Mounted;
pub use server::DevIdpServer;

#[derive(Debug, thiserror::Error)]
pub enum DevIdpError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot generate a signing key: {0}")]
    KeyGeneration(String),
    #[error("cannot sign a token: {0}")]
    Signing(String),
    #[error("no such user: {0}")]
    UnknownUser(String),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}

/// The provider. Cheap to clone: every clone shares the same keys, codes and switches.
#[derive(Clone)]
pub struct DevIdp {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for DevIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIdp")
            .field("issuer", &self.inner.cfg.issuer)
            .finish()
    }
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub cfg: DevIdpConfig,
    pub keys: keys::KeyRing,
    pub codes: codes::Codes,
    pub behaviour: Behaviour,
    pub jwks_fetches: AtomicUsize,
    pub token_requests: AtomicUsize,
    pub sessions: sessions::Sessions,
    /// For back-channel logout: no redirects followed, short timeouts.
    pub http: reqwest::Client,
}

impl DevIdp {
    /// Checks the configuration and generates an RSA-2048 signing key with a random `kid`.
    pub fn new(mut cfg: DevIdpConfig) -> Result<Self, DevIdpError> {
        cfg.validate()?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| DevIdpError::Config(format!("HTTP client: {e}")))?;
        Ok(DevIdp {
            inner: Arc::new(Inner {
                keys: keys::KeyRing::new()?,
                codes: codes::Codes::default(),
                behaviour: Behaviour::default(),
                jwks_fetches: AtomicUsize::new(0),
                token_requests: AtomicUsize::new(0),
                sessions: sessions::Sessions::default(),
                http,
                cfg,
            }),
        })
    }

    /// Registers the provider's routes (paths relative to where `cfg` is mounted, which must be
    /// where the issuer URL points).
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        // HEAD wherever GET only reads (RFC 9110 §9.1): discovery, the keys, the sign-in form
        // (shown, nothing stored) and userinfo. Logout ends the user's session: GET only.
        cfg.app_data(web::Data::new(self.clone()))
            .route(
                "/.well-known/openid-configuration",
                get_or_head().to(discovery::configuration),
            )
            .route("/v1/keys", get_or_head().to(discovery::keys))
            .service(
                web::resource("/v1/authorize")
                    .route(get_or_head().to(authorize::show))
                    .route(web::post().to(authorize::submit)),
            )
            .route("/v1/token", web::post().to(token::token))
            .service(
                web::resource("/v1/logout")
                    .route(web::get().to(logout::end_session))
                    .route(web::post().to(logout::end_session)),
            )
            .service(
                web::resource("/v1/userinfo")
                    .route(get_or_head().to(userinfo::userinfo))
                    .route(web::post().to(userinfo::userinfo)),
            );
    }

    /// The misbehaviour switches (see [`Behaviour`]).
    pub fn behaviour(&self) -> &Behaviour {
        &self.inner.behaviour
    }

    /// A new signing key with a new `kid`; the previous public keys stay in the JWKS (up to
    /// three of them). A failure is logged and keeps the current key.
    pub fn rotate_keys(&self) {
        if let Err(e) = self.inner.keys.rotate() {
            tracing::error!(cause = %e, "development identity provider: key rotation failed");
        }
    }

    /// How many times `GET /v1/keys` was answered with the key set.
    pub fn jwks_fetches(&self) -> usize {
        self.inner.jwks_fetches.load(Ordering::SeqCst)
    }

    /// How many requests reached `POST /v1/token` (whatever their outcome).
    pub fn token_requests(&self) -> usize {
        self.inner.token_requests.load(Ordering::SeqCst)
    }

    /// An Okta-shaped access token for `client_id` (not necessarily a registered client), for
    /// token exchange tests. `sub` becomes the `sub` claim as given; when it names a configured
    /// user (username, email or subject), the token also gets their `uid` and custom claims.
    /// `extra` is merged last and may override any claim. [`Behaviour`] faults apply.
    pub fn issue_access_token(
        &self,
        client_id: &str,
        sub: &str,
        scopes: &[&str],
        extra: Map<String, Value>,
    ) -> Result<String, DevIdpError> {
        let holder = match self.inner.cfg.users.iter().find(|u| u.is_named(sub)) {
            Some(user) => mint::Holder::User(user),
            None => mint::Holder::Client,
        };
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        mint::access_token(&self.inner, client_id, holder, sub, &scopes, extra)
    }

    /// An `id_token` for the user `username`, addressed to `client_id`, authenticated now.
    /// [`Behaviour`] faults apply.
    pub fn issue_id_token(
        &self,
        client_id: &str,
        username: &str,
        nonce: Option<&str>,
    ) -> Result<String, DevIdpError> {
        let user = self
            .inner
            .cfg
            .user(username)
            .ok_or_else(|| DevIdpError::UnknownUser(username.to_string()))?;
        let now = tessera_shared::time::now();
        let login = mint::Login {
            nonce,
            auth_time: now,
            sid: None,
        };
        mint::id_token(&self.inner, client_id, user, login)
    }

    /// The `sid`s of the live sessions of `username` (one per sign-in through the form).
    pub fn sessions_of(&self, username: &str) -> Vec<String> {
        self.inner.sessions.of(username)
    }

    /// Ends every session of `username`, as an administrator's "sign out everywhere" at Okta
    /// does, and tells their clients on the back channel: with `by_session`, one logout token
    /// per session (`sid` and `sub`); otherwise one per client with only `sub`. Returns how
    /// many logout tokens the clients accepted (answered 200).
    pub async fn logout_user(&self, username: &str, by_session: bool) -> usize {
        let ended = self.inner.sessions.end_user(username);
        logout::notify(&self.inner, &ended, by_session).await
    }

    /// A logout token for `client_id`: valid claims (`sid` and/or `sub` as given, a fresh
    /// `jti`), then `changes` — a claim set to `null` is removed — signed as the provider
    /// signs them (typed `logout+jwt`; [`Behaviour`] faults apply). For tests of what a
    /// relying party must refuse.
    pub fn issue_logout_token(
        &self,
        client_id: &str,
        sid: Option<&str>,
        sub: Option<&str>,
        changes: Map<String, Value>,
    ) -> Result<String, DevIdpError> {
        let mut claims = logout::claims(&self.inner, client_id, sid, sub);
        for (k, v) in changes {
            match v {
                Value::Null => claims.remove(&k),
                v => claims.insert(k, v),
            };
        }
        logout::sign(&self.inner, client_id, &claims)
    }

    pub fn issuer(&self) -> &str {
        &self.inner.cfg.issuer
    }
}

impl Inner {
    /// What every endpoint does first: with `down`, the answer is a plain-text 503; otherwise,
    /// for API endpoints (`delayed`), sleep `delay_ms` before answering.
    pub(crate) async fn gate(&self, delayed: bool) -> Option<HttpResponse> {
        if self.behaviour.down() {
            return Some(unavailable());
        }
        let ms = self.behaviour.delay_ms();
        if delayed && ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        None
    }
}

/// RFC 6749 §3.3: space-delimited scope tokens of `%x21 / %x23-5B / %x5D-7E`, order kept,
/// duplicates dropped. `None` when a token has another character or there is none at all.
pub(crate) fn parse_scope(s: &str) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for token in s.split(' ').filter(|t| !t.is_empty()) {
        let ok = token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        if !ok {
            return None;
        }
        if !out.iter().any(|t| t == token) {
            out.push(token.to_string());
        }
    }
    (!out.is_empty()).then_some(out)
}

fn unavailable() -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .insert_header((header::RETRY_AFTER, "1"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/plain; charset=utf-8")
        .body("503 Service Unavailable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_rfc6749_section_3_3() {
        assert_eq!(
            parse_scope("openid  profile openid"),
            Some(vec!["openid".to_string(), "profile".to_string()])
        );
        assert_eq!(parse_scope("api:read"), Some(vec!["api:read".to_string()]));
        assert_eq!(parse_scope(""), None);
        assert_eq!(parse_scope("a\"b"), None);
        assert_eq!(parse_scope("caf\u{e9}"), None);
    }
}
