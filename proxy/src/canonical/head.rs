//! Limits on the request head, checked before anything else reads it.
//!
//! The HTTP/1.1 parser (actix-http) already bounds the head: the request line and headers
//! together at most 128 KiB and at most 96 header fields (beyond either: `431` and the
//! connection is closed), a request target of at most 65,534 bytes (`400`), and a method or
//! header name of token characters only (`400`). Those answers come from the parser itself,
//! before the proxy sees the request, so they are not counted in the proxy's metrics.
//!
//! Within those, the proxy applies its own, configurable and lower limits (`server.*`):
//! `max_uri_bytes` on the request target (`414 URI Too Long`, RFC 9110 §15.5.15),
//! `max_headers` and `max_header_bytes` (sum of name and value lengths) on the header fields
//! (`431`, RFC 6585 §5).

use actix_web::http::header::HeaderMap;
use actix_web::http::Uri;

use super::Refusal;

/// The parser's own cap on header fields; `server.max_headers` may only lower it.
pub const PARSER_MAX_HEADERS: usize = 96;

/// The head limits of `[server]`.
#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    pub max_uri_bytes: usize,
    pub max_headers: usize,
    pub max_header_bytes: usize,
}

/// The request target's length as it came on the request line.
fn target_len(uri: &Uri) -> usize {
    let scheme = uri.scheme_str().map_or(0, |s| s.len() + 3);
    let authority = uri.authority().map_or(0, |a| a.as_str().len());
    let rest = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    scheme + authority + rest
}

impl HeadLimits {
    pub fn check(&self, uri: &Uri, headers: &HeaderMap) -> Result<(), Refusal> {
        if target_len(uri) > self.max_uri_bytes {
            return Err(Refusal::URI_TOO_LONG);
        }
        if headers.len() > self.max_headers {
            return Err(Refusal::TOO_MANY_HEADERS);
        }
        let mut size = 0usize;
        for (name, value) in headers {
            size = size
                .saturating_add(name.as_str().len())
                .saturating_add(value.len());
        }
        if size > self.max_header_bytes {
            return Err(Refusal::HEADERS_TOO_LARGE);
        }
        Ok(())
    }
}
