//! The TOML examples of the pages: every ```` ```toml ```` block parses; a block tagged
//! `broker` (```` ```toml broker ````) loads through the broker's loader, laid over a minimal
//! configuration (so a fragment such as a `[limits]` table is checked in place); a block
//! tagged `proxy` loads through the proxy's and its routes compile as `tessera proxy` compiles
//! them.

use std::net::SocketAddr;
use std::path::Path;

use figment::providers::{Format, Toml};
use serde_json::Value;
use tessera_broker::config::BrokerConfig;
use tessera_proxy::config::ProxyConfig;
use tessera_proxy::state::ConfigSource;
use tessera_proxy::{Listeners, Proxy};

/// Loads `cfg` as `tessera proxy` would, on free ports, and compiles its routes.
fn proxy_starts(mut cfg: ProxyConfig, source: ConfigSource) -> Result<(), String> {
    cfg.server.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let status = SocketAddr::from(([127, 0, 0, 1], 0));
    let listeners = Listeners::bind(&cfg, status).map_err(|e| e.to_string())?;
    Proxy::build(cfg, source, None, listeners)
        .map(drop)
        .map_err(|e| e.to_string())
}

fn load(tag: &str, file: &Path) -> Result<(), String> {
    match tag {
        "broker" => BrokerConfig::load(crate::broker_minimum(), Some(file))
            .map(drop)
            .map_err(|e| e.to_string()),
        _ => {
            let cfg =
                ProxyConfig::load(crate::proxy_minimum(), Some(file)).map_err(|e| e.to_string())?;
            let source = ConfigSource {
                file: Some(file.to_path_buf()),
                defaults: crate::proxy_minimum(),
            };
            proxy_starts(cfg, source)
        }
    }
}

#[tokio::test]
async fn every_toml_example_parses_and_the_tagged_ones_load() {
    let dir = tempfile::tempdir().unwrap();
    let mut loaded = Vec::new();
    for page in crate::pages() {
        for fence in crate::fences(&crate::read(&page)) {
            let tags = fence.tags();
            if tags.first() != Some(&"toml") {
                continue;
            }
            let at = format!("{}:{}", page.display(), fence.line);
            figment::Figment::from(Toml::string(&fence.body))
                .extract::<Value>()
                .unwrap_or_else(|e| panic!("{at}: not TOML: {e}"));
            for tag in tags.iter().skip(1) {
                assert!(
                    matches!(*tag, "broker" | "proxy"),
                    "{at}: unknown tag {tag}"
                );
                let file = dir.path().join(format!("{}.toml", loaded.len()));
                std::fs::write(&file, &fence.body).unwrap();
                load(tag, &file).unwrap_or_else(|e| panic!("{at}: does not load: {e}"));
                loaded.push(*tag == "broker");
            }
        }
    }
    assert!(
        loaded.contains(&true),
        "no `toml broker` example was loaded"
    );
    assert!(
        loaded.contains(&false),
        "no `toml proxy` example was loaded"
    );
}
