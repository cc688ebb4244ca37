//! `POST /token`: the client_credentials grant, client authentication and every bad input.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn client_credentials_with_basic_and_with_post() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    let res = app.token(&c, &[("grant_type", "client_credentials")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body = json_of(res).await;
    let token = body["access_token"].as_str().unwrap();
    assert!(token.starts_with("tsr_at_") && token.len() == 56);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(
        body["scope"], "read write",
        "no scope asked: all of the app's"
    );
    assert!(body.get("refresh_token").is_none());

    let res = app
        .http
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.id.as_str()),
            ("client_secret", c.secret.as_str()),
            ("scope", "read"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json_of(res).await["scope"], "read");
}

#[tokio::test]
async fn scope_must_stay_within_the_apps_scopes() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    for scope in ["admin", "read admin", "read\"", "read  write"] {
        let res = app
            .token(
                &c,
                &[("grant_type", "client_credentials"), ("scope", scope)],
            )
            .await;
        assert_oauth_error(res, 400, "invalid_scope").await;
    }
    let res = app
        .token(
            &c,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "write read"),
            ],
        )
        .await;
    assert_eq!(json_of(res).await["scope"], "read write");
}

#[tokio::test]
async fn client_authentication_failures_all_look_alike() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    let wrong_secret = Client {
        secret: format!("{}x", c.secret),
        ..c.clone()
    };
    let unknown = Client {
        id: "no-such-client".into(),
        ..c.clone()
    };
    let mut bodies = Vec::new();
    for who in [&wrong_secret, &unknown] {
        let res = app
            .token(who, &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic"));
        bodies.push(json_of(res).await);
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[0]["error"], "invalid_client");

    // Credentials in the body: still 401 invalid_client, without a Basic challenge.
    let res = app
        .http
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.id.as_str()),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(!res.headers().contains_key("www-authenticate"));

    // No credentials at all, a malformed Basic header, a foreign scheme.
    let res = app
        .http
        .post(app.url("/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;
    let res = app
        .http
        .post(app.url("/token"))
        .header("authorization", "Basic !!!not-base64")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;
    let res = app
        .http
        .post(app.url("/token"))
        .bearer_auth("whatever")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 400, "invalid_request").await;
}

#[tokio::test]
async fn two_authentication_methods_at_once_are_refused() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    let res = app
        .token(
            &c,
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", c.secret.as_str()),
            ],
        )
        .await;
    assert_oauth_error(res, 400, "invalid_request").await;
    let res = app
        .token(
            &c,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "someone-else"),
            ],
        )
        .await;
    assert_oauth_error(res, 400, "invalid_request").await;
    // The same client_id in the body as in the header is allowed (RFC 6749 §2.3.1).
    let res = app
        .token(
            &c,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", c.id.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn malformed_requests_are_invalid_request_never_500() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    let post = |body: &'static [u8], ctype: &'static str| {
        app.http
            .post(app.url("/token"))
            .basic_auth(&c.id, Some(&c.secret))
            .header("content-type", ctype)
            .body(body)
    };
    let form = "application/x-www-form-urlencoded";
    for (body, ctype) in [
        (
            &b"grant_type=client_credentials&grant_type=client_credentials"[..],
            form,
        ),
        (
            b"grant_type=client_credentials&scope=read&scope=write",
            form,
        ),
        (b"scope=read", form),
        (b"grant_type=", form),
        (
            b"{\"grant_type\":\"client_credentials\"}",
            "application/json",
        ),
        (b"grant_type=client_credentials", "text/plain"),
        (b"grant_type=client_credentials&x=\xff\xfe", form),
    ] {
        let res = post(body, ctype).send().await.unwrap();
        assert_oauth_error(res, 400, "invalid_request").await;
    }
    // Parameters in the query string.
    let res = app
        .http
        .post(app.url("/token?grant_type=client_credentials"))
        .basic_auth(&c.id, Some(&c.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 400, "invalid_request").await;
    // Oversized body.
    let big = format!(
        "grant_type=client_credentials&pad={}",
        "a".repeat(64 * 1024)
    );
    let res = app
        .http
        .post(app.url("/token"))
        .basic_auth(&c.id, Some(&c.secret))
        .header("content-type", form)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json_of(res).await["error"], "invalid_request");
    // Wrong method.
    let res = app.http.get(app.url("/token")).send().await.unwrap();
    assert!(res.status().is_client_error());
}

