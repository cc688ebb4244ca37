//! What a request says about its client, read the way the proxy trusts it: its scheme and the
//! forwarding chain (only from trusted hops). Host and path are decided in
//! [`crate::canonical`].

use std::net::IpAddr;

use actix_web::http::header::{self, HeaderMap};
use actix_web::HttpRequest;

use crate::policy::ip::client_ip;
use crate::state::Runtime;

/// Where a call came from.
pub(super) struct Client {
    /// The socket peer.
    pub peer: IpAddr,
    /// The client address: the peer, or `X-Forwarded-For` read through trusted hops only.
    pub ip: IpAddr,
}

impl Client {
    pub fn of(req: &HttpRequest, rt: &Runtime) -> Self {
        let peer = req
            .peer_addr()
            .map(|a| a.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let forwarded_for = req
            .headers()
            .get_all(header::X_FORWARDED_FOR)
            .filter_map(|v| v.to_str().ok());
        let ip = client_ip(peer, forwarded_for, &rt.config.server.trusted_proxies);
        Client { peer, ip }
    }
}

/// `https` when the proxy terminated TLS, or when a trusted hop says the client used it.
pub(super) fn proto(req: &HttpRequest, rt: &Runtime, peer: std::net::IpAddr) -> &'static str {
    if rt.config.server.tls.is_some() {
        return "https";
    }
    let trusted = is_trusted(peer, &rt.config.server.trusted_proxies);
    let said_https = req
        .headers()
        .get(header::X_FORWARDED_PROTO)
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
    if !is_trusted(peer, trusted) {
        return None;
    }
    let chain: Vec<&str> = headers
        .get_all(header::X_FORWARDED_FOR)
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!chain.is_empty()).then(|| chain.join(", "))
}

/// The peer is one of `server.trusted_proxies`.
pub(super) fn is_trusted(peer: std::net::IpAddr, trusted: &[ipnet::IpNet]) -> bool {
    let peer = crate::policy::ip::canonical(peer);
    trusted.iter().any(|n| n.contains(&peer))
}
