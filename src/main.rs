//! `tessera` — the umbrella binary: `tessera broker`, `tessera proxy`, `tessera dev` (and the
//! hidden `tessera echo`, the sample backend as a process, for benchmarks).
//!
//! Each subcommand loads configuration (`--config FILE` or `TESSERA_CONFIG`, then `TESSERA_…`
//! environment overrides), sets up telemetry and runs the application; nothing else lives here.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tessera_broker::config::BrokerConfig;
use tessera_broker::Application;
use tessera_proxy::state::ConfigSource;
use tessera_proxy::{config::ProxyConfig, Listeners, Proxy};

mod dev;

/// mimalloc instead of the system allocator: glibc malloc/free were ~16% of the broker's CPU
/// on the token endpoint (perf, BENCHMARKS.md), mimalloc's per-thread free lists cut that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    about = "OAuth 2.0 broker and token-mapping service, with its API proxy"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the OAuth broker (production: the store must be configured explicitly).
    Broker {
        /// TOML configuration file.
        #[arg(long, env = "TESSERA_CONFIG")]
        config: Option<PathBuf>,
        /// Development only (benchmarks): mount the development identity provider under
        /// `{issuer}/dev-idp` and use it as the upstream.
        #[arg(long, hide = true)]
        dev_idp: bool,
    },
    /// Run the API proxy (reloads its route table on SIGHUP).
    Proxy {
        /// TOML configuration file (with the `[[routes]]` table).
        #[arg(long, env = "TESSERA_CONFIG")]
        config: Option<PathBuf>,
        /// Address of the status listener (/healthz, /readyz, /metrics).
        #[arg(long, default_value = "127.0.0.1:9081")]
        status: std::net::SocketAddr,
    },
    /// Run everything on this machine with the in-memory store and demo data; print a walk-through.
    Dev {
        /// Optional TOML file layered over the development defaults.
        #[arg(long, env = "TESSERA_CONFIG")]
        config: Option<PathBuf>,
        /// Port of the broker on 127.0.0.1.
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Run the sample echo backend alone (for benchmarks: bench/proxy.sh).
    #[command(hide = true)]
    Echo {
        /// Address to listen on.
        #[arg(long)]
        listen: std::net::SocketAddr,
        /// HTTP worker threads.
        #[arg(long, default_value_t = 1)]
        workers: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Broker { config, dev_idp } => {
            let (config, idp) = if dev_idp {
                let (c, idp) = dev::idp::with_dev_idp(serde_json::json!({}), config.as_deref())?;
                (c, Some(idp))
            } else {
                let c = BrokerConfig::load(serde_json::json!({}), config.as_deref())?;
                (c, None)
            };
            tessera_shared::telemetry::init(&config.log);
            if config.store.url == "memory" {
                tracing::warn!("store.url = \"memory\": tokens and apps live in this process only");
            }
            idp.iter().for_each(dev::idp::warn);
            let listener = std::net::TcpListener::bind(config.server.listen)?;
            let mount = idp.map(|i| Arc::new(i.routes()) as tessera_broker::startup::Mount);
            let app = Application::build_mounting(config, listener, mount)
                .context("starting the broker")?;
            tracing::info!(port = app.port(), "broker listening");
            app.run_until_stopped().await?;
        }
        Command::Proxy { config, status } => {
            let source = ConfigSource {
                file: config,
                defaults: serde_json::json!({}),
            };
            let cfg = ProxyConfig::load(source.defaults.clone(), source.file.as_deref())?;
            tessera_shared::telemetry::init(&cfg.log);
            let listeners = Listeners::bind(&cfg, status).context("binding the proxy")?;
            let proxy = Proxy::build(cfg, source, None, listeners).context("starting the proxy")?;
            proxy.reload_on_sighup()?;
            tracing::info!(
                port = proxy.port(),
                status = proxy.status_port(),
                "proxy listening"
            );
            proxy.run_until_stopped().await?;
        }
        Command::Dev { config, port } => dev::run(config, port).await?,
        Command::Echo { listen, workers } => {
            let listener =
                std::net::TcpListener::bind(listen).with_context(|| format!("binding {listen}"))?;
            tessera_proxy::echo::serve(listener, workers)
                .context("starting the sample backend")?
                .await?;
        }
    }
    Ok(())
}
