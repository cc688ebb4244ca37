//! The broker's methods as its clients may send them (an attacker's review of the fourth
//! session's speed work, issue 11): any method name reaches the broker — extension methods,
//! lower-case spellings, long tokens — and each is answered (`405` with `Allow` at the client
//! endpoints, RFC 9110 §15.5.6; `404` elsewhere) without reaching a handler, and counted in
//! `tessera_http_requests_total` under a label from a fixed set, so that no client can add a
//! time series of its choosing to the broker's metrics.

use crate::gateway::raw_request;
use crate::helpers::*;

/// Finding: the request counter was labelled with the method exactly as sent, so every new
/// method name (any RFC 9110 §5.6.2 token, as long as the request head allows) added a series
/// the broker kept for its life — unauthenticated, at any path. Fails on `main`.
#[tokio::test]
async fn methods_a_client_makes_up_are_counted_as_other_not_as_sent() {
    let app = spawn_app().await;
    let long = format!("X{}", "Y".repeat(2000));
    let mut sent = Vec::new();
    for i in 0..20 {
        sent.push(format!("MADEUP{i}"));
    }
    sent.push("post".to_string());
    sent.push(long.clone());
    for (i, method) in sent.iter().enumerate() {
        let path = if i % 2 == 0 { "/token" } else { "/nowhere" };
        let raw = raw_request(&app.base, method, path, &[]).await;
        match path {
            // RFC 9110 §15.5.6: a 405 lists the resource's methods.
            "/token" => {
                assert_eq!(raw.status, 405, "{}", raw.head);
                assert_eq!(raw.header("allow"), Some("POST, OPTIONS"));
            }
            _ => assert_eq!(raw.status, 404, "{}", raw.head),
        }
    }
    let metrics = app.metrics().await;
    for method in &sent {
        assert!(
            !metrics.contains(&format!("method=\"{method}\"")),
            "{method:.40} became a label"
        );
    }
    assert!(
        metrics.contains(
            r#"tessera_http_requests_total{method="OTHER",route="/token",status="405"} 11"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"tessera_http_requests_total{method="OTHER",route="unmatched",status="404"} 11"#
        ),
        "{metrics}"
    );
}

/// Pinned (checked sound): the standard methods keep their own labels, and `HEAD` or `GET`
/// at a client endpoint reaches no handler (`405`, nothing issued).
#[tokio::test]
async fn standard_methods_keep_their_labels() {
    let app = spawn_app().await;
    for method in ["GET", "HEAD", "PUT", "DELETE", "PATCH", "TRACE"] {
        let raw = raw_request(&app.base, method, "/token", &[]).await;
        assert_eq!(raw.status, 405, "{method}: {}", raw.head);
        assert_eq!(raw.header("allow"), Some("POST, OPTIONS"), "{method}");
    }
    let metrics = app.metrics().await;
    for method in ["GET", "HEAD", "PUT", "DELETE", "PATCH", "TRACE"] {
        let series = format!(
            "tessera_http_requests_total{{method=\"{method}\",route=\"/token\",status=\"405\"}} 1"
        );
        assert!(metrics.contains(&series), "{series}\n{metrics}");
    }
    assert!(
        !metrics.contains("tessera_tokens_issued_total{"),
        "{metrics}"
    );
}
