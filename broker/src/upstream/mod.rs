//! The upstream OpenID Connect provider (Okta, or any OIDC provider) that authenticates people.
//!
//! Discovered by its issuer URL (`/.well-known/openid-configuration`), cached and refreshed;
//! stale metadata keeps serving if a refresh fails. The HTTP client does not follow redirects
//! (SSRF: the openidconnect docs say so), has timeouts, is built once, and reads at most
//! `upstream.max_response_bytes` of any answer ([`http`]). The JWKS is cached
//! with the metadata; a token signed with an unknown `kid` causes one refetch, at most once per
//! `jwks_min_refetch_secs`, so key rotation just works and a flood of forged `kid`s does not
//! become a flood of upstream requests.
//!
//! # Layout
//! * [`id_token`] — `id_token` validation with openidconnect (signature, `iss`, `aud`, `azp`,
//!   `exp`/`iat` with leeway, `nonce`, algorithm allow-list).
//! * [`jwt`] — upstream JWT access tokens (token exchange), with jsonwebtoken.
//! * [`logout_token`] — back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0).
//! * [`claims`] — the configured claim mapping.
//! * `discovery` — the discovery document and JWKS, cached and refreshed.
//! * [`end_session`] — the upstream's `end_session_endpoint` (RP-initiated logout).
//! * [`registry`] — [`Upstreams`]: several providers, by id, issuer or e-mail domain.
//! * [`subject`] — the broker's `sub` for a provider's user (a namespace per provider).

pub mod claims;
mod discovery;
pub mod end_session;
pub mod http;
pub mod id_token;
pub mod jwt;
pub mod logout_token;
pub mod registry;
pub mod subject;

pub use registry::Upstreams;

use discovery::Discovered;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openidconnect::core::{CoreClient, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, ResourceOwnerPassword,
    ResourceOwnerUsername, Scope, TokenResponse,
};
use secrecy::ExposeSecret;
use tessera_shared::model::Sensitive;
use tokio::sync::RwLock;

use crate::config::UpstreamConfig;

/// Why an upstream interaction failed. `Unavailable`: the provider could not be asked (down,
/// slow, broken answer); `Rejected`: it answered, and the answer does not prove a login.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream unavailable: {0}")]
    Unavailable(String),
    #[error("upstream rejected: {0}")]
    Rejected(String),
}

/// A login the upstream vouched for: the verified `id_token` (never printed) and all of its
/// claims.
#[derive(Debug)]
pub struct VerifiedLogin {
    pub id_token: Sensitive,
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// One way into the upstream's login: where it sends the browser back and what it asks for.
#[derive(Debug, Clone, Copy)]
pub struct Leg<'a> {
    pub redirect_uri: &'a str,
    pub scopes: &'a [String],
}

/// The openidconnect client once built from discovered metadata (authorization endpoint set,
/// token and userinfo endpoints as discovered).
type UpstreamClient = openidconnect::Client<
    openidconnect::EmptyAdditionalClaims,
    openidconnect::core::CoreAuthDisplay,
    openidconnect::core::CoreGenderClaim,
    openidconnect::core::CoreJweContentEncryptionAlgorithm,
    openidconnect::core::CoreJsonWebKey,
    openidconnect::core::CoreAuthPrompt,
    openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    openidconnect::core::CoreTokenResponse,
    openidconnect::core::CoreTokenIntrospectionResponse,
    openidconnect::core::CoreRevocableToken,
    openidconnect::core::CoreRevocationErrorResponse,
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

pub struct Upstream {
    cfg: UpstreamConfig,
    http: http::CappedClient,
    redirect_uri: String,
    discovered: RwLock<Option<Arc<Discovered>>>,
    /// When the JWKS was last refetched for an unknown `kid` (std mutex: never held across
    /// an await).
    last_refetch: Mutex<Option<Instant>>,
    /// How its users' `sub`s become the broker's ([`subject`]); set by [`Upstreams::new`].
    subjects: subject::SubjectSpace,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("id", &self.cfg.id)
            .field("issuer", &self.cfg.issuer)
            .field("client_id", &self.cfg.client_id)
            .finish()
    }
}

