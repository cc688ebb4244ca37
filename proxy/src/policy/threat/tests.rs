//! Tests of the policy as the pipeline uses it: configuration, the request head, and whole bodies
//! through [`BodyChecker`] (size limits, sniffing, patterns).

#![allow(clippy::unwrap_used)]

use super::*;

fn policy(cfg: serde_json::Value) -> ThreatPolicy {
    let cfg: ThreatConfig = serde_json::from_value(cfg).unwrap();
    ThreatPolicy::compile(&cfg).unwrap()
}

fn body(p: &ThreatPolicy, declared_json: bool, chunks: &[&[u8]]) -> Result<(), Violation> {
    let len = chunks.iter().map(|c| c.len() as u64).sum();
    let mut checker = p.body_checker(declared_json, Some(len))?;
    for chunk in chunks {
        checker.feed(chunk)?;
    }
    checker.finish()
}

fn head(
    p: &ThreatPolicy,
    path: &str,
    query: &str,
    headers: &[(&str, &[u8])],
) -> Result<(), Violation> {
    p.check_head(path, query, headers.iter().copied())
}

#[test]
fn configuration_is_strict() {
    let cfg = serde_json::json!({"json": {"max_depth": 2, "max_deepth": 3}});
    assert!(serde_json::from_value::<ThreatConfig>(cfg).is_err());
    let cfg = serde_json::json!({"patterns": [{"name": "x", "pattern": "a", "on": ["cookies"]}]});
    assert!(serde_json::from_value::<ThreatConfig>(cfg).is_err());
    let cfg = serde_json::json!({"patterns": [{"name": "x", "pattern": "a", "on": ["Body"]}]});
    assert!(
        serde_json::from_value::<ThreatConfig>(cfg).is_err(),
        "targets are lowercase"
    );
    let cfg: ThreatConfig = serde_json::from_value(serde_json::json!({})).unwrap();
    let p = ThreatPolicy::compile(&cfg).unwrap();
    assert!(!p.inspects_body());
    assert_eq!(head(&p, "/%27", "a='", &[("x", b"'")]), Ok(()));
}

#[test]
fn compile_errors_name_the_key() {
    let cfg = serde_json::json!({"json": {"max_depth": 10_000}});
    let err = ThreatPolicy::compile(&serde_json::from_value(cfg).unwrap()).unwrap_err();
    assert!(err.starts_with("json.max_depth:"), "{err}");
    let on = ["body"];
    let cfg = serde_json::json!({"patterns": [
        {"name": "a", "pattern": "a", "on": on}, {"name": "b", "pattern": "b", "on": on},
        {"name": "bomb", "pattern": "(a{1000}){1000}", "on": on},
    ]});
    let err = ThreatPolicy::compile(&serde_json::from_value(cfg).unwrap()).unwrap_err();
    assert_eq!(
        err,
        "patterns[2].pattern: regex too large (size limit 1 MiB)"
    );
}

#[test]
fn statuses() {
    assert_eq!(ViolationKind::BodyTooLarge.status(), 413);
    assert_eq!(ViolationKind::HeadersTooLarge.status(), 431);
    assert_eq!(ViolationKind::Json.status(), 400);
    assert_eq!(ViolationKind::Pattern.status(), 400);
}

#[test]
fn body_too_large_upfront_from_content_length() {
    let p = policy(serde_json::json!({"max_body_bytes": 10}));
    assert!(p.inspects_body());
    assert!(p.body_checker(false, Some(10)).is_ok());
    let err = p.body_checker(false, Some(11)).unwrap_err();
    assert_eq!(
        (err.kind.status(), err.message.as_str()),
        (413, "request body exceeds 10 bytes")
    );
    assert!(p.body_checker(false, Some(u64::MAX)).is_err());
}

#[test]
fn body_too_large_while_streaming() {
    let p = policy(serde_json::json!({"max_body_bytes": 10}));
    let mut checker = p.body_checker(false, None).unwrap();
    checker.feed(b"123456").unwrap();
    checker.feed(b"7890").unwrap();
    let err = checker.feed(b"x").unwrap_err();
    assert_eq!(err.kind, ViolationKind::BodyTooLarge);
    assert_eq!(checker.feed(b"").unwrap_err(), err, "the failure sticks");
    assert_eq!(checker.finish().unwrap_err(), err);
    // A lying Content-Length does not help.
    let mut checker = p.body_checker(false, Some(2)).unwrap();
    assert!(checker.feed(&[b'a'; 11]).is_err());
}

#[test]
fn json_total_limit_upfront_only_when_declared() {
    let p = policy(serde_json::json!({"json": {"max_total_bytes": 5}}));
    assert_eq!(
        p.body_checker(true, Some(6)).unwrap_err().kind.status(),
        413
    );
    // Undeclared bodies may turn out not to be JSON...
    assert_eq!(body(&p, false, &[b"plain text body"]), Ok(()));
    // ...but once they look like JSON the limit applies.
    assert_eq!(
        body(&p, false, &[b"[1,", b"2,3]"])
            .unwrap_err()
            .kind
            .status(),
        413
    );
}

