//! Upstream-issued JWTs presented to Tessera (RFC 8693 `subject_token`): Okta access tokens
//! (audience from `access_token_audiences`) and `id_token`s (audience = our client id), checked
//! with jsonwebtoken against the same cached JWKS: signature, algorithm allow-list, `iss`,
//! `aud`, `exp`/`nbf` with leeway.

use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Header, Validation};
use tessera_shared::jwt::algorithm;

use super::id_token::payload;
use super::{Upstream, UpstreamError};

/// Which kind of upstream token is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamToken {
    AccessToken,
    IdToken,
}

impl Upstream {
    /// Verifies an upstream JWT and returns its claims.
    pub async fn verify_jwt(
        &self,
        raw: &str,
        kind: UpstreamToken,
    ) -> Result<serde_json::Map<String, serde_json::Value>, UpstreamError> {
        let (_, claims) = self
            .verify_signed(raw, |v| {
                v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
                match kind {
                    UpstreamToken::AccessToken => v.set_audience(&self.cfg.access_token_audiences),
                    UpstreamToken::IdToken => v.set_audience(&[self.cfg.client_id.as_str()]),
                }
            })
            .await?;
        Ok(claims)
    }

    /// Verifies an upstream JWT's signature against the upstream JWKS (one rate-limited
    /// refetch on an unknown `kid`), its algorithm against the allow-list, `iss` exactly, and
    /// `exp`/`nbf` with leeway when present; `rules` adds the token kind's own checks
    /// (required claims, audience). Returns its header and claims.
    pub(crate) async fn verify_signed(
        &self,
        raw: &str,
        rules: impl FnOnce(&mut Validation),
    ) -> Result<(Header, serde_json::Map<String, serde_json::Value>), UpstreamError> {
        let header =
            decode_header(raw).map_err(|_| UpstreamError::Rejected("malformed JWT".into()))?;
        let allowed: Vec<Algorithm> = self
            .cfg
            .algorithms
            .iter()
            .filter_map(|a| algorithm(a))
            .collect();
        if !allowed.contains(&header.alg) {
            return Err(UpstreamError::Rejected("JWT algorithm not allowed".into()));
        }
        let kid = header
            .kid
            .clone()
            .ok_or_else(|| UpstreamError::Rejected("JWT has no kid".into()))?;
        let mut d = self.discovered().await?;
        if d.jwks.find(&kid).is_none() && self.refetch_jwks().await? {
            d = self.discovered().await?;
        }
        let jwk = d
            .jwks
            .find(&kid)
            .ok_or_else(|| UpstreamError::Rejected("JWT signed by an unknown key".into()))?;
        let key = DecodingKey::from_jwk(jwk)
            .map_err(|_| UpstreamError::Rejected("unusable upstream key".into()))?;
        let mut v = Validation::new(header.alg);
        v.leeway = self.cfg.leeway_secs;
        v.validate_nbf = true;
        v.set_issuer(&[d.meta.issuer().as_str()]);
        rules(&mut v);
        decode::<serde_json::Value>(raw, &key, &v)
            .map_err(|e| UpstreamError::Rejected(format!("JWT: {e}")))?;
        Ok((header, payload(raw)?))
    }
}
