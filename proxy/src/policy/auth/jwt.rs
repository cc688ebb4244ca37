//! The `jwt` authentication step (Azure API Management's validate-jwt): the bearer token
//! validated by the route's [`JwtValidator`] ([`crate::policy::jwt`] owns the checks and the key
//! cache). A refusal is the route's configured failure answer (`failure_status`,
//! `failure_message`); keys that cannot be fetched are `503` (fail closed).

use std::sync::Arc;

use actix_web::http::StatusCode;
use tessera_shared::analytics::AuthOutcome;

use super::{settle, unavailable, Bearer, Verdict};
use crate::caller::Caller;
use crate::denial::Denial;
use crate::policy::exchange::{Blocked, Check, Exchange, Policy};
use crate::policy::jwt::{JwksRegistry, JwtConfig, JwtError, JwtValidator};

/// The `jwt` authentication step.
#[derive(Debug)]
pub struct Jwt {
    validator: Box<JwtValidator>,
    realm: String,
}

impl Jwt {
    /// Checks `cfg` (the error names the offending key); nothing is fetched yet.
    pub fn compile(cfg: &JwtConfig, jwks: Arc<JwksRegistry>, realm: &str) -> Result<Self, String> {
        Ok(Jwt {
            validator: Box::new(JwtValidator::compile(cfg, jwks)?),
            realm: realm.to_string(),
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
        let token = match super::bearer(x.req().headers()) {
            Bearer::Missing => return Err(self.failure(AuthOutcome::Missing, true)),
            Bearer::Malformed => return Err(self.failure(AuthOutcome::Invalid, false)),
            Bearer::Token(t) => t,
        };
        match self.validator.validate(token).await {
            Ok(j) => Ok(Arc::new(Caller::from_jwt(j))),
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
