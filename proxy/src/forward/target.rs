//! The backend request target: the upstream's base path and the rest of the canonical path
//! (less the route prefix with `strip_path`), joined by plain concatenation — never by a URL
//! library's reference resolution, which reads `\` as `/` and resolves dot-segments after the
//! route was chosen. The query string follows as received (less an API key parameter).
//!
//! Defence in depth, whatever canonicalisation let through: the joined path must stay under
//! the route's floor (the upstream base path, plus the route prefix without `strip_path`) when
//! read as leniently as a backend may ([`backend_view`]), and the URL handed to the HTTP client
//! must hold exactly the joined bytes and start with the base path; otherwise the request is
//! refused (`400 escapes_route`) instead of forwarded.

use url::Url;

use super::Forwarding;
use crate::canonical::backend_view::{is_under, stays_under};
use crate::canonical::path::CanonicalPath;
use crate::canonical::Refusal;

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

    /// The backend URL for a canonical path (already matched to this route) and the raw query.
    pub fn backend_url(&self, path: &CanonicalPath<'_>, query: &str) -> Result<Url, Refusal> {
        let canonical = path.as_str();
        let rest = match &self.strip_prefix {
            Some(prefix) => canonical
                .strip_prefix(prefix.as_str())
                .ok_or(Refusal::ESCAPES_ROUTE)?,
            None => canonical,
        };
        let base = self.base_path();
        let mut joined = String::with_capacity(base.len() + rest.len() + 1);
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
        let mut url = self.upstream.clone();
        url.set_path(&joined);
        if url.path() != joined || !is_under(url.path(), base) {
            return Err(Refusal::ESCAPES_ROUTE);
        }
        let query = self.query_without_key(query);
        url.set_query((!query.is_empty()).then_some(query.as_ref()));
        Ok(url)
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
            client: reqwest::Client::new(),
            signing: None,
        }
    }

    fn target(f: &Forwarding, path: &str, query: &str) -> String {
        f.backend_url(&canonicalise(path).unwrap(), query)
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
}
