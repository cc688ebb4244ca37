//! The host a request is routed by, decided one way (RFC 9112 §3.2):
//!
//! * one `Host` header at most (two are `400`), with a valid value: a registered name of
//!   letters, digits, `-`, `.`, `_`, `~`, an IPv4 address or a bracketed IPv6 literal, then an
//!   optional `:port` of digits. Percent-escapes and other sub-delims are refused (`400`).
//! * an absolute-form target (`GET http://api.example.com/orders HTTP/1.1`) names the host
//!   itself (§3.2.2 says its authority wins over `Host`); its scheme must be `http` or `https`,
//!   it must carry no user information, and a `Host` sent with it must name the same host and
//!   port: a mismatch is `400` rather than a choice between the two.
//! * compared without the port, in lower case, and without one trailing dot
//!   (`API.Example.com.:8081` is `api.example.com`). `X-Forwarded-Host` is never used.
//!
//! An HTTP/1.0 request may come without a host: it then matches only routes without `host`.

use std::borrow::Cow;

use actix_web::http::header::{HeaderMap, HOST};
use actix_web::http::Uri;

use super::Refusal;

/// Splits `host[:port]`, checking both parts; `None` when invalid.
fn split(value: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let end = rest.find(']')?;
        let literal = rest.get(..end)?;
        if literal.is_empty()
            || !literal
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return None;
        }
        let host = value.get(..end + 2)?;
        match value.get(end + 2..)? {
            "" => (host, None),
            tail => (host, Some(tail.strip_prefix(':')?)),
        }
    } else {
        match value.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (value, None),
        }
    };
    let name_ok = host.starts_with('[')
        || (!host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')));
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    (name_ok && port_ok).then_some((host, port))
}

/// A host name as routes compare it: lower case, without one trailing dot.
pub fn normalise(host: &str) -> Cow<'_, str> {
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

/// Whether a route's configured `host` is a valid host name without a port.
pub fn is_valid_route_host(host: &str) -> bool {
    split(host).is_some_and(|(_, port)| port.is_none())
}

/// The default port of a scheme, to compare `Host: a` with `http://a:80/`.
fn default_port(scheme: &str) -> &'static str {
    if scheme.eq_ignore_ascii_case("https") {
        "443"
    } else {
        "80"
    }
}

/// The host the request is routed by (normalised), or `None` when it names none (HTTP/1.0).
pub fn request_host<'a>(
    uri: &'a Uri,
    headers: &'a HeaderMap,
) -> Result<Option<Cow<'a, str>>, Refusal> {
    let mut values = headers.get_all(HOST);
    let header = values.next();
    if values.next().is_some() {
        return Err(Refusal::HOST);
    }
    let header = match header {
        Some(v) => {
            let v = v.to_str().map_err(|_| Refusal::HOST)?;
            match v {
                "" => None,
                v => Some(split(v).ok_or(Refusal::HOST)?),
            }
        }
        None => None,
    };
    let Some(scheme) = uri.scheme_str() else {
        return Ok(header.map(|(h, _)| normalise(h)));
    };
    if !matches!(scheme, "http" | "https") {
        return Err(Refusal::TARGET_FORM);
    }
    let authority = uri.authority().ok_or(Refusal::TARGET_FORM)?;
    let (host, port) = split(authority.as_str()).ok_or(Refusal::HOST)?;
    if let Some((h, p)) = header {
        let same_port = p.unwrap_or(default_port(scheme)) == port.unwrap_or(default_port(scheme));
        if normalise(h) != normalise(host) || !same_port {
            return Err(Refusal::HOST_MISMATCH);
        }
    }
    Ok(Some(normalise(host)))
}
