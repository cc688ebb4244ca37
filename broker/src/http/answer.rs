//! The JSON answers of the token and introspection endpoints (RFC 6749 §5.1, RFC 7662 §2.2),
//! with `Cache-Control: no-store` (and, for the token endpoint, `Pragma: no-cache`).
//!
//! Written once into a buffer reserved for the usual answer (issue 11, P3/P4): actix's
//! `HttpResponseBuilder::json` serialises into an empty `String` that grows (three or four
//! reallocations per answer) and parses its `Content-Type` from a `mime` each time.

use actix_web::http::header::{self, HeaderValue};
use actix_web::HttpResponse;
use serde::Serialize;

/// Room for a token or introspection answer without attributes; larger ones grow once or twice.
const RESERVED: usize = 512;

/// `value` as a `200 OK` JSON answer that no cache may keep; `pragma` adds `Pragma: no-cache`
/// (RFC 6749 §5.1 asks it of the token endpoint). A value serde cannot write is a 500, as with
/// actix's own `json`.
pub fn no_store<T: Serialize>(value: &T, pragma: bool) -> HttpResponse {
    let mut body = Vec::with_capacity(RESERVED);
    let written = serde_json::to_writer(&mut body, value).map(|()| body);
    no_store_json(written, pragma)
}

/// [`no_store`] for JSON already written (by a hand-written writer such as the token answer's);
/// a writer's error is a 500.
pub fn no_store_json(json: Result<Vec<u8>, serde_json::Error>, pragma: bool) -> HttpResponse {
    let body = match json {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(cause = %e, "answer not serialised");
            return HttpResponse::InternalServerError().finish();
        }
    };
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    if pragma {
        res.insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")));
    }
    res.insert_header((
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    ))
    .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    #[test]
    fn writes_the_value_with_its_headers() {
        let res = no_store(
            &serde_json::json!({"active": true, "scope": "a \"b\""}),
            true,
        );
        assert_eq!(res.status(), 200);
        let h = res.headers();
        assert_eq!(h.get(header::CACHE_CONTROL).unwrap(), "no-store");
        assert_eq!(h.get(header::PRAGMA).unwrap(), "no-cache");
        assert_eq!(h.get(header::CONTENT_TYPE).unwrap(), "application/json");
        let body = res.into_body().try_into_bytes().unwrap();
        assert_eq!(&body[..], br#"{"active":true,"scope":"a \"b\""}"#);
        let res = no_store(&serde_json::json!({"active": false}), false);
        assert!(res.headers().get(header::PRAGMA).is_none());
    }

    #[test]
    fn a_value_serde_cannot_write_is_a_500() {
        let mut map = std::collections::BTreeMap::new();
        map.insert(vec![1u8], 1);
        assert_eq!(no_store(&map, false).status(), 500);
    }
}
