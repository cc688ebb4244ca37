//! [`Application`]: the broker, bound and ready to serve. `main` and the tests build it the same
//! way; port 0 picks a free port. Two listeners: the public one (OAuth, admin API, `/healthz`,
//! `/readyz`) and the status listener (`server.status_listen`: `/metrics`, `/healthz`,
//! `/readyz`), as the proxy has, so that metrics are not served to the world.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};
use tessera_shared::store::follow::{follow, Follower, Followers};
use tessera_shared::store::{self, Store};

use crate::config::BrokerConfig;
use crate::http::stack::Stack;
use crate::state::{AppState, StartError};

/// Routes the caller adds to the public listener's application (`tessera dev` mounts the
/// development identity provider this way); they get the same middleware as the broker's own.
pub type Mount = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;

pub struct Application {
    port: u16,
    status_port: u16,
    server: Server,
    status: Server,
    state: web::Data<AppState>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish()
    }
}

impl Application {
    /// Opens the configured store, binds the listener and prepares the server.
    pub fn build(config: BrokerConfig) -> Result<Self, StartError> {
        let store = store::open(&config.store)?;
        Self::build_with_store(config, store)
    }

    /// As [`Application::build`], on a store the caller opened (shared with another service in
    /// `tessera dev`, or inspected by tests).
    pub fn build_with_store(
        config: BrokerConfig,
        store: Arc<dyn Store>,
    ) -> Result<Self, StartError> {
        let listener = TcpListener::bind(config.server.listen)?;
        Self::build_on(config, store, listener, None)
    }

    /// As [`Application::build`], on a listener the caller bound (so that the issuer can name
    /// its port before the application exists; `server.listen` is then ignored).
    pub fn build_with_listener(
        config: BrokerConfig,
        listener: TcpListener,
    ) -> Result<Self, StartError> {
        Self::build_mounting(config, listener, None)
    }

    /// As [`Application::build_with_listener`], with `mount`'s routes added to the public
    /// listener.
    pub fn build_mounting(
        config: BrokerConfig,
        listener: TcpListener,
        mount: Option<Mount>,
    ) -> Result<Self, StartError> {
        let store = store::open(&config.store)?;
        Self::build_on(config, store, listener, mount)
    }

    fn build_on(
        config: BrokerConfig,
        store: Arc<dyn Store>,
        listener: TcpListener,
        mount: Option<Mount>,
    ) -> Result<Self, StartError> {
        let port = listener.local_addr()?.port();
        let status_listener = TcpListener::bind(config.server.status_listen)?;
        let status_port = status_listener.local_addr()?.port();
        let workers = config.server.workers;
        // The portal needs somewhere for people to sign in.
        let portal = config.portal.enabled && config.has_user_login();
        let state = web::Data::new(AppState::new(config, store)?);
        let data = state.clone();
        let metrics = state.metrics.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(Stack::new(metrics.clone()))
                .app_data(data.clone())
                .configure(crate::oauth::configure)
                .configure(crate::admin::configure)
                .configure(|cfg| {
                    if portal {
                        crate::portal::configure(cfg);
                    }
                })
                .configure(crate::health::configure)
                .configure(|cfg| {
                    if let Some(mount) = &mount {
                        mount(cfg);
                    }
                })
                .default_service(web::to(|| async {
                    HttpResponse::NotFound().json(serde_json::json!({
                        "error": "not_found", "message": "no such endpoint"}))
                }))
        })
        .listen(listener)?;
        if let Some(n) = workers {
            server = server.workers(n);
        }
        let data = state.clone();
        let status = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .configure(crate::health::configure_status)
        })
        .workers(1)
        .listen(status_listener)?
        .run();
        Ok(Application {
            port,
            status_port,
            server: server.run(),
            status,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The status listener's port (`/metrics`, `/healthz`, `/readyz`).
    pub fn status_port(&self) -> u16 {
        self.status_port
    }

    /// The running application's shared state (for `tessera dev` seeding and tests).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let catalog = &self.state.catalog;
        let mut followers: Vec<Arc<dyn Follower>> = Vec::new();
        followers.push(self.state.limits.suspects().clone());
        if let Some(apps) = catalog.app_cache() {
            followers.push(apps.clone());
        }
        // After the apps: a hit reads its app from them.
        if let Some(tokens) = self.state.tokens.introspection_cache() {
            followers.push(tokens.clone());
        }
        let store = catalog.store().clone();
        let followers = Arc::new(Followers(followers));
        tokio::spawn(follow(store, followers, "apps, tokens and back-offs"));
        tessera_shared::status::run_with_status(self.server, self.status).await
    }
}
