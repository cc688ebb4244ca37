//! The request as the proxy decides on it, read once before routing: the request head within
//! its limits, the method, the host and the canonical path. Routing, every policy and the
//! forwarded request target all use what this module decided, never the raw request again, so
//! a backend cannot be handed a request that means something other than what was authorised.
//!
//! Anything that cannot be read one way only is refused here with a [`Refusal`] — before any
//! policy runs and before any lookup — rather than repaired: a repaired request is one the
//! proxy and a backend may repair differently.
//!
//! # Layout
//!
//! * [`head`] — request-target length (414), header count and size (431).
//! * [`method`] — method tokens, the standard set, the fixed labels of metrics and analytics.
//! * [`host`] — the host a request is routed by (`Host`, or an absolute-form target's).
//! * [`path`] — the canonical path: decoded for matching, re-encoded one way for forwarding.
//! * [`backend_view`] — the path as a lenient backend may read it (decoded repeatedly, `\` as
//!   `/`, `;params` dropped, dot-segments resolved): the defence-in-depth check that a
//!   forwarded path stays under its route.

pub mod backend_view;
pub mod head;
pub mod host;
pub mod method;
pub mod path;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

/// Why a request was refused before (or right after) routing. Every field is fixed text, so a
/// refusal allocates nothing and never echoes the request; `reason` labels the
/// `tessera_proxy_rejected_requests_total` metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub reason: &'static str,
    pub message: &'static str,
}

const fn bad(reason: &'static str, message: &'static str) -> Refusal {
    Refusal {
        status: 400,
        reason,
        message,
    }
}

impl Refusal {
    pub const TARGET_FORM: Refusal = bad(
        "target_form",
        "the request target must be a path starting with '/'",
    );
    pub const MALFORMED_ESCAPE: Refusal =
        bad("escape", "the path holds a malformed percent-escape");
    pub const DOUBLE_ENCODING: Refusal = bad(
        "double_encoding",
        "the path holds a percent-encoded percent-escape",
    );
    pub const BACKSLASH: Refusal = bad("backslash", "the path holds a backslash");
    pub const CONTROL: Refusal = bad("control", "the path holds a control character");
    pub const INVALID_CHAR: Refusal = bad("invalid_char", "the path holds a non-ASCII byte");
    pub const SEMICOLON: Refusal = bad("semicolon", "the path holds a ';' parameter");
    pub const ENCODED_SLASH: Refusal = bad("encoded_slash", "the path holds an encoded '/'");
    pub const DOT_SEGMENT: Refusal = bad("dot_segment", "dot-segments are not allowed in the path");
    pub const EMPTY_SEGMENT: Refusal = bad(
        "empty_segment",
        "empty path segments ('//') are not allowed",
    );
    pub const INVALID_UTF8: Refusal = bad("utf8", "the decoded path is not valid UTF-8");
    pub const CONFUSABLE: Refusal = bad(
        "confusable",
        "the path holds a character that backends may read as '/' or '\\'",
    );
    pub const ESCAPES_ROUTE: Refusal = bad(
        "escapes_route",
        "the path could leave its route at the backend",
    );
    pub const HOST: Refusal = bad("host", "the Host header is missing, repeated or invalid");
    pub const HOST_MISMATCH: Refusal = bad(
        "host_mismatch",
        "the request target's host differs from the Host header",
    );
    pub const METHOD: Refusal = bad("method", "the method is not a token of at most 32 bytes");
    pub const NOT_IMPLEMENTED: Refusal = Refusal {
        status: 501,
        reason: "not_implemented",
        message: "the method is not implemented for this path",
    };
    pub const URI_TOO_LONG: Refusal = Refusal {
        status: 414,
        reason: "uri_too_long",
        message: "the request target is too long",
    };
    pub const HEADERS_TOO_LARGE: Refusal = Refusal {
        status: 431,
        reason: "headers_too_large",
        message: "the request headers are too large",
    };
    pub const TOO_MANY_HEADERS: Refusal = Refusal {
        status: 431,
        reason: "too_many_headers",
        message: "the request has too many header fields",
    };

    /// The RFC 6749-style error code of the answer's JSON body.
    pub fn error_code(&self) -> &'static str {
        match self.status {
            414 => "uri_too_long",
            431 => "request_header_fields_too_large",
            501 => "not_implemented",
            _ => "invalid_request",
        }
    }
}
