//! What a request says about itself, read the way the proxy trusts it: its host (never from
//! `X-Forwarded-Host`), whether its path tries to climb out of its route, its scheme and the
//! forwarding chain (only from trusted hops).

use actix_web::http::header::{self, HeaderMap};
use actix_web::HttpRequest;

use crate::state::Runtime;

/// The request's host, from `Host` (HTTP/1.1) or the URI authority, without port, lower case.
/// `X-Forwarded-Host` is never used for routing.
pub(super) fn request_host(req: &HttpRequest) -> Option<String> {
    let raw = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))?;
    let host = match raw.rsplit_once(':') {
        Some((h, port)) if !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => raw,
    };
    Some(host.to_ascii_lowercase())
}

/// Dot-segments (`/../`, also percent-encoded) would let a path escape its route's prefix at
/// the backend; such requests are refused rather than normalised.
pub(super) fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|seg| {
        let s = seg.to_ascii_lowercase().replace("%2e", ".");
        s == "." || s == ".."
    }) || path.to_ascii_lowercase().contains("%2f..")
}

/// `https` when the proxy terminated TLS, or when a trusted hop says the client used it.
pub(super) fn proto(req: &HttpRequest, rt: &Runtime, peer: std::net::IpAddr) -> &'static str {
    if rt.config.server.tls.is_some() {
        return "https";
    }
    let peer = crate::policy::ip::canonical(peer);
    let trusted = rt
        .config
        .server
        .trusted_proxies
        .iter()
        .any(|n| n.contains(&peer));
    let said_https = req
        .headers()
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    if trusted && said_https {
        "https"
    } else {
        "http"
    }
}

/// The inbound `X-Forwarded-For`, kept only when the peer is a trusted hop.
pub(super) fn forwarded_chain(
    headers: &HeaderMap,
    peer: std::net::IpAddr,
    trusted: &[ipnet::IpNet],
) -> Option<String> {
    let peer = crate::policy::ip::canonical(peer);
    if !trusted.iter().any(|n| n.contains(&peer)) {
        return None;
    }
    let chain: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!chain.is_empty()).then(|| chain.join(", "))
}
