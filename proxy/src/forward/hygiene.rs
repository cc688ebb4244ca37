//! Which inbound headers reach the backend.
//!
//! A backend does not always read header names as HTTP spells them: CGI, WSGI, PHP and Rack
//! turn `X-Tessera-Client-Id` and `X_Tessera_Client_Id` alike into `HTTP_X_TESSERA_CLIENT_ID`
//! (oauth2-proxy shipped that spoofing bug as CVE-2025-64484). So:
//!
//! * every inbound name that collides with a header the proxy sets or strips is compared
//!   case-insensitively and with `_` equal to `-`;
//! * by default an inbound name holding `_` is dropped altogether (nginx's
//!   `underscores_in_headers off`); a route's `forward.allow_underscores_in_headers = true`
//!   keeps those that collide with nothing;
//! * from a peer outside `server.trusted_proxies`, the names of `server.untrusted_headers`
//!   (client-address and URL/method-override headers some backends believe: `X-Real-IP`,
//!   `X-Original-URL`, `X-HTTP-Method-Override`…) are dropped too;
//! * on a route that signs, `Signature` and `Signature-Input` (RFC 9421 §4) are dropped: the
//!   backend sees only the proxy's.

use std::sync::Arc;

use super::Forwarding;

/// The default of `server.untrusted_headers`.
pub const UNTRUSTED_HEADERS: [&str; 10] = [
    "x-real-ip",
    "x-client-ip",
    "true-client-ip",
    "forwarded",
    "x-original-url",
    "x-rewrite-url",
    "x-original-method",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// The header hygiene of one route.
#[derive(Debug, Clone, Default)]
pub struct Hygiene {
    /// Keep inbound names holding `_` (unless they collide).
    pub allow_underscores: bool,
    /// `server.untrusted_headers`, lower case with `-`: dropped from untrusted peers.
    pub untrusted: Arc<[String]>,
}

/// `name` (lower case, as actix stores it) read as `protected` (lower case, with `-`).
pub fn same(name: &str, protected: &str) -> bool {
    name.len() == protected.len() && starts(name, protected)
}

/// `name` starts with `prefix`, `_` read as `-`.
fn starts(name: &str, prefix: &str) -> bool {
    name.len() >= prefix.len()
        && name
            .bytes()
            .zip(prefix.bytes())
            .all(|(a, b)| a == b || (a == b'_' && b == b'-'))
}

/// RFC 9110 §7.6.1 hop-by-hop headers, plus `Host` (set from the upstream URL).
const HOP_BY_HOP: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// A name in the form [`Hygiene::untrusted`] holds: lower case, `_` as `-`.
pub fn normalised(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

impl Forwarding {
    /// Whether inbound header `n` stops here. `listed`: names in `Connection`; `trusted`: the
    /// peer is a trusted hop.
    pub(super) fn drops(&self, n: &str, listed: &[String], trusted: bool) -> bool {
        let underscore = n.contains('_');
        (underscore && !self.hygiene.allow_underscores)
            || HOP_BY_HOP.iter().any(|h| same(n, h))
            || listed.iter().any(|l| same(n, l) || same(l, n))
            || starts(n, crate::forward::TESSERA_PREFIX)
            || starts(n, "x-forwarded-")
            || same(n, "forwarded")
            || self.injected.iter().any(|h| same(n, h))
            || (!self.credentials
                && (same(n, "authorization")
                    || same(n, "dpop")
                    || self.api_key_header.as_ref().is_some_and(|h| same(n, h))))
            || (!trusted && self.hygiene.untrusted.iter().any(|u| same(n, u)))
            // A client's own signature never passes a signing route: the backend sees only
            // the proxy's (RFC 9421 §4).
            || (self.signing.is_some() && (same(n, "signature") || same(n, "signature-input")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_with_underscore_as_dash() {
        assert!(same("x_tessera_client_id", "x-tessera-client-id"));
        assert!(same("x-tessera-client-id", "x-tessera-client-id"));
        assert!(!same("x-tessera-client-idx", "x-tessera-client-id"));
        assert!(
            !same("x-tessera-client-id", "x_tessera_client_id"),
            "only inbound '_'"
        );
        assert!(starts("x_forwarded_for", "x-forwarded-"));
        assert_eq!(normalised("X_Real-IP"), "x-real-ip");
    }
}
