//! Forwarding, the last step: the request to the backend and the backend's answer back
//! ([`answer`]), both streamed, through hyper's HTTP/1.1 connections kept in a pool per worker
//! ([`client`], [`pool`]).
//!
//! Headers (RFC 9110 §7.6.1): hop-by-hop headers, and any named in `Connection`, are dropped
//! both ways. `X-Forwarded-For/-Proto/-Host` are set by the proxy; an inbound
//! `X-Forwarded-For` is kept only when it came from a trusted hop. Every header the proxy
//! injects (`X-Tessera-*`, claim mappings, the id_token header) is first removed from the
//! inbound request, so a client cannot pre-set them, whatever its case or underscores
//! ([`hygiene`]). The caller's credentials (`Authorization`, the API key) are not forwarded
//! unless the route says so. The request target is built in [`target`]. A route may sign what
//! it forwards (RFC 9421, [`signature`]).
//!
//! Failures: the backend unreachable or breaking the exchange is 502, too slow is 504. Nothing
//! is retried here (a POST must never be sent twice); the client only re-sends a request that
//! never left the pool, which is safe ([`client`]).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use actix_web::http::header::{HeaderMap, HeaderName};
use serde::Deserialize;
use url::Url;

use crate::caller::Caller;

mod answer;
pub mod client;
mod connector;
mod hygiene;
mod identity;
mod pool;
pub mod signature;
pub(crate) mod target;

pub use answer::response;
pub use hygiene::{normalised, Hygiene, UNTRUSTED_HEADERS};
pub use target::Endpoint;

/// Prefix of the headers the proxy always owns.
pub const TESSERA_PREFIX: &str = "x-tessera-";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardConfig {
    /// Forward the caller's `Authorization` header or API key (default: removed).
    #[serde(default)]
    pub credentials: bool,
    /// Add `X-Tessera-Client-Id`, `-App`, `-App-Id`, `-Developer-Id`, `-Sub`, `-Scope`.
    #[serde(default = "yes")]
    pub client_headers: bool,
    /// Header to add → claim (or custom attribute) of the caller it carries, e.g.
    /// `"X-User-Email" = "email"`.
    #[serde(default)]
    pub claims: BTreeMap<String, String>,
    /// Forward the login's upstream `id_token` in this header (Tessera user tokens only).
    #[serde(default)]
    pub id_token_header: Option<String>,
    /// Keep inbound header names holding `_` (default: dropped, see [`hygiene`]).
    #[serde(default)]
    pub allow_underscores_in_headers: bool,
    /// Sign what is forwarded (RFC 9421, the key of `[signing]`; [`signature`]).
    #[serde(default)]
    pub sign: bool,
}

impl Default for ForwardConfig {
    fn default() -> Self {
        ForwardConfig {
            credentials: false,
            client_headers: true,
            claims: BTreeMap::new(),
            id_token_header: None,
            allow_underscores_in_headers: false,
            sign: false,
        }
    }
}

fn yes() -> bool {
    true
}

/// A route's forwarding rules, compiled.
#[derive(Debug, Clone)]
pub struct Forwarding {
    pub upstream: Url,
    /// The upstream's scheme, authority and `Host`, built once.
    pub endpoint: Endpoint,
    pub strip_prefix: Option<String>,
    /// What a forwarded path must stay under ([`target`]): the upstream's base path, plus the
    /// route prefix when it is not stripped.
    pub floor: String,
    /// `%2F` may appear in paths of this route (forwarded still encoded).
    pub allow_encoded_slashes: bool,
    pub credentials: bool,
    pub client_headers: bool,
    pub claims: Vec<(HeaderName, String)>,
    pub id_token_header: Option<HeaderName>,
    /// Inbound headers removed because the proxy sets them (lower case, `_` as `-`).
    pub injected: Vec<String>,
    /// The API key header, removed unless credentials are forwarded (lower case, `_` as `-`).
    pub api_key_header: Option<String>,
    pub hygiene: Hygiene,
    pub api_key_query: Option<String>,
    pub timeout: Duration,
    pub client: client::Backend,
    /// `forward.sign`: the signer and the headers it covers.
    pub signing: Option<signature::RouteSigning>,
}

pub fn header_name(key: &str, name: &str) -> Result<HeaderName, String> {
    HeaderName::from_str(name).map_err(|_| format!("{key}: '{name}' is not a valid header name"))
}

impl ForwardConfig {
    pub fn injected_names(&self) -> Result<Vec<HeaderName>, String> {
        let mut out = Vec::new();
        for name in self.claims.keys() {
            out.push(header_name(&format!("forward.claims.{name}"), name)?);
        }
        if let Some(h) = &self.id_token_header {
            out.push(header_name("forward.id_token_header", h)?);
        }
        Ok(out)
    }
}

/// Names listed in `Connection` are hop-by-hop too.
fn connection_listed(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(actix_web::http::header::CONNECTION)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// What the pipeline knows about the request, for the forwarded headers.
#[derive(Debug)]
pub struct Origin<'a> {
    pub client_ip: std::net::IpAddr,
    /// `X-Forwarded-For` as received, when the peer is a trusted hop.
    pub trusted_forwarded_for: Option<String>,
    pub peer: std::net::IpAddr,
    /// The peer is one of `server.trusted_proxies`.
    pub trusted_peer: bool,
    /// `http` or `https`.
    pub proto: &'static str,
    pub host: Option<&'a str>,
}