#[test]
fn json_limits_ignore_the_declared_content_type() {
    let p = policy(serde_json::json!({"json": {"max_depth": 2}}));
    assert!(p.inspects_body());
    // text/plain, or no Content-Type: still scanned when it starts like JSON.
    let err = body(&p, false, &[b"{\"a\":{\"b\":{}}}"]).unwrap_err();
    assert_eq!((err.kind, err.kind.status()), (ViolationKind::Json, 400));
    assert!(
        body(&p, false, &[b"\n\t ", b"[[[]]]"]).is_err(),
        "leading whitespace"
    );
    assert!(
        body(&p, false, &[b"\xEF", b"\xBB", b"\xBF[[[]]]"]).is_err(),
        "split BOM"
    );
    assert!(
        body(&p, false, &[b"{\"a\":1", b"} trailing"]).is_err(),
        "trailing garbage"
    );
    assert_eq!(body(&p, false, &[b"{\"a\":[1]}"]), Ok(()));
    // Form data and text are not JSON, whatever brackets they contain later.
    assert_eq!(body(&p, false, &[b"a=[[[[&b={{{{"]), Ok(()));
    assert_eq!(body(&p, false, &[b"Dear {{{{ name"]), Ok(()));
    assert_eq!(body(&p, false, &[]), Ok(()));
    // Declared JSON must be JSON.
    assert_eq!(
        body(&p, true, &[b"a=1"]).unwrap_err().kind,
        ViolationKind::Json
    );
    assert_eq!(body(&p, true, &[b"\"just a string\""]), Ok(()));
}

#[test]
fn body_patterns_see_the_whole_body_even_with_json_limits() {
    let p = policy(serde_json::json!({
        "json": {"max_string_length": 64},
        "patterns": [{"name": "sql-injection", "pattern": r"(?i)'\s*or\s+1\s*=\s*1", "on": ["body"]}],
    }));
    let err = body(&p, true, &[b"{\"user\":\"x' O", b"R 1=1\"}"]).unwrap_err();
    assert_eq!(err.message, "pattern 'sql-injection' matched in body");
    assert_eq!(
        body(&p, false, &[b"user=x'", b" OR 1=1"]).unwrap_err().kind,
        ViolationKind::Pattern
    );
    assert_eq!(body(&p, true, &[b"{\"user\":\"o'brien\"}"]), Ok(()));
    // JSON limits fail first, while streaming, before the patterns run.
    let long = format!("{{\"user\":\"x' OR 1=1{}\"}}", "a".repeat(100));
    assert_eq!(
        body(&p, true, &[long.as_bytes()]).unwrap_err().kind,
        ViolationKind::Json
    );
}

#[test]
fn body_patterns_without_a_body_limit_are_capped() {
    let p = policy(serde_json::json!({
        "patterns": [{"name": "script", "pattern": "<script", "on": ["body"]}],
    }));
    assert!(p.inspects_body());
    let cap = BODY_INSPECTION_CAP as u64;
    assert!(p.body_checker(false, Some(cap)).is_ok());
    assert_eq!(
        p.body_checker(false, Some(cap + 1))
            .unwrap_err()
            .kind
            .status(),
        413
    );
    let mut checker = p.body_checker(false, None).unwrap();
    checker.feed(&vec![b' '; BODY_INSPECTION_CAP]).unwrap();
    assert_eq!(
        checker.feed(b"<script>").unwrap_err().kind,
        ViolationKind::BodyTooLarge
    );
}

#[test]
fn head_patterns_on_path_query_and_headers() {
    let sqli = r"(?i)'\s*or\s+\d+\s*=\s*\d+";
    let p = policy(serde_json::json!({"patterns": [
        {"name": "sql-injection", "pattern": sqli, "on": ["path", "query"]},
        {"name": "no-jndi", "pattern": r"\$\{jndi:", "on": ["headers"]},
    ]}));
    assert!(!p.inspects_body(), "no body patterns, no limits");
    let ok: &[(&str, &[u8])] = &[("accept", b"*/*"), ("user-agent", b"curl/8")];
    assert_eq!(head(&p, "/users/42", "page=2", ok), Ok(()));
    let err = head(&p, "/users/%27%20OR%201=1", "", ok).unwrap_err();
    assert_eq!(err.message, "pattern 'sql-injection' matched in path");
    let err = head(&p, "/users", "id=1%27+or+2=2", ok).unwrap_err();
    assert_eq!(err.message, "pattern 'sql-injection' matched in query");
    let evil: &[(&str, &[u8])] = &[
        ("accept", b"*/*"),
        ("x-forwarded-for", b"${jndi:ldap://e/a}"),
    ];
    let err = head(&p, "/users", "", evil).unwrap_err();
    assert_eq!(
        (err.kind.status(), err.message.as_str()),
        (400, "pattern 'no-jndi' matched in headers")
    );
    assert!(!err.message.contains("ldap"), "the payload is never echoed");
}

#[test]
fn header_size_limit() {
    let p = policy(serde_json::json!({
        "max_header_bytes": 20,
        "patterns": [{"name": "tab", "pattern": "\t", "on": ["headers"]}],
    }));
    let exact: &[(&str, &[u8])] = &[("host", b"example.com"), ("a", b"1234")];
    assert_eq!(head(&p, "/", "", exact), Ok(()));
    let over: &[(&str, &[u8])] = &[("host", b"example.com"), ("a", b"12345")];
    let err = head(&p, "/", "", over).unwrap_err();
    assert_eq!(
        (err.kind.status(), err.message.as_str()),
        (431, "request headers exceed 20 bytes")
    );
    // The size limit wins over a pattern matched in an earlier header.
    let both: &[(&str, &[u8])] = &[("x", b"\t"), ("host", b"example.com.example")];
    assert_eq!(
        head(&p, "/", "", both).unwrap_err().kind,
        ViolationKind::HeadersTooLarge
    );
    assert_eq!(
        head(&p, "/", "", &both[..1]).unwrap_err().kind,
        ViolationKind::Pattern
    );
}

#[test]
fn the_policy_is_cheap_to_share() {
    let p = Arc::new(policy(serde_json::json!({"json": {}})));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let p = Arc::clone(&p);
            std::thread::spawn(move || body(&p, false, &[b"[1,2]"]))
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().unwrap(), Ok(()));
    }
}
