//! Method routing for the busiest endpoints without actix's bookkeeping, answering as actix does.
//!
//! Actix's method guards (`web::post()`, `web::method(..)`) record every method they check in
//! the request's extensions, so that a resource whose routes all refuse can list them in its
//! `405`'s `Allow` (RFC 9110 §15.5.6). That record costs three allocations per request — the
//! list, its box and the extensions' table — on every token, introspection and revocation call
//! (issue 11, P3/P4), to serve only the rare wrong method. [`only`] checks the method and
//! records nothing; a resource routed by it lists its methods itself with [`not_allowed`], the
//! answer actix gives (same status, same `Allow`, in the routes' order, no body).

use actix_web::guard::{self, Guard};
use actix_web::http::{header, Method};
use actix_web::{web, HttpResponse, Route};

/// A guard that admits `method` only, and leaves the request's extensions alone.
pub fn only(method: Method) -> impl Guard {
    guard::fn_guard(move |ctx| ctx.head().method == method)
}

/// A route for `method` only ([`only`]).
pub fn route(method: Method) -> Route {
    web::route().guard(only(method))
}

/// A route for `POST` only: `web::post()` without the record.
pub fn post() -> Route {
    route(Method::POST)
}

/// What actix's resource answers when none of its routes admits the method: `405` with
/// `Allow: {methods}` — the resource's default service where its routes use [`only`].
pub fn not_allowed(methods: &'static [Method]) -> Route {
    web::to(move || async move {
        HttpResponse::MethodNotAllowed()
            .insert_header(header::Allow(methods.to_vec()))
            .finish()
    })
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;
    use actix_web::http::StatusCode;
    use actix_web::test::{call_service, init_service, TestRequest};
    use actix_web::App;

    use super::*;

    const POST_OPTIONS: &[Method] = &[Method::POST, Method::OPTIONS];

    /// The same resource routed by actix's guards and by ours answers every method alike
    /// (status, headers, body).
    #[actix_web::test]
    async fn answers_as_actix_guards_do() {
        let ok = || async { HttpResponse::Ok().body("ok") };
        let theirs = init_service(
            App::new().service(
                web::resource("/r")
                    .route(web::post().to(ok))
                    .route(web::method(Method::OPTIONS).to(ok)),
            ),
        )
        .await;
        let ours = init_service(
            App::new().service(
                web::resource("/r")
                    .route(route(Method::POST).to(ok))
                    .route(route(Method::OPTIONS).to(ok))
                    .default_service(not_allowed(POST_OPTIONS)),
            ),
        )
        .await;
        for method in [
            "POST", "OPTIONS", "GET", "HEAD", "PUT", "DELETE", "PATCH", "TRACE",
        ] {
            let req = || {
                TestRequest::default()
                    .method(Method::from_bytes(method.as_bytes()).unwrap())
                    .uri("/r")
                    .to_request()
            };
            let a = call_service(&theirs, req()).await;
            let b = call_service(&ours, req()).await;
            assert_eq!(a.status(), b.status(), "{method}");
            let headers = |r: &actix_web::dev::ServiceResponse| {
                let mut h: Vec<(String, Vec<u8>)> = r
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                    .collect();
                h.sort();
                h
            };
            assert_eq!(headers(&a), headers(&b), "{method}");
            if method != "POST" && method != "OPTIONS" {
                assert_eq!(b.status(), StatusCode::METHOD_NOT_ALLOWED);
                assert_eq!(b.headers().get(header::ALLOW).unwrap(), "POST, OPTIONS");
            }
            let (a, b) = (a.into_body(), b.into_body());
            let a = a.try_into_bytes().ok().unwrap_or_default();
            let b = b.try_into_bytes().ok().unwrap_or_default();
            assert_eq!(a, b, "{method}");
        }
    }
}
