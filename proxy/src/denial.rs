//! Why the proxy refused a request, and the answer each refusal gets: the status, the
//! RFC 6750 §3 `WWW-Authenticate` challenge where authentication is involved, `Retry-After`
//! where waiting helps, and a small JSON body `{"error", "error_description"}`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, HttpResponseBuilder};
use serde_json::json;

use crate::bounded::{truncate, MAX_ERROR_TEXT};
use crate::canonical::Refusal;

#[derive(Debug, Clone, PartialEq)]
pub enum Denial {
    /// No route matches the host and path.
    NoRoute,
    /// A route matches the path, but not the method; `allow`: the methods that would do.
    MethodNotAllowed { allow: String },
    /// The request was refused as it came, before or right after routing: its head, method,
    /// host or path (see [`crate::canonical`]).
    Refused(Refusal),
    /// The request itself is unacceptable (e.g. dot-segments in the path).
    BadRequest(String),
    /// The IP allow/deny lists refuse the client address.
    IpRefused,
    /// Abuse detection blocked the caller with `403` (a rule's `status = 403`): retry after
    /// this many seconds.
    AbuseForbidden { retry_after_secs: u64 },
    /// Spike arrest or quota: retry after this many seconds.
    Throttled {
        retry_after_secs: u64,
        reason: &'static str,
    },
    /// No credentials at all (RFC 6750 §3.1: no error code in the challenge).
    MissingCredentials { realm: String },
    /// Malformed, unknown, expired or revoked credentials.
    InvalidToken { realm: String, description: String },
    /// A DPoP-bound token without a valid proof, or a token under the wrong scheme
    /// (RFC 9449 §7.1): `error` is `invalid_token` or `invalid_dpop_proof`.
    Dpop {
        realm: String,
        error: &'static str,
        description: String,
        /// The proof algorithms accepted, space-separated.
        algs: String,
        /// With `use_dpop_nonce`: the nonce to use (`DPoP-Nonce`, RFC 9449 §9).
        nonce: Option<String>,
    },
    /// validate-jwt's configured failure answer.
    JwtFailure {
        status: StatusCode,
        realm: String,
        message: String,
    },
    /// Authenticated, but the token lacks a required scope (RFC 6750 §3.1).
    InsufficientScope { realm: String, scope: String },
    /// Authenticated, but a required claim does not match.
    ClaimsMismatch { message: String },
    /// Threat protection: 400, 413 or 431.
    Threat { status: StatusCode, message: String },
    /// Something the decision depends on is unreachable (Redis, the broker, a JWKS): fail
    /// closed.
    Unavailable(String),
    /// The backend refused or broke the connection.
    BadGateway,
    /// The backend did not answer in time.
    GatewayTimeout,
    /// Not a refusal: a CORS preflight the route's CORS policy answers itself — 204 with these
    /// headers (prepared by `policy::cors`).
    Preflight(Vec<(header::HeaderName, header::HeaderValue)>),
    /// A CORS preflight for an origin, method or header the route's policy does not allow:
    /// 403, without any CORS header.
    CorsRefused,
}

