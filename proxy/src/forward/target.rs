//! The backend request target: the upstream's base path and the rest of the canonical path
//! (less the route prefix with `strip_path`), joined by plain concatenation — never by a URL
//! library's reference resolution, which reads `\` as `/` and resolves dot-segments after the
//! route was chosen. The query string follows as received (less an API key parameter), with
//! the bytes the URL standard encodes in a query encoded (`'`, `"`, `<`, `>`, space…), as
//! reqwest's `url` did before. The target is built once per call, straight into the
//! [`Uri`] the client sends; scheme, authority and `Host` are built once per route
//! ([`Endpoint`]).
//!
//! Defence in depth, whatever canonicalisation let through: the joined path must stay under
//! the route's floor (the upstream base path, plus the route prefix without `strip_path`) when
//! read as leniently as a backend may ([`backend_view`]), and the URI handed to the HTTP client
//! must hold exactly the joined bytes and start with the base path; otherwise the request is
//! refused (`400 escapes_route`) instead of forwarded.
//!
//! [`backend_view`]: crate::canonical::backend_view

use bytes::Bytes;
use http::uri::{Authority, Parts, PathAndQuery, Scheme};
use http::{HeaderValue, Uri};
use url::Url;

use super::Forwarding;
use crate::canonical::backend_view::{is_under, stays_under};
use crate::canonical::path::CanonicalPath;
use crate::canonical::Refusal;

/// Where a route's calls go, built once: every call's scheme and authority, and its `Host`.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub scheme: Scheme,
    /// Host, and port unless the scheme's default (as the URL standard serialises it).
    pub authority: Authority,
    /// `Host` (RFC 9110 §7.2): the authority.
    pub host: HeaderValue,
}

impl Endpoint {
    /// The endpoint of an `http` or `https` upstream URL. Credentials in it are refused:
    /// the proxy would send them to the backend on every call, and a URL is no place for them.
    pub fn of(upstream: &Url) -> Result<Endpoint, String> {
        let scheme = match upstream.scheme() {
            "http" => Scheme::HTTP,
            "https" => Scheme::HTTPS,
            _ => return Err("upstream: must be an http or https URL".into()),
        };
        if !upstream.username().is_empty() || upstream.password().is_some() {
            return Err("upstream: must not carry credentials (user:password@)".into());
        }
        let host = upstream.host_str().ok_or("upstream: has no host")?;
        let authority = match upstream.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let bad = || format!("upstream: '{authority}' is not a valid authority");
        Ok(Endpoint {
            scheme,
            host: HeaderValue::from_str(&authority).map_err(|_| bad())?,
            authority: Authority::try_from(authority.as_str()).map_err(|_| bad())?,
        })
    }
}

impl Forwarding {
    /// The upstream's base path without its trailing `/` (`""` for the root).
    fn base_path(&self) -> &str {
        self.upstream.path().trim_end_matches('/')
    }

    /// The path floor a forwarded path must stay under, for [`Forwarding::floor`].
    pub fn floor_of(upstream: &Url, strip_prefix: Option<&str>, route_path: &str) -> String {
        let base = upstream.path().trim_end_matches('/');
        match strip_prefix {
            Some(_) => base.to_string(),
            None => format!("{base}{}", route_path.trim_end_matches('/')),
        }
    }

    /// The backend URI for a canonical path (already matched to this route) and the raw query.
    pub fn backend_uri(&self, path: &CanonicalPath<'_>, query: &str) -> Result<Uri, Refusal> {
        let canonical = path.as_str();
        let rest = match &self.strip_prefix {
            Some(prefix) => canonical
                .strip_prefix(prefix.as_str())
                .ok_or(Refusal::ESCAPES_ROUTE)?,
            None => canonical,
        };
        let base = self.base_path();
        let query = self.query_without_key(query);
        let mut joined = String::with_capacity(base.len() + rest.len() + query.len() + 8);
        joined.push_str(base);
        // `base` + `/rest`; an empty rest is the base itself, or `/` when the base is the root.
        let slash = match rest.is_empty() {
            true => base.is_empty(),
            false => !rest.starts_with('/'),
        };
        if slash {
            joined.push('/');
        }
        joined.push_str(rest);
        if path.has_escapes() && !stays_under(&joined, &self.floor) {
            return Err(Refusal::ESCAPES_ROUTE);
        }
        if !joined.bytes().all(path_byte) {
            return Err(Refusal::ESCAPES_ROUTE);
        }
        let path_len = joined.len();
        if !query.is_empty() {
            joined.push('?');
            push_query(&mut joined, &query);
        }
        let target = PathAndQuery::from_maybe_shared(Bytes::from(joined))
            .map_err(|_| Refusal::ESCAPES_ROUTE)?;
        if target.path().len() != path_len || !is_under(target.path(), base) {
            return Err(Refusal::ESCAPES_ROUTE);
        }
        let mut parts = Parts::default();
        parts.scheme = Some(self.endpoint.scheme.clone());
        parts.authority = Some(self.endpoint.authority.clone());
        parts.path_and_query = Some(target);
        Uri::from_parts(parts).map_err(|_| Refusal::ESCAPES_ROUTE)
    }
}

