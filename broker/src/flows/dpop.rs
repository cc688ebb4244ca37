//! DPoP at the token endpoint (RFC 9449 §5): the proof a token request carries is checked by
//! the shared validator ([`tessera_shared::oauth::dpop`]) against the request as the client
//! addressed it — `POST` to the token endpoint under the configured issuer, never the `Host`
//! header — and its key becomes what the issued tokens are bound to.
//!
//! An app with `dpop_required` gets no token without a proof (§5.2 `dpop_bound_access_tokens`).
//! A proof is never required otherwise, but one that is sent must be valid: a client that sends
//! one expects a bound token, and silently issuing a bearer token would downgrade it.

use tessera_shared::model::App;
use tessera_shared::oauth::dpop::{Expected, ProofError, Verifier};
use tessera_shared::oauth::{ErrorCode, OAuthError};
use tessera_shared::time::now;
use url::Url;

use crate::state::AppState;

/// The thumbprint of the key of `proof` (the raw `DPoP` header, if any) for a token request by
/// `app`, or the §5.1 error.
pub async fn binding(
    state: &AppState,
    app: &App,
    proof: Result<Option<&str>, ProofError>,
) -> Result<Option<String>, OAuthError> {
    let proof = match proof.map_err(refused)? {
        Some(p) => p,
        None if app.dpop_required => {
            return Err(invalid("this client must send a DPoP proof (RFC 9449)"));
        }
        None => return Ok(None),
    };
    let uri = Url::parse(&state.urls.token).map_err(|_| {
        tracing::error!("the token endpoint URL does not parse");
        OAuthError::new(ErrorCode::ServerError, "internal error")
    })?;
    let verifier = Verifier {
        config: &state.config.dpop,
        replays: state.catalog.store().as_ref(),
        keys: &state.keys,
    };
    let expected = Expected {
        method: "POST",
        uri: &uri,
        access_token: None,
        jkt: None,
    };
    let accepted = verifier
        .verify(proof, &expected, now())
        .await
        .map_err(refused)?;
    Ok(Some(accepted.jkt))
}

fn invalid(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidDpopProof, description)
}

fn refused(e: ProofError) -> OAuthError {
    match e {
        ProofError::Invalid(why) => invalid(why),
        // §8.1: 400 use_dpop_nonce, the nonce to use in DPoP-Nonce.
        ProofError::UseNonce(nonce) => {
            let mut e = OAuthError::new(
                ErrorCode::UseDpopNonce,
                "the DPoP proof must carry the server's nonce",
            );
            e.headers.push(("DPoP-Nonce", nonce));
            e
        }
        ProofError::Unavailable(e) => e.into(),
    }
}
