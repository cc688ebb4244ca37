//! Building and running the proxy: open the store, compile the route table, start the
//! background tasks (revocation listener, analytics writer, limiter sweeps), bind the public
//! listener (TLS when configured) and the status listener (`/healthz`, `/readyz`, `/metrics`,
//! and with `[signing]` the signing key set, kept off the public port), and reload the route
//! table on demand.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};
use arc_swap::ArcSwap;
use tessera_shared::config::ConfigError;
use tessera_shared::method::get_or_head;
use tessera_shared::store::{self, Store};
use tessera_shared::tokens::TokenLookup;
use thiserror::Error;

use crate::analytics::{Emitter, EmitterMetrics, WriterHandle};
use crate::behaviour::Behaviour;
use crate::cache::{self, TokenCache};
use crate::config::ProxyConfig;
use crate::forward::signature::Signer;
use crate::metrics::Metrics;
use crate::policy::abuse::AbuseGuard;
use crate::policy::auth::introspection::Introspector;
use crate::policy::auth::tessera::{Source, TokenValidator};
use crate::policy::jwt::JwksRegistry;
use crate::policy::quota::Counters;
use crate::routes::{RouteTable, Toolbox};
use crate::state::{ConfigSource, Runtime};

#[derive(Debug, Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("route table: {0}")]
    Routes(String),
    #[error("TLS: {0}")]
    Tls(String),
    /// `[signing]`'s keys: the message names the key and its file.
    #[error("{0}")]
    Signing(String),
    #[error(transparent)]
    Store(#[from] tessera_shared::error::StoreError),
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Where the proxy listens.
#[derive(Debug)]
pub struct Listeners {
    pub public: TcpListener,
    pub status: TcpListener,
}

impl Listeners {
    /// Binds `server.listen`, and the status listener on `status` (port 0: any free port).
    pub fn bind(cfg: &ProxyConfig, status: std::net::SocketAddr) -> std::io::Result<Self> {
        Ok(Listeners {
            public: TcpListener::bind(cfg.server.listen)?,
            status: TcpListener::bind(status)?,
        })
    }
}

pub struct Proxy {
    server: Server,
    status: Server,
    port: u16,
    status_port: u16,
    runtime: web::Data<Runtime>,
    writer: Option<WriterHandle>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy").field("port", &self.port).finish()
    }
}

impl Proxy {
    /// Builds the proxy on the configured store (or `store`, shared with an in-process broker
    /// in `tessera dev`). Must run inside a tokio runtime.
    pub fn build(
        config: ProxyConfig,
        source: ConfigSource,
        store: Option<Arc<dyn Store>>,
        listeners: Listeners,
    ) -> Result<Self, StartError> {
        let metrics = Metrics::new()?;
        let store = match store {
            Some(s) => Some(s),
            None if config.has_store() => Some(store::open(&config.store)?),
            None => None,
        };
        let cache = Arc::new(TokenCache::new(&config.cache));
        let tools = toolbox(&config, store.as_ref(), &cache, &metrics)?;
        let table = RouteTable::compile(&config.routes, &tools).map_err(StartError::Routes)?;
        let (emitter, writer) = match (&store, config.analytics.enabled) {
            (Some(s), true) => {
                let m = EmitterMetrics::register(&metrics.registry)?;
                let (e, w) = Emitter::start(s.clone(), config.analytics.clone(), m);
                (Some(e), Some(w))
            }
            _ => (None, None),
        };
        match &store {
            Some(s) => {
                // The apps kept in process follow the token cache's subscription, first.
                let apps = (tools.catalog.as_ref()).and_then(|c| c.app_cache().cloned());
                let apps = apps.map(|a| a as Arc<dyn tessera_shared::store::follow::Follower>);
                tokio::spawn(cache::listen(
                    s.clone(),
                    cache.clone(),
                    metrics.clone(),
                    apps,
                ));
            }
            // Nothing can announce revocations: entries live at most cache.max_ttl_secs.
            None => cache.trust_without_channel(),
        }
        let spikes = tools.spikes.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(30));
            loop {
                every.tick().await;
                spikes.sweep();
            }
        });
        let runtime = web::Data::new(Runtime {
            config,
            table: ArcSwap::from_pointee(table),
            tools,
            store,
            cache,
            metrics,
            emitter,
            source,
        });
        let port = listeners.public.local_addr()?.port();
        let status_port = listeners.status.local_addr()?.port();
        let server = public_server(&runtime, listeners.public)?;
        let status = status_server(&runtime, listeners.status)?;
        Ok(Proxy {
            server,
            status,
            port,
            status_port,
            runtime,
            writer,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn status_port(&self) -> u16 {
        self.status_port
    }

    pub fn runtime(&self) -> web::Data<Runtime> {
        self.runtime.clone()
    }

    /// Reloads the route table on every SIGHUP for as long as the process runs.
    pub fn reload_on_sighup(&self) -> std::io::Result<()> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hup = signal(SignalKind::hangup())?;
        let rt = self.runtime.clone();
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                match reload(&rt) {
                    Ok(n) => tracing::info!(routes = n, "configuration reloaded"),
                    Err(e) => {
                        tracing::error!(error = %e, "configuration reload refused; the previous route table stays in force")
                    }
                }
            }
        });
        Ok(())
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let out = tessera_shared::status::run_with_status(self.server, self.status).await;
        if let Some(w) = self.writer {
            w.shutdown().await;
        }
        out
    }
}

