//! Tests of the canonical path, host and method rules, one class at a time.

#![allow(clippy::unwrap_used)]

use actix_web::http::header::{HeaderMap, HeaderValue, HOST};
use actix_web::http::{Method, Uri};

use super::host::request_host;
use super::method;
use super::path::{canonicalise, is_canonical_route_path};
use super::Refusal;

fn canonical(raw: &str) -> String {
    canonicalise(raw).unwrap().as_str().to_string()
}

fn refused(raw: &str) -> Refusal {
    canonicalise(raw).unwrap_err()
}

#[test]
fn plain_paths_are_borrowed_unchanged() {
    for p in [
        "/",
        "/orders",
        "/orders/42",
        "/orders/",
        "/a-b_c.d~e/f!$&'()*+,=:@",
    ] {
        let c = canonicalise(p).unwrap();
        assert_eq!(c.as_str(), p);
        assert!(!c.has_escapes() && !c.has_encoded_slash());
    }
    assert!(canonicalise("/orders/...").is_ok(), "three dots are a name");
    assert!(canonicalise("/orders/.well-known").is_ok());
}

#[test]
fn escapes_are_decoded_once_and_re_encoded_one_way() {
    assert_eq!(canonical("/%6Frders/%34%32"), "/orders/42");
    assert_eq!(canonical("/a%2a%7E%40"), "/a*~@");
    assert_eq!(canonical("/a%3f%23%20b"), "/a%3F%23%20b");
    assert_eq!(canonical("/caf%c3%a9"), "/caf%C3%A9");
    assert_eq!(
        canonical("/a%25b"),
        "/a%25b",
        "a lone percent sign stays encoded"
    );
    assert_eq!(canonical("/a|b\"{c}[d]^"), "/a%7Cb%22%7Bc%7D%5Bd%5D%5E");
    assert!(canonicalise("/caf%C3%A9").unwrap().has_escapes());
}

#[test]
fn traversal_in_any_encoding_is_refused() {
    for p in [
        "/orders/../admin",
        "/orders/./x",
        "/orders/..",
        "/..",
        "/orders/%2e%2e/admin",
        "/orders/%2E%2E/admin",
        "/orders/.%2E/admin",
        "/orders/%2e./admin",
        "/orders/%2e",
        "/orders/%ef%bc%8e%ef%bc%8e/admin",
        "/orders/%EF%BC%8E./x",
        "/orders/%e2%80%a5/admin",
    ] {
        assert_eq!(refused(p), Refusal::DOT_SEGMENT, "{p}");
    }
}

#[test]
fn separators_and_parameters_in_any_encoding_are_refused() {
    let cases: &[(&str, Refusal)] = &[
        ("/status/..\\..\\api", Refusal::BACKSLASH),
        ("/orders/a%5cb", Refusal::BACKSLASH),
        ("/orders/..;/admin", Refusal::SEMICOLON),
        ("/orders;jsessionid=1", Refusal::SEMICOLON),
        ("/orders/%3b", Refusal::SEMICOLON),
        ("/orders/..%00/x", Refusal::CONTROL),
        ("/orders/%0a", Refusal::CONTROL),
        ("/orders/%7f", Refusal::CONTROL),
        ("/orders/a\u{1}", Refusal::CONTROL),
        ("/orders/caf\u{e9}", Refusal::INVALID_CHAR),
        ("/orders/%ef%bc%8f", Refusal::CONFUSABLE),
        ("/orders/%EF%BC%BC", Refusal::CONFUSABLE),
        ("/orders/%c2%a5", Refusal::CONFUSABLE),
    ];
    for (p, r) in cases {
        assert_eq!(refused(p), *r, "{p}");
    }
}

#[test]
fn encoded_slashes_are_flagged_and_checked_between_them() {
    let c = canonicalise("/files/a%2fb").unwrap();
    assert_eq!(c.as_str(), "/files/a%2Fb");
    assert!(c.has_encoded_slash());
    assert_eq!(refused("/files/..%2f..%2fetc"), Refusal::DOT_SEGMENT);
    assert_eq!(refused("/files/a%2F%2Fb"), Refusal::EMPTY_SEGMENT);
    assert_eq!(refused("/files/%2Fb"), Refusal::EMPTY_SEGMENT);
}

#[test]
fn malformed_double_and_invalid_encodings_are_refused() {
    for p in ["/a%", "/a%4", "/a%zz", "/a%u002e", "/a%%32%65"] {
        assert_eq!(refused(p), Refusal::MALFORMED_ESCAPE, "{p}");
    }
    for p in ["/a%252e%252e/x", "/a%252f", "/a%25%32%65", "/a%25%32e"] {
        assert_eq!(refused(p), Refusal::DOUBLE_ENCODING, "{p}");
    }
    for p in [
        "/a%c0%ae%c0%ae/x",
        "/a%e0%80%ae",
        "/a%ff",
        "/a%c3",
        "/a%c3/b",
        "/a%c3b",
        "/a%ed%a0%80",
        "/a%f4%90%80%80",
    ] {
        assert_eq!(refused(p), Refusal::INVALID_UTF8, "{p}");
    }
}

