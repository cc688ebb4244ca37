//! Bodies under inspection are inspected as the backend will read them: a compressed body is
//! decoded (gzip, deflate, br) and forwarded decoded — what was inspected is what arrives —,
//! a zip bomb is 413, stacked or unknown codings 415 (as is any coding where decoding is off),
//! form bodies are matched form-decoded, and JSON objects naming a member twice are refused.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::encode::{br, deflate, gzip};
use super::*;

/// `guarded` inspects JSON and bodies for a pattern; `strict` refuses compressed bodies;
/// `dupes` allows duplicate names; `plain` inspects nothing.
async fn proxy_for(s: &Setup) -> TestProxy {
    let threat = json!({
        "max_body_bytes": 65536,
        "json": { "max_depth": 3 },
        "patterns": [{ "name": "sqli", "pattern": "(?i)'\\s*or\\s+1\\s*=\\s*1", "on": ["body"] }],
    });
    let mut strict = threat.clone();
    strict["decode_bodies"] = json!(false);
    let dupes = json!({ "json": { "allow_duplicate_keys": true } });
    spawn_proxy(
        &s.broker,
        json!([
            route("guarded", "/guarded", &s.echo, json!({ "threat": threat })),
            route("strict", "/strict", &s.echo, json!({ "threat": strict })),
            route("dupes", "/dupes", &s.echo, json!({ "threat": dupes })),
            route("plain", "/plain", &s.echo, json!({})),
        ]),
    )
    .await
}

async fn post(
    proxy: &TestProxy,
    token: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> reqwest::Response {
    let mut req = proxy
        .http
        .post(proxy.url(path))
        .bearer_auth(token)
        .body(body);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn compressed_bodies_are_inspected_decoded_and_forwarded_as_inspected() {
    let s = setup().await;
    let proxy = proxy_for(&s).await;
    let good = br#"{"order":{"items":[1,2]},"note":"fine"}"#.to_vec();
    let deep = br#"{"a":{"b":{"c":{"d":1}}}}"#.to_vec();
    let sqli = br#"{"name":"x' OR 1=1"}"#.to_vec();
    let json_ct = ("content-type", "application/json");
    for (coding, encode) in [
        ("gzip", gzip as fn(&[u8]) -> Vec<u8>),
        ("deflate", deflate),
        ("br", br),
    ] {
        let enc = ("content-encoding", coding);
        let res = post(&proxy, &s.token, "/guarded", &[json_ct, enc], encode(&good)).await;
        let e: Value = echoed(res).await;
        assert_eq!(e["body_bytes"], good.len(), "{coding}: forwarded decoded");
        assert!(e["headers"].get("content-encoding").is_none(), "{coding}");
        assert_eq!(
            header(&e, "content-length"),
            Some(good.len().to_string().as_str())
        );
        for bad in [&deep, &sqli] {
            let res = post(&proxy, &s.token, "/guarded", &[json_ct, enc], encode(bad)).await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{coding}");
            assert_eq!(json_of(res).await["error"], "threat_detected");
        }
        // Where decoding is off, any compressed body is refused rather than let through.
        let res = post(&proxy, &s.token, "/strict", &[json_ct, enc], encode(&good)).await;
        assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{coding}");
    }
    // Nothing inspected: a compressed body passes untouched (the echo backend, actix-web,
    // decodes it itself to count it).
    let compressed = gzip(&deep);
    let length = compressed.len().to_string();
    let res = post(
        &proxy,
        &s.token,
        "/plain",
        &[("content-encoding", "gzip")],
        compressed,
    )
    .await;
    let e = echoed(res).await;
    assert_eq!(header(&e, "content-encoding"), Some("gzip"));
    assert_eq!(header(&e, "content-length"), Some(length.as_str()));
    assert_eq!(e["body_bytes"], deep.len());
}

#[tokio::test]
async fn bombs_stacked_unknown_and_broken_encodings_are_refused() {
    let s = setup().await;
    let proxy = proxy_for(&s).await;
    let zeros = vec![b' '; 8 << 20];
    let bomb = gzip(&zeros);
    assert!(
        bomb.len() < 65536,
        "the bomb fits the body limit compressed"
    );
    let res = post(
        &proxy,
        &s.token,
        "/guarded",
        &[("content-encoding", "gzip")],
        bomb,
    )
    .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let good = gzip(br#"{"a":1}"#);
    for (encoding, status) in [
        ("gzip, br", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("gzip, gzip", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("compress", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("zstd", StatusCode::UNSUPPORTED_MEDIA_TYPE),
    ] {
        let res = post(
            &proxy,
            &s.token,
            "/guarded",
            &[("content-encoding", encoding)],
            good.clone(),
        )
        .await;
        assert_eq!(res.status(), status, "{encoding}");
    }
    let res = post(
        &proxy,
        &s.token,
        "/guarded",
        &[("content-encoding", "gzip")],
        b"{\"not\":\"compressed\"}".to_vec(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn form_bodies_are_matched_decoded_and_duplicate_json_names_refused() {
    let s = setup().await;
    let proxy = proxy_for(&s).await;
    let form = b"name=x%27+OR+1%3D1&page=2".to_vec();
    let ct = |v| [("content-type", v)];
    let res = post(
        &proxy,
        &s.token,
        "/guarded",
        &ct("application/x-www-form-urlencoded"),
        form.clone(),
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "decoded, it is an injection"
    );
    let res = post(&proxy, &s.token, "/guarded", &ct("text/plain"), form).await;
    assert_eq!(res.status(), StatusCode::OK, "not a form: matched as it is");
    let twice = br#"{"amount":1,"amount":1000000}"#.to_vec();
    let escaped = br#"{"role":"user","\u0072ole":"admin"}"#.to_vec();
    for body in [&twice, &escaped] {
        let res = post(
            &proxy,
            &s.token,
            "/guarded",
            &ct("application/json"),
            body.clone(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let e = json_of(res).await;
        assert_eq!(
            e["error_description"],
            "JSON object has a duplicate member name"
        );
        let res = post(
            &proxy,
            &s.token,
            "/dupes",
            &ct("application/json"),
            body.clone(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK, "allowed on this route");
    }
}
