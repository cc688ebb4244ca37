//! DPoP-bound Tessera tokens at the proxy (RFC 9449 §7): a token whose record names a key
//! (`cnf.jkt`) is honoured only as `Authorization: DPoP <token>` with a `DPoP` proof that the
//! shared validator ([`tessera_shared::oauth::dpop`]) accepts for this very request — its
//! method, and its URI as the client addressed the proxy: the configured public base URL
//! (`server.public_url`, or the route's `public_url`) followed by the request path as received,
//! never the `Host` header — with `ath` the token's hash, signed by the bound key, and never
//! seen before (the replay cache in the store; a proxy without a store keeps it in memory, per
//! instance).
//!
//! Refusals are `401` with a `DPoP` challenge carrying `error` (`invalid_token` for a bound
//! token sent as a bearer token or an unbound one sent as DPoP, `invalid_dpop_proof` for a
//! missing or bad proof) and `algs` (§7.1). A proof is a credential: it is not forwarded unless
//! the route forwards credentials.

use std::sync::Arc;

use tessera_shared::analytics::AuthOutcome;
use tessera_shared::crypto::Keys;
use tessera_shared::oauth::dpop::{proof_header, DpopConfig, Expected, ProofError, Verifier, ALGS};
use tessera_shared::store::Store;
use tessera_shared::time::now;
use url::Url;

use super::{unavailable, Verdict};
use crate::caller::Caller;
use crate::denial::Denial;
use crate::policy::exchange::{Blocked, Exchange, Policy};

/// What checks the proofs of one route.
#[derive(Debug, Clone)]
pub struct DpopCheck {
    pub config: DpopConfig,
    /// The base URL clients address this route under; `None`: bound tokens cannot be checked
    /// here, and are refused.
    pub public_url: Option<Url>,
    pub replays: Arc<dyn Store>,
    /// The key of the server nonces (`dpop.require_nonce`).
    pub keys: Keys,
}

/// The scheme the token came under (RFC 6750 §2.1 `Bearer`, RFC 9449 §7.1 `DPoP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Bearer,
    Dpop,
}

impl DpopCheck {
    /// The verdict on `caller`, authenticated by `token` sent under `scheme` in `x`.
    pub async fn verdict(
        &self,
        x: &Exchange<'_>,
        realm: &str,
        token: &str,
        scheme: Scheme,
        caller: Arc<Caller>,
    ) -> Verdict {
        let jkt = match (scheme, caller.jkt.as_deref()) {
            (Scheme::Bearer, None) => return Ok(caller),
            (Scheme::Dpop, None) => {
                let why = "the token is not DPoP-bound";
                return Err(refusal(realm, "invalid_token", why, None));
            }
            (Scheme::Bearer, Some(_)) => {
                let why = "a DPoP-bound token must be sent with the DPoP scheme";
                return Err(refusal(realm, "invalid_token", why, None));
            }
            (Scheme::Dpop, Some(jkt)) => jkt,
        };
        // Boxed: only a DPoP-bound token's call runs it; inline, its future (the replay cache's
        // write) would grow every bearer call's future (issue 11, P1).
        match Box::pin(self.proof(x, token, jkt)).await {
            Ok(()) => Ok(caller),
            Err(ProofError::Invalid(why)) => Err(refusal(realm, "invalid_dpop_proof", why, None)),
            Err(ProofError::UseNonce(nonce)) => {
                let why = "the DPoP proof must carry the server's nonce";
                Err(refusal(realm, "use_dpop_nonce", why, Some(nonce)))
            }
            Err(ProofError::Unavailable(e)) => {
                tracing::warn!(error = %e, "DPoP replay cache failed: refusing (fail closed)");
                Err(unavailable("DPoP proof validation"))
            }
        }
    }

    async fn proof(&self, x: &Exchange<'_>, token: &str, jkt: &str) -> Result<(), ProofError> {
        let req = x.req();
        let Some(proof) = proof_header(req.headers())? else {
            return Err(ProofError::Invalid("a DPoP proof is required"));
        };
        let Some(base) = &self.public_url else {
            tracing::warn!("a DPoP-bound token came to a route without a public_url");
            return Err(ProofError::Invalid("DPoP proofs cannot be checked here"));
        };
        let uri = request_uri(base, req.uri().path())
            .ok_or(ProofError::Invalid("the request URI cannot be read"))?;
        let expected = Expected {
            method: req.method().as_str(),
            uri: &uri,
            access_token: Some(token),
            jkt: Some(jkt),
        };
        let verifier = Verifier {
            config: &self.config,
            replays: self.replays.as_ref(),
            keys: &self.keys,
        };
        verifier.verify(proof, &expected, now()).await.map(|_| ())
    }
}

/// A public base URL as configured (`server.public_url`, a route's `public_url`): absolute
/// http(s), without query or fragment.
pub fn check_public_url(u: &Url) -> Result<(), &'static str> {
    if !matches!(u.scheme(), "http" | "https") || u.query().is_some() || u.fragment().is_some() {
        return Err("must be an http(s) URL without query or fragment");
    }
    Ok(())
}

/// The URI the client addressed: the public base URL and the path as received.
fn request_uri(base: &Url, path: &str) -> Option<Url> {
    Url::parse(&format!("{}{path}", base.as_str().trim_end_matches('/'))).ok()
}

/// A `401` with the DPoP challenge (and, for `use_dpop_nonce`, the nonce to use, §9).
fn refusal(
    realm: &str,
    error: &'static str,
    why: &str,
    nonce: Option<String>,
) -> (AuthOutcome, Blocked) {
    let denial = Denial::Dpop {
        realm: realm.to_string(),
        error,
        description: why.to_string(),
        algs: ALGS.join(" "),
        nonce,
    };
    (AuthOutcome::Invalid, Blocked::by(Policy::Auth, denial))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_uri_is_the_public_base_and_the_received_path() {
        let base = Url::parse("https://api.example.com/").unwrap();
        let u = request_uri(&base, "/orders/1").unwrap();
        assert_eq!(u.as_str(), "https://api.example.com/orders/1");
        let base = Url::parse("https://gw.example.com:8443/v1").unwrap();
        let u = request_uri(&base, "/orders").unwrap();
        assert_eq!(u.as_str(), "https://gw.example.com:8443/v1/orders");
    }
}
