//! HTTP Basic client authentication as clients may really send it (an attacker's review of the
//! fourth session's speed work, issue 11, point 4: the secret kept in its decoded buffer, the
//! id cut off its front). RFC 6749 §2.3.1: id and secret are form-urlencoded, then joined by a
//! colon and base64-encoded. Checked sound, pinned end to end: an encoded secret authenticates
//! as the plain one, anything else is `401 invalid_client` with a `Basic` challenge — never a
//! `500`, never a token.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::StatusCode;

use crate::helpers::*;

/// `POST /token` (client credentials) with `authorization` as the header's value.
async fn token_with(app: &TestApp, authorization: &str) -> reqwest::Response {
    app.http
        .post(app.url("/token"))
        .header("authorization", authorization)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("request")
}

fn basic(id: &[u8], secret: &[u8]) -> String {
    let mut raw = id.to_vec();
    raw.push(b':');
    raw.extend_from_slice(secret);
    format!("Basic {}", STANDARD.encode(raw))
}

async fn refused(app: &TestApp, authorization: &str, what: &str) {
    let res = token_with(app, authorization).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{what}");
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.starts_with("Basic"), "{what}: {challenge}");
    assert_eq!(json_of(res).await["error"], "invalid_client", "{what}");
}

#[tokio::test]
async fn basic_credentials_decode_as_rfc_6749_says_and_refuse_the_rest() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    let (id, secret) = (c.id.as_bytes(), c.secret.as_bytes());

    // Plain, and with every character of both percent-encoded (what a cautious client may send).
    let res = token_with(&app, &basic(id, secret)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let every = |s: &[u8]| s.iter().map(|b| format!("%{b:02X}")).collect::<String>();
    let encoded = basic(every(id).as_bytes(), every(secret).as_bytes());
    let res = token_with(&app, &encoded).await;
    assert_eq!(res.status(), StatusCode::OK);

    let mut colon = secret.to_vec();
    colon.extend_from_slice(b":x");
    let mut plus = secret.to_vec();
    plus.push(b'+');
    let long = "A".repeat(12_000);
    for (authorization, what) in [
        (basic(id, &colon), "a colon and more after the secret"),
        (basic(id, &plus), "a '+' (a space) after the secret"),
        (
            basic(id, &secret[..secret.len() - 1]),
            "the secret one short",
        ),
        (basic(b"", secret), "no id"),
        (basic(id, b""), "no secret"),
        (basic(id, b"%FF%FE"), "a secret that decodes to no UTF-8"),
        (basic(id, b"\xff\xfe"), "credentials that are not UTF-8"),
        (
            format!("Basic {long}"),
            "12,000 characters of base64 without a colon",
        ),
        (basic(id, long.as_bytes()), "a 12,000-byte secret"),
        ("Basic !!!".to_string(), "not base64"),
    ] {
        refused(&app, &authorization, what).await;
    }
}
