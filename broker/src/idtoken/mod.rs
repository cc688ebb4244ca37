//! The id_tokens the broker mints for apps (OpenID Connect Core §2), and their keys.
//!
//! An app that is granted `openid` receives an id_token made for *it*: `iss` = the broker's
//! issuer, `aud` and `azp` = the app's client_id, the upstream user's `sub`, `auth_time` of the
//! upstream login, the app's own `nonce` (authorization code flow), `at_hash` of the access
//! token issued with it (§3.1.3.6), `sid` = the login (refresh token family), a random `jti`,
//! `iat` and `exp`. It is signed with the broker's current key ([`keys`]); the current and
//! previous keys are published at `{issuer}/jwks`. The upstream's own id_token never leaves the
//! broker this way: it stays in Redis, sealed, for the proxy to forward where a route asks.
//!
//! # Layout
//! * [`keys`] — loading or generating keys; JWKs named by their RFC 7638 thumbprint.

pub mod keys;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{decode, decode_header, encode, Header, Validation};
use keys::{load, KeyError, PublicKey, SigningKey};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tessera_shared::crypto::random_string;
use tessera_shared::time::now;

use crate::config::IdTokenConfig;

/// Clock skew accepted when the broker verifies an id_token it minted (several instances).
const LEEWAY_SECS: u64 = 30;

/// The claims of a broker id_token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub azp: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// The login (refresh token family) it stands for.
    pub sid: String,
    pub jti: String,
}

/// What one id_token is minted for. `Debug` leaves the access token out.
pub struct Subject<'a> {
    pub client_id: &'a str,
    pub sub: &'a str,
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
    pub access_token: &'a str,
    pub family: &'a str,
}

impl std::fmt::Debug for Subject<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subject")
            .field("client_id", &self.client_id)
            .field("sub", &self.sub)
            .field("auth_time", &self.auth_time)
            .field("nonce", &self.nonce)
            .field("family", &self.family)
            .finish_non_exhaustive()
    }
}

/// The broker's id_token issuer: keys, issuer URL and lifetime.
#[derive(Debug)]
pub struct IdTokens {
    issuer: String,
    ttl_secs: u64,
    hint_max_age_secs: u64,
    current: SigningKey,
    previous: Vec<PublicKey>,
}

/// Why an `id_token_hint` is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum HintError {
    /// Not a well-formed id_token signed by one of the broker's published keys.
    NotOurs,
    /// Minted longer ago than `id_token.end_session_hint_max_age_secs`.
    TooOld,
}

/// OIDC Core §3.1.3.6: base64url of the left half of the SHA-256 of the access token (RS256
/// and ES256 both hash with SHA-256).
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

