//! Methods are case-sensitive tokens (RFC 9110 §9.1): `post` is an extension method, not
//! `POST`, so it cannot slip past a `POST` scope rule; extension methods pass only where a
//! route lists them (else 501); over-long methods are 400; per-method scope keys must be
//! upper-case at load; analytics and metrics carry methods from a fixed set.

use serde_json::json;
use tessera_proxy::config::ProxyConfig;
use tessera_proxy::state::ConfigSource;
use tessera_proxy::{Listeners, Proxy};

use super::*;

#[tokio::test]
async fn a_lower_case_post_cannot_skip_the_post_scope_rule() {
    let s = setup().await;
    let narrow = s.broker.create_client(json!({"scopes": ["read"]})).await;
    let narrow = bearer(&s.broker.access_token(&narrow).await);
    // No `methods` list: every standard method passes, extension methods do not.
    let proxy = spawn_proxy(
        &s.broker,
        json!([route(
            "orders",
            "/orders",
            &s.echo,
            json!({
                "scopes": { "methods": { "POST": ["write"], "GET": ["read"] } }
            })
        )]),
    )
    .await;
    let post = |method: &'static str, token: String| {
        let base = proxy.base.clone();
        async move {
            raw_request(&base, method, "/orders", &[&token, "Content-Length: 0"])
                .await
                .status
        }
    };
    assert_eq!(post("post", narrow.clone()).await, 501);
    assert_eq!(post("Post", narrow.clone()).await, 501);
    assert_eq!(post("POST", narrow.clone()).await, 403);
    assert_eq!(post("POST", bearer(&s.token)).await, 200);
    assert_eq!(
        post("PATCH", narrow.clone()).await,
        200,
        "PATCH is standard"
    );
    assert_eq!(post("PROPFIND", narrow.clone()).await, 501);
    assert_eq!(
        post("CONNECT", narrow.clone()).await,
        400,
        "CONNECT has no path"
    );
    // HEAD answers what GET would: it needs GET's scopes.
    let unscoped = s.broker.create_client(json!({"scopes": ["write"]})).await;
    let unscoped = bearer(&s.broker.access_token(&unscoped).await);
    assert_eq!(post("HEAD", unscoped).await, 403);
    assert_eq!(post("HEAD", narrow).await, 200);
    let metrics = proxy.metrics().await;
    assert!(
        metrics.contains("tessera_proxy_rejected_requests_total{reason=\"not_implemented\"} 3"),
        "{metrics}"
    );
}

#[tokio::test]
async fn extension_methods_pass_only_where_a_route_lists_them() {
    let s = setup().await;
    let proxy = spawn_proxy(
        &s.broker,
        json!([
            route(
                "dav",
                "/dav",
                &s.echo,
                json!({ "methods": ["PROPFIND", "GET"] })
            ),
            route("orders", "/orders", &s.echo, json!({})),
        ]),
    )
    .await;
    let token = bearer(&s.token);
    let res = raw_request(&proxy.base, "PROPFIND", "/dav/x", &[&token]).await;
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(res.json()["method"], "PROPFIND");
    assert_eq!(
        raw_request(&proxy.base, "propfind", "/dav/x", &[&token])
            .await
            .status,
        501
    );
    assert_eq!(
        raw_request(&proxy.base, "PROPFIND", "/orders", &[&token])
            .await
            .status,
        501
    );
    let res = raw_request(&proxy.base, "DELETE", "/dav/x", &[&token]).await;
    assert_eq!(res.status, 405);
    assert_eq!(res.header("allow"), Some("PROPFIND, GET"));
    // Over-long methods are 400, before any policy (no token needed to be refused).
    let long = "A".repeat(33);
    let res = raw_request(&proxy.base, &long, "/dav/x", &[]).await;
    assert_eq!(res.status, 400, "{res:?}");
    assert!(res.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("32 bytes"));
    assert_eq!(
        raw_request(&proxy.base, &"A".repeat(32), "/dav/x", &[])
            .await
            .status,
        501
    );
    // Metrics carry the listed method by name, anything else as OTHER.
    let metrics = proxy.metrics().await;
    assert!(
        metrics.contains("method=\"PROPFIND\",route=\"dav\""),
        "{metrics}"
    );
    assert!(metrics.contains("method=\"OTHER\""), "{metrics}");
    assert!(
        !metrics.contains("propfind") && !metrics.contains(&long),
        "{metrics}"
    );
}

/// Builds a proxy on `routes` and returns its start-up error.
pub async fn refused_config(s: &Setup, routes: serde_json::Value) -> String {
    let defaults = proxy_config(&s.broker, routes);
    let cfg = ProxyConfig::load(defaults.clone(), None).unwrap();
    let listeners = Listeners::bind(&cfg, "127.0.0.1:0".parse().unwrap()).unwrap();
    let source = ConfigSource {
        file: None,
        defaults,
    };
    Proxy::build(cfg, source, None, listeners)
        .map(|_| ())
        .unwrap_err()
        .to_string()
}

#[tokio::test]
async fn configured_methods_must_be_upper_case_tokens() {
    let s = setup().await;
    let err = refused_config(
        &s,
        json!([route(
            "orders",
            "/orders",
            &s.echo,
            json!({
                "scopes": { "methods": { "post": ["write"] } }
            })
        )]),
    )
    .await;
    assert!(
        err.contains("routes[0] (orders).scopes.methods.post:"),
        "{err}"
    );
    let err = refused_config(
        &s,
        json!([route(
            "orders",
            "/orders",
            &s.echo,
            json!({ "methods": ["get"] })
        )]),
    )
    .await;
    assert!(err.contains("routes[0] (orders).methods: 'get'"), "{err}");
    let err = refused_config(
        &s,
        json!([route("orders", "/orders/../x", &s.echo, json!({}))]),
    )
    .await;
    assert!(err.contains("routes[0] (orders).path:"), "{err}");
    let err = refused_config(
        &s,
        json!([route(
            "orders",
            "/orders",
            &s.echo,
            json!({ "host": "a.example:80" })
        )]),
    )
    .await;
    assert!(err.contains("routes[0] (orders).host:"), "{err}");
}

/// The status listener's probes answer HEAD as GET, head only (RFC 9110 §9.1): load balancers
/// probe with either.
#[tokio::test]
async fn the_status_listener_answers_head_as_get() {
    let s = setup().await;
    let proxy = spawn_proxy(
        &s.broker,
        json!([route("orders", "/orders", &s.echo, json!({}))]),
    )
    .await;
    for path in ["/healthz", "/readyz", "/metrics"] {
        let url = format!("{}{path}", proxy.status);
        let get = proxy.http.get(&url).send().await.unwrap();
        let head = proxy.http.head(&url).send().await.unwrap();
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        assert_eq!(head.status(), 200, "HEAD {path}");
        assert_eq!(head.bytes().await.unwrap().len(), 0, "HEAD {path}");
    }
}
