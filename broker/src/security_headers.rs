//! Security headers on every answer of the broker's public listener: `X-Content-Type-Options:
//! nosniff` everywhere, and on every HTML page (the error pages of `/authorize` and `/callback`,
//! the 429 page, `tessera dev`'s landing page) a Content-Security-Policy that allows nothing —
//! no script, no style, no form target, no framing (`frame-ancestors 'none'`, and
//! `X-Frame-Options: DENY` for old browsers) — and `Referrer-Policy: no-referrer`, so that codes
//! and states in URLs never leak through `Referer`. A page that needs more (the development
//! identity provider's login form and its style, by hash) sets its own policy, which is kept.

use actix_web::http::header::{self, HeaderMap, HeaderValue};

/// The policy of the broker's own pages: they are static text.
pub const PAGE_CSP: &str =
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Adds the headers `headers` lacks (the request stack, `http::stack`, on every answer).
pub fn apply(headers: &mut HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            // Case-insensitive (RFC 9110 §8.3.1) without a lowercased copy per response.
            let v = v.trim_start().as_bytes();
            v.get(..9)
                .is_some_and(|m| m.eq_ignore_ascii_case(b"text/html"))
        });
    if !html {
        return;
    }
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, PAGE_CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_gets_the_policy_and_keeps_its_own() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        apply(&mut h);
        assert_eq!(h.get(header::CONTENT_SECURITY_POLICY).unwrap(), PAGE_CSP);
        assert_eq!(h.get(header::REFERRER_POLICY).unwrap(), "no-referrer");
        let mut own = HeaderMap::new();
        own.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        own.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'sha256-x'"),
        );
        apply(&mut own);
        assert_eq!(
            own.get(header::CONTENT_SECURITY_POLICY).unwrap(),
            "default-src 'none'; style-src 'sha256-x'"
        );
        let mut json = HeaderMap::new();
        json.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        apply(&mut json);
        assert_eq!(json.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
        assert!(!json.contains_key(header::CONTENT_SECURITY_POLICY));
    }
}
