//! RFC 8693 subject tokens: which ones the broker accepts, from whom, and only once.
//!
//! # Design note
//! * An **id_token** is accepted only if the broker minted it ([`crate::idtoken`]: signature
//!   against its own published keys, `iss` = the broker) and only from the app it was minted
//!   for (`aud` is one of the app's client ids): it then stands for that app's own login
//!   (`sid`), which must still be live. Upstream id_tokens are not accepted at all: apps never
//!   receive them from the broker, and one that reached a backend through the proxy must not
//!   become a token for any app.
//! * An upstream **access token** (an Okta JWT, checked against the upstream JWKS, issuer and
//!   `upstream.access_token_audiences`) is accepted only when its client — `cid` (Okta), `azp`
//!   or `client_id` (RFC 9068) — is in the app's `token_exchange_clients`.
//! * Every accepted subject token is **single use**: its `jti` (or, without one, the keyed hash
//!   of the whole token) is recorded in Redis until the token could no longer be accepted
//!   anyway, and a second presentation is refused. It must also be **fresh**: `iat` no older
//!   than `token_exchange.max_subject_age_secs` (and not in the future beyond the leeway).
//!
//! [`check`] verifies; the grant then checks its scope rules and only then [`Checked::consume`]s
//! the token (the replay mark), so a request that is refused — by another client that may not
//! use the token, or for its scope — does not burn it for the one that may. Every refusal is `invalid_request` (§2.2.2) with
//! a fixed description; the cause is logged.

use std::sync::Arc;

use serde_json::{Map, Value};
use tessera_shared::model::Sensitive;
use tessera_shared::oauth::OAuthError;
use tessera_shared::time::now;

use crate::flows::client_auth::AuthenticatedClient;
use crate::state::AppState;
use crate::upstream::jwt::UpstreamToken;
use crate::upstream::{Upstream, UpstreamError};

/// Clock skew allowed on `iat`, and added to how long a replay mark is kept.
const LEEWAY_SECS: i64 = 60;

/// An accepted subject token.
#[derive(Debug)]
pub enum Subject {
    /// The live login (family id) of a broker id_token minted for this app.
    Login(String),
    /// The claims of an upstream access token from an allowed client, and the provider that
    /// issued it.
    UpstreamAccess(Map<String, Value>, Arc<Upstream>),
}

fn refused(public: &'static str, cause: &str) -> OAuthError {
    tracing::info!(%cause, "subject_token refused");
    OAuthError::invalid_request(public)
}

/// A verified subject token, not yet marked used.
#[derive(Debug)]
pub struct Checked {
    pub subject: Subject,
    /// What identifies the token in the replay cache (hashed before it is stored; it may be
    /// the token itself, so never printed).
    replay_key: Sensitive,
    iat: i64,
    exp: i64,
}

impl Checked {
    /// Marks the token used; fails if it already was.
    pub async fn consume(self, state: &AppState) -> Result<Subject, OAuthError> {
        once(self.replay_key.expose(), self.iat, self.exp, state).await?;
        Ok(self.subject)
    }
}

/// Checks `raw` as a `kind` subject token for `client` (not yet marking it used).
pub async fn check(
    raw: &str,
    kind: UpstreamToken,
    client: &AuthenticatedClient,
    state: &AppState,
) -> Result<Checked, OAuthError> {
    match kind {
        UpstreamToken::IdToken => {
            let Some(claims) = state.id_tokens.as_ref().and_then(|k| k.verify(raw)) else {
                return Err(refused(
                    "the subject_token is not a valid id_token issued by this server",
                    "not a broker id_token (or expired, or an upstream one)",
                ));
            };
            if client.app.credential(&claims.aud).is_none() {
                return Err(refused(
                    "the id_token was issued to another client",
                    "id_token aud is not one of the app's client ids",
                ));
            }
            fresh(Some(claims.iat), state)?;
            Ok(Checked {
                replay_key: Sensitive(format!("jti\0{}\0{}", claims.iss, claims.jti)),
                iat: claims.iat,
                exp: claims.exp,
                subject: Subject::Login(claims.sid),
            })
        }
        UpstreamToken::AccessToken => {
            let up = super::upstream_of_token(state, &client.app, raw)?;
            let claims = up.verify_jwt(raw, kind).await.map_err(|e| match e {
                UpstreamError::Unavailable(cause) => {
                    tracing::warn!(%cause, "upstream unavailable for token exchange");
                    OAuthError::unavailable()
                }
                UpstreamError::Rejected(cause) => refused("the subject_token is invalid", &cause),
            })?;
            let client_of = ["cid", "azp", "client_id"]
                .iter()
                .find_map(|c| claims.get(*c).and_then(Value::as_str));
            if !client_of.is_some_and(|c| client.app.token_exchange_clients.iter().any(|a| a == c))
            {
                return Err(refused(
                    "the subject_token was not issued to a client this app may exchange tokens of",
                    "upstream access token client not in token_exchange_clients",
                ));
            }
            let iat = fresh(claims.get("iat").and_then(Value::as_i64), state)?;
            let replay_key = match claims.get("jti").and_then(Value::as_str) {
                Some(jti) => {
                    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
                    format!("jti\0{iss}\0{jti}")
                }
                None => format!("token\0{raw}"),
            };
            Ok(Checked {
                replay_key: Sensitive(replay_key),
                iat,
                exp: claims.get("exp").and_then(Value::as_i64).unwrap_or(0),
                subject: Subject::UpstreamAccess(claims, up),
            })
        }
    }
}

/// `iat` present, not in the future, and no older than the configured age.
fn fresh(iat: Option<i64>, state: &AppState) -> Result<i64, OAuthError> {
    let Some(iat) = iat else {
        return Err(refused("the subject_token has no iat", "no iat"));
    };
    let age = now() - iat;
    if age < -LEEWAY_SECS {
        return Err(refused(
            "the subject_token is issued in the future",
            "iat in the future",
        ));
    }
    let max = state.config.token_exchange.max_subject_age_secs as i64;
    if age > max {
        return Err(refused("the subject_token is too old", "iat too old"));
    }
    Ok(iat)
}

/// Records `key` as used (by its keyed hash) for as long as the token could still be
/// accepted: until its `exp` or its age limit, whichever comes first, plus the leeway.
async fn once(key: &str, iat: i64, exp: i64, state: &AppState) -> Result<(), OAuthError> {
    let max = state.config.token_exchange.max_subject_age_secs as i64;
    let by_age = iat.saturating_add(max);
    let ttl = (exp.min(by_age) - now() + LEEWAY_SECS).max(1) as u64;
    if state.logins.first_use(key, ttl).await? {
        Ok(())
    } else {
        Err(refused(
            "the subject_token was already used",
            "subject_token replayed",
        ))
    }
}
