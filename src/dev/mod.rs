//! `tessera dev`: the whole thing on one machine, with no Redis and no Okta — the broker on the
//! in-memory store, the development identity provider mounted on the broker's listener under
//! `/dev-idp` as its upstream ([`tessera_devidp::Mounted`]), the proxy in front of the sample echo
//! backend sharing that store, demo data ([`demo`]), and a printed [`walkthrough`].
//!
//! Ports: broker `port`, proxy `port + 1`, echo backend `port + 2`, proxy status `port + 3`,
//! broker status `port + 4`.

mod demo;
pub mod idp;
mod walkthrough;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tessera_broker::Application;
use tessera_proxy::config::ProxyConfig;
use tessera_proxy::state::ConfigSource;
use tessera_proxy::{Listeners, Proxy};
use tessera_shared::crypto::random_string;

/// The proxy's routes in `tessera dev`: one per authentication policy, and one with a tight
/// quota to show throttling.
fn proxy_defaults(base: &str, echo: &str, proxy_port: u16, pepper: &str) -> serde_json::Value {
    serde_json::json!({
        "server": { "listen": format!("127.0.0.1:{proxy_port}"), "realm": "tessera-dev" },
        "store": { "url": "memory" },
        "security": { "pepper": pepper },
        "log": { "level": "warn" },
        "routes": [
            { "name": "orders", "path": "/orders", "upstream": format!("{echo}/api/orders"),
              "auth": { "kind": "tessera" },
              "scopes": { "required": ["orders:read"] },
              "forward": { "claims": { "X-User-Email": "email", "X-Tier": "tier" } } },
            { "name": "throttled", "path": "/throttled", "upstream": format!("{echo}/api/throttled"),
              "auth": { "kind": "tessera" },
              "quota": { "limit": 3, "period": "minute" } },
            { "name": "keyed", "path": "/keyed", "upstream": format!("{echo}/api/keyed"),
              "auth": { "kind": "api_key", "header": "x-api-key", "query": "apikey" } },
            { "name": "okta", "path": "/okta", "upstream": format!("{echo}/api/okta"),
              "auth": { "kind": "jwt",
                        "openid_config_urls": [format!("{base}/dev-idp/.well-known/openid-configuration")],
                        "audiences": ["api://default"],
                        "required_claims": [{ "name": "DealershipLocation", "match": "any",
                                              "values": ["Los Angeles", "San Francisco"] }] } },
            { "name": "public", "path": "/public", "upstream": format!("{echo}/api/public"),
              "auth": { "kind": "none" },
              "spike_arrest": { "rate": "5ps" } },
        ],
    })
}

/// The broker's defaults in `tessera dev`: loopback ports, the in-memory store, fresh random
/// secrets, and the claims `[upstream]` maps (the upstream itself is the mounted development
/// identity provider, [`idp::with_dev_idp`]).
fn broker_defaults(port: u16, status_port: u16, pepper: &str) -> serde_json::Value {
    serde_json::json!({
        "server": {
            "listen": format!("127.0.0.1:{port}"),
            "status_listen": format!("127.0.0.1:{status_port}"),
            "issuer": format!("http://127.0.0.1:{port}"),
        },
        "store": { "url": "memory" },
        "admin": { "token": random_string::<32>() },
        "security": { "pepper": pepper },
        "registration": {
            "initial_access_token": random_string::<32>(),
            "allowed_scopes": ["orders:read"],
        },
        "log": { "level": "warn" },
        "upstream": { "claims": {
            "email": "email", "groups": "groups", "DealershipLocation": "DealershipLocation" } },
        "portal": { "operator_groups": [tessera_devidp::OPERATOR_GROUP] },
        "id_token": { "generate_key": true },
    })
}

pub async fn run(file: Option<PathBuf>, port: u16) -> anyhow::Result<()> {
    let base = format!("http://127.0.0.1:{port}");
    let (proxy_port, echo_port, status_port) = (port + 1, port + 2, port + 3);
    let broker_status_port = port + 4;
    let proxy = format!("http://127.0.0.1:{proxy_port}");
    let echo = format!("http://127.0.0.1:{echo_port}");
    let pepper = random_string::<32>();
    let defaults = broker_defaults(port, broker_status_port, &pepper);
    let (config, idp) = idp::with_dev_idp(defaults, file.as_deref())?;
    tessera_shared::telemetry::init(&config.log);
    idp::warn(&idp);
    let admin_token = secrecy::ExposeSecret::expose_secret(&config.admin.token).to_string();
    let registration_token = config
        .registration
        .initial_access_token
        .as_ref()
        .map(|t| secrecy::ExposeSecret::expose_secret(t).to_string())
        .unwrap_or_default();
    let listener = TcpListener::bind(config.server.listen)?;
    let app = Application::build_mounting(config, listener, Some(Arc::new(idp.routes())))
        .context("starting the broker")?;
    let demo = demo::seed(app.state())
        .await
        .context("creating the demo app")?;

    let echo_server = tessera_proxy::echo::serve(TcpListener::bind(("127.0.0.1", echo_port))?, 1)
        .context("starting the sample backend")?;
    let source = ConfigSource {
        file: None,
        defaults: proxy_defaults(&base, &echo, proxy_port, &pepper),
    };
    let proxy_cfg = ProxyConfig::load(source.defaults.clone(), None)?;
    let listeners = Listeners::bind(&proxy_cfg, SocketAddr::from(([127, 0, 0, 1], status_port)))
        .context("binding the proxy")?;
    let store = app.state().catalog.store().clone();
    let proxy_app =
        Proxy::build(proxy_cfg, source, Some(store), listeners).context("starting the proxy")?;

    walkthrough::print(&walkthrough::Walkthrough {
        base: &base,
        proxy: &proxy,
        echo: &echo,
        broker_status_port,
        proxy_status_port: status_port,
        admin_token: &admin_token,
        registration_token: &registration_token,
        demo: &demo,
    });
    tokio::select! {
        r = app.run_until_stopped() => r?,
        r = proxy_app.run_until_stopped() => r?,
        r = echo_server => r?,
    }
    Ok(())
}