/// What routes are compiled with: backend and JWKS clients, and the parts the policy steps
/// share across routes and reloads (token validation, catalog, cache, limiters, counters).
fn toolbox(
    config: &ProxyConfig,
    store: Option<&Arc<dyn Store>>,
    cache: &Arc<TokenCache>,
    metrics: &Metrics,
) -> Result<Toolbox, StartError> {
    let keys = config.security.keys();
    let client = config.backend.client().map_err(StartError::Routes)?;
    let http = config.backend.http_client().map_err(StartError::Routes)?;
    let jwks_http = reqwest::Client::builder()
        .timeout(Duration::from_millis(config.jwks.timeout_ms))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| StartError::Routes(format!("jwks: {e}")))?;
    let catalog = store.map(|s| crate::policy::auth::tessera::store_catalog(s, &keys));
    let source = match (&config.introspection, &catalog) {
        (Some(i), _) => Source::Introspection(Introspector::new(i.clone(), http)),
        (None, Some(c)) => Source::Store(Box::new(TokenLookup::new(c.clone(), keys.clone()))),
        (None, None) => {
            return Err(StartError::Routes(
                "tessera tokens need store.url or [introspection]".into(),
            ))
        }
    };
    let tokens = TokenValidator::new(keys.clone(), source, cache.clone(), metrics.clone());
    // The DPoP replay cache and abuse detection: the shared store, else this process.
    let replays: Arc<dyn Store> = match store {
        Some(s) => s.clone(),
        None => Arc::new(tessera_shared::store::memory::MemoryStore::default()),
    };
    Ok(Toolbox {
        jwks: JwksRegistry::new(
            jwks_http,
            config.jwks.refresh_secs,
            config.jwks.min_refetch_secs,
        ),
        backend: config.backend.clone(),
        client,
        default_realm: config.server.realm.clone(),
        untrusted_headers: (config.server.untrusted_headers.iter())
            .map(|h| crate::forward::normalised(h))
            .collect(),
        tokens: Arc::new(tokens),
        catalog: catalog.map(Arc::new),
        cache: cache.clone(),
        spikes: Default::default(),
        quotas: Arc::new(Counters::new(
            store.cloned(),
            metrics.quota_fallback.clone(),
        )),
        dpop: config.dpop.clone(),
        public_url: config.server.public_url.clone(),
        replays: replays.clone(),
        keys,
        signer: (config.signing.as_ref())
            .map(|s| Signer::load(s).map(Arc::new))
            .transpose()
            .map_err(StartError::Signing)?,
        abuse: AbuseGuard::new(&config.abuse, replays, metrics.abuse_blocked.clone())
            .map_err(StartError::Routes)?,
        behaviour: behaviour(config, store, metrics)?,
    })
}

