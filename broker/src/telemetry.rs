//! The request span ([`RequestSpan`], a middleware). It records the matched route pattern, the
//! method, a request id and the status — never the query string (`/callback?code=…`), a header
//! or a body — and logs one `request` event per request at `info` (`request failed` at `warn`
//! for a 5xx), plus the description of an error response (`warn` for a 4xx, `error` for a 5xx).
//!
//! It replaces tracing-actix-web's `TracingLogger` (issue 11, P3/P4): that one generated a
//! request id (a v4 UUID: one `getrandom` system call), built the route's `String` and inserted
//! both into the request's extensions on every request, even with the span's level off, and
//! wrapped every response body. Here the span's fields are computed only when the span is
//! enabled (`info` or finer), so at the default `warn` a request costs a level check.

use std::future::{ready, Ready};

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::Error;
use futures_util::future::Map;
use futures_util::FutureExt;
use tracing::instrument::Instrumented;
use tracing::{Instrument, Span};
use uuid::Uuid;

/// The middleware (`App::wrap`).
#[derive(Debug, Clone, Copy)]
pub struct RequestSpan;

impl<S, B> Transform<S, ServiceRequest> for RequestSpan
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = RequestSpanService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequestSpanService { service }))
    }
}

type Outcome<B> = Result<ServiceResponse<B>, Error>;

/// [`RequestSpan`] around the rest of the application.
#[derive(Debug)]
pub struct RequestSpanService<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for RequestSpanService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = Instrumented<Map<S::Future, fn(Outcome<B>) -> Outcome<B>>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        // The field expressions are evaluated only when the span is enabled.
        let span = tracing::info_span!(
            "http",
            method = %req.method(),
            route = %req.match_pattern().as_deref().unwrap_or("unmatched"),
            request_id = %Uuid::new_v4(),
            status = tracing::field::Empty,
        );
        let fut = span.in_scope(|| self.service.call(req));
        let end: fn(Outcome<B>) -> Outcome<B> = finish;
        fut.map(end).instrument(span)
    }
}

/// Runs inside the request's span (when it is enabled): records the status and logs the request.
fn finish<B>(outcome: Outcome<B>) -> Outcome<B> {
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
