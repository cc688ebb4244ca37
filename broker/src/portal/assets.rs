//! The portal's static files, embedded in the binary (`broker/static/portal/`) and served from
//! `/portal/static/{name}`: the stylesheet and the script — the only style and script a portal
//! page may use (its Content-Security-Policy allows `'self'` and nothing inline). Each is sent
//! with its SHA-256 as a strong `ETag`, so browsers revalidate cheaply.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use sha2::{Digest, Sha256};

const FILES: [(&str, &str, &str); 2] = [
    (
        "portal.css",
        "text/css; charset=utf-8",
        include_str!("../../static/portal/portal.css"),
    ),
    (
        "portal.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/portal/portal.js"),
    ),
];

fn etag(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    format!(
        "\"{}\"",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    )
}

pub async fn serve(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    let Some((_, ctype, body)) = FILES.iter().find(|(n, _, _)| *n == name.as_str()) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("no such file");
    };
    let tag = etag(body);
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == tag.as_bytes());
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"));
    if fresh {
        res.finish()
    } else {
        res.content_type(*ctype).body(*body)
    }
}
