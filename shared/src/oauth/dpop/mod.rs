//! DPoP (RFC 9449): the one validator of proofs, used by the broker's token endpoint and by the
//! proxy for DPoP-bound access tokens.
//!
//! A proof is accepted when, in the order of RFC 9449 §4.3: there is exactly one `DPoP` header
//! (step 1) of at most [`MAX_PROOF_BYTES`]; it is a JWS (2) whose header has `typ` `dpop+jwt`
//! (4), an asymmetric `alg` of [`ALGS`] (5) and a public `jwk` (6, [`jwk`]) that verifies the
//! signature (7); the claims hold `jti`, `htm`, `htu` and `iat` (3), `htm` is the request's
//! method (8), `htu` its URI ([`htu`], 9), `iat` is within [`DpopConfig::iat_window_secs`] of
//! now (11), `ath` is the hash of the access token presented with it (§4.3 step 12, §7.1),
//! the key is the one the token is bound to (§7.1), and the `jti` was not seen before (§11.1,
//! the [`crate::store::ProofStore`] replay cache, keyed by a hash of `jkt` and `jti`, for twice the window:
//! a proof is acceptable from `window` before now to `window` after).
//!
//! With [`DpopConfig::require_nonce`], a proof must also carry a server-provided `nonce`
//! (§8, §9, step 10): the current or the previous one of windows of
//! [`DpopConfig::nonce_lifetime_secs`], a MAC of the window under the pepper
//! ([`Keys::dpop_nonce`]), so every instance agrees without storing anything. A proof without it is refused with
//! `use_dpop_nonce` and the current nonce ([`ProofError::UseNonce`]).
//!
//! # Layout
//! * [`jwk`] — the proof's public key and its RFC 7638 thumbprint.
//! * [`htu`] — the `htu` comparison.

pub mod htu;
pub mod jwk;

use std::collections::HashSet;

use actix_web::http::header::HeaderMap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

use crate::crypto::{constant_time_eq, Keys};
use crate::error::StoreError;
use crate::store::Store;
pub use jwk::ALGS;

/// Longest `DPoP` header accepted: an RSA-4096 key and the claims fit in well under this.
pub const MAX_PROOF_BYTES: usize = 8 * 1024;
/// Longest `jti` accepted (RFC 9449 §4.2: a random value; 96 bits suffice).
pub const MAX_JTI_BYTES: usize = 256;

/// `[dpop]`: proof freshness, the same section in the broker's and the proxy's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DpopConfig {
    /// How far a proof's `iat` may lie from now, either way (clock skew and transit).
    pub iat_window_secs: u64,
    /// Proofs must carry a server-provided nonce (§8, §9).
    pub require_nonce: bool,
    /// How long a nonce is issued; it is accepted for up to twice this.
    pub nonce_lifetime_secs: u64,
}

impl Default for DpopConfig {
    fn default() -> Self {
        DpopConfig {
            iat_window_secs: 60,
            require_nonce: false,
            nonce_lifetime_secs: 300,
        }
    }
}

impl DpopConfig {
    pub fn validate(&self) -> Result<(), crate::config::ConfigError> {
        crate::config::in_range("dpop.iat_window_secs", self.iat_window_secs, 1, 600)?;
        let key = "dpop.nonce_lifetime_secs";
        crate::config::in_range(key, self.nonce_lifetime_secs, 10, 86_400)
    }
}

/// Why a proof was not accepted. The texts are fixed: never an echo of the input.
#[derive(Debug)]
pub enum ProofError {
    /// RFC 9449 §5.1 / §7.1 `invalid_dpop_proof`.
    Invalid(&'static str),
    /// §8 / §9 `use_dpop_nonce`: the proof lacks the current server nonce, which is this.
    UseNonce(String),
    /// The replay cache could not answer: fail closed (503), never a "yes".
    Unavailable(StoreError),
}

impl From<StoreError> for ProofError {
    fn from(e: StoreError) -> Self {
        ProofError::Unavailable(e)
    }
}

/// The `DPoP` header of a request: `None` without one; two or more, or not text, is invalid
/// (§4.3 step 1).
pub fn proof_header(headers: &HeaderMap) -> Result<Option<&str>, ProofError> {
    let mut values = headers.get_all("dpop");
    let Some(v) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ProofError::Invalid("more than one DPoP header"));
    }
    if v.len() > MAX_PROOF_BYTES {
        return Err(ProofError::Invalid("the DPoP proof is too large"));
    }
    v.to_str()
        .map(Some)
        .map_err(|_| ProofError::Invalid("the DPoP proof is not a JWT"))
}

/// What the request the proof came with must match.
#[derive(Debug)]
pub struct Expected<'a> {
    /// The request method, as received.
    pub method: &'a str,
    /// The request URI, as the server is publicly known (not the `Host` header).
    pub uri: &'a Url,
    /// The access token presented with the proof (its hash must be the proof's `ath`).
    pub access_token: Option<&'a str>,
    /// The thumbprint the access token is bound to (the proof's key must be that one).
    pub jkt: Option<&'a str>,
}

/// An accepted proof: the thumbprint of its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub jkt: String,
}

