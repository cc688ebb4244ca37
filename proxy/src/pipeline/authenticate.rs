//! Authentication, step 3 of the pipeline: runs the route's policy (`tessera`, `jwt`,
//! `api_key` or `none`) and turns its outcome into the caller or the refusal, recording the
//! outcome for the call's analytics event.

use std::sync::Arc;

use actix_web::HttpRequest;
use tessera_shared::analytics::AuthOutcome;

use super::Call;
use crate::caller::Caller;
use crate::denial::Denial;
use crate::policy::auth::tessera::Lookup;
use crate::policy::auth::{api_key, bearer, Bearer};
use crate::policy::jwt::JwtError;
use crate::routes::{Auth, Route};
use crate::state::Runtime;

pub(super) async fn authenticate(
    req: &HttpRequest,
    rt: &Runtime,
    route: &Route,
    call: &mut Call,
) -> Result<Option<Arc<Caller>>, Denial> {
    let realm = || route.realm.clone();
    let invalid = |description: &str| Denial::InvalidToken {
        realm: realm(),
        description: description.to_string(),
    };
    let outcome = match &route.auth {
        Auth::None => return Ok(None),
        Auth::Tessera => match bearer(req.headers()) {
            Bearer::Missing => Err((
                AuthOutcome::Missing,
                Denial::MissingCredentials { realm: realm() },
            )),
            Bearer::Malformed => Err((
                AuthOutcome::Invalid,
                invalid("malformed Authorization header"),
            )),
            Bearer::Token(t) => match rt.tokens.validate(t).await {
                Lookup::Valid(c) => Ok(c),
                Lookup::Invalid => Err((
                    AuthOutcome::Invalid,
                    invalid("the access token is invalid, expired or revoked"),
                )),
                Lookup::Unavailable(e) => {
                    tracing::warn!(error = %e, "token lookup failed: refusing (fail closed)");
                    Err((
                        AuthOutcome::Unavailable,
                        Denial::Unavailable("token validation".into()),
                    ))
                }
            },
        },
        Auth::Jwt(v) => match bearer(req.headers()) {
            Bearer::Missing => Err((AuthOutcome::Missing, jwt_failure(v, route, true))),
            Bearer::Malformed => Err((AuthOutcome::Invalid, jwt_failure(v, route, false))),
            Bearer::Token(t) => match v.validate(t).await {
                Ok(j) => Ok(Arc::new(Caller::from_jwt(j))),
                Err(JwtError::Unavailable(e)) => {
                    tracing::warn!(error = %e, "JWKS unavailable: refusing (fail closed)");
                    Err((
                        AuthOutcome::Unavailable,
                        Denial::Unavailable("token validation".into()),
                    ))
                }
                Err(JwtError::Claims(m)) => {
                    tracing::debug!(reason = %m, "required claims not met");
                    Err((AuthOutcome::Forbidden, jwt_failure(v, route, false)))
                }
                Err(JwtError::Invalid(m)) => {
                    tracing::debug!(reason = %m, "JWT refused");
                    Err((AuthOutcome::Invalid, jwt_failure(v, route, false)))
                }
            },
        },
        Auth::ApiKey(cfg) => {
            let from_header = cfg
                .header_name()
                .and_then(|h| req.headers().get(h))
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let from_query = cfg.query.as_ref().and_then(|q| {
                url::form_urlencoded::parse(req.query_string().as_bytes())
                    .find(|(k, _)| k == q)
                    .map(|(_, v)| v.into_owned())
            });
            match from_header.or(from_query) {
                None => Err((
                    AuthOutcome::Missing,
                    Denial::MissingCredentials { realm: realm() },
                )),
                Some(key) => {
                    let catalog = rt
                        .catalog
                        .as_ref()
                        .ok_or_else(|| Denial::Unavailable("the store".into()))?;
                    match api_key::verify(catalog, &rt.cache, &key).await {
                        Ok(Some(c)) => Ok(c),
                        Ok(None) => Err((
                            AuthOutcome::Invalid,
                            invalid("the API key is invalid or revoked"),
                        )),
                        Err(e) => {
                            tracing::warn!(error = %e, "API key lookup failed: refusing (fail closed)");
                            Err((
                                AuthOutcome::Unavailable,
                                Denial::Unavailable("API key validation".into()),
                            ))
                        }
                    }
                }
            }
        }
    };
    match outcome {
        Ok(c) => {
            call.auth = AuthOutcome::Ok;
            Ok(Some(c))
        }
        Err((o, d)) => {
            call.auth = o;
            Err(d)
        }
    }
}

fn jwt_failure(v: &crate::policy::jwt::JwtValidator, route: &Route, missing: bool) -> Denial {
    let status = actix_web::http::StatusCode::from_u16(v.failure_status())
        .unwrap_or(actix_web::http::StatusCode::UNAUTHORIZED);
    if missing
        && status == actix_web::http::StatusCode::UNAUTHORIZED
        && v.failure_message().is_none()
    {
        return Denial::MissingCredentials {
            realm: route.realm.clone(),
        };
    }
    Denial::JwtFailure {
        status,
        realm: route.realm.clone(),
        message: v
            .failure_message()
            .unwrap_or("Unauthorized. Access token is missing or invalid.")
            .to_string(),
    }
}