#[test]
fn empty_segments_are_refused_but_a_trailing_slash_is_not() {
    assert_eq!(refused("//orders"), Refusal::EMPTY_SEGMENT);
    assert_eq!(refused("/orders//42"), Refusal::EMPTY_SEGMENT);
    assert!(canonicalise("/orders/").is_ok());
}

#[test]
fn other_target_forms_are_refused() {
    for p in ["*", "", "orders", "example.com:443"] {
        assert_eq!(refused(p), Refusal::TARGET_FORM, "{p:?}");
    }
}

#[test]
fn route_paths_must_be_canonical() {
    for ok in ["/", "/orders", "/orders/", "/v1/a:b@c"] {
        assert!(is_canonical_route_path(ok), "{ok}");
    }
    for bad in [
        "orders",
        "/a%20b",
        "/a/../b",
        "/a//b",
        "/a;b",
        "/a b",
        "/caf\u{e9}",
        "/a|b",
    ] {
        assert!(!is_canonical_route_path(bad), "{bad}");
    }
}

fn host_of(uri: &str, hosts: &[&str]) -> Result<Option<String>, Refusal> {
    let uri: Uri = uri.parse().unwrap();
    let mut headers = HeaderMap::new();
    for h in hosts {
        headers.append(HOST, HeaderValue::from_str(h).unwrap());
    }
    request_host(&uri, &headers).map(|h| h.map(|h| h.into_owned()))
}

#[test]
fn hosts_are_compared_without_port_case_or_trailing_dot() {
    let api = Ok(Some("api.example.com".to_string()));
    assert_eq!(host_of("/x", &["api.example.com"]), api);
    assert_eq!(host_of("/x", &["API.Example.COM.:8081"]), api);
    assert_eq!(
        host_of("/x", &["[::1]:8081"]),
        Ok(Some("[::1]".to_string()))
    );
    assert_eq!(host_of("/x", &[]), Ok(None));
    assert_eq!(host_of("/x", &[""]), Ok(None));
}

#[test]
fn repeated_or_invalid_hosts_are_refused() {
    assert_eq!(
        host_of("/x", &["a.example", "b.example"]),
        Err(Refusal::HOST)
    );
    for bad in [
        "a%2eb", "a b", "a/b", "user@a", "a:", "a:x", "a:123456", "[zz]", "[::1",
    ] {
        assert_eq!(host_of("/x", &[bad]), Err(Refusal::HOST), "{bad}");
    }
}

#[test]
fn an_absolute_form_target_must_agree_with_host() {
    let api = Ok(Some("api.example.com".to_string()));
    assert_eq!(host_of("http://api.example.com/x", &[]), api);
    assert_eq!(
        host_of("http://API.example.com/x", &["api.example.com"]),
        api
    );
    assert_eq!(
        host_of("http://api.example.com:80/x", &["api.example.com"]),
        api
    );
    assert_eq!(
        host_of("http://other.example/x", &["api.example.com"]),
        Err(Refusal::HOST_MISMATCH)
    );
    assert_eq!(
        host_of("http://api.example.com:81/x", &["api.example.com"]),
        Err(Refusal::HOST_MISMATCH)
    );
    assert_eq!(
        host_of("ftp://api.example.com/x", &[]),
        Err(Refusal::TARGET_FORM)
    );
    assert_eq!(
        host_of("http://u@api.example.com/x", &[]),
        Err(Refusal::HOST)
    );
}

#[test]
fn methods_are_case_sensitive_bounded_tokens() {
    let m = |s: &str| Method::from_bytes(s.as_bytes()).unwrap();
    assert_eq!(method::standard(&m("POST")), Some("POST"));
    assert_eq!(method::standard(&m("PATCH")), Some("PATCH"));
    assert_eq!(method::standard(&m("post")), None);
    assert_eq!(method::standard(&m("PROPFIND")), None);
    assert!(method::check(&m(&"A".repeat(32))).is_ok());
    assert_eq!(method::check(&m(&"A".repeat(33))), Err(Refusal::METHOD));
    assert!(method::parse_configured("methods", "PROPFIND").is_ok());
    for bad in ["post", "Get", "", "A B", &"A".repeat(33)] {
        let err = method::parse_configured("scopes.methods.x", bad).unwrap_err();
        assert!(err.starts_with("scopes.methods.x:"), "{err}");
    }
}
