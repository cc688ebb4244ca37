//! The `jwt` authentication policy — Azure API Management's `validate-jwt`: a bearer JWT must be
//! signed by a key its issuer publishes, be meant for this API, be current, and carry the
//! required claims.
//!
//! This module owns the configuration ([`JwtConfig`], a route's `[routes.auth]` table with
//! `kind = "jwt"`) and the validator compiled from it ([`JwtValidator`]); [`jwks`] owns the key
//! cache shared by all routes, `key` which JWKS entries may verify what, [`claims`] the
//! required-claims matching.
//!
//! ```toml
//! [routes.auth]
//! kind = "jwt"
//! openid_config_urls = ["https://dev-123.okta.com/oauth2/default/.well-known/openid-configuration"]
//! audiences = ["api://default"]
//! failure_message = "Unauthorized. Access token is missing or invalid."
//!
//! [[routes.auth.required_claims]]
//! name = "DealershipLocation"
//! match = "any"
//! values = ["Los Angeles", "San Francisco"]
//! ```
//!
//! # Design note: what a token must pass, in order
//! 1. Cheap checks before any crypto or network: at most [`MAX_TOKEN_BYTES`], exactly three
//!    segments (JWS compact serialization; a five-segment JWE is refused), a readable header
//!    whose `alg` is in the allow-list (RFC 8725 §3.1: `none` and HMAC are never in it — the
//!    configuration refuses them, and jsonwebtoken cannot even parse `none`), no `crit`
//!    (RFC 7515 §4.1.11: we understand no extension), a `kid`.
//! 2. `iss` (read before verification, only to choose the keys) must be one of `issuers` when
//!    configured, and exactly (RFC 7519 §4.1.1, no normalisation) the `issuer` of one of the
//!    discovery documents: that provider's keys, and only those, may verify the token
//!    (RFC 8725 §3.8: validate the issuer and use its keys).
//! 3. The key named by `kid` must fit the algorithm (RSA for RS/PS, EC P-256/P-384 for
//!    ES256/ES384, and the JWK's own `alg` if it has one) — RFC 8725 §2.1 algorithm confusion.
//! 4. Signature, then `exp` (required) and `nbf` with `leeway_secs` (RFC 7519 §4.1.4, §4.1.5),
//!    `iss` again, and `aud` when audiences are configured (RFC 7519 §4.1.3; RFC 8725 §3.9: the
//!    audience is what keeps an `id_token` or another API's token out).
//! 5. The required claims ([`claims`]).
//!
//! **An empty `audiences` list turns the audience check off**: any token of the issuer — for any
//! API, even an `id_token` — is then accepted. Only do so when the issuer mints tokens for this
//! API alone.
//!
//! Error texts are for logs: they say which check failed and never contain the token or any
//! value taken from it.

pub mod claims;
pub mod jwks;
mod key;

use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, Algorithm, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

pub use claims::{Match, RequiredClaim};
pub use jwks::JwksRegistry;

/// Tokens longer than this are refused unread (Okta's are ~1 KiB).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The most clock skew `leeway_secs` may allow (RFC 7519 §4.1.4: "a few minutes").
pub const MAX_LEEWAY_SECS: u64 = 300;