/// Abuse detection's behaviour rules, their flush started, when one is on.
fn behaviour(
    config: &ProxyConfig,
    store: Option<&Arc<dyn Store>>,
    metrics: &Metrics,
) -> Result<Option<Arc<Behaviour>>, StartError> {
    // `store.url = "memory"` keeps no behaviour signals: refused like no store at all.
    let memory = matches!(
        config.store.target(),
        tessera_shared::config::StoreTarget::Memory
    );
    let b = Behaviour::new(config.abuse.rules(), store.filter(|_| !memory), metrics)
        .map_err(StartError::Routes)?;
    if let Some(b) = &b {
        b.start();
    }
    Ok(b)
}

/// The public listener: every request goes through the pipeline.
fn public_server(
    runtime: &web::Data<Runtime>,
    listener: TcpListener,
) -> Result<Server, StartError> {
    let data = runtime.clone();
    // TCP_NODELAY on client connections, as nginx's `tcp_nodelay on` (actix leaves Nagle on):
    // a response streamed in several writes (a relayed body arriving in chunks) is not held
    // back waiting for the client's delayed ACK. One setsockopt per connection, none per call.
    // The handler gets the runtime from its closure, a reference count per call, rather than
    // through the `Data` extractor's lookup in the app data (BENCHMARKS.md, "The proxy's cached
    // call: forwarding and server").
    let mut server = HttpServer::new(move || {
        let rt = data.clone();
        App::new()
            .app_data(data.clone())
            .default_service(web::to(move |req, payload| {
                crate::pipeline::handle(req, payload, rt.clone())
            }))
    })
    .tcp_nodelay(true);
    server = match &runtime.config.server.tls {
        Some(tls) => {
            let cfg = tls.rustls().map_err(StartError::Tls)?;
            server.listen_rustls_0_23(listener, cfg)?
        }
        None => server.listen(listener)?,
    };
    if let Some(n) = runtime.config.server.workers {
        server = server.workers(n);
    }
    Ok(server.run())
}

/// The status listener (`/healthz`, `/readyz`, `/metrics`), kept off the public port.
fn status_server(
    runtime: &web::Data<Runtime>,
    listener: TcpListener,
) -> Result<Server, StartError> {
    let data = runtime.clone();
    let jwks_path = (runtime.config.signing.as_ref()).map(|s| s.jwks_path.clone());
    let status = HttpServer::new(move || {
        let app = App::new()
            .app_data(data.clone())
            .route("/healthz", get_or_head().to(healthz))
            .route("/readyz", get_or_head().to(readyz))
            .route("/metrics", get_or_head().to(metrics_page));
        match &jwks_path {
            Some(path) => app.route(path, get_or_head().to(signing_keys)),
            None => app,
        }
    })
    .workers(1)
    .listen(listener)?
    .run();
    Ok(status)
}

/// Re-reads the configuration file and swaps in the new route table, or changes nothing and
/// says why. Connections in flight keep the table they started with. Only `[[routes]]` take
/// effect on reload; other sections need a restart.
pub fn reload(rt: &Runtime) -> Result<usize, String> {
    let outcome = (|| {
        let cfg = ProxyConfig::load(rt.source.defaults.clone(), rt.source.file.as_deref())
            .map_err(|e| e.to_string())?;
        let table = RouteTable::compile(&cfg.routes, &rt.tools)?;
        let n = table.routes().len();
        rt.table.store(Arc::new(table));
        Ok(n)
    })();
    let label = if outcome.is_ok() { "ok" } else { "refused" };
    rt.metrics.reloads.with_label_values(&[label]).inc();
    outcome
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(rt: web::Data<Runtime>) -> HttpResponse {
    let store_ok = match &rt.store {
        Some(s) => s.ping().await.is_ok(),
        None => true,
    };
    let body = serde_json::json!({
        "store": store_ok,
        "revocation_channel": rt.cache.is_live(),
        "routes": rt.table.load().routes().len(),
    });
    if store_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// The public keys of `[signing]` (RFC 7517 §5), for backends verifying `forward.sign`.
async fn signing_keys(rt: web::Data<Runtime>) -> HttpResponse {
    match &rt.tools.signer {
        Some(s) => HttpResponse::Ok()
            .insert_header(("cache-control", "max-age=300"))
            .json(s.jwks()),
        None => HttpResponse::NotFound().finish(),
    }
}

async fn metrics_page(rt: web::Data<Runtime>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(rt.metrics.render())
}
