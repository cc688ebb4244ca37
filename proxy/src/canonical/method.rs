//! Methods (RFC 9110 §9): case-sensitive tokens. The standard methods of §9.3 and `PATCH`
//! (RFC 5789) pass on any route that does not restrict its methods; any other method — `post`
//! is not `POST` — is `501` unless the route lists it by name. A method longer than
//! [`MAX_METHOD_BYTES`] is `400` (the HTTP parser already refuses non-token characters with
//! `400`).
//!
//! Metrics and analytics carry a method from a fixed set: a standard method, an extension
//! method a route lists (bounded by the configuration), or `OTHER`, so that no client can put
//! a string of its choice into Redis or a metric label.

use actix_web::http::Method;

use super::Refusal;

/// The longest method name accepted.
pub const MAX_METHOD_BYTES: usize = 32;

/// The label of a method outside the standard set and the route's list; the standard set
/// (RFC 9110 §9.3 and PATCH), shared with the broker's metrics.
pub use tessera_shared::method::{OTHER, STANDARD};

/// The method's name if it is a standard method (exact case), as a static label.
pub fn standard(method: &Method) -> Option<&'static str> {
    tessera_shared::method::standard(method.as_str())
}

/// Refuses an over-long method name (400).
pub fn check(method: &Method) -> Result<(), Refusal> {
    if method.as_str().len() > MAX_METHOD_BYTES {
        return Err(Refusal::METHOD);
    }
    Ok(())
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Checks a method named in the configuration (`methods`, `scopes.methods` keys): an upper-case
/// token of at most [`MAX_METHOD_BYTES`] bytes, so that it can match what clients send.
pub fn parse_configured(key: &str, name: &str) -> Result<Method, String> {
    let token = !name.is_empty()
        && name.len() <= MAX_METHOD_BYTES
        && name.bytes().all(is_tchar)
        && !name.bytes().any(|b| b.is_ascii_lowercase());
    if !token {
        return Err(format!(
            "{key}: '{name}' is not a method name (methods are case-sensitive: upper-case \
             tokens of at most {MAX_METHOD_BYTES} bytes, e.g. 'GET')"
        ));
    }
    Method::from_bytes(name.as_bytes()).map_err(|_| format!("{key}: '{name}' is not a method name"))
}