impl IdTokens {
    /// The keys `cfg` names (or a generated one); `None` when it names none.
    pub fn from_config(cfg: &IdTokenConfig, issuer: &str) -> Result<Option<Self>, KeyError> {
        let current = match (&cfg.signing_key_file, cfg.generate_key) {
            (Some(path), _) => load(path, SigningKey::from_pem)?,
            (None, true) => {
                tracing::warn!(
                    "id_token.generate_key: signing id_tokens with a key generated at start-up \
                     (development only; it changes on restart)"
                );
                SigningKey::generate()?
            }
            (None, false) => return Ok(None),
        };
        let previous = cfg
            .previous_key_files
            .iter()
            .map(|p| load(p, PublicKey::from_pem))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(IdTokens {
            issuer: issuer.to_string(),
            ttl_secs: cfg.ttl_secs,
            hint_max_age_secs: cfg.end_session_hint_max_age_secs,
            current,
            previous,
        }))
    }

    /// Signs an id_token for `s`.
    pub fn mint(&self, s: &Subject<'_>) -> Result<String, jsonwebtoken::errors::Error> {
        let iat = now();
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: s.sub.to_string(),
            aud: s.client_id.to_string(),
            azp: s.client_id.to_string(),
            exp: iat.saturating_add(self.ttl_secs as i64),
            iat,
            auth_time: s.auth_time,
            nonce: s.nonce.map(str::to_string),
            at_hash: Some(at_hash(s.access_token)),
            sid: s.family.to_string(),
            jti: random_string::<16>(),
        };
        let mut header = Header::new(self.current.public.alg);
        header.kid = Some(self.current.public.kid.clone());
        encode(&header, &claims, &self.current.encoding)
    }

    fn published(&self) -> impl Iterator<Item = &PublicKey> {
        std::iter::once(&self.current.public).chain(&self.previous)
    }

    /// Verifies an id_token this broker minted (any published key): signature, `iss`, `exp`
    /// with a small leeway. The audience is for the caller to check.
    pub fn verify(&self, raw: &str) -> Option<Claims> {
        self.check(raw, true)
    }

    /// As [`Self::verify`], expired or not, for an `id_token_hint` (OpenID Connect
    /// RP-Initiated Logout 1.0 §2: "the OP need not reject an expired ID Token", its signature
    /// still counts) — but minted at most `id_token.end_session_hint_max_age_secs` ago: an old
    /// id_token found anywhere must not make a link that logs its user out (logout CSRF).
    pub fn verify_hint(&self, raw: &str) -> Result<Claims, HintError> {
        let claims = self.check(raw, false).ok_or(HintError::NotOurs)?;
        let oldest = now().saturating_sub(self.hint_max_age_secs as i64);
        if claims.iat.saturating_add(LEEWAY_SECS as i64) < oldest {
            return Err(HintError::TooOld);
        }
        Ok(claims)
    }

    fn check(&self, raw: &str, validate_exp: bool) -> Option<Claims> {
        let header = decode_header(raw).ok()?;
        let kid = header.kid?;
        let key = self.published().find(|k| k.kid == kid)?;
        if header.alg != key.alg {
            return None;
        }
        let mut v = Validation::new(key.alg);
        v.leeway = LEEWAY_SECS;
        v.set_issuer(&[self.issuer.as_str()]);
        v.validate_aud = false;
        v.validate_exp = validate_exp;
        v.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud"]);
        decode::<Claims>(raw, &key.decoding, &v)
            .ok()
            .map(|d| d.claims)
    }

    /// The JWKS document (RFC 7517): the current key first, then the previous ones.
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.published().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
    }

    /// The algorithms of the published keys (`id_token_signing_alg_values_supported`).
    pub fn algorithms(&self) -> Vec<&'static str> {
        let mut algs: Vec<&'static str> = self
            .published()
            .map(|k| match k.alg {
                jsonwebtoken::Algorithm::ES256 => "ES256",
                _ => "RS256",
            })
            .collect();
        algs.sort_unstable();
        algs.dedup();
        // The signing key's algorithm first.
        algs.sort_by_key(|a| *a != self.signing_algorithm());
        algs
    }

    fn signing_algorithm(&self) -> &'static str {
        match self.current.public.alg {
            jsonwebtoken::Algorithm::ES256 => "ES256",
            _ => "RS256",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_follows_oidc_core() {
        // OIDC Core Appendix A.3's access token and at_hash.
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn minted_tokens_verify_and_carry_their_claims() {
        let cfg = IdTokenConfig {
            generate_key: true,
            ..Default::default()
        };
        let t = IdTokens::from_config(&cfg, "https://auth.example")
            .unwrap()
            .unwrap();
        let raw = t
            .mint(&Subject {
                client_id: "app1",
                sub: "00u-alice",
                auth_time: 1,
                nonce: Some("n-0S6_WzA2Mj"),
                access_token: "tsr_at_x",
                family: "fam",
            })
            .unwrap();
        let c = t.verify(&raw).unwrap();
        assert_eq!((c.aud.as_str(), c.azp.as_str()), ("app1", "app1"));
        assert_eq!(c.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
        assert!(t.verify(&format!("{raw}x")).is_none());
        assert_eq!(t.algorithms(), vec!["ES256"]);
    }
}
