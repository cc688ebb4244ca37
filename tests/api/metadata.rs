//! Metadata (RFC 8414), health, readiness, metrics and unknown routes.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn metadata_lists_what_is_supported() {
    let app = spawn_app().await;
    let res = app
        .http
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let m = json_of(res).await;
    assert_eq!(m["issuer"], "http://localhost");
    assert_eq!(m["token_endpoint"], "http://localhost/token");
    assert_eq!(m["introspection_endpoint"], "http://localhost/introspect");
    assert_eq!(m["revocation_endpoint"], "http://localhost/revoke");
    assert_eq!(m["grant_types_supported"], json!(["client_credentials"]));
    assert_eq!(
        m["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    assert!(m.get("authorization_endpoint").is_none());
    // RFC 9449 §5.1: asymmetric algorithms only.
    assert_eq!(
        m["dpop_signing_alg_values_supported"],
        json!(["ES256", "ES384", "RS256", "PS256", "EdDSA"])
    );
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn_app().await;
    let res = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 200);

    let c = app.default_client().await;
    app.access_token(&c).await;
    let bad = Client {
        secret: "nope".into(),
        ..c.clone()
    };
    let _ = app
        .token(&bad, &[("grant_type", "client_credentials")])
        .await;
    let text = app.metrics().await;
    // Metrics only on the status listener; health and readiness on both.
    let res = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 404, "no metrics on the public listener");
    for path in ["/healthz", "/readyz"] {
        let res = app
            .http
            .get(format!("{}{path}", app.status))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path} on the status listener");
    }
    // RFC 9110 §9.1: HEAD wherever GET reads (load balancers probe with it): the GET's status
    // and content type, no body. `/authorize` starts a login, so it stays GET-only: HEAD is not
    // routed to it (the application's 404).
    for url in [
        app.url("/healthz"),
        app.url("/readyz"),
        format!("{}/healthz", app.status),
        format!("{}/readyz", app.status),
        format!("{}/metrics", app.status),
        app.url(&format!("/register/{}", "unknown-client")),
    ] {
        let get = app.http.get(&url).send().await.unwrap();
        let head = app.http.head(&url).send().await.unwrap();
        assert_eq!(head.status(), get.status(), "HEAD {url}");
        assert_ne!(head.status(), 405, "HEAD {url}");
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "HEAD {url}"
        );
        assert_eq!(
            head.bytes().await.unwrap().len(),
            0,
            "HEAD {url} has no body"
        );
    }
    let res = app.http.head(app.url("/authorize")).send().await.unwrap();
    assert_eq!(res.status(), 404, "a login is not started by HEAD");

    assert!(
        text.contains("tessera_tokens_issued_total{grant=\"client_credentials\"} 1"),
        "{text}"
    );
    assert!(text.contains(
        "tessera_token_requests_total{grant=\"client_credentials\",outcome=\"success\"} 1"
    ));
    assert!(text
        .contains("tessera_token_requests_total{grant=\"unknown\",outcome=\"invalid_client\"} 1"));
    assert!(text.contains(
        "tessera_http_requests_total{method=\"POST\",route=\"/token\",status=\"200\"} 1"
    ));
    assert!(text.contains("tessera_http_request_duration_seconds_bucket{route=\"/token\""));
    assert!(!text.contains(&c.secret));
}

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    let app = spawn_app().await;
    let res = app.http.get(app.url("/nope?x=1")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(json_of(res).await["error"], "not_found");
}
