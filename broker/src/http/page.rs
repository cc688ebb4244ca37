//! What the browser sees on the authorization path: an HTML error page when there is no
//! registered redirect URI to trust (RFC 6749 §4.1.2.1: never redirect then), and redirects back
//! to the app carrying `code` or `error`, the exact `state`, and `iss` (RFC 9207 §2); and the 429
//! page of a rate limit ([`too_many_requests`]).

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::HttpResponse;
use tessera_shared::oauth::ErrorCode;

use crate::ratelimit::Refusal;

/// A 4xx/5xx HTML page; every dynamic value is escaped.
pub fn error_page(status: u16, title: &str, detail: &str) -> HttpResponse {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Tessera: {t}</title></head>\
         <body><h1>{t}</h1><p>{d}</p></body></html>",
        t = html_escape::encode_text(title),
        d = html_escape::encode_text(detail),
    );
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
    )
    .insert_header((header::CACHE_CONTROL, "no-store"))
    .content_type("text/html; charset=utf-8")
    .body(body)
}

/// A 302 to `redirect_uri` with `params` appended to its query (keeping any query it has).
pub fn redirect_to(redirect_uri: &str, params: &[(&str, &str)]) -> HttpResponse {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => return error_page(400, "Invalid redirect", "the redirect URI is not valid"),
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    HttpResponse::Found()
        .insert_header((header::LOCATION, url.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// An RFC 6749 §4.1.2.1 error redirect, with `state` and `iss`.
pub fn error_redirect(
    redirect_uri: &str,
    code: ErrorCode,
    description: &str,
    state: Option<&str>,
    iss: &str,
) -> HttpResponse {
    let mut params = vec![("error", code.as_str()), ("error_description", description)];
    if let Some(s) = state {
        params.push(("state", s));
    }
    params.push(("iss", iss));
    redirect_to(redirect_uri, &params)
}

/// The HTML answer of a browser endpoint (`/authorize`, `/callback`) refused by a rate limit:
/// 429 with the refusal's `Retry-After` and RateLimit fields, never a redirect (the limit is
/// checked before the client or its redirect URI is even looked up).
pub fn too_many_requests(refusal: &Refusal) -> HttpResponse {
    let mut res = error_page(
        429,
        "Too many requests",
        "Too many requests from your network. Please wait a moment and try again.",
    );
    for (name, value) in refusal.headers() {
        if let Ok(v) = HeaderValue::from_str(&value) {
            res.headers_mut().insert(HeaderName::from_static(name), v);
        }
    }
    res
}