#[derive(Deserialize)]
struct Header {
    typ: Option<String>,
    alg: String,
    jwk: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Claims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// The proof validator: the freshness rules and the replay cache.
#[derive(Debug, Clone, Copy)]
pub struct Verifier<'s> {
    pub config: &'s DpopConfig,
    pub replays: &'s dyn Store,
    /// The nonces' key.
    pub keys: &'s Keys,
}

impl Verifier<'_> {
    /// Accepts `proof` for the request `expected` describes, at `now` (Unix seconds), or says
    /// why not.
    pub async fn verify(
        &self,
        proof: &str,
        expected: &Expected<'_>,
        now: i64,
    ) -> Result<Accepted, ProofError> {
        let (key, claims) = signed(proof)?;
        check_claims(&claims, expected, self.config.iat_window_secs, now)?;
        if self.config.require_nonce && !self.nonce_is_fresh(claims.nonce.as_deref(), now) {
            return Err(ProofError::UseNonce(self.nonce(now)));
        }
        if expected.jkt.is_some_and(|bound| bound != key.jkt) {
            return Err(ProofError::Invalid("the proof's key is not the token's"));
        }
        let window = self.config.iat_window_secs;
        let hash = replay_key(&key.jkt, &claims.jti);
        if !self.replays.proof_first_use(&hash, window * 2 + 1).await? {
            return Err(ProofError::Invalid("the DPoP proof was already used"));
        }
        Ok(Accepted { jkt: key.jkt })
    }
}

impl Verifier<'_> {
    /// The nonce to hand out at `now` (§8.1 `DPoP-Nonce`).
    pub fn nonce(&self, now: i64) -> String {
        self.keys.dpop_nonce(self.window(now))
    }

    /// §4.3 step 10: the current nonce or the previous one.
    fn nonce_is_fresh(&self, nonce: Option<&str>, now: i64) -> bool {
        let Some(nonce) = nonce else {
            return false;
        };
        let w = self.window(now);
        [w, w - 1].iter().any(|w| {
            let expected = self.keys.dpop_nonce(*w);
            constant_time_eq(expected.as_bytes(), nonce.as_bytes())
        })
    }

    fn window(&self, now: i64) -> i64 {
        now.div_euclid(self.config.nonce_lifetime_secs.max(1) as i64)
    }
}

/// The proof's key and claims, its signature checked (§4.3 steps 2–7).
fn signed(proof: &str) -> Result<(jwk::PublicKey, Claims), ProofError> {
    let bad = ProofError::Invalid;
    let head = proof.split('.').next().unwrap_or_default();
    let raw = URL_SAFE_NO_PAD
        .decode(head)
        .map_err(|_| bad("the DPoP proof is not a JWT"))?;
    let header: Header =
        serde_json::from_slice(&raw).map_err(|_| bad("the DPoP proof header is malformed"))?;
    if !header
        .typ
        .is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt"))
    {
        return Err(bad("the DPoP proof's typ must be dpop+jwt"));
    }
    if !ALGS.contains(&header.alg.as_str()) {
        return Err(bad("the DPoP proof's alg is not supported"));
    }
    let jwk = header.jwk.ok_or(bad("the DPoP proof has no jwk header"))?;
    let key = jwk::public_key(&header.alg, &jwk).map_err(bad)?;
    let mut v = jsonwebtoken::Validation::new(key.alg);
    v.required_spec_claims = HashSet::new();
    v.validate_exp = false;
    v.validate_aud = false;
    let data = jsonwebtoken::decode::<Claims>(proof, &key.key, &v)
        .map_err(|_| bad("the DPoP proof's signature or claims are invalid"))?;
    Ok((key, data.claims))
}

/// §4.3 steps 8–12.
fn check_claims(c: &Claims, e: &Expected<'_>, window: u64, now: i64) -> Result<(), ProofError> {
    let bad = ProofError::Invalid;
    if c.jti.is_empty() || c.jti.len() > MAX_JTI_BYTES {
        return Err(bad("the DPoP proof's jti is missing or too long"));
    }
    if c.htm != e.method {
        return Err(bad("the DPoP proof's htm is not the request method"));
    }
    if !htu::matches(&c.htu, e.uri) {
        return Err(bad("the DPoP proof's htu is not the request URI"));
    }
    if c.iat.abs_diff(now) > window {
        return Err(bad("the DPoP proof's iat is outside the accepted window"));
    }
    match (e.access_token, &c.ath) {
        (Some(token), Some(ath)) if *ath == access_token_hash(token) => Ok(()),
        (Some(_), _) => Err(bad("the DPoP proof's ath is not the access token's hash")),
        (None, _) => Ok(()),
    }
}

/// §4.2 `ath`: base64url(SHA-256(the ASCII access token)).
pub fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// The replay cache key of a proof: its `jti` is the client's choice, so it is scoped to the
/// key that signed it (one client cannot burn another's `jti`), and hashed to a fixed length.
fn replay_key(jkt: &str, jti: &str) -> String {
    let mut h = Sha256::new();
    h.update(jkt.as_bytes());
    h.update(b"\n");
    h.update(jti.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}
