//! Bounded inputs (issue 9, point 1): every parameter the broker stores or echoes has a cap;
//! over it, the protocol's error and nothing stored; no error text repeats what was sent.

use std::io::{Read, Write};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::world::*;

/// Something no error text may contain: it is only ever sent, never ours.
const MARK: &str = "zqxmark";

fn authorize_query(c: &Client, extra: &[(&str, String)]) -> Vec<(String, String)> {
    let request = extra
        .iter()
        .fold(Authorize::code_flow(c), |r, (k, v)| r.set(k, v));
    request.into_pairs()
}

async fn get_authorize(w: &World, q: &[(String, String)]) -> reqwest::Response {
    w.app
        .http
        .get(w.app.url("/authorize"))
        .query(q)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn over_cap_authorize_parameters_are_refused_and_nothing_is_stored() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({})).await;
    let before = w.app.stored_records().await;
    // Over the cap with a trusted client and redirect URI: back to the app with
    // invalid_request; an over-long state is not echoed.
    for (name, len) in [
        ("state", 1025),
        ("nonce", 257),
        ("scope", 1025),
        ("login_hint", 257),
        ("code_challenge", 129),
        ("prompt", 65),
        ("some_extension", 1025),
    ] {
        let mut extra = vec![(name, "a".repeat(len))];
        if name != "state" {
            extra.push(("state", "s1".into()));
        }
        let q = authorize_query(&c, &extra);
        let res = get_authorize(&w, &q).await;
        assert_eq!(res.status(), StatusCode::FOUND, "{name}");
        let (to, p) = location(&res);
        assert_eq!(to, APP_REDIRECT, "{name}");
        assert_eq!(param(&p, "error"), Some("invalid_request"), "{name}");
        let desc = param(&p, "error_description").unwrap();
        assert!(desc.contains("too long"), "{name}: {desc}");
        let echoed = param(&p, "state");
        assert_eq!(echoed, if name == "state" { None } else { Some("s1") });
    }
    // Exactly at the caps: accepted.
    let q = authorize_query(
        &c,
        &[
            ("state", "s".repeat(1024)),
            ("nonce", "n".repeat(256)),
            ("login_hint", "h".repeat(256)),
        ],
    );
    let res = get_authorize(&w, &q).await;
    assert!(location(&res).0.starts_with(&w.idp_base));
    let accepted = w.app.stored_records().await;
    assert_eq!(accepted.len(), before.len() + 1, "one pending login");

    // An over-long client_id or redirect_uri cannot be trusted: an error page.
    for (name, len) in [("client_id", 129), ("redirect_uri", 2049)] {
        let q = authorize_query(&c, &[(name, "x".repeat(len))]);
        let res = get_authorize(&w, &q).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{name}");
        assert!(res.headers().get("location").is_none());
    }
    // The whole query over 8 KiB: 414, before anything is parsed.
    let q = authorize_query(&c, &[("pad", "p".repeat(8200))]);
    let res = get_authorize(&w, &q).await;
    assert_eq!(res.status(), StatusCode::URI_TOO_LONG);
    assert!(res.headers().get("location").is_none());
    assert_eq!(
        w.app.stored_records().await,
        accepted,
        "nothing more was stored"
    );
}

/// Sends `target` raw over TCP (no client normalises it) and returns the status line.
fn raw_get(port: &str, target: &str) -> String {
    let mut s = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    let req = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    // The server may close before reading everything (431): then writing fails, which is fine.
    let _ = s.write_all(req.as_bytes());
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// The issue's attack — huge `state` values — at the sizes each layer refuses them.
#[tokio::test]
async fn a_flood_of_huge_states_stores_nothing() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({})).await;
    let before = w.app.stored_records().await;
    let port = w.app.base.rsplit(':').next().unwrap().to_string();
    let authorize = |n: usize| {
        format!(
            "/authorize?response_type=code&client_id={}&redirect_uri={}&code_challenge={CHALLENGE}\
             &code_challenge_method=S256&state={}",
            c.id,
            urlencode(APP_REDIRECT),
            "A".repeat(n)
        )
    };
    // Our cap on the query (8 KiB): 414, for /authorize and /callback alike.
    let huge = "A".repeat(60 * 1024);
    assert_eq!(
        raw_get(&port, &authorize(60 * 1024)),
        "HTTP/1.1 414 URI Too Long"
    );
    let cb = format!("/callback?state={huge}&code=x");
    assert_eq!(raw_get(&port, &cb), "HTTP/1.1 414 URI Too Long");
    // A request target of 64 KiB or more is refused by actix-web (the http crate's URI limit),
    // a request head over 128 KiB too.
    assert_eq!(
        raw_get(&port, &authorize(120 * 1024)),
        "HTTP/1.1 400 Bad Request"
    );
    let over_head = raw_get(&port, &authorize(140 * 1024));
    assert!(
        over_head.is_empty() || over_head.starts_with("HTTP/1.1 431"),
        "{over_head}"
    );
    assert_eq!(w.app.stored_records().await, before);
}

