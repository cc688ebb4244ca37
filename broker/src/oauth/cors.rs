//! CORS (the Fetch standard's cross-origin protocol) for browser apps: a single-page app
//! redeems its code, refreshes and revokes from its own origin, and reads discovery and keys.
//!
//! * **Client endpoints** (`/token`, `/revoke`, `/device_authorization`) — [`ForClients`]: an
//!   answer carries `Access-Control-Allow-Origin: <origin>` only when the request's `Origin`
//!   is one of the **allowed origins of the app whose `client_id` it presented** (exact match),
//!   errors included, so the app can read them. Every answer to a request with an `Origin`
//!   says `Vary: Origin`. No `Access-Control-Allow-Credentials`: these endpoints use no cookie
//!   and no HTTP authentication the browser would add by itself, so the app's `fetch` needs no
//!   credentials mode (a confidential client's Basic header is one it writes itself).
//! * **Their preflight** (`OPTIONS`, [`preflight_post`]) is answered for any origin — it
//!   carries no request and no client, so it cannot be told apart, and it grants nothing:
//!   without the app's origin on the actual answer the browser lets the page read nothing —
//!   allowing `POST` with `Authorization`, `Content-Type`, `Accept` and `DPoP`, cached by the
//!   browser for `server.cors_max_age_secs`.
//! * **Discovery and keys** (`/.well-known/*`, `/jwks`) — [`public`]: public documents, so
//!   `Access-Control-Allow-Origin: *` for everyone (what OpenID providers commonly do), without
//!   credentials.
//! * `/introspect` answers no CORS at all: it serves resource servers, never browsers.

use std::future::{ready, Future, Ready};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, HttpRequest, HttpResponse};

use futures_util::future::{Either, LocalBoxFuture};

use crate::flows::cors::allows;
use crate::state::AppState;

/// The `client_id` a request presented, as its handler saw it (for [`ForClients`]).
#[derive(Debug, Clone)]
struct Presented(String);

/// Remembers, for the CORS answer, which client `req` presented: only a request with an
/// `Origin` gets one ([`ForClients`]), so the others keep nothing (no copy, no extension).
pub fn remember(req: &HttpRequest, client_id: &str) {
    if req.headers().contains_key(header::ORIGIN) {
        req.extensions_mut()
            .insert(Presented(client_id.to_string()));
    }
}

/// Request headers a preflight allows.
const ALLOWED_HEADERS: &str = "Authorization, Content-Type, Accept, DPoP";

/// Response headers an app's script may read besides the safelisted ones (`DPoP-Nonce`: the
/// server nonce a browser client must put in its next proof, RFC 9449 §8.1).
const EXPOSED: &str = "WWW-Authenticate, Retry-After, RateLimit-Limit, RateLimit-Remaining, \
                       RateLimit-Reset, RateLimit-Policy, DPoP-Nonce";

fn vary_origin(h: &mut HeaderMap) {
    let already = h
        .get_all(header::VARY)
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("origin"))
        });
    if !already {
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// The middleware of the client endpoints (see the module documentation). A request without
/// an `Origin` — every server-side client's — goes through untouched: its answer's future is
/// the endpoint's own, with no box and no poll of its own (issue 11, P3; it was
/// `middleware::from_fn`, which boxes the endpoint's call and its own future per request).
#[derive(Debug, Clone, Copy)]
pub struct ForClients;

impl<S, B> Transform<S, ServiceRequest> for ForClients
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    S::Future: 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = ForClientsService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ForClientsService { service }))
    }
}

/// [`ForClients`] around one client endpoint.
#[derive(Debug)]
pub struct ForClientsService<S> {
    service: S,
}

type Answer<B> = Result<ServiceResponse<B>, Error>;

impl<S, B> Service<ServiceRequest> for ForClientsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    S::Future: 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = Either<S::Future, LocalBoxFuture<'static, Answer<B>>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        match req.headers().get(header::ORIGIN).cloned() {
            None => Either::Left(self.service.call(req)),
            Some(origin) => Either::Right(Box::pin(with_origin(self.service.call(req), origin))),
        }
    }
}

/// The answer to a request from `origin`: `Vary: Origin`, and the app's CORS headers when
/// `origin` is one of the allowed origins of the client it presented.
async fn with_origin<B>(answer: impl Future<Output = Answer<B>>, origin: HeaderValue) -> Answer<B> {
    let mut res = answer.await?;
    vary_origin(res.headers_mut());
    let request = res.request();
    let client = request.extensions().get::<Presented>().cloned();
    let state = request.app_data::<web::Data<AppState>>().cloned();
    let (Some(Presented(client)), Some(state), Ok(o)) = (client, state, origin.to_str()) else {
        return Ok(res);
    };
    if allows(&state, &client, o).await {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        let exposed = HeaderValue::from_static(EXPOSED);
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, exposed);
    }
    Ok(res)
}

/// The middleware of discovery and the JWKS: readable by every origin.
pub async fn public(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let mut res = next.call(req).await?;
    let any = HeaderValue::from_static("*");
    res.headers_mut()
        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, any);
    Ok(res)
}

/// The answer to `OPTIONS`: a CORS preflight for `method` gets 204 with what may be sent and
/// for how long; anything else 204 with `Allow`.
fn preflight(
    req: &HttpRequest,
    state: &AppState,
    method: &'static str,
    allow: &'static str,
) -> HttpResponse {
    let mut res = HttpResponse::NoContent();
    res.insert_header((header::ALLOW, allow));
    let h = req.headers();
    let asked = h.get(header::ACCESS_CONTROL_REQUEST_METHOD);
    let asked = asked.is_some_and(|m| m.as_bytes() == method.as_bytes());
    let Some(origin) = h.get(header::ORIGIN).filter(|_| asked) else {
        return res.finish();
    };
    if method == "GET" {
        res.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"));
    } else {
        res.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone()))
            .insert_header((header::VARY, "Origin"));
    }
    let age = state.config.server.cors_max_age_secs.to_string();
    res.insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, method))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, age))
        .finish()
}

/// `OPTIONS` on a client endpoint.
pub async fn preflight_post(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    preflight(&req, &state, "POST", "POST, OPTIONS")
}

/// `OPTIONS` on discovery and the JWKS.
pub async fn preflight_get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    preflight(&req, &state, "GET", "GET, HEAD, OPTIONS")
}