fn quoted(s: &str) -> String {
    // RFC 7235 quoted-string: escape the two characters that would end or break it.
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

impl Denial {
    pub fn status(&self) -> StatusCode {
        match self {
            Denial::NoRoute => StatusCode::NOT_FOUND,
            Denial::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Denial::Refused(r) => StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST),
            Denial::BadRequest(_) => StatusCode::BAD_REQUEST,
            Denial::IpRefused | Denial::AbuseForbidden { .. } => StatusCode::FORBIDDEN,
            Denial::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Denial::MissingCredentials { .. }
            | Denial::InvalidToken { .. }
            | Denial::Dpop { .. } => StatusCode::UNAUTHORIZED,
            Denial::JwtFailure { status, .. } | Denial::Threat { status, .. } => *status,
            Denial::InsufficientScope { .. } | Denial::ClaimsMismatch { .. } => {
                StatusCode::FORBIDDEN
            }
            Denial::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Denial::BadGateway => StatusCode::BAD_GATEWAY,
            Denial::GatewayTimeout => StatusCode::GATEWAY_TIMEOUT,
            Denial::Preflight(_) => StatusCode::NO_CONTENT,
            Denial::CorsRefused => StatusCode::FORBIDDEN,
        }
    }

    fn error_code(&self) -> &'static str {
        match self {
            Denial::NoRoute => "not_found",
            Denial::MethodNotAllowed { .. } => "method_not_allowed",
            Denial::Refused(r) => r.error_code(),
            Denial::BadRequest(_) => "invalid_request",
            Denial::IpRefused | Denial::AbuseForbidden { .. } => "access_denied",
            Denial::Throttled { .. } => "too_many_requests",
            Denial::MissingCredentials { .. } => "unauthorized",
            Denial::InvalidToken { .. } | Denial::JwtFailure { .. } => "invalid_token",
            Denial::Dpop { error, .. } => error,
            Denial::InsufficientScope { .. } => "insufficient_scope",
            Denial::ClaimsMismatch { .. } => "access_denied",
            Denial::Threat { .. } => "threat_detected",
            Denial::Unavailable(_) => "temporarily_unavailable",
            Denial::BadGateway => "bad_gateway",
            Denial::GatewayTimeout => "gateway_timeout",
            Denial::Preflight(_) => "",
            Denial::CorsRefused => "cors_refused",
        }
    }

    fn description(&self) -> String {
        match self {
            Denial::NoRoute => "no route matches this request".into(),
            Denial::MethodNotAllowed { .. } => "this route does not accept the method".into(),
            Denial::Refused(r) => r.message.into(),
            Denial::BadRequest(m)
            | Denial::ClaimsMismatch { message: m }
            | Denial::Threat { message: m, .. } => m.clone(),
            Denial::IpRefused => "the client address is not allowed".into(),
            Denial::AbuseForbidden { .. } => "blocked by abuse detection".into(),
            Denial::Throttled { reason, .. } => format!("{reason} exceeded"),
            Denial::MissingCredentials { .. } => "credentials are required".into(),
            Denial::InvalidToken { description, .. } | Denial::Dpop { description, .. } => {
                description.clone()
            }
            Denial::JwtFailure { message, .. } => message.clone(),
            Denial::InsufficientScope { scope, .. } => {
                format!("the token lacks the required scope: {scope}")
            }
            Denial::Unavailable(what) => format!("{what} is unavailable, retry later"),
            Denial::BadGateway => "the backend could not be reached".into(),
            Denial::GatewayTimeout => "the backend did not answer in time".into(),
            Denial::Preflight(_) => String::new(),
            Denial::CorsRefused => {
                "the origin, method or headers are not allowed by this route's CORS policy".into()
            }
        }
    }

    /// The `WWW-Authenticate` challenge (RFC 6750 §3), where one is due.
    fn challenge(&self) -> Option<String> {
        Some(match self {
            Denial::MissingCredentials { realm } => format!("Bearer realm=\"{}\"", quoted(realm)),
            Denial::InvalidToken { realm, description } => format!(
                "Bearer realm=\"{}\", error=\"invalid_token\", error_description=\"{}\"",
                quoted(realm),
                quoted(description)
            ),
            Denial::Dpop {
                realm,
                error,
                description,
                algs,
                ..
            } => format!(
                "DPoP realm=\"{}\", error=\"{error}\", error_description=\"{}\", algs=\"{algs}\"",
                quoted(realm),
                quoted(description)
            ),
            Denial::JwtFailure { realm, status, .. } if *status == StatusCode::UNAUTHORIZED => {
                format!(
                    "Bearer realm=\"{}\", error=\"invalid_token\"",
                    quoted(realm)
                )
            }
            Denial::InsufficientScope { realm, scope } => format!(
                "Bearer realm=\"{}\", error=\"insufficient_scope\", scope=\"{}\"",
                quoted(realm),
                quoted(scope)
            ),
            _ => return None,
        })
    }

    pub fn response(&self) -> HttpResponse {
        if let Denial::Preflight(headers) = self {
            let mut r = HttpResponse::NoContent();
            for h in headers {
                r.insert_header(h.clone());
            }
            return r.finish();
        }
        let mut r = HttpResponseBuilder::new(self.status());
        r.insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(c) = self.challenge() {
            r.insert_header((header::WWW_AUTHENTICATE, c));
        }
        match self {
            Denial::Throttled {
                retry_after_secs, ..
            }
            | Denial::AbuseForbidden { retry_after_secs } => {
                r.insert_header((header::RETRY_AFTER, retry_after_secs.max(&1).to_string()));
            }
            Denial::Unavailable(_) => {
                r.insert_header((header::RETRY_AFTER, "1"));
            }
            Denial::Dpop {
                nonce: Some(nonce), ..
            } => {
                r.insert_header(("DPoP-Nonce", nonce.as_str()));
            }
            Denial::MethodNotAllowed { allow } => {
                r.insert_header((header::ALLOW, allow.as_str()));
            }
            Denial::Refused(_) => {
                // The request may not have been read as its sender meant: read no other from
                // this connection (RFC 9112 §9.6).
                r.force_close();
            }
            _ => {}
        }
        let description = self.description();
        let description = truncate(&description, MAX_ERROR_TEXT);
        r.json(json!({ "error": self.error_code(), "error_description": description }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_follow_rfc6750() {
        let d = Denial::InsufficientScope {
            realm: "api".into(),
            scope: "orders:write".into(),
        };
        assert_eq!(
            d.challenge().as_deref(),
            Some("Bearer realm=\"api\", error=\"insufficient_scope\", scope=\"orders:write\"")
        );
        let d = Denial::MissingCredentials {
            realm: "a\"b".into(),
        };
        assert_eq!(d.challenge().as_deref(), Some("Bearer realm=\"a\\\"b\""));
        assert_eq!(Denial::BadGateway.challenge(), None);
    }
}