#[tokio::test]
async fn over_cap_form_parameters_are_invalid_request() {
    let w = spawn_world().await;
    let c = code_client(
        &w,
        json!({"grant_types": ["client_credentials", "refresh_token"]}),
    )
    .await;
    let before = w.app.stored_records().await;
    for (name, len) in [
        ("scope", 1025),
        ("refresh_token", 129),
        ("code_verifier", 129),
        ("username", 257),
        ("subject_token", 8193),
        ("an_extension", 1025),
    ] {
        let v = "a".repeat(len);
        let res = w
            .app
            .token(&c, &[("grant_type", "client_credentials"), (name, &v)])
            .await;
        let body = assert_oauth_error(res, 400, "invalid_request").await;
        assert!(body["error_description"]
            .as_str()
            .unwrap()
            .contains("too long"));
    }
    // The body as a whole: server.max_body_bytes (16 KiB by default) is 413.
    let big = "a".repeat(17 * 1024);
    let res = w
        .app
        .token(&c, &[("grant_type", "client_credentials"), ("x", &big)])
        .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(w.app.stored_records().await, before, "nothing stored");
}

#[tokio::test]
async fn over_cap_registration_metadata_is_refused_and_nothing_is_stored() {
    let app = spawn_app_with(&shared_redis_url(), |cfg| {
        cfg["registration"] = json!({"initial_access_token": IAT, "allowed_scopes": ["read"]});
    })
    .await;
    let before = app.stored_records().await;
    let long_uri = format!("https://app.example/{}", "p".repeat(2040));
    let many: Vec<String> = (0..21)
        .map(|i| format!("https://app.example/{i}"))
        .collect();
    for (body, code) in [
        (
            json!({"client_name": "n".repeat(201), "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
        ),
        (json!({"redirect_uris": [long_uri]}), "invalid_redirect_uri"),
        (json!({"redirect_uris": many}), "invalid_redirect_uri"),
        (
            json!({"scope": "r".repeat(1025), "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
        ),
    ] {
        let res = app
            .http
            .post(app.url("/register"))
            .bearer_auth(IAT)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_oauth_error(res, 400, code).await;
    }
    assert_eq!(app.stored_records().await, before);
}

/// No `error_description` (and no error page) repeats what was sent: every bad value below
/// carries the mark.
#[tokio::test]
async fn error_texts_never_echo_input() {
    let w = spawn_world_with(|cfg| {
        cfg["registration"] = json!({"initial_access_token": IAT, "allowed_scopes": ["read"]});
    })
    .await;
    let c = code_client(
        &w,
        json!({"grant_types": ["authorization_code", "refresh_token",
        "client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"]}),
    )
    .await;
    let m = MARK;
    let mut texts: Vec<String> = Vec::new();
    // /authorize: errors on pages and in redirects.
    for q in [
        authorize_query(&c, &[("scope", format!("read {m}\""))]),
        authorize_query(&c, &[("response_type", m.to_string())]),
        authorize_query(&c, &[("code_challenge_method", m.to_string())]),
        authorize_query(&c, &[("code_challenge", m.to_string())]),
        authorize_query(&c, &[("redirect_uri", format!("https://{m}.example/"))]),
        authorize_query(&c, &[("client_id", m.to_string())]),
        authorize_query(&c, &[("state", "repeated-below".to_string())]),
    ] {
        let mut raw = if q.iter().any(|(_, v)| v == "repeated-below") {
            format!("{m}=1&{m}=2&")
        } else {
            String::new()
        };
        for (k, v) in &q {
            raw.push_str(&format!("{k}={}&", urlencode(v)));
        }
        // Repeated names need the raw query (reqwest's query() would keep both anyway).
        let res = w
            .app
            .http
            .get(w.app.url(&format!("/authorize?{raw}")))
            .send()
            .await
            .unwrap();
        if let Some(l) = res.headers().get("location") {
            let l = l.to_str().unwrap();
            let (_, p) = location(&res);
            texts.push(param(&p, "error_description").unwrap_or(l).to_string());
        }
        texts.push(res.text().await.unwrap());
    }
    // /token, /revoke, /introspect.
    for form in [
        vec![("grant_type", m.to_string())],
        vec![
            ("grant_type", "client_credentials".into()),
            ("scope", format!("{m}\\")),
        ],
        vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", m.into()),
            ("scope", format!("\"{m}")),
        ],
        vec![
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange".into(),
            ),
            ("subject_token", m.into()),
            ("subject_token_type", m.into()),
        ],
        vec![
            ("grant_type", "client_credentials".into()),
            (m, "1".into()),
            (m, "2".into()),
        ],
    ] {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        texts.push(w.app.token(&c, &form).await.text().await.unwrap());
    }
    // /register.
    for body in [
        json!({"redirect_uris": [format!("{m}://x")]}),
        json!({"grant_types": [m]}),
        json!({"token_endpoint_auth_method": m, "grant_types": ["client_credentials"]}),
        json!({"scope": format!("{m}\""), "grant_types": ["client_credentials"]}),
        json!({"grant_types": m}),
        json!({"client_name": format!("{m}\u{1}"), "grant_types": ["client_credentials"]}),
    ] {
        let res = w
            .app
            .http
            .post(w.app.url("/register"))
            .bearer_auth(IAT)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
        texts.push(res.text().await.unwrap());
    }
    assert!(texts.len() > 15);
    for t in &texts {
        assert!(!t.to_ascii_lowercase().contains(m), "echoed: {t}");
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
