//! HTTP methods as metrics and analytics may name them (RFC 9110 §9): a method is a
//! case-sensitive token a client chooses freely, so what lands in a metric label, an analytics
//! event or Redis is taken from a fixed set — the standard methods of §9.3 and `PATCH`
//! (RFC 5789) as they must be spelled — and anything else is [`OTHER`]. The broker's request
//! counter and the proxy's calls both label by [`label`]; the proxy also admits the extension
//! methods a route lists by name (bounded by its configuration). [`get_or_head`] is the route of
//! a read-only resource: GET and HEAD alike.

/// The label of a method outside the standard set.
pub const OTHER: &str = "OTHER";

/// RFC 9110 §9.3 and PATCH, as they must be spelled.
pub const STANDARD: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// The method's name if it is a standard method (exact case), as a static label.
pub fn standard(method: &str) -> Option<&'static str> {
    STANDARD.iter().copied().find(|s| *s == method)
}

/// The method's label: its name if standard, else [`OTHER`] (`post` is not `POST`).
pub fn label(method: &str) -> &'static str {
    standard(method).unwrap_or(OTHER)
}

/// A route for GET and HEAD (RFC 9110 §9.1: a server MUST support HEAD wherever it supports
/// GET; actix sends a HEAD answer's head only). For resources that only read: a handler with
/// effects (a login started or completed) keeps `web::get()`, so that a link checker's HEAD
/// cannot spend what the user's GET needs.
pub fn get_or_head() -> actix_web::Route {
    use actix_web::guard;
    actix_web::web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_methods_are_their_own_label_and_nothing_else_is() {
        for m in STANDARD {
            assert_eq!(label(m), m);
        }
        for m in [
            "post",
            "Get",
            "PROPFIND",
            "",
            "GETX",
            "X".repeat(2000).as_str(),
        ] {
            assert_eq!(label(m), OTHER, "{m:.20}");
        }
    }
}