impl Forwarding {
    fn query_without_key<'q>(&self, query: &'q str) -> Cow<'q, str> {
        match (&self.api_key_query, self.credentials) {
            (Some(param), false) => Cow::Owned(
                query
                    .split('&')
                    .filter(|pair| {
                        let name = pair.split('=').next().unwrap_or("");
                        percent_decode(name) != *param
                    })
                    .collect::<Vec<_>>()
                    .join("&"),
            ),
            _ => Cow::Borrowed(query),
        }
    }

    /// The headers sent to the backend.
    pub fn request_headers(
        &self,
        inbound: &HeaderMap,
        origin: &Origin<'_>,
        caller: Option<&Caller>,
    ) -> http::header::HeaderMap {
        let listed = connection_listed(inbound);
        let mut out = http::header::HeaderMap::with_capacity(inbound.len() + 8);
        for (name, value) in inbound {
            let n = name.as_str();
            if self.drops(n, &listed, origin.trusted_peer) {
                continue;
            }
            // actix speaks `http` 0.2, hyper `http` 1: the same bytes, other types.
            if let (Ok(n), Ok(v)) = (
                http::header::HeaderName::from_bytes(n.as_bytes()),
                http::header::HeaderValue::from_bytes(value.as_bytes()),
            ) {
                out.append(n, v);
            }
        }
        let xff = match &origin.trusted_forwarded_for {
            Some(chain) => {
                http::header::HeaderValue::from_str(&format!("{chain}, {}", origin.peer)).ok()
            }
            None => ip_value(origin.client_ip),
        };
        if let Some(v) = xff {
            out.insert(X_FORWARDED_FOR, v);
        }
        out.insert(
            X_FORWARDED_PROTO,
            http::header::HeaderValue::from_static(origin.proto),
        );
        if let Some(h) = origin.host {
            insert_static(&mut out, X_FORWARDED_HOST, h);
        }
        if let Some(c) = caller {
            self.caller_headers(&mut out, c);
        }
        out
    }

    fn caller_headers(&self, out: &mut http::header::HeaderMap, c: &Caller) {
        if self.client_headers {
            identity::insert(out, c);
        }
        for (header, claim) in &self.claims {
            let value = match c.claims.get(claim) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Array(a)) => a
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                Some(serde_json::Value::Null) | None => continue,
                Some(other) => other.to_string(),
            };
            insert(out, header.as_str(), &value);
        }
        if let (Some(h), Some(t)) = (&self.id_token_header, &c.id_token) {
            insert(out, h.as_str(), &t.0);
        }
    }
}

// The names the proxy adds, built at compile time (an invalid one fails the build): no parsing
// and no allocation per call (issue 11, direction 4). The caller's are in [`identity`].
const fn name(n: &'static str) -> http::header::HeaderName {
    http::header::HeaderName::from_static(n)
}
const X_FORWARDED_FOR: http::header::HeaderName = name("x-forwarded-for");
const X_FORWARDED_PROTO: http::header::HeaderName = name("x-forwarded-proto");
const X_FORWARDED_HOST: http::header::HeaderName = name("x-forwarded-host");

/// As [`insert`], under one of the constant names above.
fn insert_static(out: &mut http::header::HeaderMap, name: http::header::HeaderName, value: &str) {
    if let Ok(v) = http::header::HeaderValue::from_str(value) {
        out.insert(name, v);
    }
}

/// An address as a header value, formatted on the stack: the value's copy is the only one. An
/// IPv4 address is written octet by octet (`core::fmt` cost half a percent of a cached call's
/// samples, BENCHMARKS.md); an IPv6 one through its `Display` (RFC 5952 form).
fn ip_value(ip: std::net::IpAddr) -> Option<http::header::HeaderValue> {
    use std::io::Write;
    let mut buf = [0u8; 64];
    let len = match ip {
        std::net::IpAddr::V4(v4) => {
            let mut len = 0;
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    buf[len] = b'.';
                    len += 1;
                }
                let mut digits = itoa::Buffer::new();
                let d = digits.format(octet).as_bytes();
                buf[len..len + d.len()].copy_from_slice(d);
                len += d.len();
            }
            len
        }
        std::net::IpAddr::V6(_) => {
            let mut rest = &mut buf[..];
            write!(rest, "{ip}").ok()?;
            64 - rest.len()
        }
    };
    http::header::HeaderValue::from_bytes(&buf[..len]).ok()
}

/// Adds a header; a value that is not a legal header value (control characters from a
/// claim) is left out rather than mangled.
fn insert(out: &mut http::header::HeaderMap, name: &str, value: &str) {
    if let (Ok(n), Ok(v)) = (
        http::header::HeaderName::from_str(name),
        http::header::HeaderValue::from_str(value),
    ) {
        out.insert(n, v);
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("{s}=").as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        /// The hand-written IPv4 form is `Display`'s, byte for byte.
        #[test]
        fn an_address_value_is_its_display_form(v4 in any::<[u8; 4]>(), v6 in any::<[u8; 16]>()) {
            for ip in [std::net::IpAddr::from(v4), std::net::IpAddr::from(v6)] {
                let value = super::ip_value(ip).unwrap();
                prop_assert_eq!(value.to_str().unwrap(), ip.to_string());
            }
        }
    }
}