impl Upstream {
    /// `broker_issuer` gives the callback URL registered at the upstream: `{issuer}/callback`.
    pub fn new(cfg: UpstreamConfig, broker_issuer: &str) -> Result<Self, UpstreamError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_millis(cfg.timeout_ms))
            .connect_timeout(Duration::from_millis(cfg.timeout_ms))
            .build()
            .map_err(|e| UpstreamError::Unavailable(e.to_string()))?;
        let http = http::CappedClient::new(http, cfg.max_response_bytes);
        Ok(Upstream {
            redirect_uri: format!("{broker_issuer}/callback"),
            cfg,
            http,
            discovered: RwLock::new(None),
            last_refetch: Mutex::new(None),
            subjects: subject::SubjectSpace::default(),
        })
    }

    pub fn config(&self) -> &UpstreamConfig {
        &self.cfg
    }

    /// Places the provider in the broker's subject namespaces ([`subject`]).
    pub(crate) fn with_subjects(mut self, subjects: subject::SubjectSpace) -> Self {
        self.subjects = subjects;
        self
    }

    /// The broker's subject for this provider's user `raw_sub` ([`subject`]).
    pub fn subject(&self, raw_sub: &str) -> Result<String, UpstreamError> {
        self.subjects.subject(raw_sub)
    }

    /// The provider's id (`[[upstreams]] id`; `default` for `[upstream]`).
    pub fn id(&self) -> &str {
        &self.cfg.id
    }

    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    fn client(&self, d: &Discovered) -> Result<UpstreamClient, UpstreamError> {
        self.client_to(d, &self.redirect_uri)
    }

    /// The client, with `redirect_uri` as its callback (the broker's `/callback`, or the
    /// portal's own).
    fn client_to(
        &self,
        d: &Discovered,
        redirect_uri: &str,
    ) -> Result<UpstreamClient, UpstreamError> {
        let redirect = RedirectUrl::new(redirect_uri.to_string())
            .map_err(|e| UpstreamError::Unavailable(format!("redirect URI: {e}")))?;
        Ok(CoreClient::from_provider_metadata(
            d.meta.clone(),
            ClientId::new(self.cfg.client_id.clone()),
            Some(ClientSecret::new(
                self.cfg.client_secret.expose_secret().to_string(),
            )),
        )
        .set_redirect_uri(redirect))
    }

    /// The upstream authorize URL for a login with the broker's own `state`, `nonce` and PKCE
    /// verifier (RFC 7636 S256 toward the upstream too).
    pub async fn authorize_url(
        &self,
        state: &str,
        nonce: &str,
        verifier: &str,
    ) -> Result<String, UpstreamError> {
        let to = Leg {
            redirect_uri: &self.redirect_uri,
            scopes: &self.cfg.scopes,
        };
        self.authorize_url_to(to, state, nonce, verifier).await
    }

    /// [`Upstream::authorize_url`] for another leg: its own callback and scopes (the portal's
    /// sign-in).
    pub async fn authorize_url_to(
        &self,
        to: Leg<'_>,
        state: &str,
        nonce: &str,
        verifier: &str,
    ) -> Result<String, UpstreamError> {
        let d = self.discovered().await?;
        let client = self.client_to(&d, to.redirect_uri)?;
        let challenge =
            PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier.into()));
        let (state, nonce) = (state.to_string(), nonce.to_string());
        let mut req = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(challenge);
        for s in to.scopes.iter().filter(|s| *s != "openid") {
            req = req.add_scope(Scope::new(s.clone()));
        }
        Ok(req.url().0.to_string())
    }

    /// Exchanges the upstream code and validates the `id_token` against `nonce`.
    pub async fn exchange_code(
        &self,
        code: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<VerifiedLogin, UpstreamError> {
        self.exchange_code_to(&self.redirect_uri, code, verifier, nonce)
            .await
    }

    /// [`Upstream::exchange_code`] for a code sent to `redirect_uri` (RFC 6749 §4.1.3: the
    /// token request names the callback the authorization request named).
    pub async fn exchange_code_to(
        &self,
        redirect_uri: &str,
        code: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<VerifiedLogin, UpstreamError> {
        let d = self.discovered().await?;
        let client = self.client_to(&d, redirect_uri)?;
        let resp = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| UpstreamError::Unavailable(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let id_token = resp
            .id_token()
            .ok_or_else(|| UpstreamError::Rejected("no id_token in the token response".into()))?
            .to_string();
        let _ = resp.access_token();
        self.verify_id_token(&id_token, Some(nonce)).await
    }

    /// RFC 6749 §4.3 at the upstream: the resource owner's credentials, passed through.
    pub async fn password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<VerifiedLogin, UpstreamError> {
        let d = self.discovered().await?;
        let client = self.client(&d)?;
        let user = ResourceOwnerUsername::new(username.to_string());
        let pass = ResourceOwnerPassword::new(password.to_string());
        let mut req = client
            .exchange_password(&user, &pass)
            .map_err(|e| UpstreamError::Unavailable(e.to_string()))?;
        for s in &self.cfg.scopes {
            req = req.add_scope(Scope::new(s.clone()));
        }
        if !self.cfg.scopes.iter().any(|s| s == "openid") {
            req = req.add_scope(Scope::new("openid".into()));
        }
        let resp = req.request_async(&self.http).await.map_err(token_error)?;
        let id_token = resp
            .id_token()
            .ok_or_else(|| UpstreamError::Rejected("no id_token in the token response".into()))?
            .to_string();
        self.verify_id_token(&id_token, None).await
    }
}

/// A token-endpoint failure: an OAuth error answer is a rejection (bad code, bad password); a
/// transport failure or an unreadable answer means the upstream is unavailable.
fn token_error<RE: std::error::Error + 'static, T: openidconnect::ErrorResponse + 'static>(
    e: openidconnect::RequestTokenError<RE, T>,
) -> UpstreamError {
    match e {
        openidconnect::RequestTokenError::ServerResponse(r) => {
            UpstreamError::Rejected(format!("token endpoint: {r}"))
        }
        other => UpstreamError::Unavailable(format!("token endpoint: {other}")),
    }
}
