//! [`DevIdpServer`]: the development identity provider alone on its own port, built the way the
//! broker's `Application` is (bind first, so port 0 picks a free port and
//! the issuer can name it).

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};

use crate::{DevIdp, DevIdpConfig, DevIdpError};

/// How long an idle connection is kept open: beyond reqwest's pool idle timeout (90 s).
const KEEP_ALIVE: Duration = Duration::from_secs(120);

pub struct DevIdpServer {
    port: u16,
    idp: DevIdp,
    server: Server,
}

impl std::fmt::Debug for DevIdpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIdpServer")
            .field("port", &self.port)
            .field("issuer", &self.idp.issuer())
            .finish()
    }
}

impl DevIdpServer {
    /// Binds `addr` (port 0 = free port), then builds the config for the bound port (issuer must
    /// be `http://127.0.0.1:{port}`).
    pub fn build(
        addr: SocketAddr,
        make_cfg: impl FnOnce(u16) -> DevIdpConfig,
    ) -> Result<Self, DevIdpError> {
        let listener = TcpListener::bind(addr)?;
        let port = listener.local_addr()?.port();
        let idp = DevIdp::new(make_cfg(port))?;
        let app_idp = idp.clone();
        let server = HttpServer::new(move || {
            let idp = app_idp.clone();
            App::new()
                .configure(move |cfg| idp.configure(cfg))
                .default_service(web::to(|| async {
                    HttpResponse::NotFound().json(serde_json::json!({
                        "error": "not_found", "error_description": "no such endpoint"}))
                }))
        })
        // One worker is plenty: handlers never block for long (delays are async sleeps).
        .workers(1)
        // Idle connections are kept longer than HTTP clients keep them pooled (reqwest, and so
        // the broker's upstream client: 90 s), so the server never closes one just as a client
        // reuses it (RFC 9112 §9.6: either side may close an idle connection at any time, and
        // a request sent as it closes fails). With actix's default, 5 s, the client lost that
        // race whenever it paused (a key rotation, a loaded machine) between two requests.
        .keep_alive(KEEP_ALIVE)
        .listen(listener)?
        .run();
        Ok(DevIdpServer { port, idp, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn idp(&self) -> &DevIdp {
        &self.idp
    }

    /// A handle that stops the server for good (its port then refuses connections): a test's
    /// "this provider is down".
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
