//! The request span ([`span`], opened and closed by the request stack, `http::stack`). It
//! records the matched route pattern, the method, a request id and the status — never the query
//! string (`/callback?code=…`), a header or a body — and logs one `request` event per request
//! at `info` (`request failed` at `warn` for a 5xx), plus the description of an error response
//! (`warn` for a 4xx, `error` for a 5xx).
//!
//! It replaces tracing-actix-web's `TracingLogger` (issue 11, P3/P4): that one generated a
//! request id (a v4 UUID: one `getrandom` system call), built the route's `String` and inserted
//! both into the request's extensions on every request, even with the span's level off, and
//! wrapped every response body. Here the span's fields are computed only when the span is
//! enabled (`info` or finer, the default `log.level`), so at `warn` a request costs a level
//! check; the request id is drawn without a system call.

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::Error;
use tracing::Span;
use uuid::Uuid;

type Outcome<B> = Result<ServiceResponse<B>, Error>;

/// The request's span, made before it is routed (`http::stack`).
pub fn span(req: &ServiceRequest) -> Span {
    // The field expressions are evaluated only when the span is enabled.
    tracing::info_span!(
        "http",
        method = %req.method(),
        route = %req.match_pattern().as_deref().unwrap_or("unmatched"),
        request_id = %request_id(),
        status = tracing::field::Empty,
    )
}

/// A v4 UUID from the thread's generator (`rand::thread_rng`, seeded from the system once):
/// `Uuid::new_v4` asks the system for 16 bytes (`getrandom`, one system call) per request.
fn request_id() -> Uuid {
    uuid::Builder::from_random_bytes(rand::random()).into_uuid()
}

/// Runs inside the request's span (when it is enabled): records the status and logs the request.
pub fn finish<B>(outcome: Outcome<B>) -> Outcome<B> {
    let (status, error) = match &outcome {
        Ok(res) => (res.status(), res.response().error()),
        Err(e) => (e.as_response_error().status_code(), Some(e)),
    };
    let code = status.as_u16();
    Span::current().record("status", code);
    if code >= 500 {
        tracing::warn!(status = code, "request failed");
    } else {
        tracing::info!(status = code, "request");
    }
    if let Some(e) = error {
        // As tracing-actix-web's `emit_event_on_error` did: the error's own description.
        let prefix = "Error encountered while processing the incoming HTTP request";
        if status.is_client_error() {
            tracing::warn!("{}: {:?}", prefix, e.as_response_error());
        } else {
            tracing::error!("{}: {:?}", prefix, e.as_response_error());
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_random_v4_uuids() {
        let (a, b) = (request_id(), request_id());
        assert_ne!(a, b);
        for id in [a, b] {
            assert_eq!(id.get_version(), Some(uuid::Version::Random));
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        }
    }
}