/// A byte a path holds as itself: printable ASCII less what a URL path encodes (`"`, `#`,
/// `<`, `>`, `?`, `` ` ``, `{`, `}`) and `\` (read as `/` by URL parsers).
fn path_byte(b: u8) -> bool {
    matches!(b, 0x21..=0x7E)
        && !matches!(
            b,
            b'"' | b'#' | b'<' | b'>' | b'?' | b'`' | b'{' | b'}' | b'\\'
        )
}

/// Appends `query` with what the URL standard's special-query set encodes percent-encoded
/// (controls, space, non-ASCII, `"`, `#`, `<`, `>`, `'`; upper-case hex), the rest as is.
fn push_query(out: &mut String, query: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in query.as_bytes() {
        if b <= b' ' || b >= 0x7F || matches!(b, b'"' | b'#' | b'<' | b'>' | b'\'') {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        } else {
            out.push(char::from(b));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use std::time::Duration;

    use super::*;
    use crate::canonical::path::canonicalise;

    pub(crate) fn fwd(upstream: &str, strip: Option<&str>, route: &str) -> Forwarding {
        let upstream = Url::parse(upstream).unwrap();
        Forwarding {
            endpoint: Endpoint::of(&upstream).unwrap(),
            floor: Forwarding::floor_of(&upstream, strip, route),
            upstream,
            strip_prefix: strip.map(str::to_string),
            allow_encoded_slashes: false,
            credentials: false,
            client_headers: true,
            claims: vec![],
            id_token_header: None,
            injected: vec![],
            api_key_header: None,
            api_key_query: Some("apikey".into()),
            hygiene: Default::default(),
            timeout: Duration::from_secs(1),
            client: crate::tls::BackendConfig::default().client().unwrap(),
            signing: None,
        }
    }

    fn target(f: &Forwarding, path: &str, query: &str) -> String {
        f.backend_uri(&canonicalise(path).unwrap(), query)
            .unwrap()
            .to_string()
    }

    #[test]
    fn targets_are_concatenated() {
        let f = fwd("http://b:9000/api", Some("/orders"), "/orders");
        assert_eq!(target(&f, "/orders/1", ""), "http://b:9000/api/1");
        assert_eq!(target(&f, "/orders", "x=1"), "http://b:9000/api?x=1");
        assert_eq!(target(&f, "/orders/", ""), "http://b:9000/api/");
        assert_eq!(
            target(&f, "/orders/1", "apikey=k&x=1&api%6Bey=k2"),
            "http://b:9000/api/1?x=1"
        );
        assert_eq!(
            target(&f, "/orders/a%3Fb%20c", ""),
            "http://b:9000/api/a%3Fb%20c"
        );
        // The URL standard encodes `'` in queries of http(s) URLs; nothing else changes.
        assert_eq!(
            target(&f, "/orders/1", "q='x'&r=%2e\\|"),
            "http://b:9000/api/1?q=%27x%27&r=%2e\\|"
        );
        let f = fwd("http://b:9000", None, "/orders");
        assert_eq!(target(&f, "/orders/1", ""), "http://b:9000/orders/1");
        let f = fwd("http://b:9000/", Some(""), "/");
        assert_eq!(target(&f, "/", ""), "http://b:9000/");
        assert_eq!(target(&f, "/x", ""), "http://b:9000/x");
        let f = fwd("http://b:9000/", Some("/orders"), "/orders");
        assert_eq!(target(&f, "/orders", ""), "http://b:9000/");
    }

    #[test]
    fn an_encoded_slash_is_forwarded_encoded_and_checked_leniently() {
        let f = fwd("http://b:9000/files", Some("/files"), "/files");
        assert_eq!(target(&f, "/files/a%2fb", ""), "http://b:9000/files/a%2Fb");
        // Canonicalisation refuses `..` between encoded slashes; the lenient reading would too.
        assert!(!stays_under("/files/a%2F..%2F..%2Fetc", "/files"));
        assert!(!stays_under("/files/%252e%252e/x/../..", "/files"));
        assert!(!stays_under("/files/..;/x/../..", "/files"));
        assert!(!stays_under("/files/%c0%ae%c0%ae/..", "/files"));
        assert!(!stays_under("/files/%uff0e%uff0e/..", "/files"));
        assert!(!stays_under("/files//../..", "/files"));
        assert!(stays_under("/files/a%2Fb", "/files"));
        assert!(stays_under("/files/%E2%82%AC", "/files"));
    }

    #[test]
    fn the_endpoint_is_built_once_and_credentials_in_the_upstream_are_refused() {
        let e = Endpoint::of(&Url::parse("https://Backend.internal:443/api").unwrap()).unwrap();
        assert_eq!(
            e.authority.as_str(),
            "backend.internal",
            "the default port is left out"
        );
        assert_eq!(e.host, "backend.internal");
        let e = Endpoint::of(&Url::parse("http://[::1]:8080").unwrap()).unwrap();
        assert_eq!(e.host, "[::1]:8080");
        for url in ["http://user:secret@b/api", "http://user@b/api"] {
            let err = Endpoint::of(&Url::parse(url).unwrap()).unwrap_err();
            assert!(
                err.contains("credentials") && !err.contains("secret"),
                "{err}"
            );
        }
    }
}