#[tokio::test]
async fn grant_type_errors() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    let res = app.token(&c, &[("grant_type", "urn:example:magic")]).await;
    assert_oauth_error(res, 400, "unsupported_grant_type").await;
    let res = app.token(&c, &[("grant_type", "password")]).await;
    assert_oauth_error(res, 400, "unsupported_grant_type").await;
    let no_grants = app.create_client(json!({"grant_types": []})).await;
    let res = app
        .token(&no_grants, &[("grant_type", "client_credentials")])
        .await;
    assert_oauth_error(res, 400, "unauthorized_client").await;
}

#[tokio::test]
async fn a_revoked_app_cannot_get_tokens() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    app.revoke_app(&c).await;
    let res = app.token(&c, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(res, 401, "invalid_client").await;
}

#[tokio::test]
async fn tokens_expire_and_redis_holds_only_their_hash() {
    let app = spawn_app_with(&shared_redis_url(), |cfg| {
        cfg["tokens"] = json!({"access_token_ttl_secs": 1});
    })
    .await;
    let c = app.default_client().await;
    let res = app.token(&c, &[("grant_type", "client_credentials")]).await;
    let body = json_of(res).await;
    assert_eq!(body["expires_in"], 1);
    let token = body["access_token"].as_str().unwrap().to_string();
    assert!(app.is_active(&c, &token).await);

    // What Redis holds: keys under this app's prefix, none naming the token or the secret, and
    // the token's record with a TTL no longer than its lifetime.
    let mut r = app.redis().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", app.prefix))
        .query_async(&mut r)
        .await
        .unwrap();
    let token_keys: Vec<&String> = keys.iter().filter(|k| k.contains(":at:")).collect();
    assert_eq!(token_keys.len(), 1, "{keys:?}");
    let body_part = &token[7..49];
    for k in &keys {
        assert!(!k.contains(body_part), "a key names the token: {k}");
        let dump: Vec<u8> = redis::cmd("DUMP").arg(k).query_async(&mut r).await.unwrap();
        let dump = String::from_utf8_lossy(&dump);
        assert!(
            !dump.contains(body_part) && !dump.contains(&c.secret[7..40]),
            "{k}"
        );
    }
    let ttl: i64 = redis::cmd("PTTL")
        .arg(token_keys[0])
        .query_async(&mut r)
        .await
        .unwrap();
    assert!(ttl > 0 && ttl <= 1000, "ttl {ttl}");

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert!(!app.is_active(&c, &token).await);
}

/// The headers of the answers written once (`broker/src/http/answer.rs`), end to end: a token
/// answer says `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1), an error one
/// `no-store` (§5.2), introspection `no-store` (RFC 7662 §2.2 answers are the token's state),
/// all `application/json`.
#[tokio::test]
async fn token_introspection_and_error_answers_are_json_never_stored() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    let header = |res: &reqwest::Response, name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let res = app.token(&c, &[("grant_type", "client_credentials")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "cache-control").as_deref(), Some("no-store"));
    assert_eq!(header(&res, "pragma").as_deref(), Some("no-cache"));
    assert_eq!(
        header(&res, "content-type").as_deref(),
        Some("application/json")
    );
    let token = json_of(res).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app.token(&c, &[("grant_type", "password_please")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(header(&res, "cache-control").as_deref(), Some("no-store"));
    assert_eq!(
        header(&res, "content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(json_of(res).await["error"], "unsupported_grant_type");
    for t in [token.as_str(), "unknown"] {
        let res = app.post_form("/introspect", &c, &[("token", t)]).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(header(&res, "cache-control").as_deref(), Some("no-store"));
        assert_eq!(
            header(&res, "content-type").as_deref(),
            Some("application/json")
        );
        assert_eq!(json_of(res).await["active"], t == token);
    }
}
