//! `id_token` validation (OpenID Connect Core §3.1.3.7) with the openidconnect crate: signature
//! against the upstream JWKS (one rate-limited refetch on an unknown `kid`), `iss` exact, `aud`
//! containing our client id and no other audience, `azp` (when present) equal to our client id,
//! `exp` and `iat` with the configured leeway, `nonce` when the login sent one, and only
//! asymmetric algorithms from the allow-list (RFC 8725 §3.1).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openidconnect::core::{CoreIdToken, CoreJwsSigningAlgorithm};
use openidconnect::{ClaimsVerificationError, Nonce, SignatureVerificationError};

use super::{Upstream, UpstreamError, VerifiedLogin};

pub fn algorithm(name: &str) -> Option<CoreJwsSigningAlgorithm> {
    Some(match name {
        "RS256" => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        "RS384" => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
        "RS512" => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
        "PS256" => CoreJwsSigningAlgorithm::RsaSsaPssSha256,
        "PS384" => CoreJwsSigningAlgorithm::RsaSsaPssSha384,
        "PS512" => CoreJwsSigningAlgorithm::RsaSsaPssSha512,
        "ES256" => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        "ES384" => CoreJwsSigningAlgorithm::EcdsaP384Sha384,
        _ => return None,
    })
}

/// The payload of a JWT whose signature was already verified, as a JSON object.
pub fn payload(jwt: &str) -> Result<serde_json::Map<String, serde_json::Value>, UpstreamError> {
    let part = jwt
        .split('.')
        .nth(1)
        .ok_or_else(|| UpstreamError::Rejected("malformed JWT".into()))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| UpstreamError::Rejected("malformed JWT payload".into()))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| UpstreamError::Rejected("malformed JWT claims".into()))
}

impl Upstream {
    /// Validates an upstream `id_token`; `nonce` is checked when given (login flows) and must
    /// then be present and equal.
    pub async fn verify_id_token(
        &self,
        raw: &str,
        nonce: Option<&str>,
    ) -> Result<VerifiedLogin, UpstreamError> {
        let token: CoreIdToken = raw
            .parse()
            .map_err(|_| UpstreamError::Rejected("malformed id_token".into()))?;
        match self.check(&token, nonce).await {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                // Maybe the upstream rotated its keys: refetch once (rate-limited), then retry.
                if self.refetch_jwks().await? {
                    self.check(&token, nonce).await.map_err(rejected)?;
                } else {
                    return Err(UpstreamError::Rejected(
                        "id_token signed by an unknown key".into(),
                    ));
                }
            }
            other => other.map_err(rejected)?,
        }
        let claims = payload(raw)?;
        if let Some(azp) = claims.get("azp").and_then(|v| v.as_str()) {
            if azp != self.cfg.client_id {
                return Err(UpstreamError::Rejected(
                    "id_token azp is not this client".into(),
                ));
            }
        }
        Ok(VerifiedLogin {
            id_token: tessera_shared::model::Sensitive(raw.to_string()),
            claims,
        })
    }

    async fn check(
        &self,
        token: &CoreIdToken,
        nonce: Option<&str>,
    ) -> Result<(), ClaimsVerificationError> {
        let d = self
            .discovered()
            .await
            .map_err(|e| ClaimsVerificationError::Other(e.to_string()))?;
        let client = self
            .client(&d)
            .map_err(|e| ClaimsVerificationError::Other(e.to_string()))?;
        let leeway = chrono::Duration::seconds(self.cfg.leeway_secs as i64);
        let algs: Vec<CoreJwsSigningAlgorithm> = self
            .cfg
            .algorithms
            .iter()
            .filter_map(|a| algorithm(a))
            .collect();
        let verifier = client
            .id_token_verifier()
            .set_allowed_algs(algs)
            // `exp` is compared with "now minus leeway"; `iat` may be up to leeway in the future.
            .set_time_fn(move || chrono::Utc::now() - leeway)
            .set_issue_time_verifier_fn(move |iat| {
                if iat > chrono::Utc::now() + leeway {
                    Err("issued in the future".to_string())
                } else {
                    Ok(())
                }
            });
        match nonce {
            Some(n) => token
                .claims(&verifier, &Nonce::new(n.to_string()))
                .map(|_| ()),
            None => token
                .claims(&verifier, |_: Option<&Nonce>| Ok(()))
                .map(|_| ()),
        }
    }
}

fn rejected(e: ClaimsVerificationError) -> UpstreamError {
    UpstreamError::Rejected(format!("id_token: {e}"))
}
