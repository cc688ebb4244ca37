//! Tests of the JSON limits, each at and beyond its value, and of sniffing undeclared bodies.
//! Shared helpers for `corpus_tests` live here.

#![allow(clippy::unwrap_used)]

use super::*;

pub(super) fn limits(cfg: JsonLimits) -> Limits {
    Limits::compile(&cfg).unwrap()
}

pub(super) fn unlimited() -> Limits {
    limits(JsonLimits::default())
}

/// Feeds `doc` in chunks of the given sizes (the last chunk takes the rest).
pub(super) fn scan_in(
    limits: Limits,
    declared: bool,
    doc: &[u8],
    sizes: &[usize],
) -> Result<(), Violation> {
    let mut gate = JsonGate::new(limits, declared);
    let mut rest = doc;
    for &size in sizes {
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        gate.feed(chunk)?;
        rest = tail;
    }
    gate.feed(rest)?;
    gate.finish()
}

pub(super) fn scan(limits: Limits, doc: &[u8]) -> Result<(), Violation> {
    scan_in(limits, true, doc, &[])
}

/// Asserts `ok` passes and `over` fails with a JSON violation whose message contains `what`.
fn at_limit(limits: Limits, ok: &str, over: &str, what: &str) {
    assert_eq!(scan(limits, ok.as_bytes()), Ok(()), "{ok}");
    let err = scan(limits, over.as_bytes()).unwrap_err();
    assert_eq!(err.kind, ViolationKind::Json, "{over}");
    assert!(err.message.contains(what), "{over}: {}", err.message);
}