/// A route's `jwt` authentication settings (the `[routes.auth]` fields besides `kind`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// At least one; e.g. `https://dev-123.okta.com/oauth2/default/.well-known/openid-configuration`.
    pub openid_config_urls: Vec<Url>,
    /// Accepted `iss` values. Empty: the issuers named by the discovery documents.
    #[serde(default)]
    pub issuers: Vec<String>,
    /// The token's `aud` must contain one of these. Empty: `aud` is not checked (see the
    /// module documentation: rarely what you want).
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Asymmetric JWS algorithms only; `HS*` and `none` are refused.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`, at most [`MAX_LEEWAY_SECS`].
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
    #[serde(default)]
    pub required_claims: Vec<RequiredClaim>,
    /// 401 or 403 (APIM's `failed-validation-httpcode`).
    #[serde(default = "default_failure_status")]
    pub failure_status: u16,
    /// APIM's `failed-validation-error-message`. Limited to the characters RFC 6750 §3 allows
    /// in `error_description`, so that it can go into a `WWW-Authenticate` header.
    #[serde(default)]
    pub failure_message: Option<String>,
    /// Claims that name the calling client; the first present (as a string) wins.
    #[serde(default = "default_client_id_claims")]
    pub client_id_claims: Vec<String>,
}

fn default_algorithms() -> Vec<String> {
    vec!["RS256".into()]
}
fn default_leeway() -> u64 {
    30
}
fn default_failure_status() -> u16 {
    401
}
fn default_client_id_claims() -> Vec<String> {
    ["cid", "client_id", "azp"].map(String::from).to_vec()
}

/// Why a token was not accepted. Texts never contain the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Malformed, expired, not yet valid, wrong issuer/audience/algorithm, unknown key, bad
    /// signature: the route's failure status with `error="invalid_token"` (RFC 6750 §3.1).
    #[error("invalid token: {0}")]
    Invalid(String),
    /// A valid token without the required claims: the route's failure status.
    #[error("required claims not met: {0}")]
    Claims(String),
    /// No keys could be fetched for the token's issuer: 503.
    #[error("signing keys unavailable: {0}")]
    Unavailable(String),
}

/// An accepted token's claims and what the pipeline reads from them.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedJwt {
    pub claims: Map<String, Value>,
    /// The first of `client_id_claims` present as a string.
    pub client_id: Option<String>,
    pub subject: Option<String>,
    /// `scp` (Okta: an array; Azure AD: a space-separated string), else `scope` (RFC 8693 §4.2).
    pub scopes: Vec<String>,
    pub expires_at: i64,
}

/// A [`JwtConfig`] checked and bound to its providers' key caches.
#[derive(Debug)]
pub struct JwtValidator {
    providers: Vec<Arc<jwks::Provider>>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    algorithms: Vec<Algorithm>,
    leeway_secs: u64,
    required_claims: Vec<RequiredClaim>,
    failure_status: u16,
    failure_message: Option<String>,
    client_id_claims: Vec<String>,
}

fn nonempty(key: &str, items: &[String]) -> Result<(), String> {
    match items.iter().position(|s| s.trim().is_empty()) {
        Some(i) => Err(format!("{key}[{i}]: must not be empty")),
        None => Ok(()),
    }
}

fn allowed_algorithm(i: usize, name: &str) -> Result<Algorithm, String> {
    if let Some(alg) = tessera_shared::jwt::algorithm(name) {
        return Ok(alg);
    }
    let why = if name.eq_ignore_ascii_case("none") {
        "is not allowed (unsigned)".to_string()
    } else if name.to_ascii_uppercase().starts_with("HS") {
        "is not allowed (symmetric)".to_string()
    } else {
        let supported = tessera_shared::config::ASYMMETRIC_ALGS.join(", ");
        format!("is not supported (one of {supported})")
    };
    Err(format!("algorithms[{i}]: {name} {why}"))
}

/// RFC 6750 §3: `error_description` is `%x20-21 / %x23-5B / %x5D-7E`.
fn header_safe(s: &str) -> bool {
    s.bytes()
        .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

impl JwtValidator {
    /// Checks `cfg`; the error names the offending key. Nothing is fetched yet.
    pub fn compile(cfg: &JwtConfig, registry: Arc<JwksRegistry>) -> Result<Self, String> {
        if cfg.openid_config_urls.is_empty() {
            return Err("openid_config_urls: at least one URL is required".into());
        }
        for (i, url) in cfg.openid_config_urls.iter().enumerate() {
            if !jwks::secure_url(url) {
                return Err(format!(
                    "openid_config_urls[{i}]: must be https (http only to a loopback address)"
                ));
            }
            if cfg.openid_config_urls[..i].contains(url) {
                return Err(format!("openid_config_urls[{i}]: repeated"));
            }
        }
        nonempty("issuers", &cfg.issuers)?;
        nonempty("audiences", &cfg.audiences)?;
        nonempty("client_id_claims", &cfg.client_id_claims)?;
        if cfg.algorithms.is_empty() {
            return Err("algorithms: at least one algorithm is required".into());
        }
        let algorithms = (cfg.algorithms.iter().enumerate())
            .map(|(i, a)| allowed_algorithm(i, a))
            .collect::<Result<Vec<_>, _>>()?;
        if cfg.leeway_secs > MAX_LEEWAY_SECS {
            return Err(format!("leeway_secs: at most {MAX_LEEWAY_SECS}"));
        }
        for (i, rc) in cfg.required_claims.iter().enumerate() {
            if rc.name.trim().is_empty() {
                return Err(format!("required_claims[{i}].name: must not be empty"));
            }
            nonempty(&format!("required_claims[{i}].values"), &rc.values)?;
        }
        if !matches!(cfg.failure_status, 401 | 403) {
            return Err("failure_status: must be 401 or 403".into());
        }
        if cfg
            .failure_message
            .as_deref()
            .is_some_and(|m| !header_safe(m))
        {
            return Err(
                "failure_message: printable ASCII only, without '\"' or '\\' (RFC 6750 §3)".into(),
            );
        }
        if cfg.audiences.is_empty() {
            tracing::warn!(
                urls = ?cfg.openid_config_urls.iter().map(Url::as_str).collect::<Vec<_>>(),
                "jwt policy without audiences: tokens for any audience of the issuer are accepted"
            );
        }
        Ok(JwtValidator {
            providers: (cfg.openid_config_urls.iter())
                .map(|u| registry.provider(u))
                .collect(),
            issuers: cfg.issuers.clone(),
            audiences: cfg.audiences.clone(),
            algorithms,
            leeway_secs: cfg.leeway_secs,
            required_claims: cfg.required_claims.clone(),
            failure_status: cfg.failure_status,
            failure_message: cfg.failure_message.clone(),
            client_id_claims: cfg.client_id_claims.clone(),
        })
    }

    pub fn failure_status(&self) -> u16 {
        self.failure_status
    }

    pub fn failure_message(&self) -> Option<&str> {
        self.failure_message.as_deref()
    }

    /// Validates `token` (the bearer value, without `Bearer `), in the order of the module's
    /// design note.
    pub async fn validate(&self, token: &str) -> Result<ValidatedJwt, JwtError> {
        let invalid = |why: &str| JwtError::Invalid(why.to_string());
        if token.len() > MAX_TOKEN_BYTES {
            return Err(invalid("token is larger than 16 KiB"));
        }
        if token.split('.').count() != 3 {
            return Err(invalid("not a signed JWT (three segments)"));
        }
        let header = decode_header(token).map_err(|_| invalid("malformed or unsigned header"))?;
        if !self.algorithms.contains(&header.alg) {
            return Err(JwtError::Invalid(format!(
                "algorithm {:?} is not allowed",
                header.alg
            )));
        }
        if header.crit.is_some() {
            return Err(invalid("critical header parameters are not supported"));
        }
        let kid = header.kid.as_deref().ok_or_else(|| invalid("no kid"))?;
        let iss = issuer_of(token).ok_or_else(|| invalid("malformed payload or no iss"))?;
        if !self.issuers.is_empty() && !self.issuers.contains(&iss) {
            return Err(invalid("issuer is not accepted"));
        }

        let (provider, keys, fresh) = self.provider_for(&iss).await?;
        let keys = if keys.find(kid).is_none() && !fresh {
            provider.refetch_for_kid(&keys).await
        } else {
            keys
        };
        let key = keys
            .find(kid)
            .ok_or_else(|| invalid("signed by an unknown key"))?;
        if !key.verifies(header.alg) {
            return Err(invalid("the key does not fit the algorithm"));
        }

        let mut v = Validation::new(header.alg);
        v.leeway = self.leeway_secs;
        v.validate_exp = true;
        v.validate_nbf = true;
        v.set_issuer(&[iss.as_str()]);
        if self.audiences.is_empty() {
            v.validate_aud = false;
            v.set_required_spec_claims(&["exp", "iss"]);
        } else {
            v.set_audience(&self.audiences);
            v.set_required_spec_claims(&["exp", "iss", "aud"]);
        }
        let data = decode::<Map<String, Value>>(token, &key.decoding, &v)
            .map_err(|e| JwtError::Invalid(describe(e.kind())))?;
        claims::check(&self.required_claims, &data.claims).map_err(JwtError::Claims)?;
        Ok(self.accepted(data.claims))
    }

    /// The provider whose discovery `issuer` is `iss`, its keys, and whether they were fetched
    /// during this call. Providers are asked in configuration order.
    async fn provider_for(
        &self,
        iss: &str,
    ) -> Result<(&jwks::Provider, Arc<jwks::KeySet>, bool), JwtError> {
        let mut unavailable = None;
        for p in &self.providers {
            match p.keys().await {
                Ok((keys, fresh)) if keys.issuer == iss => return Ok((p, keys, fresh)),
                Ok(_) => {}
                Err(e) => unavailable = Some(e),
            }
        }
        Err(match unavailable {
            // The issuer may be the provider we cannot reach.
            Some(e) => JwtError::Unavailable(e),
            None => JwtError::Invalid("issuer is not accepted".into()),
        })
    }

    fn accepted(&self, claims: Map<String, Value>) -> ValidatedJwt {
        let client_id = (self.client_id_claims.iter())
            .find_map(|c| claims.get(c).and_then(Value::as_str))
            .map(str::to_string);
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .map(str::to_string);
        let scopes = claims::values_of("scp", claims.get("scp"))
            .or_else(|| claims::values_of("scope", claims.get("scope")))
            .map(|v| v.into_iter().map(|s| s.into_owned()).collect())
            .unwrap_or_default();
        let expires_at = (claims.get("exp"))
            .and_then(|e| e.as_i64().or_else(|| e.as_f64().map(|f| f as i64)))
            .unwrap_or(0);
        ValidatedJwt {
            claims,
            client_id,
            subject,
            scopes,
            expires_at,
        }
    }
}

/// The unverified `iss`, to pick the keys that will verify it (nothing else is trusted yet).
fn issuer_of(token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Peek {
        iss: String,
    }
    let data = jsonwebtoken::dangerous::insecure_decode::<Peek>(token).ok()?;
    Some(data.claims.iss)
}

/// jsonwebtoken's verdict in our words (its own texts may quote parser details).
fn describe(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::InvalidSignature => "signature does not verify".into(),
        ErrorKind::ExpiredSignature => "token has expired".into(),
        ErrorKind::ImmatureSignature => "token is not valid yet (nbf)".into(),
        ErrorKind::InvalidIssuer => "issuer is not accepted".into(),
        ErrorKind::InvalidAudience => "audience is not accepted".into(),
        ErrorKind::InvalidAlgorithm => "the key does not fit the algorithm".into(),
        ErrorKind::MissingRequiredClaim(c) => format!("claim {c} is missing"),
        ErrorKind::InvalidClaimFormat(c) => format!("claim {c} is malformed"),
        _ => "malformed token".into(),
    }
}
