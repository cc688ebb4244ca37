//! The token endpoint's form and answer on the wire, over a raw socket (issue 11, P3: the form
//! is read in place from its body — a body in one chunk is that chunk —, the answer's JSON is
//! written by hand). A body that arrives in several chunks is read whole (a character split
//! between two chunks included), encoded names and values are decoded, a name repeated across
//! chunks is refused, and the answer is serde's bytes: the same members in the same order.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::gateway::{raw_bytes, RawResponse};
use crate::helpers::*;

/// `POST /token` with `c`'s Basic credentials, `extra` header lines and `body` as written.
async fn post_token(app: &TestApp, c: &Client, extra: &[&str], body: &[u8]) -> RawResponse {
    let basic = STANDARD.encode(format!("{}:{}", c.id, c.secret));
    let mut req = format!(
        "POST /token HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {basic}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n",
        app.base.trim_start_matches("http://")
    );
    for h in extra {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("Connection: close\r\n\r\n");
    let mut req = req.into_bytes();
    req.extend_from_slice(body);
    raw_bytes(&app.base, &req).await
}

/// `parts` as a chunked body (RFC 9112 §7.1): one chunk each, then the last chunk.
fn chunked(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(format!("{:x}\r\n", p.len()).as_bytes());
        out.extend_from_slice(p);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// The stored token records (values naming the client_credentials grant) under the app's prefix.
async fn records(app: &TestApp) -> Vec<String> {
    app.stored()
        .await
        .into_iter()
        .map(|(_, v)| v)
        .filter(|v| v.contains(r#""grant":"client_credentials""#))
        .collect()
}

#[tokio::test]
async fn a_chunked_body_with_encoded_parameters_is_read_whole_and_answered_as_serde_would() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    // `é` (C3 A9) split between two chunks: the body is UTF-8 only once joined.
    let body = chunked(&[
        b"grant_ty",
        b"pe=client%5Fcredentials&note=\xC3",
        b"\xA9t\xC3\xA9&sc",
        b"ope=write+read",
    ]);
    let raw = post_token(&app, &c, &["Transfer-Encoding: chunked"], &body).await;
    assert_eq!(raw.status, 200, "{}\n{}", raw.head, raw.body);
    assert_eq!(raw.header("cache-control"), Some("no-store"));
    assert_eq!(raw.header("pragma"), Some("no-cache"));
    assert_eq!(raw.header("content-type"), Some("application/json"));
    let v = raw.json();
    let token = v["access_token"].as_str().expect("access_token");
    let ttl = v["expires_in"].as_u64().expect("expires_in");
    assert!(ttl > 0);
    // Serde's member order and the scope sorted, as one space-delimited string (RFC 6749 §3.3).
    assert_eq!(
        raw.body,
        format!(
            r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{ttl},"scope":"read write"}}"#
        )
    );
    let intro = app.introspect(&c, token).await;
    assert_eq!(intro["active"], true);
    assert_eq!(intro["scope"], "read write");
    // One record, keyed by the token's hash (the token itself is nowhere), with the scope.
    let stored = records(&app).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(
        stored[0].contains(r#""scope":["read","write"]"#),
        "{stored:?}"
    );
    assert!(!app
        .stored()
        .await
        .iter()
        .any(|(k, v)| k.contains(token) || v.contains(token)));
}

#[tokio::test]
async fn a_body_in_one_chunk_asking_no_scope_gets_the_apps_scopes() {
    let app = spawn_app().await;
    let c = app
        .create_client(serde_json::json!({"scopes": ["orders:read", "b!#~"]}))
        .await;
    let raw = post_token(
        &app,
        &c,
        &["Content-Length: 29"],
        b"grant_type=client_credentials",
    )
    .await;
    assert_eq!(raw.status, 200, "{}\n{}", raw.head, raw.body);
    let v = raw.json();
    let token = v["access_token"].as_str().expect("access_token");
    assert_eq!(
        raw.body,
        format!(
            r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{},"scope":"b!#~ orders:read"}}"#,
            v["expires_in"]
        )
    );
    assert_eq!(records(&app).await.len(), 1);
}

#[tokio::test]
async fn refused_bodies_in_chunks_issue_nothing() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    for (parts, description) in [
        // The same name, once encoded, across chunks (RFC 6749 §3.2: no parameter twice).
        (
            &[
                &b"scope=read&gr"[..],
                b"ant_type=client_credentials&sc%6Fpe=write",
            ][..],
            "parameter 'scope' is repeated",
        ),
        // Not UTF-8 once joined: a lone continuation byte after the chunk boundary.
        (
            &[&b"grant_type=client_credentials&x="[..], b"\xA9"][..],
            "request body is not UTF-8",
        ),
    ] {
        let raw = post_token(&app, &c, &["Transfer-Encoding: chunked"], &chunked(parts)).await;
        assert_eq!(raw.status, 400, "{}\n{}", raw.head, raw.body);
        let v = raw.json();
        assert_eq!(v["error"], "invalid_request");
        assert_eq!(v["error_description"], description);
    }
    assert!(records(&app).await.is_empty());
}
