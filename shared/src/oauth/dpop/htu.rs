//! The `htu` comparison of RFC 9449 §4.3 step 9: the proof's URI and the request's, both
//! without query and fragment, after the syntax- and scheme-based normalisation of RFC 3986
//! §6.2.2 and §6.2.3 (case of scheme and host, default port, dot segments, empty path) — which
//! is what parsing with the `url` crate (WHATWG URL) does to both sides.

use url::Url;

/// Longest `htu` read (the request target cap of the proxy is 8 KiB; a proof is smaller).
pub const MAX_HTU_BYTES: usize = 4096;

/// Whether the proof's `htu` names `request` (an absolute URI, as the server is known publicly).
pub fn matches(htu: &str, request: &Url) -> bool {
    if htu.len() > MAX_HTU_BYTES {
        return false;
    }
    let Ok(claimed) = Url::parse(htu) else {
        return false;
    };
    let (a, b) = (strip(claimed), strip(request.clone()));
    matches!(a.scheme(), "http" | "https") && a == b
}

fn strip(mut u: Url) -> Url {
    u.set_query(None);
    u.set_fragment(None);
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(htu: &str, req: &str) -> bool {
        matches(htu, &Url::parse(req).unwrap())
    }

    #[test]
    fn normalised_uris_match_and_others_do_not() {
        assert!(m(
            "https://api.example.com/orders",
            "https://api.example.com/orders?x=1"
        ));
        assert!(m(
            "HTTPS://API.Example.COM:443/orders",
            "https://api.example.com/orders"
        ));
        assert!(m(
            "https://api.example.com/a/../orders#f",
            "https://api.example.com/orders"
        ));
        assert!(m("https://api.example.com", "https://api.example.com/"));
        assert!(!m(
            "https://api.example.com/orders/",
            "https://api.example.com/orders"
        ));
        assert!(!m(
            "http://api.example.com/orders",
            "https://api.example.com/orders"
        ));
        assert!(!m(
            "https://api.example.com:8443/orders",
            "https://api.example.com/orders"
        ));
        assert!(!m(
            "https://evil.example.com/orders",
            "https://api.example.com/orders"
        ));
        assert!(!m("/orders", "https://api.example.com/orders"));
        assert!(!m(
            "ftp://api.example.com/orders",
            "ftp://api.example.com/orders"
        ));
    }
}
