//! The `jwt` authentication step (Azure API Management's validate-jwt): the bearer token
//! validated by the route's [`JwtValidator`] ([`crate::policy::jwt`] owns the checks and the key
//! cache). A refusal is the route's configured failure answer (`failure_status`,
//! `failure_message`); keys that cannot be fetched are `503` (fail closed). A JWT with a
//! `cnf.jkt` claim is DPoP-bound (RFC 9449 §6.1): it needs the `DPoP` scheme and a proof by
//! that key ([`super::dpop`]), and its refusals are DPoP's, not the configured answer.

use std::sync::Arc;

use actix_web::http::StatusCode;
use tessera_shared::analytics::AuthOutcome;

use super::dpop::{DpopCheck, Scheme};
use super::{credential, settle, unavailable, Verdict};
use crate::caller::Caller;
use crate::denial::Denial;
use crate::policy::exchange::{Blocked, Check, Exchange, Policy};
use crate::policy::jwt::{JwksRegistry, JwtConfig, JwtError, JwtValidator};

/// The `jwt` authentication step.
#[derive(Debug)]
pub struct Jwt {
    validator: Box<JwtValidator>,
    realm: String,
    dpop: DpopCheck,
}

impl Jwt {
    /// Checks `cfg` (the error names the offending key); nothing is fetched yet.
    pub fn compile(
        cfg: &JwtConfig,
        jwks: Arc<JwksRegistry>,
        realm: &str,
        dpop: DpopCheck,
    ) -> Result<Self, String> {
        Ok(Jwt {
            validator: Box::new(JwtValidator::compile(cfg, jwks)?),
            realm: realm.to_string(),
            dpop,
        })
    }

    /// The route's failure answer; with no credentials at all and the default answer, the bare
    /// challenge of RFC 6750 §3.1.
    fn failure(&self, outcome: AuthOutcome, missing: bool) -> (AuthOutcome, Blocked) {
        let v = &self.validator;
        let status = StatusCode::from_u16(v.failure_status()).unwrap_or(StatusCode::UNAUTHORIZED);
        let realm = self.realm.clone();
        let denial =
            if missing && status == StatusCode::UNAUTHORIZED && v.failure_message().is_none() {
                Denial::MissingCredentials { realm }
            } else {
                Denial::JwtFailure {
                    status,
                    realm,
                    message: v
                        .failure_message()
                        .unwrap_or("Unauthorized. Access token is missing or invalid.")
                        .to_string(),
                }
            };
        (outcome, Blocked::by(Policy::Auth, denial))
    }

    async fn verdict(&self, x: &Exchange<'_>) -> Verdict {
        let (scheme, token) = match credential(x.req().headers(), &["bearer", "dpop"]) {
            Ok(None) => return Err(self.failure(AuthOutcome::Missing, true)),
            Err(()) => return Err(self.failure(AuthOutcome::Invalid, false)),
            Ok(Some((0, t))) => (Scheme::Bearer, t),
            Ok(Some((_, t))) => (Scheme::Dpop, t),
        };
        // Boxed: a JWT's check (key discovery and fetches among its paths) has a large future;
        // inline, it would size every step's future, whatever the route's policies, and be
        // moved on every call (issue 11, P1). Beside a signature check, the box costs nothing.
        match Box::pin(self.validator.validate(token)).await {
            Ok(j) => {
                let caller = Arc::new(Caller::from_jwt(j));
                (self.dpop.verdict(x, &self.realm, token, scheme, caller)).await
            }
            Err(JwtError::Unavailable(e)) => {
                tracing::warn!(error = %e, "JWKS unavailable: refusing (fail closed)");
                Err(unavailable("token validation"))
            }
            Err(JwtError::Claims(m)) => {
                tracing::debug!(reason = %m, "required claims not met");
                Err(self.failure(AuthOutcome::Forbidden, false))
            }
            Err(JwtError::Invalid(m)) => {
                tracing::debug!(reason = %m, "JWT refused");
                Err(self.failure(AuthOutcome::Invalid, false))
            }
        }
    }
}

impl Check for Jwt {
    async fn check(&self, x: &mut Exchange<'_>) -> Result<(), Blocked> {
        let verdict = self.verdict(x).await;
        settle(x, verdict)
    }
}
