//! What the browser sees on the authorization path: an HTML error page when there is no
//! registered redirect URI to trust (RFC 6749 §4.1.2.1: never redirect then), and redirects back
//! to the app carrying `code` or `error`, the exact `state`, and `iss` (RFC 9207 §2).

use actix_web::http::header;
use actix_web::HttpResponse;
use tessera_shared::oauth::ErrorCode;

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
