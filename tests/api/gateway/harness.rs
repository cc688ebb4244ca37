//! The proxy under test and the sample backend behind it: [`spawn_echo`], [`spawn_proxy`]
//! (settings sharing the broker's Redis, prefix and pepper) and [`route`]. Its own file so the
//! browser tests (`tests/browser/`) can include it with `#[path]` without the proxy's tests.

use std::net::TcpListener;

use serde_json::{json, Value};
use tessera_proxy::config::ProxyConfig;
use tessera_proxy::state::{ConfigSource, Runtime};
use tessera_proxy::{Listeners, Proxy};

use crate::helpers::{metrics_at, TestApp, PEPPER, STORE_TIMEOUT_MS};

/// The sample backend, on a free port; its base URL.
pub fn spawn_echo() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tessera_proxy::echo::serve(listener, 1).expect("echo backend");
    tokio::spawn(server);
    format!("http://127.0.0.1:{port}")
}

#[derive(Clone)]
pub struct TestProxy {
    pub base: String,
    pub status: String,
    pub runtime: actix_web::web::Data<Runtime>,
    pub http: reqwest::Client,
}

/// Proxy settings sharing the broker's Redis, prefix and pepper.
pub fn proxy_config(broker: &TestApp, routes: Value) -> Value {
    json!({
        "server": { "listen": "127.0.0.1:0", "workers": 1, "realm": "test-api" },
        "store": {
            "url": broker.redis_url,
            "prefix": broker.prefix,
            "command_timeout_ms": STORE_TIMEOUT_MS,
            "connect_timeout_ms": STORE_TIMEOUT_MS,
        },
        "security": { "pepper": PEPPER },
        "analytics": { "flush_interval_ms": 50 },
        "log": { "level": "warn" },
        "routes": routes,
    })
}

pub async fn spawn_proxy(broker: &TestApp, routes: Value) -> TestProxy {
    spawn_proxy_with(broker, routes, |_| {}).await
}

pub async fn spawn_proxy_with(
    broker: &TestApp,
    routes: Value,
    tweak: impl FnOnce(&mut Value),
) -> TestProxy {
    let mut cfg = proxy_config(broker, routes);
    tweak(&mut cfg);
    start_proxy(cfg).await
}

pub async fn start_proxy(defaults: Value) -> TestProxy {
    let source = ConfigSource {
        file: None,
        defaults,
    };
    let cfg = ProxyConfig::load(source.defaults.clone(), None).expect("valid proxy config");
    let listeners = Listeners::bind(&cfg, "127.0.0.1:0".parse().expect("addr")).expect("bind");
    let proxy = Proxy::build(cfg, source, None, listeners).expect("proxy starts");
    let base = format!("http://127.0.0.1:{}", proxy.port());
    let status = format!("http://127.0.0.1:{}", proxy.status_port());
    let runtime = proxy.runtime();
    tokio::spawn(proxy.run_until_stopped());
    let tp = TestProxy {
        base,
        status,
        runtime,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
    };
    tp.wait_for_channel().await;
    tp
}

impl TestProxy {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// A GET with `token` and extra request headers.
    pub async fn get_with(
        &self,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = self.http.get(self.url(path)).bearer_auth(token);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.send().await.expect("request")
    }

    /// Waits until the revocation channel is subscribed (the cache is in use).
    pub async fn wait_for_channel(&self) {
        for _ in 0..200 {
            if self.runtime.cache.is_live() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    pub async fn metrics(&self) -> String {
        metrics_at(&self.http, &self.status).await
    }
}

/// A route to the echo backend with Tessera token authentication, plus `extra` keys.
pub fn route(name: &str, path: &str, echo: &str, extra: Value) -> Value {
    let mut r = json!({
        "name": name,
        "path": path,
        "upstream": format!("{echo}/backend"),
        "auth": { "kind": "tessera" },
    });
    if let (Some(obj), Some(extra)) = (r.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    r
}
