//! The public listener's request stack as ONE middleware ([`Stack`]): around every request, in
//! one future and one poll, what three layers did — the request span and its log lines
//! ([`crate::telemetry`]), the HTTP metrics (`http_requests_total` and
//! `http_request_duration_seconds` by route, method and status: [`crate::metrics`]) and the
//! security headers ([`crate::security_headers`]).
//!
//! Why one (issue 11, P3): each `wrap`/`wrap_fn` layer is a future of its own, polled per
//! request, and the metrics layer cloned the method, built the route's pattern as a `String`
//! (`HttpRequest::match_pattern`) and looked two prometheus series up by their labels on every
//! request. Here the route's pattern of the busy resources is a `&'static str` they carry
//! ([`RoutePattern`], the very path they were registered with), and each (route, method,
//! status) has its two series resolved once per worker ([`Series`]).
//!
//! What it does, in this order, as the three did: the span is made before the request is
//! routed (its route field from `match_pattern`, computed only when the span is enabled); when
//! the application answers, the metrics count the answer under the matched route's pattern
//! (`unmatched` when none matched), the security headers are added, then the span records the
//! status and logs the request. An error the application returns (rather than answers) is
//! neither counted nor given headers, as before; the span logs it.

use std::cell::RefCell;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{Error, HttpRequest};
use tracing::Span;

use crate::metrics::{HttpSeries, Metrics};
use crate::security_headers;
use crate::telemetry;

/// The route pattern a resource registered at the application's root carries as its data
/// (`web::resource(path).app_data(RoutePattern(path))`): what `HttpRequest::match_pattern`
/// would build for it, known without building it. Resources without one get `match_pattern`.
#[derive(Debug, Clone, Copy)]
pub struct RoutePattern(pub &'static str);

/// The middleware (`App::wrap`), around the whole application.
#[derive(Debug, Clone)]
pub struct Stack {
    metrics: Metrics,
}

impl Stack {
    pub fn new(metrics: Metrics) -> Self {
        Stack { metrics }
    }
}

impl<S, B> Transform<S, ServiceRequest> for Stack
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    S::Future: Unpin,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = StackService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let series = Series {
            metrics: self.metrics.clone(),
            resolved: RefCell::default(),
        };
        ready(Ok(StackService {
            service,
            series: std::rc::Rc::new(series),
        }))
    }
}

/// [`Stack`] around one worker's application.
#[derive(Debug)]
pub struct StackService<S> {
    service: S,
    series: std::rc::Rc<Series>,
}

impl<S, B> Service<ServiceRequest> for StackService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    S::Future: Unpin,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = StackFuture<S::Future>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let started = Instant::now();
        let span = telemetry::span(&req);
        let inner = span.in_scope(|| self.service.call(req));
        StackFuture {
            inner,
            span,
            started,
            series: self.series.clone(),
        }
    }
}

/// The application's answer, then the stack's work on it (see the module documentation).
#[derive(Debug)]
pub struct StackFuture<F> {
    inner: F,
    span: Span,
    started: Instant,
    series: std::rc::Rc<Series>,
}

impl<F, B> Future for StackFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>> + Unpin,
{
    type Output = Result<ServiceResponse<B>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let _entered = this.span.enter();
        let Poll::Ready(mut outcome) = Pin::new(&mut this.inner).poll(cx) else {
            return Poll::Pending;
        };
        if let Ok(res) = &mut outcome {
            let status = res.status().as_u16();
            this.series
                .count(res.request(), status, this.started.elapsed());
            security_headers::apply(res.headers_mut());
        }
        Poll::Ready(telemetry::finish(outcome))
    }
}

/// One worker's resolved series, by (route, method label, status); at most [`MAX_RESOLVED`]
/// (the labels come from bounded sets, but a bound costs nothing; beyond it, a request's series
/// are looked up by label, as before).
#[derive(Debug)]
struct Series {
    metrics: Metrics,
    resolved: RefCell<Vec<Resolved>>,
}

#[derive(Debug)]
struct Resolved {
    route: Box<str>,
    method: &'static str,
    status: u16,
    series: HttpSeries,
}

const MAX_RESOLVED: usize = 64;

impl Series {
    /// Counts `req`'s answer with `status`, answered in `elapsed`.
    fn count(&self, req: &HttpRequest, status: u16, elapsed: Duration) {
        let owned;
        let route = match req.app_data::<RoutePattern>() {
            Some(RoutePattern(route)) => {
                debug_assert_eq!(req.match_pattern().as_deref(), Some(*route));
                route
            }
            None => {
                owned = req.match_pattern();
                owned.as_deref().unwrap_or("unmatched")
            }
        };
        // A label from a fixed set: a client names any method.
        let method = tessera_shared::method::label(req.method().as_str());
        let mut resolved = self.resolved.borrow_mut();
        let found = resolved
            .iter()
            .find(|r| r.status == status && r.method == method && &*r.route == route);
        if let Some(r) = found {
            return r.series.observe(elapsed);
        }
        let series = self.metrics.http_series(route, method, status);
        series.observe(elapsed);
        if resolved.len() < MAX_RESOLVED {
            resolved.push(Resolved {
                route: route.into(),
                method,
                status,
                series,
            });
        }
    }
}