#[test]
fn depth_counts_objects_and_arrays_from_one() {
    let l = limits(JsonLimits {
        max_depth: Some(3),
        ..Default::default()
    });
    at_limit(l, "[[[1]]]", "[[[[1]]]]", "depth 3");
    at_limit(l, r#"{"a":[{"b":1}]}"#, r#"{"a":[{"b":[]}]}"#, "depth 3");
    at_limit(l, r#"[{"a":{}},[[]]]"#, r#"[{"a":{"b":{}}}]"#, "depth 3");
    assert_eq!(scan(l, b"\"scalars are depth 0\""), Ok(()));
    let flat = limits(JsonLimits {
        max_depth: Some(0),
        ..Default::default()
    });
    at_limit(flat, "42", "[]", "depth 0");
}

#[test]
fn depth_is_capped_without_a_configured_limit() {
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert_eq!(scan(unlimited(), deep(HARD_MAX_DEPTH).as_bytes()), Ok(()));
    let err = scan(unlimited(), deep(HARD_MAX_DEPTH + 1).as_bytes()).unwrap_err();
    assert!(err.message.contains("depth 512"), "{}", err.message);
    // An unterminated bomb fails at the cap, not at the end of the body.
    let mut gate = JsonGate::new(unlimited(), false);
    assert!(gate.feed(&[b'['; 100_000]).is_err());
    let too_deep = JsonLimits {
        max_depth: Some(HARD_MAX_DEPTH + 1),
        ..Default::default()
    };
    assert_eq!(
        Limits::compile(&too_deep).unwrap_err(),
        "json.max_depth: at most 512"
    );
}

#[test]
fn object_entries_are_counted_per_object() {
    let l = limits(JsonLimits {
        max_object_entries: Some(2),
        ..Default::default()
    });
    at_limit(
        l,
        r#"{"a":1,"b":2}"#,
        r#"{"a":1,"b":2,"c":3}"#,
        "more than 2 entries",
    );
    let nested = r#"{"a":{"x":1,"y":[{"p":1,"q":2}]},"b":{"x":1,"y":2}}"#;
    at_limit(l, nested, r#"{"a":{"x":1,"y":2,"z":3},"b":1}"#, "entries");
    // Arrays are not objects: their elements do not count as entries.
    assert_eq!(scan(l, br#"{"a":[1,2,3,4,5]}"#), Ok(()));
}

#[test]
fn array_elements_are_counted_per_array() {
    let l = limits(JsonLimits {
        max_array_length: Some(3),
        ..Default::default()
    });
    at_limit(l, "[1,2,3]", "[1,2,3,4]", "more than 3 elements");
    at_limit(l, "[[1,2,3],[],[{}]]", "[[1,2,3],[1,2,3,[]]]", "elements");
    at_limit(
        l,
        r#"{"a":[1,2,3],"b":[4,5,6],"c":[]}"#,
        r#"{"a":["","","",""]}"#,
        "elements",
    );
    assert_eq!(
        scan(l, br#"{"a":1,"b":2,"c":3,"d":4}"#),
        Ok(()),
        "entries are not elements"
    );
}

#[test]
fn string_length_counts_decoded_characters() {
    let l = limits(JsonLimits {
        max_string_length: Some(5),
        ..Default::default()
    });
    at_limit(l, r#""abcde""#, r#""abcdef""#, "string longer than 5");
    // Escapes, multi-byte UTF-8 and an escaped surrogate pair are one character each.
    at_limit(l, r#"["\n\"\u00e9\\/"]"#, r#"["\n\"\u00e9\\/x"]"#, "string");
    at_limit(l, r#"{"k":"é😀abc"}"#, r#"{"k":"é😀abcd"}"#, "string");
    at_limit(
        l,
        r#""\ud83d\ude00abcd""#,
        r#""\ud83d\ude00abcde""#,
        "string",
    );
    // Lone surrogates count one each.
    at_limit(l, r#""\ud83d\ud83dabc""#, r#""\ude00\ud83dabcd""#, "string");
    assert_eq!(
        scan(l, br#"{"a long member name":"ok"}"#),
        Ok(()),
        "names have their own limit"
    );
}

#[test]
fn string_length_agrees_with_serde_json() {
    for s in [
        r#""plain""#,
        r#""\u0041\u00e9\ud83d\ude00\t""#,
        r#""日本語 😀 \\ \" ""#,
    ] {
        let decoded: String = serde_json::from_str(s).unwrap();
        let n = decoded.chars().count();
        let l = |max| {
            limits(JsonLimits {
                max_string_length: Some(max),
                ..Default::default()
            })
        };
        assert_eq!(scan(l(n), s.as_bytes()), Ok(()), "{s}");
        assert!(scan(l(n - 1), s.as_bytes()).is_err(), "{s}");
    }
}

#[test]
fn member_names_have_their_own_limit() {
    let l = limits(JsonLimits {
        max_name_length: Some(3),
        ..Default::default()
    });
    at_limit(
        l,
        r#"{"abc":1}"#,
        r#"{"abcd":1}"#,
        "member name longer than 3",
    );
    at_limit(
        l,
        r#"[{"a\u00e9c":{"xyz":"a long value"}}]"#,
        r#"[{"a":{"\\\\\\\\":1}}]"#,
        "name",
    );
}

#[test]
fn total_bytes_count_the_whole_body() {
    let l = limits(JsonLimits {
        max_total_bytes: Some(10),
        ..Default::default()
    });
    assert_eq!(scan(l, br#"{"a":1234}"#), Ok(()));
    let err = scan(l, br#"{"a":12345}"#).unwrap_err();
    assert_eq!(err.kind, ViolationKind::BodyTooLarge);
    assert_eq!(err.message, "JSON body exceeds 10 bytes");
    assert!(
        scan(l, b"    {\"a\":1}").is_err(),
        "leading whitespace counts"
    );
    assert!(
        scan_in(l, false, b"\xEF\xBB\xBF{\"a\":12}", &[1, 1, 1]).is_err(),
        "so does a BOM"
    );
}

#[test]
fn limits_combine_in_nested_documents() {
    let l = limits(JsonLimits {
        max_depth: Some(5),
        max_object_entries: Some(3),
        max_array_length: Some(3),
        max_string_length: Some(8),
        max_name_length: Some(4),
        max_total_bytes: Some(200),
        allow_duplicate_keys: false,
    });
    let ok = r#"{"user":{"name":"ada","tags":["a","b",{"x":[1]}]},"n":-1.5e3,"z":null}"#;
    assert_eq!(scan(l, ok.as_bytes()), Ok(()));
    for (over, what) in [
        (
            r#"{"user":{"name":"ada","tags":["a","b",{"x":[[1]]}]}}"#,
            "depth",
        ),
        (
            r#"{"user":{"name":"ada","tags":["a","b","c","d"]}}"#,
            "elements",
        ),
        (
            r#"{"user":{"name":"ada","tags":[],"more":1,"four":2}}"#,
            "entries",
        ),
        (r#"{"user":{"name":"ada lovelace"}}"#, "string"),
        (r#"{"user":{"names":"ada"}}"#, "member name"),
    ] {
        let err = scan(l, over.as_bytes()).unwrap_err();
        assert!(err.message.contains(what), "{over}: {}", err.message);
    }
}

#[test]
fn undeclared_bodies_are_sniffed() {
    let l = limits(JsonLimits {
        max_depth: Some(1),
        ..Default::default()
    });
    let check = |doc: &[u8]| scan_in(l, false, doc, &vec![1; doc.len()]);
    assert!(check(b"{\"a\":{}}").is_err(), "starts with {{");
    assert!(check(b" \r\n\t[[1]]").is_err(), "leading whitespace");
    assert!(
        check(b"\xEF\xBB\xBF [[1]]").is_err(),
        "BOM, split byte by byte"
    );
    assert!(
        check(b"\xEF\xBB\xBF {\"a\":1,}").is_err(),
        "malformed after a BOM"
    );
    assert_eq!(check(b"name=x&y=[[[[[["), Ok(()), "form data");
    assert_eq!(check(b"hello {{{{"), Ok(()), "plain text");
    assert_eq!(
        check(b"\"a string\" [[[["),
        Ok(()),
        "undeclared scalars are not sniffed"
    );
    assert_eq!(check(b"\xEF\xBBx[[["), Ok(()), "a broken BOM is not JSON");
    assert_eq!(check(b""), Ok(()));
}

#[test]
fn declared_bodies_are_always_json() {
    let l = unlimited();
    assert_eq!(
        scan(l, b"\xEF\xBB\xBF\"x\""),
        Ok(()),
        "a leading BOM is ignored"
    );
    assert_eq!(scan(l, b"  \n"), Ok(()), "no document, nothing to limit");
    assert_eq!(scan(l, b""), Ok(()));
    assert_eq!(scan(l, b"hello").unwrap_err().kind, ViolationKind::Json);
    assert!(scan(l, b"\xEF\xBBx").is_err());
    assert!(scan(l, b"\xEF\xBB").is_err());
}
